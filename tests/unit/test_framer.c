/* test_framer.c: the stream framer fed whole, in random splits and byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "sip/framer.h"
#include "testutil.h"

#define MAX_FRAMES 64

/* What a transport would see: the frames handed out, in order, and the
 * result that stopped the stream (SP_EAGAIN once every byte is framed). */
struct run {
	size_t n;
	enum sp_frame_kind kind[MAX_FRAMES];
	size_t off[MAX_FRAMES];
	size_t len[MAX_FRAMES];
	int end;
	const char *reason;
};

enum split { WHOLE, RANDOM, BYTES };

/* Plays the transport: bytes arrive in pieces (all at once, random sizes or
 * one at a time), are appended to the unconsumed ones, and the framer is
 * asked for frames until it wants more. */
static void run_stream(const char *s, size_t len, size_t max_msg, enum split how,
		       unsigned seed, struct run *r)
{
	struct sp_framer f;
	size_t have = 0, done = 0;

	memset(r, 0, sizeof(*r));
	sp_framer_init(&f, max_msg);
	r->end = SP_EAGAIN;
	while (have < len) {
		size_t piece = len - have;
		if (how == BYTES)
			piece = 1;
		else if (how == RANDOM)
			piece = 1 + tu_rand(&seed) % 40;
		if (piece > len - have)
			piece = len - have;
		have += piece;
		for (;;) {
			enum sp_frame_kind k = SP_FRAME_KEEPALIVE_PING;
			size_t n = (size_t)-1;
			int rc = sp_framer_feed(&f, s + done, have - done, &k, &n);
			if (rc == SP_EAGAIN) {
				/* Out-params are left alone unless a frame is out. */
				assert_int_equal(k, SP_FRAME_KEEPALIVE_PING);
				assert_true(n == (size_t)-1);
				break;
			}
			if (rc != 0) {
				r->end = rc;
				r->reason = sp_framer_error(&f);
				/* Errors stick until reset. */
				assert_int_equal(sp_framer_feed(&f, s + done, have - done, &k, &n), rc);
				return;
			}
			assert_true(n > 0 && n <= have - done);
			assert_true(r->n < MAX_FRAMES);
			r->kind[r->n] = k;
			r->off[r->n] = done;
			r->len[r->n] = n;
			r->n++;
			done += n;
		}
	}
}

/* A stream and the frames it must give, checked for every way of splitting. */
struct want {
	enum sp_frame_kind kind;
	const char *bytes;
};

static void check_stream(const char *s, size_t max_msg, const struct want *w, size_t nw,
			 int end)
{
	size_t len = strlen(s);
	struct run r;

	for (unsigned pass = 0; pass < 12; pass++) {
		enum split how = pass == 0 ? WHOLE : pass == 1 ? BYTES : RANDOM;
		run_stream(s, len, max_msg, how, pass * 7919u + 1u, &r);
		assert_int_equal(r.end, end);
		assert_int_equal(r.n, nw);
		for (size_t i = 0; i < nw; i++) {
			assert_int_equal(r.kind[i], w[i].kind);
			assert_int_equal(r.len[i], strlen(w[i].bytes));
			assert_memory_equal(s + r.off[i], w[i].bytes, r.len[i]);
		}
	}
}

/* Runs a one-message stream that must fail with end and says why in the log. */
static void check_fails(const char *s, size_t max_msg, int end)
{
	check_stream(s, max_msg, NULL, 0, end);
}

static const char invite[] =
	"INVITE sip:bob@example.com SIP/2.0\r\n"
	"Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK776asdhds\r\n"
	"Max-Forwards: 70\r\n"
	"To: Bob <sip:bob@example.com>\r\n"
	"From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710\r\n"
	"CSeq: 314159 INVITE\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 36\r\n"
	"\r\n"
	"v=0\r\n"
	"o=- 1 1 IN IP4 192.0.2.1\r\n"
	"s=-\r\n";

static const char options[] =
	"OPTIONS sip:example.com SIP/2.0\r\n"
	"Via: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

/* The body holds a blank line and what looks like a start line, which must
 * stay body. */
static const char response[] =
	"SIP/2.0 200 OK\r\n"
	"Via: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
	"content-length   :   14  \r\n"
	"\r\n"
	"\r\n\r\nINVITE x\r\n";

