/* test_sdp.c: unit tests of the SDP parser, its attribute helpers and the address/port rewriter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "sdp/sdp.h"
#include "testutil.h"

/* struct sp_sdp is large, so the tests share one off the stack. */
static struct sp_sdp g_sdp;

static void eq(struct sp_str got, const char *want)
{
	if (got.len != strlen(want) || memcmp(got.p, want, got.len) != 0)
		fail_msg("got '%.*s', want '%s'", SP_STR_FMT(got), want);
}

static struct sp_sdp *parse_ok(const char *text)
{
	const char *why = NULL;
	int rc = sp_sdp_parse(sp_str_cstr(text), &g_sdp, &why);
	if (rc)
		fail_msg("parse failed (%d): %s\n%s", rc, why ? why : "?", text);
	return &g_sdp;
}

static void parse_bad(const char *text, int want, const char *want_why)
{
	const char *why = NULL;
	int rc = sp_sdp_parse(sp_str_cstr(text), &g_sdp, &why);
	if (rc != want)
		fail_msg("rc %d, want %d for:\n%s", rc, want, text);
	assert_non_null(why);
	if (want_why && strcmp(why, want_why) != 0)
		fail_msg("why '%s', want '%s'", why, want_why);
}

/* RFC 4317 section 2.1, offer and answer. */
static const char rfc4317_offer[] = "v=0\r\n"
				    "o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\n"
				    "s=\r\n"
				    "c=IN IP4 host.atlanta.example.com\r\n"
				    "t=0 0\r\n"
				    "m=audio 49170 RTP/AVP 0 8 97\r\n"
				    "a=rtpmap:0 PCMU/8000\r\n"
				    "a=rtpmap:8 PCMA/8000\r\n"
				    "a=rtpmap:97 iLBC/8000\r\n"
				    "m=video 51372 RTP/AVP 31 32\r\n"
				    "a=rtpmap:31 H261/90000\r\n"
				    "a=rtpmap:32 MPV/90000\r\n";

static const char rfc4317_answer[] = "v=0\r\n"
				     "o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com\r\n"
				     "s=\r\n"
				     "c=IN IP4 host.biloxi.example.com\r\n"
				     "t=0 0\r\n"
				     "m=audio 49174 RTP/AVP 0\r\n"
				     "a=rtpmap:0 PCMU/8000\r\n"
				     "m=video 49170 RTP/AVP 32\r\n"
				     "a=rtpmap:32 MPV/90000\r\n";

/* RFC 5118 section 4.5 (ipv6-in-sdp) and 4.6 (mult-ip-in-sdp). */
static const char rfc5118_ipv6[] = "v=0\r\n"
				   "o=assistant 971731711378798081 0 IN IP6 2001:db8::20\r\n"
				   "s=Live video feed for today's meeting\r\n"
				   "c=IN IP6 2001:db8::20\r\n"
				   "t=3338481189 3370017201\r\n"
				   "m=audio 6000 RTP/AVP 2\r\n"
				   "a=rtpmap:2 G726-32/8000\r\n"
				   "m=video 6024 RTP/AVP 107\r\n"
				   "a=rtpmap:107 H263-1998/90000\r\n";

static const char rfc5118_mult[] = "v=0\r\n"
				   "o=bob 280744730 28977631 IN IP4 host.example.com\r\n"
				   "s=\r\n"
				   "t=0 0\r\n"
				   "m=audio 22334 RTP/AVP 0\r\n"
				   "c=IN IP4 192.0.2.1\r\n"
				   "m=video 6024 RTP/AVP 107\r\n"
				   "c=IN IP6 2001:db8::1\r\n"
				   "a=rtpmap:107 H263-1998/90000\r\n";

/* A WebRTC-ish offer: Opus and G.722 with fmtp, a=rtcp, direction, b=, LF only. */
static const char opus_lf[] = "v=0\n"
			      "o=- 4611731400430051336 2 IN IP4 127.0.0.1\n"
			      "s=-\n"
			      "i=call\n"
			      "c=IN IP4 203.0.113.5\n"
			      "b=AS:128\n"
			      "t=0 0\n"
			      "a=group:BUNDLE 0\n"
			      "a=recvonly\n"
			      "m=audio 54312 UDP/TLS/RTP/SAVPF 111 9 101\n"
			      "i=main audio\n"
			      "b=TIAS:64000\n"
			      "a=rtpmap:111 opus/48000/2\n"
			      "a=fmtp:111 minptime=10;useinbandfec=1\n"
			      "a=rtpmap:9 G722/8000\n"
			      "a=rtpmap:101 telephone-event/8000\n"
			      "a=fmtp:101 0-15\n"
			      "a=rtcp:54313 IN IP4 203.0.113.5\n"
			      "a=sendonly\n"
			      "a=rtcp-mux\n"
			      "m=video 0 RTP/AVP 96\n"
			      "a=rtpmap:96 VP8/90000\n";

