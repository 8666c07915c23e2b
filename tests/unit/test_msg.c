/* test_msg.c: the message parser, header index, Via/name-addr/CSeq parsers, limits and lazy accessors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "sip/framer.h"
#include "sip/msg.h"
#include "testutil.h"

static struct sp_msg *msg_new(void)
{
	struct sp_msg *m = malloc(sizeof(*m));
	assert_non_null(m);
	return m;
}

/* Parses and validates; returns 0 or the error, filling *err. */
static int parse_full(struct sp_msg *m, const char *text, struct sp_sip_error *err)
{
	int e = sp_msg_parse(m, text, strlen(text), SP_PARSE_DATAGRAM, err);
	return e ? e : sp_msg_validate(m, err);
}

#define HDRS                                                           \
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport\r\n"     \
	"From: \"A\" <sip:a@example.com>;tag=f1\r\n"                    \
	"To: <sip:b@example.com>\r\n"                                   \
	"Call-ID: c1@192.0.2.1\r\n"                                     \
	"CSeq: 1 INVITE\r\n"                                            \
	"Max-Forwards: 70\r\n"

static void test_basic_request(void **s)
{
	struct sp_msg *m = msg_new();
	struct sp_sip_error err;
	const char *t = "INVITE sip:b@example.com SIP/2.0\r\n" HDRS
			"Contact: <sip:a@192.0.2.1>;expires=60;q=0.5\r\nContent-Length: 0\r\n\r\n";
	assert_int_equal(parse_full(m, t, &err), 0);
	assert_true(m->request);
	assert_int_equal(m->method_id, SP_METHOD_INVITE);
	assert_true(sp_str_eq_c(m->ruri_raw, "sip:b@example.com"));
	const struct sp_via *v = sp_msg_via(m);
	assert_non_null(v);
	assert_true(sp_str_eq_c(v->transport, "UDP"));
	assert_true(sp_str_eq_c(v->host, "192.0.2.1"));
	assert_int_equal(v->port, 5060);
	assert_true(sp_str_eq_c(v->branch, "z9hG4bK1"));
	assert_true(v->has_rport);
	assert_int_equal(v->rport, 0);
	const struct sp_addr *f = sp_msg_from(m);
	assert_true(sp_str_eq_c(f->display, "\"A\""));
	assert_true(sp_str_eq_c(f->tag, "f1"));
	assert_true(sp_str_eq_c(f->uri.host, "example.com"));
	assert_null(sp_msg_to(m)->tag.p);
	assert_true(sp_str_eq_c(sp_msg_call_id(m), "c1@192.0.2.1"));
	assert_int_equal(sp_msg_cseq(m)->num, 1);
	assert_int_equal(sp_msg_cseq(m)->method_id, SP_METHOD_INVITE);
	uint32_t mf;
	assert_int_equal(sp_msg_max_forwards(m, &mf), 0);
	assert_int_equal(mf, 70);
	const struct sp_addr *c = sp_msg_contact(m);
	assert_true(sp_str_eq_c(c->uri.user, "a"));
	assert_true(c->angle);
	assert_int_equal(m->content_length, 0);
	assert_int_equal(m->body.len, 0);
	/* The cache returns the same object. */
	assert_ptr_equal(sp_msg_via(m), v);
	free(m);
}