static char *cat(const char *a, const char *b, const char *c, const char *d)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s%s%s%s", a, b ? b : "", c ? c : "", d ? d : "");
	return buf;
}

static void test_one_message(void **state)
{
	(void)state;
	struct want w[] = { { SP_FRAME_MESSAGE, invite } };
	check_stream(invite, 0, w, 1, SP_EAGAIN);
}

static void test_several_messages(void **state)
{
	(void)state;
	struct want w[] = {
		{ SP_FRAME_MESSAGE, invite },
		{ SP_FRAME_MESSAGE, options },
		{ SP_FRAME_MESSAGE, response },
		{ SP_FRAME_MESSAGE, invite },
	};
	check_stream(cat(invite, options, response, invite), 0, w, 4, SP_EAGAIN);
}

/* A message cut short is never handed out, however long the wait. */
static void test_partial_message(void **state)
{
	(void)state;
	char s[sizeof(invite) + sizeof(options)];
	snprintf(s, sizeof(s), "%s%s", options, invite);
	s[strlen(s) - 1] = '\0';
	struct want w[] = { { SP_FRAME_MESSAGE, options } };
	check_stream(s, 0, w, 1, SP_EAGAIN);
}

static void test_keepalives(void **state)
{
	(void)state;
	static char s[4096];
	snprintf(s, sizeof(s), "\r\n\r\n%s\r\n%s\r\n\r\n\r\n%s\n%s\r\n\r\n", options, invite,
		 response, options);
	struct want w[] = {
		{ SP_FRAME_KEEPALIVE_PING, "\r\n\r\n" },
		{ SP_FRAME_MESSAGE, options },
		{ SP_FRAME_KEEPALIVE_PONG, "\r\n" },
		{ SP_FRAME_MESSAGE, invite },
		{ SP_FRAME_KEEPALIVE_PING, "\r\n\r\n" },
		{ SP_FRAME_KEEPALIVE_PONG, "\r\n" },
		{ SP_FRAME_MESSAGE, response },
		{ SP_FRAME_KEEPALIVE_PONG, "\n" },
		{ SP_FRAME_MESSAGE, options },
		{ SP_FRAME_KEEPALIVE_PING, "\r\n\r\n" },
	};
	check_stream(s, 0, w, sizeof(w) / sizeof(w[0]), SP_EAGAIN);
}

/* A lone CRLF could still become a ping, so it is only reported once the
 * next byte arrives; a client waiting for its pong asks the framer. */
static void test_pong_pending(void **state)
{
	(void)state;
	struct sp_framer f;
	enum sp_frame_kind k;
	size_t n;

	sp_framer_init(&f, 0);
	assert_false(sp_framer_crlf_pending(&f));
	assert_int_equal(sp_framer_feed(&f, "\r", 1, &k, &n), SP_EAGAIN);
	assert_false(sp_framer_crlf_pending(&f));
	assert_int_equal(sp_framer_feed(&f, "\r\n", 2, &k, &n), SP_EAGAIN);
	assert_true(sp_framer_crlf_pending(&f));
	assert_int_equal(sp_framer_feed(&f, "\r\n\r", 3, &k, &n), SP_EAGAIN);
	assert_false(sp_framer_crlf_pending(&f));
	assert_int_equal(sp_framer_feed(&f, "\r\n\r\n", 4, &k, &n), 0);
	assert_int_equal(k, SP_FRAME_KEEPALIVE_PING);
	assert_int_equal(n, 4);
	assert_false(sp_framer_crlf_pending(&f));
}

static void test_bare_cr(void **state)
{
	(void)state;
	struct want w[] = { { SP_FRAME_KEEPALIVE_PONG, "\r\n" } };
	check_stream("\r\n\rX", 0, w, 1, SP_EINVAL);
	check_fails("\rINVITE", 0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: 0\r\rX", 0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\rContent-Length: 0\r\n\r\n", 0, SP_EINVAL);
}

