/* test_edit.c: the edit list (sp_edit_*) and response building (sp_reply_*), byte for byte. */
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
#include "sip/edit.h"
#include "sip/msg.h"
#include "sip/reply.h"
#include "testutil.h"

#define SDP1                                              \
	"v=0\r\n"                                         \
	"o=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\n" \
	"s=-\r\n"                                         \
	"c=IN IP4 192.0.2.1\r\n"                          \
	"t=0 0\r\n"                                       \
	"m=audio 49170 RTP/AVP 0\r\n"

#define SDP2                                                 \
	"v=0\r\n"                                            \
	"o=sipeer 1 1 IN IP4 198.51.100.7\r\n"               \
	"s=-\r\n"                                            \
	"c=IN IP4 198.51.100.7\r\n"                          \
	"t=0 0\r\n"                                          \
	"m=audio 30000 RTP/AVP 0 8\r\n"                      \
	"a=rtpmap:8 PCMA/8000\r\n"

#define LEN_(s) (sizeof(s) - 1)
#define STR_(x) #x
#define NUM_(x) STR_(x)

/* The request every test starts from (RFC 3665-style INVITE with an SDP). */
#define RL "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
#define VIA1 "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
#define MF "Max-Forwards: 70\r\n"
#define TO "To: Bob <sip:bob@biloxi.example.com>\r\n"
#define FROM "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
#define CID "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
#define CSEQ "CSeq: 314159 INVITE\r\n"
#define CONTACT "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
#define PAI "P-Asserted-Identity: <sip:alice@atlanta.example.com>\r\n"
#define CT "Content-Type: application/sdp\r\n"
#define CL1 "Content-Length: 110\r\n"

static const char invite[] = RL VIA1 MF TO FROM CID CSEQ CONTACT PAI CT CL1 "\r\n" SDP1;

struct fx {
	struct sp_msg *m;
	struct sp_edit e;
	struct sp_buf out;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->m = calloc(1, sizeof(*f->m));
	sp_buf_init(&f->out, SP_MSG_MAX_LEN);
	sp_edit_init(&f->e);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sp_buf_free(&f->out);
	free(f->m);
	free(f);
	return 0;
}

static void parse(struct fx *f, const char *buf, size_t len)
{
	struct sp_sip_error err = { 0, NULL };
	int e = sp_msg_parse(f->m, buf, len, SP_PARSE_DATAGRAM, &err);
	if (e)
		fprintf(stderr, "parse: %d %u %s\n", e, err.status, err.reason);
	assert_int_equal(e, 0);
}

/* Compares out with want byte for byte, then parses and validates out. */
static void expect_valid(struct sp_buf *out, const char *want, size_t wlen, bool validate)
{
	if (out->len != wlen || memcmp(out->p, want, wlen) != 0) {
		fprintf(stderr, "--- want (%zu)\n%.*s\n--- got (%zu)\n%.*s\n---\n", wlen, (int)wlen,
			want, out->len, (int)out->len, out->p);
		fail();
	}
	struct sp_msg *m = calloc(1, sizeof(*m));
	struct sp_sip_error err = { 0, NULL };
	int e = sp_msg_parse(m, out->p, out->len, SP_PARSE_DATAGRAM, &err);
	if (e == 0 && validate)
		e = sp_msg_validate(m, &err);
	if (e)
		fprintf(stderr, "re-parse: %d %u %s\n", e, err.status, err.reason);
	assert_int_equal(e, 0);
	assert_int_equal(m->len, out->len);
	free(m);
}

#define EXPECT(f, lit) expect_valid(&(f)->out, (lit), LEN_(lit), true)

static void serialize(struct fx *f)
{
	assert_int_equal(sp_edit_serialize(f->m, &f->e, &f->out), 0);
}

static void test_sdp_len(void **state)
{
	(void)state;
	/* CL1 must match SDP1: the other tests rely on it. */
	assert_int_equal(LEN_(SDP1), 110);
}

static void test_no_edit_verbatim(void **state)
{
	struct fx *f = *state;
	/* Leading CRLF (RFC 3261 7.5) and datagram bytes past Content-Length go. */
	static const char in[] = "\r\n" RL VIA1 MF TO FROM CID CSEQ CONTACT PAI CT CL1 "\r\n" SDP1
				 "trailing junk";
	parse(f, in, LEN_(in));
	serialize(f);
	expect_valid(&f->out, invite, LEN_(invite), true);
}

static void test_via_prepend(void **state)
{
	struct fx *f = *state;
	parse(f, invite, LEN_(invite));
	assert_int_equal(sp_edit_via_prepend(&f->e, f->m,
					     SP_STR("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKsp1")),
			 0);
	serialize(f);
	EXPECT(f, RL "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKsp1\r\n" VIA1 MF TO FROM CID
		  CSEQ CONTACT PAI CT CL1 "\r\n" SDP1);
}