static void test_rfc4317(void **state)
{
	(void)state;
	struct sp_sdp *s = parse_ok(rfc4317_offer);
	eq(s->origin.username, "alice");
	eq(s->origin.sess_id, "2890844526");
	eq(s->origin.addr, "host.atlanta.example.com");
	eq(s->name, "");
	assert_true(s->has_conn);
	eq(s->conn.nettype, "IN");
	eq(s->conn.addrtype, "IP4");
	eq(s->conn.addr, "host.atlanta.example.com");
	eq(s->conn.value, "IN IP4 host.atlanta.example.com");
	assert_int_equal(s->nmedia, 2);
	eq(s->media[0].type, "audio");
	assert_int_equal(s->media[0].port, 49170);
	assert_int_equal(s->media[0].port_count, 1);
	eq(s->media[0].proto, "RTP/AVP");
	eq(s->media[0].fmts, "0 8 97");
	assert_int_equal(s->media[0].nfmt, 3);
	eq(s->media[0].fmt[2], "97");
	assert_int_equal(s->media[0].attrs.n, 3);
	assert_ptr_equal(sp_sdp_media_conn(s, 1), &s->conn);

	size_t it = 0;
	const struct sp_sdp_attr *a;
	struct sp_sdp_rtpmap rm;
	int n = 0;
	while (sp_sdp_attr_find(&s->media[0].attrs, "rtpmap", &it, &a) == 0) {
		assert_int_equal(sp_sdp_rtpmap_parse(a->value, &rm), 0);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(rm.pt, 97);
	eq(rm.encoding, "iLBC");
	assert_int_equal(rm.clock, 8000);
	assert_int_equal(rm.channels, 1);

	s = parse_ok(rfc4317_answer);
	assert_int_equal(s->nmedia, 2);
	assert_int_equal(s->media[1].port, 49170);
	eq(s->media[1].fmt[0], "32");
	assert_int_equal(sp_sdp_direction(s, 0), SP_SDP_SENDRECV);
}

static void test_rfc5118(void **state)
{
	(void)state;
	struct sp_sdp *s = parse_ok(rfc5118_ipv6);
	eq(s->origin.addrtype, "IP6");
	eq(s->origin.addr, "2001:db8::20");
	eq(s->conn.addr, "2001:db8::20");
	eq(s->name, "Live video feed for today's meeting");
	assert_int_equal(s->nmedia, 2);
	assert_int_equal(s->media[1].port, 6024);

	s = parse_ok(rfc5118_mult);
	assert_false(s->has_conn);
	assert_int_equal(s->media[0].nconn, 1);
	eq(sp_sdp_media_conn(s, 0)->addr, "192.0.2.1");
	eq(sp_sdp_media_conn(s, 1)->addrtype, "IP6");
	eq(sp_sdp_media_conn(s, 1)->addr, "2001:db8::1");
}

static void test_opus_g722(void **state)
{
	(void)state;
	struct sp_sdp *s = parse_ok(opus_lf);
	const struct sp_sdp_media *m = &s->media[0];
	eq(m->proto, "UDP/TLS/RTP/SAVPF");
	assert_int_equal(m->nconn, 0);
	eq(sp_sdp_media_conn(s, 0)->addr, "203.0.113.5");
	assert_int_equal(s->attrs.n, 2);

	size_t it = 0;
	const struct sp_sdp_attr *a;
	struct sp_sdp_rtpmap rm;
	assert_int_equal(sp_sdp_attr_find(&m->attrs, "RTPMAP", &it, &a), 0);
	assert_int_equal(sp_sdp_rtpmap_parse(a->value, &rm), 0);
	assert_int_equal(rm.pt, 111);
	eq(rm.encoding, "opus");
	assert_int_equal(rm.clock, 48000);
	assert_int_equal(rm.channels, 2);
	eq(rm.params, "2");
	assert_int_equal(sp_sdp_attr_find(&m->attrs, "rtpmap", &it, &a), 0);
	assert_int_equal(sp_sdp_rtpmap_parse(a->value, &rm), 0);
	eq(rm.encoding, "G722");
	assert_int_equal(rm.clock, 8000);

	struct sp_sdp_fmtp fm;
	it = 0;
	assert_int_equal(sp_sdp_attr_find(&m->attrs, "fmtp", &it, &a), 0);
	assert_int_equal(sp_sdp_fmtp_parse(a->value, &fm), 0);
	eq(fm.format, "111");
	eq(fm.params, "minptime=10;useinbandfec=1");
	assert_int_equal(sp_sdp_attr_find(&m->attrs, "fmtp", &it, &a), 0);
	assert_int_equal(sp_sdp_fmtp_parse(a->value, &fm), 0);
	eq(fm.params, "0-15");
	assert_int_equal(sp_sdp_attr_find(&m->attrs, "fmtp", &it, &a), SP_ENOENT);

	struct sp_sdp_rtcp rc;
	it = 0;
	assert_int_equal(sp_sdp_attr_find(&m->attrs, "rtcp", &it, &a), 0);
	assert_int_equal(sp_sdp_rtcp_parse(a->value, &rc), 0);
	assert_int_equal(rc.port, 54313);
	assert_true(rc.has_addr);
	eq(rc.addr, "203.0.113.5");
	assert_int_equal(sp_sdp_rtcp_parse(sp_str_cstr("9"), &rc), 0);
	assert_false(rc.has_addr);
	assert_int_equal(sp_sdp_rtcp_parse(sp_str_cstr("70000"), &rc), SP_EINVAL);
	assert_int_equal(sp_sdp_rtcp_parse(sp_str_cstr("9 IN IP4"), &rc), SP_EINVAL);

	/* Media level wins; the second media inherits the session's recvonly. */
	assert_int_equal(sp_sdp_direction(s, 0), SP_SDP_SENDONLY);
	assert_int_equal(sp_sdp_direction(s, 1), SP_SDP_RECVONLY);
	assert_int_equal(s->media[1].port, 0);

	assert_int_equal(sp_sdp_rtpmap_parse(sp_str_cstr("128 X/8000"), &rm), SP_EINVAL);
	assert_int_equal(sp_sdp_rtpmap_parse(sp_str_cstr("0 PCMU"), &rm), SP_EINVAL);
	assert_int_equal(sp_sdp_rtpmap_parse(sp_str_cstr("0 PCMU/x"), &rm), SP_EINVAL);
	assert_int_equal(sp_sdp_fmtp_parse(sp_str_cstr("101 "), &fm), SP_EINVAL);
}

static void test_conn_forms(void **state)
{
	(void)state;
	struct sp_sdp *s = parse_ok("v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns= \r\n"
				    "c=IN IP4 233.252.0.1/127/3\r\nt=0 0\r\n"
				    "r=7d 1h 0 25h\r\nz=2882844526 -1h 2898848070 0\r\nk=prompt\r\n"
				    "m=audio 49170/2 RTP/AVP 0\r\nc=IN IP6 ff15::101/3\r\n"
				    "c=IN IP6 ff15::201/3\r\n");
	eq(s->name, " ");
	eq(s->conn.addr, "233.252.0.1");
	assert_int_equal(s->conn.ttl, 127);
	assert_int_equal(s->conn.count, 3);
	assert_int_equal(s->media[0].port_count, 2);
	assert_int_equal(s->media[0].nconn, 2);
	eq(s->media[0].conn[1].addr, "ff15::201");
	assert_int_equal(s->media[0].conn[1].count, 3);
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\n"

static void test_invalid(void **state)
{
	(void)state;
	parse_bad("", SP_EINVAL, NULL);
	parse_bad("o=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n", SP_EINVAL,
		  "SDP: first line is not v=");
	parse_bad("v=1\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nt=0 0\r\n", SP_EINVAL, "SDP: bad v= line");
	parse_bad(HEAD "c=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n", SP_EINVAL,
		  "SDP: bad m= line");
	parse_bad(HEAD "c=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP\r\n", SP_EINVAL,
		  "SDP: bad m= line");
	parse_bad(HEAD "c=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/ 0\r\n", SP_EINVAL,
		  "SDP: bad m= line");
	parse_bad(HEAD "c=IN IP4 300.1.2.3\r\nt=0 0\r\n", SP_EINVAL, "SDP: bad c= line");
	parse_bad(HEAD "c=IN IP4\r\nt=0 0\r\n", SP_EINVAL, "SDP: bad c= line");
	parse_bad(HEAD "c=IN  IP4 192.0.2.9\r\nt=0 0\r\n", SP_EINVAL, "SDP: bad c= line");
	parse_bad(HEAD "c=IN IP6 2001:db8:::1\r\nt=0 0\r\n", SP_EINVAL, "SDP: bad c= line");
	parse_bad(HEAD "c=IN IP4 192.0.2.9/300\r\nt=0 0\r\n", SP_EINVAL, "SDP: bad c= line");
	parse_bad(HEAD "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", SP_EINVAL,
		  "SDP: media without c= line");
	parse_bad(HEAD "c=IN IP4 192.0.2.9\r\nt=now 0\r\n", SP_EINVAL, "SDP: bad t= line");
	parse_bad(HEAD "c=IN IP4 192.0.2.9\r\nt=0\r\n", SP_EINVAL, "SDP: bad t= line");
	parse_bad(HEAD "t=0 0\r\nc=IN IP4 192.0.2.9\r\n", SP_EINVAL, "SDP: line out of order");
	parse_bad("v=0\r\ns=-\r\no=- 1 1 IN IP4 192.0.2.9\r\nt=0 0\r\n", SP_EINVAL, NULL);
	parse_bad("v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\nt=0 0\r\n", SP_EINVAL, "SDP: missing s= line");
	parse_bad(HEAD "c=IN IP4 192.0.2.9\r\n", SP_EINVAL, "SDP: missing t= line");
	parse_bad(HEAD "c=IN IP4 192.0.2.9\r\nm=audio 4000 RTP/AVP 0\r\n", SP_EINVAL,
		  "SDP: missing t= line");
	parse_bad("v=0\r\no=- x 1 IN IP4 192.0.2.9\r\ns=-\r\nt=0 0\r\n", SP_EINVAL, "SDP: bad o= line");
	parse_bad("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n", SP_EINVAL, "SDP: bad o= line");
	parse_bad(HEAD "t=0 0\r\n\r\na=x\r\n", SP_EINVAL, "SDP: empty line");
	parse_bad(HEAD "t=0 0\r\njunk\r\n", SP_EINVAL, "SDP: line without '='");
	parse_bad(HEAD "t=0 0\r\na = x\r\n", SP_EINVAL, "SDP: line without '='");
	parse_bad(HEAD "t=0 0\r\nA=x\r\n", SP_EINVAL, "SDP: bad line type");
	parse_bad(HEAD "t=0 0\r\nx=y\r\n", SP_EINVAL, NULL);
	parse_bad(HEAD "t=0 0\r\na=x y\r\n", SP_EINVAL, "SDP: bad a= line");
	parse_bad(HEAD "t=0 0\r\na=x:\r\n", SP_EINVAL, "SDP: bad a= line");
	parse_bad(HEAD "t=0 0\r\nb=AS:x\r\n", SP_EINVAL, "SDP: line out of order");
	parse_bad(HEAD "t=0 0", SP_EINVAL, "SDP: last line lacks a line ending");
	parse_bad(HEAD "t=0 0\r\na=x\ry\r\n", SP_EINVAL, "SDP: stray CR");
	parse_bad(HEAD "r=1 1 1\r\nt=0 0\r\n", SP_EINVAL, NULL);
	parse_bad(HEAD "c=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=x\r\nc=IN IP4 "
		       "192.0.2.9\r\n",
		  SP_EINVAL, "SDP: line out of order");
	parse_bad(HEAD "c=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nz=0 0\r\n",
		  SP_EINVAL, NULL);

	static const char nul[] = HEAD "t=0 0\r\na=x\0y\r\n";
	const char *why;
	assert_int_equal(sp_sdp_parse(sp_str_make(nul, sizeof(nul) - 1), &g_sdp, &why), SP_EINVAL);
	eq(sp_str_cstr(why), "SDP: NUL byte");

	/* Trailing blank lines are harmless. */
	parse_ok(HEAD "t=0 0\r\n\r\n");
}

static void test_caps(void **state)
{
	(void)state;
	static char big[8192];
	size_t n = (size_t)snprintf(big, sizeof(big), HEAD "c=IN IP4 192.0.2.9\r\nt=0 0\r\n");
	for (int i = 0; i < SP_SDP_MAX_MEDIA; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "m=audio 4000 RTP/AVP 0\r\n");
	parse_ok(big);
	snprintf(big + n, sizeof(big) - n, "m=audio 4000 RTP/AVP 0\r\n");
	parse_bad(big, SP_E2BIG, "SDP: too many m= lines");

	n = (size_t)snprintf(big, sizeof(big), HEAD "c=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 1 RTP/AVP");
	for (int i = 0; i < SP_SDP_MAX_FMTS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, " %d", i);
	snprintf(big + n, sizeof(big) - n, "\r\n");
	parse_ok(big);
	snprintf(big + n, sizeof(big) - n, " 99\r\n");
	parse_bad(big, SP_E2BIG, NULL);

	n = (size_t)snprintf(big, sizeof(big), HEAD "t=0 0\r\n");
	for (int i = 0; i < SP_SDP_MAX_ATTRS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "a=x%d\r\n", i);
	parse_ok(big);
	snprintf(big + n, sizeof(big) - n, "a=one-more\r\n");
	parse_bad(big, SP_E2BIG, "SDP: too many a= lines");
}

static void check_rewrite(const char *in, const struct sp_sdp_rewrite *rw, const char *want)
{
	struct sp_buf out;
	parse_ok(in);
	sp_buf_init(&out, 65536);
	assert_int_equal(sp_sdp_rewrite(&g_sdp, rw, &out), 0);
	if (out.len != strlen(want) || memcmp(out.p, want, out.len) != 0)
		fail_msg("rewrite gave:\n%.*s\nwant:\n%s", (int)out.len, out.p, want);
	/* The result must parse again. */
	const char *why;
	assert_int_equal(sp_sdp_parse(sp_buf_str(&out), &g_sdp, &why), 0);
	sp_buf_free(&out);
}

static void test_rewrite_session_conn(void **state)
{
	(void)state;
	struct sp_sdp_rewrite rw = { .session_addr = SP_STR("192.0.2.1"), .origin = true, .nmedia = 2 };
	rw.media[0] = (struct sp_sdp_rw_media){ SP_STR("192.0.2.1"), 40000, -1 };
	rw.media[1] = (struct sp_sdp_rw_media){ SP_STR("192.0.2.1"), 40002, -1 };
	check_rewrite(rfc4317_offer, &rw,
		      "v=0\r\n"
		      "o=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\n"
		      "s=\r\n"
		      "c=IN IP4 192.0.2.1\r\n"
		      "t=0 0\r\n"
		      "m=audio 40000 RTP/AVP 0 8 97\r\n"
		      "a=rtpmap:0 PCMU/8000\r\n"
		      "a=rtpmap:8 PCMA/8000\r\n"
		      "a=rtpmap:97 iLBC/8000\r\n"
		      "m=video 40002 RTP/AVP 31 32\r\n"
		      "a=rtpmap:31 H261/90000\r\n"
		      "a=rtpmap:32 MPV/90000\r\n");

	/* Nothing asked: the body comes back byte for byte. */
	struct sp_sdp_rewrite none = { .nmedia = 2 };
	none.media[0] = (struct sp_sdp_rw_media){ SP_STR_NULL, -1, -1 };
	none.media[1] = (struct sp_sdp_rw_media){ SP_STR_NULL, -1, -1 };
	check_rewrite(rfc4317_answer, &none, rfc4317_answer);
}

static void test_rewrite_family_and_insert(void **state)
{
	(void)state;
	/* IP6 session address, media 1 moves to its own IP4 address: it gets a
	 * c= line of its own, placed after its i= line, with the body's LF. */
	struct sp_sdp_rewrite rw = { .session_addr = SP_STR("2001:db8::5"), .nmedia = 2 };
	rw.media[0] = (struct sp_sdp_rw_media){ SP_STR("2001:db8::5"), 30000, -1 };
	rw.media[1] = (struct sp_sdp_rw_media){ SP_STR("198.51.100.7"), -1, -1 };
	check_rewrite(opus_lf, &rw,
		      "v=0\n"
		      "o=- 4611731400430051336 2 IN IP4 127.0.0.1\n"
		      "s=-\n"
		      "i=call\n"
		      "c=IN IP6 2001:db8::5\n"
		      "b=AS:128\n"
		      "t=0 0\n"
		      "a=group:BUNDLE 0\n"
		      "a=recvonly\n"
		      "m=audio 30000 UDP/TLS/RTP/SAVPF 111 9 101\n"
		      "i=main audio\n"
		      "b=TIAS:64000\n"
		      "a=rtpmap:111 opus/48000/2\n"
		      "a=fmtp:111 minptime=10;useinbandfec=1\n"
		      "a=rtpmap:9 G722/8000\n"
		      "a=rtpmap:101 telephone-event/8000\n"
		      "a=fmtp:101 0-15\n"
		      "a=rtcp:30001 IN IP6 2001:db8::5\n"
		      "a=sendonly\n"
		      "a=rtcp-mux\n"
		      "m=video 0 RTP/AVP 96\n"
		      "c=IN IP4 198.51.100.7\n"
		      "a=rtpmap:96 VP8/90000\n");
}

static void test_rewrite_media_conn(void **state)
{
	(void)state;
	/* Per-media c= lines, IP6 -> IP4 and IP4 -> IP6, o= left alone. */
	struct sp_sdp_rewrite rw = { .nmedia = 2 };
	rw.media[0] = (struct sp_sdp_rw_media){ SP_STR("2001:db8::77"), 5000, 5005 };
	rw.media[1] = (struct sp_sdp_rw_media){ SP_STR("192.0.2.200"), 6000, -1 };
	check_rewrite(rfc5118_mult, &rw,
		      "v=0\r\n"
		      "o=bob 280744730 28977631 IN IP4 host.example.com\r\n"
		      "s=\r\n"
		      "t=0 0\r\n"
		      "m=audio 5000 RTP/AVP 0\r\n"
		      "c=IN IP6 2001:db8::77\r\n"
		      "m=video 6000 RTP/AVP 107\r\n"
		      "c=IN IP4 192.0.2.200\r\n"
		      "a=rtpmap:107 H263-1998/90000\r\n");

	/* Multicast with ttl: the suffix goes with the old address; port count stays. */
	struct sp_sdp_rewrite rw2 = { .session_addr = SP_STR("192.0.2.1"), .nmedia = 1 };
	rw2.media[0] = (struct sp_sdp_rw_media){ SP_STR("192.0.2.1"), 40000, -1 };
	check_rewrite(HEAD "c=IN IP4 233.252.0.1/127\r\nt=0 0\r\nm=audio 49170/2 RTP/AVP 0\r\n"
			   "a=rtcp:53020\r\n",
		      &rw2,
		      HEAD "c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 40000/2 RTP/AVP 0\r\n"
			   "a=rtcp:40001\r\n");
}

static void test_rewrite_errors(void **state)
{
	(void)state;
	struct sp_buf out;
	struct sp_sdp_rewrite rw = { .session_addr = SP_STR("not an address"), .nmedia = 0 };
	parse_ok(rfc4317_offer);
	sp_buf_init(&out, 65536);
	assert_int_equal(sp_sdp_rewrite(&g_sdp, &rw, &out), SP_EINVAL);
	sp_buf_reset(&out);
	rw.session_addr = SP_STR_NULL;
	rw.nmedia = 1;
	rw.media[0] = (struct sp_sdp_rw_media){ SP_STR_NULL, 70000, -1 };
	assert_int_equal(sp_sdp_rewrite(&g_sdp, &rw, &out), SP_EINVAL);
	sp_buf_free(&out);

	/* The output cap is honoured. */
	sp_buf_init(&out, 16);
	rw.media[0].port = 1;
	assert_int_equal(sp_sdp_rewrite(&g_sdp, &rw, &out), SP_E2BIG);
	sp_buf_free(&out);
}

/* Every prefix that ends in the middle of the last line must fail cleanly,
 * and the whole body must parse: checks no read past the given length. */
static void test_truncations(void **state)
{
	(void)state;
	const char *bodies[] = { rfc4317_offer, rfc5118_ipv6, rfc5118_mult, opus_lf };
	for (size_t b = 0; b < 4; b++) {
		size_t len = strlen(bodies[b]);
		for (size_t n = 0; n < len; n++) {
			char *copy = malloc(n ? n : 1);
			memcpy(copy, bodies[b], n);
			const char *why;
			(void)sp_sdp_parse(sp_str_make(copy, n), &g_sdp, &why);
			free(copy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4317),
		cmocka_unit_test(test_rfc5118),
		cmocka_unit_test(test_opus_g722),
		cmocka_unit_test(test_conn_forms),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_rewrite_session_conn),
		cmocka_unit_test(test_rewrite_family_and_insert),
		cmocka_unit_test(test_rewrite_media_conn),
		cmocka_unit_test(test_rewrite_errors),
		cmocka_unit_test(test_truncations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