static void test_missing_clen(void **state)
{
	(void)state;
	check_fails("OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n", 0, SP_EINVAL);
	/* Not a Content-Length: other names, no colon, a start line. */
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Lengthx: 0\r\n\r\n", 0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length 0\r\n\r\n", 0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nlx: 0\r\n\r\n", 0, SP_EINVAL);
	/* HCOLON allows SP/HTAB before the colon, not folding. */
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length\r\n : 0\r\n\r\n", 0, SP_EINVAL);
	check_fails("Content-Length: 0\r\n\r\n", 0, SP_EINVAL);

	struct run r;
	run_stream("A\r\n\r\n", 5, 0, WHOLE, 1, &r);
	assert_int_equal(r.end, SP_EINVAL);
	assert_string_equal(r.reason, "missing Content-Length");
}

static void test_bad_clen(void **state)
{
	(void)state;
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n", 0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: +1\r\n\r\nx", 0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: \r\n\r\n", 0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: 1x\r\n\r\nx", 0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: 1 2\r\n\r\nx", 0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: 1, 1\r\n\r\nx", 0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: 0x10\r\n\r\n", 0, SP_EINVAL);
	/* Over 2^32 - 1: refused as a number, before the header ends. */
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: 4294967296", 0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: 99999999999999999999999999", 0,
		    SP_EINVAL);
}

static void test_duplicate_clen(void **state)
{
	(void)state;
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: 0\r\nContent-Length: 4\r\n\r\nabcd",
		    0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd",
		    0, SP_EINVAL);
	check_fails("OPTIONS sip:a SIP/2.0\r\nl: 4\r\nCONTENT-LENGTH: 0\r\n\r\nabcd", 0, SP_EINVAL);

	struct run r;
	const char *s = "A\r\nl: 0\r\nl: 0\r\n\r\n";
	run_stream(s, strlen(s), 0, BYTES, 1, &r);
	assert_string_equal(r.reason, "duplicate Content-Length");
}

/* The limit covers headers and body; a message of exactly max_msg passes. */
static void test_too_big(void **state)
{
	(void)state;
	struct want w[] = { { SP_FRAME_MESSAGE, invite } };
	size_t n = strlen(invite);
	check_stream(invite, n, w, 1, SP_EAGAIN);
	check_fails(invite, n - 1, SP_E2BIG);

	/* Refused from the headers alone: the body never has to arrive. */
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: 70000\r\n\r\n", 0, SP_E2BIG);
	check_fails("OPTIONS sip:a SIP/2.0\r\nContent-Length: 4294967295\r\n\r\n", 0, SP_E2BIG);

	/* A header section that never ends is refused at max_msg bytes. */
	static char big[4096];
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "OPTIONS sip:a SIP/2.0\r\nX: ", 26);
	struct run r;
	run_stream(big, 1001, 1000, BYTES, 1, &r);
	assert_int_equal(r.end, SP_E2BIG);
	run_stream(big, 999, 1000, BYTES, 1, &r);
	assert_int_equal(r.end, SP_EAGAIN);
	run_stream(big, 1000, 1000, WHOLE, 1, &r);
	assert_int_equal(r.end, SP_E2BIG);
	assert_string_equal(r.reason, "header section exceeds the message size limit");
}

static void test_compact_clen(void **state)
{
	(void)state;
	const char *m1 = "MESSAGE sip:a SIP/2.0\r\nl: 5\r\n\r\nhello";
	const char *m2 = "MESSAGE sip:a SIP/2.0\r\nL \t:3\r\nlog: 7\r\n\r\nbye";
	struct want w[] = { { SP_FRAME_MESSAGE, m1 }, { SP_FRAME_MESSAGE, m2 } };
	check_stream(cat(m1, m2, NULL, NULL), 0, w, 2, SP_EAGAIN);
}

static void test_folding(void **state)
{
	(void)state;
	/* The Content-Length value itself folded, and another header folded
	 * around a line that reads like a Content-Length. */
	const char *m1 = "MESSAGE sip:a SIP/2.0\r\n"
			 "Subject: a\r\n"
			 " Content-Length: 99\r\n"
			 "Content-Length:\r\n"
			 " \t 3\r\n"
			 "\t \r\n"
			 "X: y\r\n"
			 "\r\n"
			 "abc";
	const char *m2 = "MESSAGE sip:a SIP/2.0\r\n"
			 "Content-Length: 2\r\n"
			 "  \r\n"
			 "\r\n"
			 "ab";
	struct want w[] = { { SP_FRAME_MESSAGE, m1 }, { SP_FRAME_MESSAGE, m2 } };
	check_stream(cat(m1, m2, NULL, NULL), 0, w, 2, SP_EAGAIN);
	/* A folded value that is empty everywhere is still empty. */
	check_fails("A\r\nContent-Length:\r\n \r\n\r\n", 0, SP_EINVAL);
}