static void test_via_prepend_none(void **state)
{
	struct fx *f = *state;
	static const char in[] = RL MF TO FROM CID CSEQ "Content-Length: 0\r\n\r\n";
	parse(f, in, LEN_(in));
	assert_int_equal(sp_edit_via_prepend(&f->e, f->m, SP_STR("SIP/2.0/TCP h;branch=z9hG4bKx")), 0);
	serialize(f);
	EXPECT(f, RL "Via: SIP/2.0/TCP h;branch=z9hG4bKx\r\n" MF TO FROM CID CSEQ
		  "Content-Length: 0\r\n\r\n");
}

static void test_hdr_add(void **state)
{
	struct fx *f = *state;
	parse(f, invite, LEN_(invite));
	assert_int_equal(sp_edit_hdr_add(&f->e, f->m, SP_EDIT_BOTTOM, SP_STR("X-Bottom"), SP_STR("b")), 0);
	assert_int_equal(sp_edit_hdr_add(&f->e, f->m, SP_EDIT_TOP, SP_STR("X-Top"), SP_STR("t")), 0);
	assert_int_equal(sp_edit_hdr_add_before(&f->e, f->m, SP_HDR_CONTACT, SP_STR("Record-Route"),
						SP_STR("<sip:192.0.2.10;lr>")),
			 0);
	assert_int_equal(sp_edit_hdr_add_before(&f->e, f->m, SP_HDR_ROUTE, SP_STR("X"), SP_STR("y")),
			 SP_ENOENT);
	/* A value with CRLF would inject a header. */
	assert_int_equal(sp_edit_hdr_add(&f->e, f->m, SP_EDIT_TOP, SP_STR("X"), SP_STR("a\r\nB: c")),
			 SP_EINVAL);
	serialize(f);
	EXPECT(f, RL "X-Top: t\r\n" VIA1 MF TO FROM CID CSEQ "Record-Route: <sip:192.0.2.10;lr>\r\n"
		  CONTACT PAI CT CL1 "X-Bottom: b\r\n\r\n" SDP1);
}

static void test_hdr_remove(void **state)
{
	struct fx *f = *state;
	static const char in[] = RL VIA1 MF TO FROM PAI CID CSEQ
		"P-Asserted-Identity: tel:+15551234567\r\n" CONTACT CT CL1 "\r\n" SDP1;
	parse(f, in, LEN_(in));
	assert_int_equal(sp_edit_hdr_remove_all(&f->e, f->m, SP_HDR_P_ASSERTED_IDENTITY), 0);
	/* Removing one of them again is the same edit: accepted, done once. */
	assert_int_equal(sp_edit_hdr_remove(&f->e, f->m, sp_msg_hdr(f->m, SP_HDR_P_ASSERTED_IDENTITY)),
			 0);
	assert_int_equal(sp_edit_hdr_remove(&f->e, f->m, sp_msg_hdr(f->m, SP_HDR_CONTACT)), 0);
	assert_int_equal(sp_edit_hdr_remove_all(&f->e, f->m, SP_HDR_ROUTE), 0);
	assert_int_equal(sp_edit_hdr_remove_all(&f->e, f->m, SP_HDR_OTHER), SP_EINVAL);
	assert_int_equal(f->e.nops, 3);
	serialize(f);
	EXPECT(f, RL VIA1 MF TO FROM CID CSEQ CT CL1 "\r\n" SDP1);
}

static void test_via_pop(void **state)
{
	struct fx *f = *state;
	/* A response with two values on the top line and one more line. */
	static const char in[] = "SIP/2.0 180 Ringing\r\n"
				 "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKsp1 ,\r\n"
				 " SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
				 "Via: SIP/2.0/UDP third.example.com;branch=z9hG4bK3\r\n"
				 TO FROM CID CSEQ "Content-Length: 0\r\n\r\n";
	parse(f, in, LEN_(in));
	assert_int_equal(sp_edit_via_pop(&f->e, f->m), 0);
	serialize(f);
	EXPECT(f, "SIP/2.0 180 Ringing\r\n"
		  "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
		  "Via: SIP/2.0/UDP third.example.com;branch=z9hG4bK3\r\n"
		  TO FROM CID CSEQ "Content-Length: 0\r\n\r\n");

	/* A single-valued top line goes whole. */
	sp_buf_reset(&f->out);
	sp_edit_init(&f->e);
	static const char in2[] = "SIP/2.0 200 OK\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKsp1\r\n" VIA1
				  TO FROM CID CSEQ "Content-Length: 0\r\n\r\n";
	parse(f, in2, LEN_(in2));
	assert_int_equal(sp_edit_via_pop(&f->e, f->m), 0);
	serialize(f);
	EXPECT(f, "SIP/2.0 200 OK\r\n" VIA1 TO FROM CID CSEQ "Content-Length: 0\r\n\r\n");
}

