/* test_hdr_misc.c: the small header parsers (auth, Date, token lists, Content-Type, misc) on valid and broken values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "sip/auth.h"
#include "sip/ctype.h"
#include "sip/date.h"
#include "sip/misc_hdr.h"
#include "sip/param.h"
#include "sip/tokens.h"
#include "testutil.h"

/* Header values as the indexer hands them over: slices, not C strings. */
#define V(lit) SP_STR(lit)

#define assert_slice(s, lit)                                                   \
	do {                                                                   \
		struct sp_str s_ = (s);                                        \
		if (!sp_str_eq_c(s_, (lit)))                                   \
			fail_msg("got \"%.*s\", want \"%s\"", SP_STR_FMT(s_), (lit)); \
	} while (0)

#define assert_null_slice(s) assert_null((s).p)

/* ---- auth ---- */

static void test_auth_digest_sha256(void **state)
{
	(void)state;
	/* The SHA-256 response form that RFC 8760 brings to SIP, with the
	 * values of the RFC 7616 section 3.9.1 example, folded over lines. */
	struct sp_str v = V("Digest username=\"Mufasa\",\r\n"
			    " realm=\"http-auth@example.org\",\r\n"
			    " uri=\"/dir/index.html\",\r\n"
			    " algorithm=SHA-256,\r\n"
			    " nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n"
			    " nc=00000001,\r\n"
			    " cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n"
			    " qop=auth,\r\n"
			    " response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\",\r\n"
			    " opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"");
	struct sp_auth a;

	assert_int_equal(sp_auth_parse(v, &a), 0);
	assert_true(a.digest);
	assert_slice(a.scheme, "Digest");
	assert_slice(a.username, "Mufasa");
	assert_slice(a.realm, "http-auth@example.org");
	assert_slice(a.uri, "/dir/index.html");
	assert_slice(a.algorithm, "SHA-256");
	assert_slice(a.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
	assert_slice(a.nc, "00000001");
	assert_int_equal(a.nc_value, 1);
	assert_slice(a.cnonce, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
	assert_slice(a.qop, "auth");
	assert_slice(a.response,
		     "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
	assert_slice(a.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
	assert_false(a.stale);
	assert_null_slice(a.domain);
	assert_null_slice(a.token68);
	assert_int_equal(a.present, SP_AUTH_USERNAME | SP_AUTH_REALM | SP_AUTH_URI |
					    SP_AUTH_ALGORITHM | SP_AUTH_NONCE | SP_AUTH_NC |
					    SP_AUTH_CNONCE | SP_AUTH_QOP | SP_AUTH_RESPONSE |
					    SP_AUTH_OPAQUE);

	struct sp_str raw;
	assert_int_equal(sp_auth_param(&a, "REALM", &raw), 0);
	assert_slice(raw, "\"http-auth@example.org\"");
	assert_int_equal(sp_auth_param(&a, "userhash", &raw), SP_ENOENT);
}

static void test_auth_digest_md5_qop(void **state)
{
	(void)state;
	struct sp_str v = V("Digest username=\"bob\", realm=\"biloxi.com\", "
			    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:bob@biloxi.com\", "
			    "qop=auth, nc=0000000a, cnonce=\"0a4f113b\", "
			    "response=\"6629fae49393a05397450978507c4ef1\", "
			    "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
	struct sp_auth a;

	assert_int_equal(sp_auth_parse(v, &a), 0);
	assert_slice(a.username, "bob");
	assert_slice(a.uri, "sip:bob@biloxi.com");
	assert_slice(a.qop, "auth");
	assert_int_equal(a.nc_value, 10);
	assert_slice(a.response, "6629fae49393a05397450978507c4ef1");
	assert_null_slice(a.algorithm);
}

static void test_auth_challenge(void **state)
{
	(void)state;
	/* RFC 3261 section 20.44's example challenge, qop list and all. */
	struct sp_str v = V("Digest realm=\"atlanta.com\",\r\n\tdomain=\"sip:boxesbybob.com sip:ss1.carrier.com\", "
			    "qop=\"auth,auth-int\", nonce=\"f84f1cec41e6cbe5aea9c8e88d359\", "
			    "opaque=\"\", stale=FALSE, algorithm=MD5");
	struct sp_auth a;

	assert_int_equal(sp_auth_parse(v, &a), 0);
	assert_slice(a.realm, "atlanta.com");
	assert_slice(a.domain, "sip:boxesbybob.com sip:ss1.carrier.com");
	assert_slice(a.qop, "auth,auth-int");
	assert_slice(a.opaque, "");
	assert_non_null(a.opaque.p);
	assert_false(a.stale);
	assert_true(a.present & SP_AUTH_STALE);
	assert_slice(a.algorithm, "MD5");

	assert_int_equal(sp_auth_parse(V("digest realm=\"x\", nonce=\"y\", stale=true"), &a), 0);
	assert_true(a.digest);
	assert_true(a.stale);
}

static void test_auth_other_schemes(void **state)
{
	(void)state;
	struct sp_auth a;
	struct sp_str raw;

	/* RFC 4475 regaut01: an unknown scheme parses generically. */
	assert_int_equal(sp_auth_parse(V("NoOneKnowsThisScheme opaque-data=here"), &a), 0);
	assert_false(a.digest);
	assert_slice(a.scheme, "NoOneKnowsThisScheme");
	assert_slice(a.params, "opaque-data=here");
	assert_int_equal(sp_auth_param(&a, "opaque-data", &raw), 0);
	assert_slice(raw, "here");
	assert_null_slice(a.opaque);

	/* RFC 8898 carries a token68 after Bearer. */
	assert_int_equal(sp_auth_parse(V("Bearer eyJhbGciOi.eyJzdWIi.c2ln=="), &a), 0);
	assert_slice(a.token68, "eyJhbGciOi.eyJzdWIi.c2ln==");
	assert_null_slice(a.params);

	assert_int_equal(sp_auth_parse(V("Foo a=\"x, y\", b=c"), &a), 0);
	assert_int_equal(sp_auth_param(&a, "b", &raw), 0);
	assert_slice(raw, "c");
}

static void test_auth_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"Digest",
		"Digest ",
		"Digest,realm=\"x\"",
		"Digestrealm=\"x\"",
		"Digest realm=\"x\",",
		"Digest realm=\"x\",,nonce=\"y\"",
		"Digest realm=\"x\" nonce=\"y\"",
		"Digest realm=",
		"Digest realm=\"unterminated",
		"Digest realm=\"a\", realm=\"b\"",       /* duplicate */
		"Digest nonce=\"a\", NONCE=\"b\"",       /* duplicate, any case */
		"Digest username=bob",                   /* must be quoted */
		"Digest nc=1",                           /* 8 hex digits */
		"Digest nc=0000000g",
		"Digest nc=\"00000001\"",
		"Digest response=\"xyz\"",
		"Digest stale=maybe",
		"Digest token68only",
		"Bearer a=b=c",
		"Foo a=b, ",
	};
	struct sp_auth a;
	memset(&a, 0x5a, sizeof(a));
	unsigned char before[sizeof(a)];
	memcpy(before, &a, sizeof(a));

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = sp_auth_parse(sp_str_cstr(bad[i]), &a);
		if (err != SP_EINVAL)
			fail_msg("accepted or wrong error %d: %s", err, bad[i]);
	}
	/* Out-params are left alone on failure. */
	assert_memory_equal(&a, before, sizeof(a));
}

/* ---- Date ---- */

static void test_date(void **state)
{
	(void)state;
	int64_t t = 0;

	/* RFC 4475's valid date. */
	assert_int_equal(sp_date_parse(V("Thu, 21 Feb 2002 13:02:03 GMT"), &t), 0);
	assert_int_equal(t, 1014296523);
	assert_int_equal(sp_date_parse(V("Thu, 01 Jan 1970 00:00:00 GMT"), &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(sp_date_parse(V("Sat, 13 Nov 2010 23:29:00 GMT"), &t), 0);
	assert_int_equal(t, 1289690940);
	assert_int_equal(sp_date_parse(V("Tue, 29 Feb 2000 12:00:00 GMT"), &t), 0);
	assert_int_equal(t, 951825600);
	assert_int_equal(sp_date_parse(V("Wed, 31 Dec 1969 23:59:59 GMT"), &t), 0);
	assert_int_equal(t, -1);

	static const char *const bad[] = {
		"Fri, 01 Jan 2010 16:00:00 EST", /* RFC 4475 baddate */
		"Fri, 01 Jan 2010 16:00:00 UTC",
		"Fri, 01 Jan 2010 16:00:00 gmt",
		"Fri, 01 Jan 2010 16:00:00 +0000",
		"Fri, 01 Jan 2010 16:00:00",
		"Fri,01 Jan 2010 16:00:00 GMT",
		"Fri, 1 Jan 2010 16:00:00 GMT",
		"Fri,  01 Jan 2010 16:00:00 GMT",
		"Fri, 01 jan 2010 16:00:00 GMT",
		"Fry, 01 Jan 2010 16:00:00 GMT",
		"Friday, 01-Jan-10 16:00:00 GMT", /* RFC 850 form */
		"Fri Jan  1 16:00:00 2010",       /* asctime form */
		"Fri, 00 Jan 2010 16:00:00 GMT",
		"Fri, 32 Jan 2010 16:00:00 GMT",
		"Mon, 29 Feb 2010 16:00:00 GMT",
		"Mon, 29 Feb 1900 16:00:00 GMT",
		"Mon, 31 Apr 2010 16:00:00 GMT",
		"Fri, 01 Jan 2010 24:00:00 GMT",
		"Fri, 01 Jan 2010 16:60:00 GMT",
		"Fri, 01 Jan 2010 16:00:61 GMT",
		"Fri, 01 Jan 2010 16:0a:00 GMT",
		"Fri, 01 Jan 2010\r\n 16:00:00 GMT",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 42;
		if (sp_date_parse(sp_str_cstr(bad[i]), &t) != SP_EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(t, 42);
	}
}

/* ---- token lists, Privacy ---- */

static void test_token_list(void **state)
{
	(void)state;
	struct sp_str cur = V("100rel,timer ,\r\n replaces,  path"), tok;
	static const char *const want[] = { "100rel", "timer", "replaces", "path" };

	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(sp_token_list_next(&cur, &tok), 0);
		assert_slice(tok, want[i]);
	}
	assert_int_equal(sp_token_list_next(&cur, &tok), SP_ENOENT);

	assert_int_equal(sp_token_list_check(V("INVITE, ACK, OPTIONS, CANCEL, BYE, NEWMETHOD")), 0);
	assert_int_equal(sp_token_list_check(V("presence, dialog, conference.winfo")), 0);
	assert_int_equal(sp_token_list_check(V("gzip")), 0);

	static const char *const bad[] = {
		"", " ", ",", "a,", ",a", "a,,b", "a b", "a;b", "a/b", "a, \"b\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sp_token_list_check(sp_str_cstr(bad[i])) != SP_EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
}

static void test_privacy(void **state)
{
	(void)state;
	unsigned f = 0;

	assert_int_equal(sp_privacy_parse(V("id"), &f), 0);
	assert_int_equal(f, SP_PRIV_ID);
	assert_int_equal(sp_privacy_parse(V("header;session ; USER;critical"), &f), 0);
	assert_int_equal(f, SP_PRIV_HEADER | SP_PRIV_SESSION | SP_PRIV_USER | SP_PRIV_CRITICAL);
	assert_int_equal(sp_privacy_parse(V("none"), &f), 0);
	assert_int_equal(f, SP_PRIV_NONE);
	assert_int_equal(sp_privacy_parse(V("history;id"), &f), 0);
	assert_int_equal(f, SP_PRIV_OTHER | SP_PRIV_ID);

	static const char *const bad[] = { "", ";", "id;", ";id", "id;;user", "id,user", "id user" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = 77;
		if (sp_privacy_parse(sp_str_cstr(bad[i]), &f) != SP_EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
		assert_int_equal(f, 77);
	}
}

/* ---- Content-Type ---- */

static void test_ctype(void **state)
{
	(void)state;
	struct sp_ctype ct;
	struct sp_str v;

	assert_int_equal(sp_ctype_parse(V("application/sdp"), &ct), 0);
	assert_slice(ct.type, "application");
	assert_slice(ct.subtype, "sdp");
	assert_null_slice(ct.params);
	assert_true(sp_ctype_is(&ct, "Application", "SDP"));
	assert_true(sp_ctype_is(&ct, "application", NULL));
	assert_false(sp_ctype_is(&ct, "application", "sdpx"));
	assert_false(sp_ctype_is(&ct, "text", "sdp"));

	assert_int_equal(sp_ctype_parse(V("multipart/mixed ;\r\n boundary=\"unique-boundary-1\"; charset=UTF-8"), &ct), 0);
	assert_slice(ct.subtype, "mixed");
	assert_int_equal(sp_param_find(ct.params, SP_PARAM_HEADER, "boundary", &v), 0);
	assert_slice(v, "\"unique-boundary-1\"");
	assert_int_equal(sp_param_find(ct.params, SP_PARAM_HEADER, "charset", &v), 0);
	assert_slice(v, "UTF-8");

	assert_int_equal(sp_ctype_parse(V("application / pidf+xml"), &ct), 0);
	assert_slice(ct.subtype, "pidf+xml");

	static const char *const bad[] = {
		"", "application", "application/", "/sdp", "application/sdp/x",
		"application/sdp;", "application/sdp;charset", "application/sdp;charset=",
		"application/sdp;a=[::1]", "application/sdp x", "text/plain;a=\"open",
		"app lication/sdp", "application/sdp,text/plain",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sp_ctype_parse(sp_str_cstr(bad[i]), &ct) != SP_EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
}

/* ---- Retry-After ---- */

static void test_retry_after(void **state)
{
	(void)state;
	uint32_t s = 0, d = 9;
	struct sp_str c;

	assert_int_equal(sp_retry_after_parse(V("120"), &s, &c, &d), 0);
	assert_int_equal(s, 120);
	assert_null_slice(c);
	assert_int_equal(d, 0);

	/* RFC 3261 section 20.33's examples. */
	assert_int_equal(sp_retry_after_parse(V("18000;duration=3600"), &s, &c, &d), 0);
	assert_int_equal(s, 18000);
	assert_int_equal(d, 3600);
	assert_int_equal(sp_retry_after_parse(V("120 (I'm in a meeting)"), &s, &c, &d), 0);
	assert_slice(c, "(I'm in a meeting)");
	assert_int_equal(sp_retry_after_parse(V("5 (a (nested \\) one)\r\n here) ;duration=1;x"), &s, &c, &d), 0);
	assert_int_equal(s, 5);
	assert_slice(c, "(a (nested \\) one)\r\n here)");
	assert_int_equal(d, 1);
	assert_int_equal(sp_retry_after_parse(V("4294967295"), &s, NULL, NULL), 0);
	assert_int_equal(s, 4294967295u);

	s = 7;
	assert_int_equal(sp_retry_after_parse(V("4294967296"), &s, &c, &d), SP_ERANGE);
	assert_int_equal(sp_retry_after_parse(V("1;duration=99999999999"), &s, &c, &d), SP_ERANGE);
	assert_int_equal(s, 7);

	static const char *const bad[] = {
		"", "-1", "1.5", "abc", "10 (unclosed", "10 (a))", "10 ) ",
		"10 ((((((((((deep))))))))))", "10;duration", "10;duration=x",
		"10;duration=1;duration=2", "10 20", "10;",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sp_retry_after_parse(sp_str_cstr(bad[i]), &s, &c, &d) != SP_EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
}

/* ---- Reason ---- */

static void test_reason(void **state)
{
	(void)state;
	struct sp_str cur = V("Q.850;cause=16;text=\"Terminated\"");
	struct sp_reason r;

	assert_int_equal(sp_reason_next(&cur, &r), 0);
	assert_slice(r.protocol, "Q.850");
	assert_true(r.has_cause);
	assert_int_equal(r.cause, 16);
	assert_slice(r.text, "Terminated");
	assert_slice(r.params, ";cause=16;text=\"Terminated\"");
	assert_int_equal(sp_reason_next(&cur, &r), SP_ENOENT);

	/* Two protocols; a comma inside the quoted text is not a separator. */
	cur = V("SIP ;cause=200 ;text=\"Call completed, elsewhere\" ,\r\n Q.850;cause=26");
	assert_int_equal(sp_reason_next(&cur, &r), 0);
	assert_slice(r.protocol, "SIP");
	assert_int_equal(r.cause, 200);
	assert_slice(r.text, "Call completed, elsewhere");
	assert_int_equal(sp_reason_next(&cur, &r), 0);
	assert_slice(r.protocol, "Q.850");
	assert_int_equal(r.cause, 26);
	assert_null_slice(r.text);
	assert_int_equal(sp_reason_next(&cur, &r), SP_ENOENT);

	assert_int_equal(sp_reason_check(V("Q.850;cause=16;text=\"Terminated\"")), 0);
	assert_int_equal(sp_reason_check(V("preemption ;cause=1 ;text=\"UA Preemption\"")), 0);
	assert_int_equal(sp_reason_check(V("SIP")), 0);
	assert_int_equal(sp_reason_check(V("SIP;cause=99999999999")), SP_ERANGE);

	static const char *const bad[] = {
		"", ";cause=1", "SIP;cause=abc", "SIP;cause=", "SIP;cause", "SIP;text=Terminated",
		"SIP;cause=1;cause=2", "SIP;text=\"a\";text=\"b\"", "SIP,", "SIP,,Q.850", "SIP Q.850",
		"SIP;cause=-1", "SIP;text=\"open",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sp_reason_check(sp_str_cstr(bad[i])) != SP_EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
}

/* ---- Identity ---- */

/* A STIR/SHAKEN Identity header in the form of RFC 8588's example. */
#define SHAKEN_HDR "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUub3JnL3Bhc3Nwb3J0LmNlciJ9"
#define SHAKEN_PAY "eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMjEyNTU1MTIxMyJdfSwiaWF0IjoxNDQzMjA4MzQ1LCJvcmlnIjp7InRuIjoiMTIxMjU1NTEyMTIifSwib3JpZ2lkIjoiMTIzZTQ1NjctZTg5Yi0xMmQzLWE0NTYtNDI2NjU1NDQwMDAwIn0"
#define SHAKEN_SIG "qEvwlVxHBSZGSZDdl-y3ySSSS1d6VbjW7X2a9rDTjAqNCKNrAlc0fHgAnBo5CrVSBmvwj-tz0nQW4F3fHTaQmJ"

static void test_identity(void **state)
{
	(void)state;
	struct sp_identity id, legacy;

	/* RFC 4474 form (RFC 4475 mpart01.dat): base64 with padding, bare or
	 * quoted, no info parameter (it travelled in Identity-Info). */
	assert_int_equal(sp_identity_parse(V("r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA="), &legacy), 0);
	assert_null(legacy.info.p);
	assert_int_equal(sp_identity_parse(V("\"ZmFrZQ==\""), &legacy), 0);
	assert_slice(legacy.digest, "ZmFrZQ==");
	assert_int_not_equal(sp_identity_parse(V("\"ZmFr"), &legacy), 0);
	assert_int_not_equal(sp_identity_parse(V("Zm=Fr"), &legacy), 0);

	assert_int_equal(sp_identity_parse(V(SHAKEN_HDR "." SHAKEN_PAY "." SHAKEN_SIG
					     ";info=<https://cert.example.org/passport.cer>;alg=ES256;ppt=shaken"),
					   &id), 0);
	assert_slice(id.digest, SHAKEN_HDR "." SHAKEN_PAY "." SHAKEN_SIG);
	assert_slice(id.jws_header, SHAKEN_HDR);
	assert_slice(id.jws_payload, SHAKEN_PAY);
	assert_slice(id.jws_signature, SHAKEN_SIG);
	assert_slice(id.info, "https://cert.example.org/passport.cer");


	assert_slice(id.alg, "ES256");
	assert_slice(id.ppt, "shaken");
	assert_slice(id.params, ";info=<https://cert.example.org/passport.cer>;alg=ES256;ppt=shaken");

	/* Compact form (claims left out), folding, another order, quoted ppt,
	 * an extension parameter. */
	assert_int_equal(sp_identity_parse(V(SHAKEN_HDR ".." SHAKEN_SIG
					     " ;\r\n ppt=\"shaken\" ; info = <https://[2001:db8::1]/c.pem> ;x=y"),
					   &id), 0);
	assert_slice(id.jws_payload, "");
	assert_slice(id.ppt, "shaken");
	assert_slice(id.info, "https://[2001:db8::1]/c.pem");
	assert_null_slice(id.alg);

	static const char *const bad[] = {
		"",
		"a.b.c",                                           /* no info */
		"a.b;info=<https://x/y>",                           /* two parts */
		"a.b.c.d;info=<https://x/y>",
		".b.c;info=<https://x/y>",
		"a.b.;info=<https://x/y>",
		"a.b=.c;info=<https://x/y>",
		"a.b.c;info=https://x/y",
		"a.b.c;info=<https://x/y",
		"a.b.c;info=<no-scheme>",
		"a.b.c;info=<https://x/ y>",
		"a.b.c;info=<https://x/y>;info=<https://x/z>",
		"a.b.c;info=<https://x/y>;alg=ES256;alg=ES256",
		"a.b.c;info=<https://x/y>;alg=\"ES256\"",
		"a.b.c;info=<https://x/y>;ppt",
		"a.b.c;info=<https://x/y>;",
		"a.b.c;info=<https://x/y> junk",
		"a.b.c info=<https://x/y>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sp_identity_parse(sp_str_cstr(bad[i]), &id) != SP_EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
}

/* ---- Event ---- */

static void test_event(void **state)
{
	(void)state;
	struct sp_event e;

	assert_int_equal(sp_event_parse(V("presence"), &e), 0);
	assert_slice(e.type, "presence");
	assert_null_slice(e.id);
	assert_int_equal(sp_event_parse(V("refer;id=93809824"), &e), 0);
	assert_slice(e.type, "refer");
	assert_slice(e.id, "93809824");
	assert_int_equal(sp_event_parse(V("presence.winfo ;\r\n id=a-b ;other=\"x\""), &e), 0);
	assert_slice(e.type, "presence.winfo");
	assert_slice(e.id, "a-b");
	assert_int_equal(sp_event_check(V("dialog;sla")), 0);

	static const char *const bad[] = {
		"", ".presence", "presence.", "a..b", "presence;id", "presence;id=\"x\"",
		"presence;id=a;id=b", "presence x", "presence,dialog", "presence;",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sp_event_check(sp_str_cstr(bad[i])) != SP_EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
}

/* ---- Session-Expires ---- */

static void test_session_expires(void **state)
{
	(void)state;
	uint32_t s = 0;
	enum sp_refresher r = SP_REFRESHER_UAS;

	assert_int_equal(sp_session_expires_parse(V("1800"), &s, &r), 0);
	assert_int_equal(s, 1800);
	assert_int_equal(r, SP_REFRESHER_NONE);
	assert_int_equal(sp_session_expires_parse(V("4000;refresher=uac"), &s, &r), 0);
	assert_int_equal(s, 4000);
	assert_int_equal(r, SP_REFRESHER_UAC);
	assert_int_equal(sp_session_expires_parse(V("90 ; refresher = UAS;x"), &s, &r), 0);
	assert_int_equal(r, SP_REFRESHER_UAS);
	assert_int_equal(sp_session_expires_parse(V("99999999999"), &s, &r), SP_ERANGE);

	static const char *const bad[] = {
		"", "x", "1800;refresher=both", "1800;refresher", "1800;refresher=uac;refresher=uas",
		"1800 s", "-1", "1800;",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sp_session_expires_parse(sp_str_cstr(bad[i]), &s, &r) != SP_EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
}

/* ---- Subject ---- */

static void test_subject(void **state)
{
	(void)state;
	assert_int_equal(sp_subject_check(V("")), 0);
	assert_int_equal(sp_subject_check(V("Need more boxes")), 0);
	assert_int_equal(sp_subject_check(V("Tech Support,\r\n (urgent!) \"quotes\" ok")), 0);
	assert_int_equal(sp_subject_check(V("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e")), 0);
	assert_int_equal(sp_subject_check(V("bad\x01")), SP_EINVAL);
	assert_int_equal(sp_subject_check(V("bad\x7f")), SP_EINVAL);
	assert_int_equal(sp_subject_check(V("caf\xc3")), SP_EINVAL);
	assert_int_equal(sp_subject_check(V("caf\xc3(")), SP_EINVAL);
	assert_int_equal(sp_subject_check(V("\x80")), SP_EINVAL);
	assert_int_equal(sp_subject_check(V("\xfe")), SP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_digest_sha256),
		cmocka_unit_test(test_auth_digest_md5_qop),
		cmocka_unit_test(test_auth_challenge),
		cmocka_unit_test(test_auth_other_schemes),
		cmocka_unit_test(test_auth_invalid),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_token_list),
		cmocka_unit_test(test_privacy),
		cmocka_unit_test(test_ctype),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_session_expires),
		cmocka_unit_test(test_subject),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