static void test_compact_and_folding(void **s)
{
	struct sp_msg *m = msg_new();
	struct sp_sip_error err;
	const char *t = "OPTIONS sip:example.com SIP/2.0\r\n"
			"v: SIP/2.0/TCP h1.example.com;branch=z9hG4bKa ,\r\n SIP/2.0/UDP h2.example.com:5070\r\n"
			"f: <sip:a@example.com>\r\n\t;tag=x\r\n"
			"t: sip:b@example.com\r\n"
			"i: abc\r\n"
			"CSeq:\r\n 7\r\n  OPTIONS\r\n"
			"m: *\r\n"
			"k: path, gruu\r\n"
			"X-Custom: kept\r\n"
			"l: 0\r\n\r\n";
	assert_int_equal(parse_full(m, t, &err), 0);
	assert_int_equal(sp_msg_hdr_count(m, SP_HDR_VIA), 1);
	struct sp_str cur = sp_msg_hdr(m, SP_HDR_VIA)->value;
	struct sp_via v;
	assert_int_equal(sp_via_next(&cur, &v), 0);
	assert_true(sp_str_eq_c(v.host, "h1.example.com"));
	assert_int_equal(sp_via_next(&cur, &v), 0);
	assert_true(sp_str_eq_c(v.host, "h2.example.com"));
	assert_int_equal(v.port, 5070);
	assert_int_equal(sp_via_next(&cur, &v), SP_ENOENT);
	assert_true(sp_str_eq_c(sp_msg_from(m)->tag, "x"));
	assert_true(sp_msg_contact(m)->star);
	assert_int_equal(sp_msg_cseq(m)->num, 7);
	const struct sp_hdr *h = sp_msg_hdr_by_name(m, SP_STR("x-custom"));
	assert_non_null(h);
	assert_true(sp_str_eq_c(h->value, "kept"));
	assert_non_null(sp_msg_hdr_by_name(m, SP_STR("Supported")));
	free(m);
}

static void test_response(void **s)
{
	struct sp_msg *m = msg_new();
	struct sp_sip_error err;
	assert_int_equal(parse_full(m, "SIP/2.0 180 Ringing\r\n" HDRS "Content-Length: 0\r\n\r\n", &err), 0);
	assert_false(m->request);
	assert_int_equal(m->status, 180);
	assert_true(sp_str_eq_c(m->reason, "Ringing"));
	assert_int_equal(parse_full(m, "SIP/2.0 700 Big\r\n" HDRS "\r\n", &err), SP_EINVAL);
	assert_int_equal(parse_full(m, "SIP/2.0 099 Small\r\n" HDRS "\r\n", &err), SP_EINVAL);
	assert_int_equal(parse_full(m, "SIP/3.0 200 OK\r\n" HDRS "\r\n", &err), SP_EINVAL);
	assert_int_equal(err.status, 505);
	free(m);
}

/* Each case must be refused, with the given status and a reason. */
static void test_refusals(void **s)
{
	static const struct {
		const char *text;
		unsigned status;
	} cases[] = {
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "CSeq: 2 INVITE\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "Content-Length: 5\r\n\r\nab", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "Content-Length: -1\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "l: 0\r\nContent-Length: 0\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "Content-Length: 99999999999999999999\r\n\r\n", 400 },
		{ "BYE sip:b@example.com SIP/2.0\r\n" HDRS "\r\n", 400 },  /* CSeq method mismatch */
		{ "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		  "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: x\r\n"
		  "CSeq: 2147483648 INVITE\r\n\r\n", 400 },                 /* CSeq >= 2^31 */
		{ "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		  "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: x\r\n"
		  "CSeq: 1 INVITE\r\nMax-Forwards: 256\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h:65536;branch=z9hG4bK1\r\n"
		  "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: x\r\n"
		  "CSeq: 1 INVITE\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com:70000 SIP/2.0\r\n" HDRS "\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		  "From: <sip:a@example.com>;tag=1\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n", 400 },
		{ "INVITE  sip:b@example.com SIP/2.0\r\n" HDRS "\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0 \r\n" HDRS "\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "Bad Header: x\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "X: a\nb\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "X: a\0b\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS, 400 },      /* no empty line */
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "\r\nbody", 400 }, /* body, no Content-Type */
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "Expires: 4294967296\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "Contact: <sip:a@h>;expires=4294967296\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "Contact: *, <sip:a@h>\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "Route: sip:p@h\r\n\r\n", 400 },
		{ "INVITE sip:b@example.com SIP/2.0\r\n" HDRS "Contact: <sip:a@h>;q=1.5\r\n\r\n", 400 },
	};
	struct sp_msg *m = msg_new();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sp_sip_error err = { 0, NULL };
		/* strlen stops at the embedded NUL; use the literal length there. */
		int e = sp_msg_parse(m, cases[i].text, strlen(cases[i].text), SP_PARSE_DATAGRAM, &err);
		if (e == 0)
			e = sp_msg_validate(m, &err);
		if (e == 0 || err.status != cases[i].status || !err.reason) {
			printf("case %zu: e=%d status=%u reason=%s\n", i, e, err.status,
			       err.reason ? err.reason : "(none)");
			fail();
		}
	}
	free(m);
}