static void test_ruri(void **state)
{
	struct fx *f = *state;
	parse(f, invite, LEN_(invite));
	assert_int_equal(sp_edit_ruri(&f->e, f->m, SP_STR("sip:bob@192.0.2.4:5070;transport=udp")), 0);
	assert_int_equal(sp_edit_ruri(&f->e, f->m, SP_STR("sip:x@y")), SP_EINVAL); /* overlaps */
	assert_int_equal(sp_edit_ruri(&f->e, f->m, SP_STR("sip:a b")), SP_EINVAL);
	serialize(f);
	EXPECT(f, "INVITE sip:bob@192.0.2.4:5070;transport=udp SIP/2.0\r\n" VIA1 MF TO FROM CID CSEQ
		  CONTACT PAI CT CL1 "\r\n" SDP1);
}

static void test_body(void **state)
{
	struct fx *f = *state;
	parse(f, invite, LEN_(invite));
	assert_int_equal(sp_edit_body(&f->e, f->m, SP_STR(SDP2)), 0);
	serialize(f);
	assert_int_equal(LEN_(SDP2), 123);
	EXPECT(f, RL VIA1 MF TO FROM CID CSEQ CONTACT PAI CT "Content-Length: 123\r\n\r\n" SDP2);
}

static void test_body_no_content_length(void **state)
{
	struct fx *f = *state;
	/* A datagram without Content-Length: the body is the rest. */
	static const char in[] = RL VIA1 MF TO FROM CID CSEQ CT "\r\n" SDP1;
	parse(f, in, LEN_(in));
	assert_int_equal(sp_edit_body(&f->e, f->m, SP_STR(SDP2)), 0);
	serialize(f);
	EXPECT(f, RL VIA1 MF TO FROM CID CSEQ CT "Content-Length: 123\r\n\r\n" SDP2);

	/* And an emptied body, Content-Type removed with it. */
	sp_buf_reset(&f->out);
	sp_edit_init(&f->e);
	parse(f, invite, LEN_(invite));
	assert_int_equal(sp_edit_body(&f->e, f->m, SP_STR("")), 0);
	assert_int_equal(sp_edit_hdr_remove_all(&f->e, f->m, SP_HDR_CONTENT_TYPE), 0);
	serialize(f);
	EXPECT(f, RL VIA1 MF TO FROM CID CSEQ CONTACT PAI "Content-Length: 0\r\n\r\n");
}

static void test_hdr_value(void **state)
{
	struct fx *f = *state;
	static const char in[] = RL VIA1 "Max-Forwards:   70  \r\n" TO FROM CID CSEQ
		"Subject: a long\r\n"
		"\tfolded subject\r\n"
		"X-Empty:\r\n"
		"Content-Length: 0\r\n\r\n";
	parse(f, in, LEN_(in));
	assert_int_equal(sp_edit_hdr_value(&f->e, f->m, sp_msg_hdr(f->m, SP_HDR_MAX_FORWARDS),
					   SP_STR("69")),
			 0);
	assert_int_equal(sp_edit_hdr_value(&f->e, f->m, sp_msg_hdr(f->m, SP_HDR_SUBJECT),
					   SP_STR("short")),
			 0);
	assert_int_equal(sp_edit_hdr_value(&f->e, f->m, sp_msg_hdr_by_name(f->m, SP_STR("x-empty")),
					   SP_STR("now set")),
			 0);
	serialize(f);
	EXPECT(f, RL VIA1 "Max-Forwards:   69  \r\n" TO FROM CID CSEQ "Subject: short\r\n"
		  "X-Empty: now set\r\n"
		  "Content-Length: 0\r\n\r\n");
}

static void test_params(void **state)
{
	struct fx *f = *state;
	static const char in[] = RL
		"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport,"
		" SIP/2.0/UDP other.example.com;branch=z9hG4bK2;rport\r\n"
		MF TO FROM CID CSEQ "Contact: \"A;b, c\" <sip:alice@pc33.atlanta.example.com;ob>"
		" ;expires=60 ;q=0.5\r\n"
		"Content-Length: 0\r\n\r\n";
	parse(f, in, LEN_(in));
	const struct sp_hdr *via = sp_msg_hdr(f->m, SP_HDR_VIA);
	const struct sp_hdr *ct = sp_msg_hdr(f->m, SP_HDR_CONTACT);
	/* Set received (absent: appended to the top value, not the second)
	 * and rport (a flag: rewritten in place). */
	assert_int_equal(sp_edit_param_set(&f->e, f->m, via, SP_STR("received"), SP_STR("203.0.113.9")), 0);
	assert_int_equal(sp_edit_param_set_u32(&f->e, f->m, via, SP_STR("rport"), 5062), 0);
	/* Contact: the ';' inside the quotes and <> do not count. */
	assert_int_equal(sp_edit_param_remove(&f->e, f->m, ct, SP_STR("EXPIRES")), 0);
	assert_int_equal(sp_edit_param_set(&f->e, f->m, ct, SP_STR("q"), SP_STR("1")), 0);
	assert_int_equal(sp_edit_param_set(&f->e, f->m, ct, SP_STR("+sip.instance"), SP_STR_NULL), 0);
	assert_int_equal(sp_edit_param_remove(&f->e, f->m, ct, SP_STR("ob")), SP_ENOENT);
	assert_int_equal(sp_edit_param_set(&f->e, f->m, ct, SP_STR("bad name"), SP_STR("1")), SP_EINVAL);
	serialize(f);
	EXPECT(f, RL
	       "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport=5062"
	       ";received=203.0.113.9, SIP/2.0/UDP other.example.com;branch=z9hG4bK2;rport\r\n"
	       MF TO FROM CID CSEQ "Contact: \"A;b, c\" <sip:alice@pc33.atlanta.example.com;ob>"
	       " ;q=1;+sip.instance\r\n"
	       "Content-Length: 0\r\n\r\n");
}

