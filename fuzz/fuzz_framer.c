/* fuzz_framer.c: libFuzzer harness checking that the framer's frames do not depend on how bytes are split. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "sip/framer.h"

/* Input layout: byte 0 picks max_msg, bytes 1-2 seed the piece sizes, byte
 * 3 picks the largest piece (0: one byte at a time), the rest is the stream.
 * The seeds in fuzz/seeds/framer/ carry such a 4-byte prefix. */
#define PREFIX 4

struct frame {
	enum sp_frame_kind kind;
	size_t len;
};

struct run {
	struct frame *v;
	size_t n;
	int end;
};

static unsigned next_rand(unsigned *s)
{
	unsigned x = *s ? *s : 2463534242u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/* Checks what must hold of any frame, whatever came before it. */
static void check_frame(const char *p, enum sp_frame_kind k, size_t n, size_t max_msg)
{
	switch (k) {
	case SP_FRAME_KEEPALIVE_PING:
		if (n != 4 || memcmp(p, "\r\n\r\n", 4) != 0)
			abort();
		break;
	case SP_FRAME_KEEPALIVE_PONG:
		if (!(n == 2 && memcmp(p, "\r\n", 2) == 0) && !(n == 1 && p[0] == '\n'))
			abort();
		break;
	case SP_FRAME_MESSAGE:
		if (n == 0 || n > max_msg || p[0] == '\r' || p[0] == '\n')
			abort();
		break;
	default:
		abort();
	}
}

/* Plays the transport: appends pieces (sizes from *seed, at most maxpiece;
 * 0 means all at once) and takes frames until the framer wants more. When
 * want is given, each frame must equal the next one there. */
static void run(const char *s, size_t len, size_t max_msg, unsigned seed, unsigned maxpiece,
		struct run *r, const struct run *want)
{
	struct sp_framer f;
	size_t have = 0, done = 0;

	sp_framer_init(&f, max_msg);
	r->n = 0;
	r->end = SP_EAGAIN;
	while (have < len) {
		size_t piece = maxpiece ? 1 + next_rand(&seed) % maxpiece : len;
		if (piece > len - have)
			piece = len - have;
		have += piece;
		for (;;) {
			enum sp_frame_kind k = SP_FRAME_MESSAGE;
			size_t n = 0;
			int rc = sp_framer_feed(&f, s + done, have - done, &k, &n);
			if (rc == SP_EAGAIN) {
				if (k != SP_FRAME_MESSAGE || n != 0)
					abort(); /* out-params touched without a frame */
				break;
			}
			if (rc != 0) {
				if (rc != SP_EINVAL && rc != SP_E2BIG)
					abort();
				if (sp_framer_feed(&f, s + done, have - done, &k, &n) != rc)
					abort(); /* errors stick */
				r->end = rc;
				if (want && want->end != rc)
					abort();
				return;
			}
			if (n > have - done)
				abort();
			check_frame(s + done, k, n, f.max_msg);
			if (want && (r->n >= want->n || want->v[r->n].kind != k ||
				     want->v[r->n].len != n))
				abort();
			if (r->v)
				r->v[r->n] = (struct frame){ k, n };
			r->n++;
			done += n;
		}
	}
	if (want && (want->n != r->n || want->end != r->end))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < PREFIX)
		return 0;

	size_t max_msg = (data[0] & 0x80) ? 0 : 8 + (size_t)(data[0] & 0x7f) * 8;
	unsigned seed = (unsigned)data[1] << 8 | data[2];
	unsigned maxpiece = data[3] ? data[3] : 1;
	const char *s = (const char *)data + PREFIX;
	size_t len = size - PREFIX;

	struct run whole = { .v = malloc((len + 1) * sizeof(struct frame)) };
	struct run split = { 0 };
	if (!whole.v)
		return 0;
	run(s, len, max_msg, 0, 0, &whole, NULL);
	run(s, len, max_msg, seed, maxpiece, &split, &whole);
	/* One byte at a time is the hardest case for a resumable parser. */
	run(s, len, max_msg, 0, 1, &split, &whole);
	free(whole.v);
	return 0;
}