static void test_nul_in_value(void **s)
{
	static const char t[] = "OPTIONS sip:h SIP/2.0\r\nX: a\0b\r\n\r\n";
	struct sp_msg *m = msg_new();
	struct sp_sip_error err;
	assert_int_equal(sp_msg_parse(m, t, sizeof(t) - 1, SP_PARSE_DATAGRAM, &err), SP_EINVAL);
	free(m);
}

/* Review findings: a reused struct keeps nothing of the last message; a
 * stream buffer holds exactly one message; control bytes pass only as a
 * quoted-pair inside a quoted string. */
static void test_reuse_and_strictness(void **s)
{
	struct sp_msg *m = msg_new();
	struct sp_sip_error err;
	const char *ok = "OPTIONS sip:h SIP/2.0\r\n" HDRS "Content-Length: 0\r\n\r\n";
	assert_int_equal(sp_msg_parse(m, ok, strlen(ok), 0, &err), 0);
	assert_true(m->request);
	const char *bad = "SIP/2.0 200 OK\r\nVia: x\n\r\n";
	assert_int_equal(sp_msg_parse(m, bad, strlen(bad), 0, &err), SP_EINVAL);
	assert_false(m->request);
	assert_int_equal(m->hdrs_end, 0);
	assert_int_equal(m->body.len, 0);

	char two[512];
	snprintf(two, sizeof(two), "%s%s", ok, ok);
	assert_int_equal(sp_msg_parse(m, two, strlen(two), 0, &err), SP_EINVAL);
	assert_int_equal(sp_msg_parse(m, two, strlen(two), SP_PARSE_DATAGRAM, &err), 0);

	static const char nul_bare[] = "OPTIONS sip:h SIP/2.0\r\n" HDRS "X-Foo: a\\\0b\r\n\r\n";
	assert_int_equal(sp_msg_parse(m, nul_bare, sizeof(nul_bare) - 1, SP_PARSE_DATAGRAM, &err),
			 SP_EINVAL);
	static const char nul_quoted[] = "OPTIONS sip:h SIP/2.0\r\n" HDRS "X-Foo: \"a\\\0b\"\r\n\r\n";
	assert_int_equal(sp_msg_parse(m, nul_quoted, sizeof(nul_quoted) - 1, SP_PARSE_DATAGRAM, &err), 0);
	free(m);
}

static void test_limits(void **s)
{
	struct sp_msg *m = msg_new();
	struct sp_sip_error err;
	struct sp_buf b;
	sp_buf_init(&b, 1 << 20);

	/* 256 header lines are fine, 257 are not. */
	for (int n = 250; n <= 251; n++) {
		sp_buf_reset(&b);
		sp_buf_append_c(&b, "OPTIONS sip:h SIP/2.0\r\n" HDRS);
		for (int i = 0; i < n; i++)
			sp_buf_printf(&b, "X-%d: y\r\n", i);
		sp_buf_append_c(&b, "\r\n");
		int e = sp_msg_parse(m, b.p, b.len, SP_PARSE_DATAGRAM, &err);
		assert_int_equal(e, n == 250 ? 0 : SP_EINVAL);
	}
	/* A header line of more than 8 KiB. */
	sp_buf_reset(&b);
	sp_buf_append_c(&b, "OPTIONS sip:h SIP/2.0\r\n" HDRS "Subject: ");
	for (int i = 0; i < 8200; i++)
		sp_buf_append_c(&b, "a");
	sp_buf_append_c(&b, "\r\n\r\n");
	assert_int_equal(sp_msg_parse(m, b.p, b.len, SP_PARSE_DATAGRAM, &err), SP_EINVAL);
	/* More than 65,535 bytes: 413. */
	sp_buf_reset(&b);
	sp_buf_append_c(&b, "OPTIONS sip:h SIP/2.0\r\n" HDRS "Content-Type: text/plain\r\n\r\n");
	while (b.len <= SP_MSG_MAX_LEN)
		sp_buf_append_c(&b, "0123456789");
	assert_int_equal(sp_msg_parse(m, b.p, b.len, SP_PARSE_DATAGRAM, &err), SP_EINVAL);
	assert_int_equal(err.status, 413);
	sp_buf_free(&b);
	free(m);
}