static void test_param_remove_received(void **state)
{
	struct fx *f = *state;
	static const char in[] = RL
		"Via: SIP/2.0/UDP [2001:db8::9]:5070;received=[2001:db8::1];branch=z9hG4bKx\r\n"
		MF TO FROM CID CSEQ "Content-Length: 0\r\n\r\n";
	parse(f, in, LEN_(in));
	const struct sp_hdr *via = sp_msg_hdr(f->m, SP_HDR_VIA);
	assert_int_equal(sp_edit_param_remove(&f->e, f->m, via, SP_STR("received")), 0);
	/* Setting a parameter that is being removed overlaps it. */
	assert_int_equal(sp_edit_param_set(&f->e, f->m, via, SP_STR("received"), SP_STR("192.0.2.1")),
			 SP_EINVAL);
	serialize(f);
	EXPECT(f, RL "Via: SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKx\r\n" MF TO FROM CID CSEQ
		  "Content-Length: 0\r\n\r\n");
}

static void test_combination(void **state)
{
	struct fx *f = *state;
	parse(f, invite, LEN_(invite));
	assert_int_equal(sp_edit_body(&f->e, f->m, SP_STR(SDP2)), 0);
	assert_int_equal(sp_edit_hdr_remove_all(&f->e, f->m, SP_HDR_P_ASSERTED_IDENTITY), 0);
	assert_int_equal(sp_edit_ruri(&f->e, f->m, SP_STR("sip:bob@192.0.2.4")), 0);
	assert_int_equal(sp_edit_via_prepend(&f->e, f->m, SP_STR("SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKsp1")), 0);
	assert_int_equal(sp_edit_hdr_value(&f->e, f->m, sp_msg_hdr(f->m, SP_HDR_MAX_FORWARDS),
					   SP_STR("69")),
			 0);
	assert_int_equal(sp_edit_hdr_add(&f->e, f->m, SP_EDIT_TOP, SP_STR("Route"),
					 SP_STR("<sip:core.example.net;lr>")),
			 0);
	serialize(f);
	static const char want[] = "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKsp1\r\n"
		"Route: <sip:core.example.net;lr>\r\n" VIA1 "Max-Forwards: 69\r\n" TO FROM CID CSEQ
		CONTACT CT "Content-Length: 123\r\n\r\n" SDP2;
	EXPECT(f, want);
	/* Serializing the same list again gives the same bytes. */
	sp_buf_reset(&f->out);
	serialize(f);
	EXPECT(f, want);
}