/* Only a name at a line start counts: not inside a value, a folded line or
 * the start line. */
static void test_clen_in_value(void **state)
{
	(void)state;
	const char *m1 = "MESSAGE sip:Content-Length:9@a SIP/2.0\r\n"
			 "Subject: Content-Length: 100\r\n"
			 "X-Content-Length: 100\r\n"
			 "Content-Length: 4\r\n"
			 "Warning: 399 h \"l: 8\"\r\n"
			 "\r\n"
			 "abcd";
	struct want w[] = { { SP_FRAME_MESSAGE, m1 }, { SP_FRAME_MESSAGE, m1 } };
	check_stream(cat(m1, m1, NULL, NULL), 0, w, 2, SP_EAGAIN);
}

static void test_bare_lf(void **state)
{
	(void)state;
	const char *m1 = "MESSAGE sip:a SIP/2.0\nContent-Length: 2\n\nab";
	const char *m2 = "MESSAGE sip:a SIP/2.0\r\nl:1\n\r\nz";
	const char *m3 = "MESSAGE sip:a SIP/2.0\nContent-Length:\n 1\n\nz";
	struct want w[] = {
		{ SP_FRAME_MESSAGE, m1 },
		{ SP_FRAME_MESSAGE, m2 },
		{ SP_FRAME_MESSAGE, m3 },
	};
	check_stream(cat(m1, m2, m3, NULL), 0, w, 3, SP_EAGAIN);
}

/* After an error the framer says the same until reset, then starts over. */
static void test_reset(void **state)
{
	(void)state;
	struct sp_framer f;
	enum sp_frame_kind k;
	size_t n;
	const char *bad = "A\r\n\r\n";

	sp_framer_init(&f, 0);
	assert_string_equal(sp_framer_error(&f), "no error");
	assert_int_equal(sp_framer_feed(&f, bad, strlen(bad), &k, &n), SP_EINVAL);
	assert_int_equal(sp_framer_feed(&f, options, strlen(options), &k, &n), SP_EINVAL);
	sp_framer_reset(&f);
	assert_string_equal(sp_framer_error(&f), "no error");
	assert_int_equal(sp_framer_feed(&f, options, strlen(options), &k, &n), 0);
	assert_int_equal(k, SP_FRAME_MESSAGE);
	assert_int_equal(n, strlen(options));
	/* A caller that hands back fewer bytes than before broke the contract. */
	assert_int_equal(sp_framer_feed(&f, options, 10, &k, &n), SP_EAGAIN);
	assert_int_equal(sp_framer_feed(&f, options, 5, &k, &n), SP_EINVAL);
}

/* Byte by byte through a long header section: every byte is examined once,
 * so this stays fast even at the size limit. */
static void test_long_headers_bytewise(void **state)
{
	(void)state;
	static char s[SP_FRAMER_DEFAULT_MAX + 1];
	size_t cap = SP_FRAMER_DEFAULT_MAX, len = 0;

	len += (size_t)snprintf(s, cap, "MESSAGE sip:a SIP/2.0\r\n");
	while (len + 64 < cap - 64)
		len += (size_t)snprintf(s + len, cap - len, "X-Filler: %060d\r\n", 0);
	len += (size_t)snprintf(s + len, cap - len, "Content-Length: 3\r\n\r\nabc");
	s[len] = '\0';

	struct want w[] = { { SP_FRAME_MESSAGE, s } };
	check_stream(s, 0, w, 1, SP_EAGAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_message),
		cmocka_unit_test(test_several_messages),
		cmocka_unit_test(test_partial_message),
		cmocka_unit_test(test_keepalives),
		cmocka_unit_test(test_pong_pending),
		cmocka_unit_test(test_bare_cr),
		cmocka_unit_test(test_missing_clen),
		cmocka_unit_test(test_bad_clen),
		cmocka_unit_test(test_duplicate_clen),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_compact_clen),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_clen_in_value),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_long_headers_bytewise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