static void test_datagram_trailing_bytes(void **s)
{
	struct sp_msg *m = msg_new();
	struct sp_sip_error err;
	const char *t = "OPTIONS sip:h SIP/2.0\r\n" HDRS "Content-Type: text/plain\r\n"
			"Content-Length: 3\r\n\r\nabcGARBAGE";
	assert_int_equal(sp_msg_parse(m, t, strlen(t), SP_PARSE_DATAGRAM, &err), 0);
	assert_int_equal(m->body.len, 3);
	assert_int_equal(m->len, strlen(t) - 7);
	/* Without Content-Length the body runs to the end of the datagram. */
	const char *u = "OPTIONS sip:h SIP/2.0\r\n" HDRS "Content-Type: text/plain\r\n\r\nxyz";
	assert_int_equal(sp_msg_parse(m, u, strlen(u), SP_PARSE_DATAGRAM, &err), 0);
	assert_int_equal(m->body.len, 3);
	assert_int_equal(m->content_length, -1);
	/* On a stream, Content-Length is required. */
	assert_int_equal(sp_msg_parse(m, u, strlen(u), 0, &err), SP_EINVAL);
	free(m);
}

static void test_addr_forms(void **s)
{
	struct sp_addr a;
	assert_int_equal(sp_addr_parse(SP_STR("caller<sip:caller@example.com>;tag=323"), 0, &a), 0);
	assert_true(sp_str_eq_c(a.display, "caller"));
	assert_true(sp_str_eq_c(a.tag, "323"));
	assert_int_equal(sp_addr_parse(SP_STR("sip:a@h;tag=1"), 0, &a), 0);
	assert_false(a.angle);
	assert_true(sp_str_eq_c(a.tag, "1"));
	assert_null(a.uri.params.p); /* in addr-spec form ;tag belongs to the header */
	assert_int_equal(sp_addr_parse(SP_STR("Bell, Alexander <sip:a@h>"), 0, &a), SP_EINVAL);
	assert_int_equal(sp_addr_parse(SP_STR("\"unterminated <sip:a@h>"), 0, &a), SP_EINVAL);
	assert_int_equal(sp_addr_parse(SP_STR("<sip:a@h>, <sip:b@h>"), 0, &a), SP_EINVAL);
	assert_int_equal(sp_addr_parse(SP_STR("<sip:a@h;lr>"), SP_ADDR_NAMEADDR, &a), 0);
	assert_int_equal(sp_addr_parse(SP_STR("sip:a@h"), SP_ADDR_NAMEADDR, &a), SP_EINVAL);
	assert_int_equal(sp_addr_parse(SP_STR("<sip:a@h>;tag=1;tag=2"), 0, &a), SP_EINVAL);
	assert_int_equal(sp_addr_parse(SP_STR("<tel:+4721000001>"), 0, &a), 0);
	assert_int_equal(a.uri.scheme_id, SP_URI_TEL);
	/* Lists. */
	struct sp_str cur = SP_STR("<sip:a@h>;q=0.1 , \"B\" <sip:b@h>;expires=0");
	assert_int_equal(sp_addr_next(&cur, 0, &a), 0);
	assert_true(sp_str_eq_c(a.raw, "<sip:a@h>;q=0.1"));
	assert_int_equal(sp_addr_next(&cur, 0, &a), 0);
	assert_true(sp_str_eq_c(a.uri.user, "b"));
	assert_int_equal(sp_addr_next(&cur, 0, &a), SP_ENOENT);
}