static void test_compact_and_folded(void **state)
{
	struct fx *f = *state;
	static const char in[] = RL
		"v: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKsp1, SIP/2.0/UDP pc33.atlanta.example.com\r\n"
		"  ;branch=z9hG4bK776asdhds\r\n"
		"t: Bob <sip:bob@biloxi.example.com>\r\n"
		"f: Alice <sip:alice@atlanta.example.com>\r\n"
		" ;tag=1928301774\r\n"
		"i: a84b4c76e66710@pc33.atlanta.example.com\r\n" CSEQ MF
		"c: application/sdp\r\n"
		"l: 110\r\n\r\n" SDP1;
	parse(f, in, LEN_(in));
	assert_int_equal(sp_edit_via_prepend(&f->e, f->m, SP_STR("SIP/2.0/UDP edge;branch=z9hG4bKe")), 0);
	assert_int_equal(sp_edit_body(&f->e, f->m, SP_STR(SDP2)), 0);
	assert_int_equal(sp_edit_param_set(&f->e, f->m, sp_msg_hdr(f->m, SP_HDR_FROM), SP_STR("tag"),
					   SP_STR("x1")),
			 0);
	serialize(f);
	EXPECT(f, RL "Via: SIP/2.0/UDP edge;branch=z9hG4bKe\r\n"
		  "v: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKsp1, SIP/2.0/UDP pc33.atlanta.example.com\r\n"
		  "  ;branch=z9hG4bK776asdhds\r\n"
		  "t: Bob <sip:bob@biloxi.example.com>\r\n"
		  "f: Alice <sip:alice@atlanta.example.com>\r\n"
		  " ;tag=x1\r\n"
		  "i: a84b4c76e66710@pc33.atlanta.example.com\r\n" CSEQ MF
		  "c: application/sdp\r\n"
		  "l: 123\r\n\r\n" SDP2);

	/* Popping the compact, folded top value keeps the second one's fold. */
	sp_buf_reset(&f->out);
	sp_edit_init(&f->e);
	assert_int_equal(sp_edit_via_pop(&f->e, f->m), 0);
	assert_int_equal(sp_edit_hdr_remove(&f->e, f->m, sp_msg_hdr(f->m, SP_HDR_FROM)), 0);
	assert_int_equal(sp_edit_hdr_add_before(&f->e, f->m, SP_HDR_CALL_ID, SP_STR("From"),
						SP_STR("<sip:anonymous@anonymous.invalid>;tag=9")),
			 0);
	serialize(f);
	EXPECT(f, RL "v: SIP/2.0/UDP pc33.atlanta.example.com\r\n"
		  "  ;branch=z9hG4bK776asdhds\r\n"
		  "t: Bob <sip:bob@biloxi.example.com>\r\n"
		  "From: <sip:anonymous@anonymous.invalid>;tag=9\r\n"
		  "i: a84b4c76e66710@pc33.atlanta.example.com\r\n" CSEQ MF
		  "c: application/sdp\r\n"
		  "l: 110\r\n\r\n" SDP1);
}

static void test_conflicts_and_caps(void **state)
{
	struct fx *f = *state;
	parse(f, invite, LEN_(invite));
	const struct sp_hdr *via = sp_msg_hdr(f->m, SP_HDR_VIA);
	const struct sp_hdr *mf = sp_msg_hdr(f->m, SP_HDR_MAX_FORWARDS);

	assert_int_equal(sp_edit_hdr_remove(&f->e, f->m, mf), 0);
	assert_int_equal(sp_edit_hdr_value(&f->e, f->m, mf, SP_STR("1")), SP_EINVAL);
	assert_int_equal(sp_edit_via_pop(&f->e, f->m), 0);
	assert_int_equal(sp_edit_param_set(&f->e, f->m, via, SP_STR("received"), SP_STR("192.0.2.1")),
			 SP_EINVAL);
	/* Adding next to a removed line is not a conflict. */
	assert_int_equal(sp_edit_hdr_add_before(&f->e, f->m, SP_HDR_MAX_FORWARDS, SP_STR("Max-Forwards"),
						SP_STR("10")),
			 0);
	assert_int_equal(sp_edit_body(&f->e, f->m, SP_STR(SDP2)), 0);
	/* The body twice: the second overlaps, and nothing of it stays. */
	uint16_t nops = f->e.nops, arena = f->e.arena_len;
	assert_int_equal(sp_edit_body(&f->e, f->m, SP_STR("x")), SP_EINVAL);
	assert_int_equal(f->e.nops, nops);
	assert_int_equal(f->e.arena_len, arena);
	/* A header from another message. */
	struct sp_hdr other = *mf;
	assert_int_equal(sp_edit_hdr_remove(&f->e, f->m, &other), SP_EINVAL);

	/* Fill the list: the 33rd operation is refused. */
	int e = 0;
	while (f->e.nops < SP_EDIT_MAX_OPS && e == 0)
		e = sp_edit_hdr_add(&f->e, f->m, SP_EDIT_BOTTOM, SP_STR("X-A"), SP_STR("1"));
	assert_int_equal(e, 0);
	assert_int_equal(sp_edit_hdr_add(&f->e, f->m, SP_EDIT_BOTTOM, SP_STR("X-A"), SP_STR("1")),
			 SP_E2BIG);

	/* Output over SP_MSG_MAX_LEN. */
	sp_edit_init(&f->e);
	char *big = malloc(SP_MSG_MAX_LEN);
	memset(big, 'a', SP_MSG_MAX_LEN);
	assert_int_equal(sp_edit_body(&f->e, f->m, sp_str_make(big, SP_MSG_MAX_LEN - 200)), 0);
	f->out.len = 0;
	assert_int_equal(sp_edit_serialize(f->m, &f->e, &f->out), SP_E2BIG);
	assert_int_equal(f->out.len, 0);
	free(big);

	/* Responses have no Request-URI. */
	static const char resp[] = "SIP/2.0 200 OK\r\n" VIA1 TO FROM CID CSEQ "Content-Length: 0\r\n\r\n";
	parse(f, resp, LEN_(resp));
	sp_edit_init(&f->e);
	assert_int_equal(sp_edit_ruri(&f->e, f->m, SP_STR("sip:a@b")), SP_EINVAL);
}

/* 8.2.6 responses. */

#define VIA2 "Via: SIP/2.0/UDP proxy.example.net;branch=z9hG4bKp1;received=192.0.2.5\r\n"

static void test_reply_to_tag(void **state)
{
	struct fx *f = *state;
	static const char in[] = RL VIA2 MF VIA1 TO FROM CID CSEQ CONTACT CT CL1 "\r\n" SDP1;
	parse(f, in, LEN_(in));
	struct sp_str extra[] = { SP_STR("Contact: <sip:bob@192.0.2.4>"), SP_STR("Allow: INVITE, ACK") };
	assert_int_equal(sp_reply_build(f->m, 180, NULL, SP_STR("a6c85cf"), extra, 2, &f->out), 0);
	EXPECT(f, "SIP/2.0 180 Ringing\r\n" VIA2 VIA1 FROM
		  "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n" CID CSEQ
		  "Contact: <sip:bob@192.0.2.4>\r\n"
		  "Allow: INVITE, ACK\r\n"
		  "Content-Length: 0\r\n\r\n");
}

static void test_reply_tag_kept(void **state)
{
	struct fx *f = *state;
	static const char in[] = "BYE sip:alice@pc33.atlanta.example.com SIP/2.0\r\n" VIA1 MF
		"To: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
		"From: <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n" CID "CSeq: 231 BYE\r\n"
		"Content-Length: 0\r\n\r\n";
	parse(f, in, LEN_(in));
	assert_int_equal(sp_reply_build(f->m, 200, "OK", SP_STR("other"), NULL, 0, &f->out), 0);
	EXPECT(f, "SIP/2.0 200 OK\r\n" VIA1 "From: <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
		  "To: <sip:alice@atlanta.example.com>;tag=1928301774\r\n" CID "CSeq: 231 BYE\r\n"
		  "Content-Length: 0\r\n\r\n");
}

static void test_reply_100(void **state)
{
	struct fx *f = *state;
	static const char in[] = RL VIA1 "Timestamp: 54.1 0.5\r\n" MF
		"t: sip:bob@biloxi.example.com \r\n" FROM CID CSEQ CL1 "\r\n" SDP1;
	parse(f, in, LEN_(in));
	assert_int_equal(sp_reply_build(f->m, 100, "Trying", SP_STR("abc"), NULL, 0, &f->out), 0);
	EXPECT(f, "SIP/2.0 100 Trying\r\n" VIA1 FROM "t: sip:bob@biloxi.example.com \r\n" CID CSEQ
		  "Timestamp: 54.1 0.5\r\n"
		  "Content-Length: 0\r\n\r\n");
	/* Timestamp only in 100; a tag goes after an addr-spec too. */
	sp_buf_reset(&f->out);
	assert_int_equal(sp_reply_build(f->m, 486, NULL, SP_STR("abc"), NULL, 0, &f->out), 0);
	EXPECT(f, "SIP/2.0 486 Busy Here\r\n" VIA1 FROM "t: sip:bob@biloxi.example.com;tag=abc \r\n"
		  CID CSEQ "Content-Length: 0\r\n\r\n");
	/* Bad inputs. */
	sp_buf_reset(&f->out);
	assert_int_equal(sp_reply_build(f->m, 99, NULL, SP_STR_NULL, NULL, 0, &f->out), SP_EINVAL);
	assert_int_equal(sp_reply_build(f->m, 400, "a\r\nX: y", SP_STR_NULL, NULL, 0, &f->out), SP_EINVAL);
	assert_int_equal(sp_reply_build(f->m, 400, NULL, SP_STR("a;b"), NULL, 0, &f->out), SP_EINVAL);
	struct sp_str bad = SP_STR("X: a\r\nY: b");
	assert_int_equal(sp_reply_build(f->m, 400, NULL, SP_STR_NULL, &bad, 1, &f->out), SP_EINVAL);
	assert_int_equal(f->out.len, 0);
}

static void test_reply_received(void **state)
{
	struct fx *f = *state;
	/* The caller fills received/rport in by editing the built response. */
	static const char in[] = RL
		"Via: SIP/2.0/UDP pc33.atlanta.example.com;rport;branch=z9hG4bK776asdhds\r\n" MF TO
		FROM CID CSEQ "Content-Length: 0\r\n\r\n";
	parse(f, in, LEN_(in));
	assert_int_equal(sp_reply_build(f->m, 100, NULL, SP_STR("x"), NULL, 0, &f->out), 0);
	struct sp_msg *r = calloc(1, sizeof(*r));
	struct sp_sip_error err;
	assert_int_equal(sp_msg_parse(r, f->out.p, f->out.len, SP_PARSE_DATAGRAM, &err), 0);
	const struct sp_hdr *via = sp_msg_hdr(r, SP_HDR_VIA);
	assert_int_equal(sp_edit_param_set(&f->e, r, via, SP_STR("received"), SP_STR("198.51.100.2")), 0);
	assert_int_equal(sp_edit_param_set_u32(&f->e, r, via, SP_STR("rport"), 40123), 0);
	struct sp_buf fwd;
	sp_buf_init(&fwd, SP_MSG_MAX_LEN);
	assert_int_equal(sp_edit_serialize(r, &f->e, &fwd), 0);
	expect_valid(&fwd,
		     "SIP/2.0 100 Trying\r\n"
		     "Via: SIP/2.0/UDP pc33.atlanta.example.com;rport=40123;branch=z9hG4bK776asdhds"
		     ";received=198.51.100.2\r\n" FROM TO CID CSEQ "Content-Length: 0\r\n\r\n",
		     LEN_("SIP/2.0 100 Trying\r\n"
			  "Via: SIP/2.0/UDP pc33.atlanta.example.com;rport=40123;branch=z9hG4bK776asdhds"
			  ";received=198.51.100.2\r\n" FROM TO CID CSEQ "Content-Length: 0\r\n\r\n"),
		     true);
	sp_buf_free(&fwd);
	free(r);
}