static void test_via_forms(void **s)
{
	struct sp_via v;
	struct sp_str cur = SP_STR("SIP / 2.0 / TLS [2001:db8::1]:5061;branch=z9hG4bKx;received=[2001:db8::2];ttl=16;maddr=224.2.0.1;rport=5062");
	assert_int_equal(sp_via_next(&cur, &v), 0);
	assert_true(sp_str_eq_c(v.transport, "TLS"));
	assert_true(sp_str_eq_c(v.host, "[2001:db8::1]"));
	assert_int_equal(v.host_type, SP_HOST_IPV6);
	assert_int_equal(v.port, 5061);
	assert_int_equal(v.ttl, 16);
	assert_int_equal(v.rport, 5062);
	assert_true(sp_str_eq_c(v.maddr, "224.2.0.1"));
	assert_true(sp_str_eq_c(v.received, "[2001:db8::2]"));
	static const char *bad[] = {
		"SIP/2.0/UDP", "SIP/2.0/UDP h;ttl=256", "SIP/2.0/UDP h:99999", "SIP/3.0/UDP h",
		"SIP/2.0 h", "SIP/2.0/UDP 2001:db8::1", "SIP/2.0/UDP h;;", "SIP/2.0/UDP h;rport=65536",
		"SIP/2.0/UDP h,", "SIP/2.0/UDP h;received=example.com",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cur = sp_str_cstr(bad[i]);
		int e = sp_via_next(&cur, &v);
		if (e == 0)
			e = sp_via_next(&cur, &v) == SP_ENOENT ? 0 : SP_EINVAL;
		if (e == 0) {
			printf("accepted bad Via: %s\n", bad[i]);
			fail();
		}
	}
}

/* Every message through the stream framer: whole, in random splits and
 * byte by byte; each frame must be the message and parse the same. */
static void feed_stream(const char *stream, size_t len, unsigned split_seed, int nmsgs)
{
	struct sp_framer f;
	struct sp_msg *m = msg_new();
	char *rx = malloc(len + 1);
	size_t have = 0, fed = 0;
	int frames = 0;
	unsigned seed = split_seed;

	sp_framer_init(&f, SP_MSG_MAX_LEN);
	while (fed < len || have) {
		size_t chunk = split_seed == 0 ? len : split_seed == 1 ? 1 : 1 + tu_rand(&seed) % 97;
		if (chunk > len - fed)
			chunk = len - fed;
		memcpy(rx + have, stream + fed, chunk);
		have += chunk;
		fed += chunk;
		for (;;) {
			enum sp_frame_kind kind;
			size_t flen;
			int e = sp_framer_feed(&f, rx, have, &kind, &flen);
			if (e == SP_EAGAIN)
				break;
			if (e)
				printf("framer: %s\n", sp_framer_error(&f));
			assert_int_equal(e, 0);
			if (kind == SP_FRAME_MESSAGE) {
				struct sp_sip_error err;
				assert_int_equal(sp_msg_parse(m, rx, flen, 0, &err), 0);
				assert_int_equal(sp_msg_validate(m, &err), 0);
				assert_int_equal(m->len, flen);
				frames++;
			}
			memmove(rx, rx + flen, have - flen);
			have -= flen;
		}
		if (fed == len && have) {
			/* Leftover bytes only when they are a partial keep-alive. */
			break;
		}
	}
	assert_int_equal(frames, nmsgs);
	free(rx);
	free(m);
}

static void test_stream_delivery(void **s)
{
	const char *stream =
		"\r\n\r\n"
		"INVITE sip:b@example.com SIP/2.0\r\n" HDRS
		"Content-Type: application/sdp\r\nContent-Length: 63\r\n\r\n"
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		"\r\n\r\n"
		"SIP/2.0 200 OK\r\n" HDRS "Content-Length: 0\r\n\r\n"
		"OPTIONS sip:example.com SIP/2.0\r\nv: SIP/2.0/TCP h\r\n ;branch=z9hG4bKb\r\nf: <sip:a@h>;tag=1\r\n"
		"t: <sip:b@h>\r\ni: 2\r\nCSeq: 9 OPTIONS\r\nl: 0\r\n\r\n";
	size_t len = strlen(stream);
	feed_stream(stream, len, 0, 3);
	feed_stream(stream, len, 1, 3);
	for (unsigned seed = 2; seed < 40; seed++)
		feed_stream(stream, len, seed, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_request),
		cmocka_unit_test(test_compact_and_folding),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_nul_in_value),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_reuse_and_strictness),
		cmocka_unit_test(test_datagram_trailing_bytes),
		cmocka_unit_test(test_addr_forms),
		cmocka_unit_test(test_via_forms),
		cmocka_unit_test(test_stream_delivery),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