static void test_reply_error(void **state)
{
	struct fx *f = *state;
	/* Valid framing, but a bad Max-Forwards: validation fails, 400 goes out. */
	static const char in[] = RL VIA1 "Max-Forwards: lots\r\n" TO FROM CID CSEQ
		"Content-Length: 0\r\n\r\n";
	parse(f, in, LEN_(in));
	struct sp_sip_error err = { 400, "Bad \"Max-Forwards\"\\" };
	assert_int_equal(sp_reply_error(f->m, &err, &f->out), 0);
	/* The tag is a 16-hex-digit hash: find it, check it, compare the rest. */
	static const char to_pfx[] = "\r\nTo: Bob <sip:bob@biloxi.example.com>";
	const char *tag = NULL;
	for (size_t i = 0; i + LEN_(to_pfx) <= f->out.len && !tag; i++)
		if (memcmp(f->out.p + i, to_pfx, LEN_(to_pfx)) == 0)
			tag = f->out.p + i + LEN_(to_pfx);
	assert_non_null(tag);
	char want[1024];
	int n = snprintf(want, sizeof(want),
			 "SIP/2.0 400 Bad 'Max-Forwards' \r\n" VIA1 FROM
			 "To: Bob <sip:bob@biloxi.example.com>;tag=%.16s\r\n" CID CSEQ
			 "Warning: 399 sipeer \"Bad \\\"Max-Forwards\\\"\\\\\"\r\n"
			 "Content-Length: 0\r\n\r\n",
			 tag + 5);
	expect_valid(&f->out, want, (size_t)n, true);
	for (int i = 0; i < 16; i++)
		assert_non_null(strchr("0123456789abcdef", tag[5 + i]));
	/* The same request gives the same tag (a retransmission). */
	struct sp_buf again;
	sp_buf_init(&again, SP_MSG_MAX_LEN);
	assert_int_equal(sp_reply_error(f->m, &err, &again), 0);
	assert_int_equal(again.len, f->out.len);
	assert_memory_equal(again.p, f->out.p, again.len);
	sp_buf_free(&again);

	/* A 2xx is no error status: 400. A NUL-free control byte is blanked. */
	sp_buf_reset(&f->out);
	struct sp_sip_error odd = { 200, "a\tb\x01" };
	assert_int_equal(sp_reply_error(f->m, &odd, &f->out), 0);
	assert_memory_equal(f->out.p, "SIP/2.0 400 a\tb \r\n", 18);

	/* Without a To nothing can be addressed. */
	static const char noto[] = RL VIA1 MF FROM CID CSEQ "Content-Length: 0\r\n\r\n";
	parse(f, noto, LEN_(noto));
	sp_buf_reset(&f->out);
	assert_int_equal(sp_reply_error(f->m, &err, &f->out), SP_EINVAL);
	assert_int_equal(f->out.len, 0);
	/* Nor without a Via that parses. */
	static const char badvia[] = RL "Via: SIP/3.0/UDP x\r\n" MF TO FROM CID CSEQ
		"Content-Length: 0\r\n\r\n";
	parse(f, badvia, LEN_(badvia));
	assert_int_equal(sp_reply_error(f->m, &err, &f->out), SP_EINVAL);
	/* Never to an ACK or a response. */
	static const char ack[] = "ACK sip:bob@biloxi.example.com SIP/2.0\r\n" VIA1 MF TO FROM CID
		"CSeq: 314159 ACK\r\nContent-Length: 0\r\n\r\n";
	parse(f, ack, LEN_(ack));
	assert_int_equal(sp_reply_error(f->m, &err, &f->out), SP_EINVAL);
	static const char resp[] = "SIP/2.0 200 OK\r\n" VIA1 TO FROM CID CSEQ "Content-Length: 0\r\n\r\n";
	parse(f, resp, LEN_(resp));
	assert_int_equal(sp_reply_error(f->m, &err, &f->out), SP_EINVAL);
}

/* Every torture message the parser and validator accept: serializing without
 * edits gives back its bytes, and the usual proxy edits and a response keep
 * it valid. */
static void check_still_valid(struct sp_buf *out, const char *file, const char *what)
{
	struct sp_msg *m = calloc(1, sizeof(*m));
	struct sp_sip_error err = { 0, NULL };
	int e = sp_msg_parse(m, out->p, out->len, SP_PARSE_DATAGRAM, &err);
	if (e == 0)
		e = sp_msg_validate(m, &err);
	if (e)
		fprintf(stderr, "%s (%s): %u %s\n%.*s\n", file, what, err.status, err.reason,
			(int)out->len, out->p);
	assert_int_equal(e, 0);
	free(m);
}

static void test_corpus(void **state)
{
	struct fx *f = *state;
	const char *dir = tu_testdata_dir();
	char path[1024], line[1024];
	int checked = 0;

	if (!dir)
		skip();
	snprintf(path, sizeof(path), "%s/torture/verdicts.tsv", dir);
	FILE *vf = fopen(path, "r");
	assert_non_null(vf);
	while (fgets(line, sizeof(line), vf)) {
		char *file = strtok(line, "\t\n");
		(void)strtok(NULL, "\t\n");
		char *verdict = strtok(NULL, "\t\n");
		if (!file || file[0] == '#' || !verdict || strncmp(verdict, "valid", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/torture/%s", dir, file);
		size_t len;
		char *buf = tu_read_file(path, &len);
		assert_non_null(buf);
		struct sp_sip_error err = { 0, NULL };
		if (sp_msg_parse(f->m, buf, len, SP_PARSE_DATAGRAM, &err) != 0 ||
		    sp_msg_validate(f->m, &err) != 0) {
			free(buf); /* test_torture reports it */
			continue;
		}
		size_t start = (size_t)(f->m->start_line.p - buf);
		sp_edit_init(&f->e);
		sp_buf_reset(&f->out);
		serialize(f);
		assert_int_equal(f->out.len, f->m->len - start);
		assert_memory_equal(f->out.p, buf + start, f->out.len);

		sp_buf_reset(&f->out);
		assert_int_equal(sp_edit_via_prepend(&f->e, f->m,
						     SP_STR("SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKsp")),
				 0);
		assert_int_equal(sp_edit_hdr_add(&f->e, f->m, SP_EDIT_BOTTOM, SP_STR("X-Sipeer"),
						 SP_STR("1")),
				 0);
		assert_int_equal(sp_edit_hdr_remove_all(&f->e, f->m, SP_HDR_P_ASSERTED_IDENTITY), 0);
		const struct sp_hdr *via = sp_msg_hdr(f->m, SP_HDR_VIA);
		assert_int_equal(sp_edit_param_set(&f->e, f->m, via, SP_STR("received"),
						   SP_STR("192.0.2.99")),
				 0);
		if (f->m->request)
			assert_int_equal(sp_edit_ruri(&f->e, f->m, SP_STR("sip:x@192.0.2.4")), 0);
		serialize(f);
		check_still_valid(&f->out, file, "edited");

		sp_edit_init(&f->e);
		sp_buf_reset(&f->out);
		assert_int_equal(sp_edit_via_pop(&f->e, f->m), 0);
		assert_int_equal(sp_edit_body(&f->e, f->m, SP_STR("")), 0);
		assert_int_equal(sp_edit_hdr_remove_all(&f->e, f->m, SP_HDR_CONTENT_TYPE), 0);
		assert_int_equal(sp_edit_hdr_remove_all(&f->e, f->m, SP_HDR_CONTENT_ENCODING), 0);
		serialize(f);
		if (sp_msg_hdr_count(f->m, SP_HDR_VIA) > 1 || sp_str_chr(via->value, ',') >= 0)
			check_still_valid(&f->out, file, "popped");

		if (f->m->request && f->m->method_id != SP_METHOD_ACK) {
			sp_buf_reset(&f->out);
			assert_int_equal(sp_reply_build(f->m, 180, NULL, SP_STR("t1"), NULL, 0, &f->out), 0);
			check_still_valid(&f->out, file, "reply");
			sp_buf_reset(&f->out);
			err.status = 400;
			err.reason = "Test";
			assert_int_equal(sp_reply_error(f->m, &err, &f->out), 0);
			check_still_valid(&f->out, file, "error reply");
		}
		checked++;
		free(buf);
	}
	fclose(vf);
	printf("%d corpus messages edited\n", checked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sdp_len),
		cmocka_unit_test_setup_teardown(test_no_edit_verbatim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_via_prepend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_via_prepend_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hdr_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hdr_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_via_pop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ruri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_no_content_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hdr_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_param_remove_received, setup, teardown),
		cmocka_unit_test_setup_teardown(test_combination, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact_and_folded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflicts_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_to_tag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_tag_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_100, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_received, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corpus, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
