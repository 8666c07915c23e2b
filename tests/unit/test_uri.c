/* test_uri.c: unit tests of the sip/sips/tel/opaque URI parser and RFC 3261 19.1.4 comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/str.h"
#include "sip/param.h"
#include "sip/uri.h"
#include "testutil.h"

/* Checks a slice against an expected string; NULL means "absent". */
static void check_slice(struct sp_str got, const char *want, const char *what)
{
	if (!want) {
		if (got.p != NULL || got.len != 0)
			fail_msg("%s: expected absent, got '%.*s'", what, SP_STR_FMT(got));
		return;
	}
	if (!got.p || !sp_str_eq_c(got, want))
		fail_msg("%s: expected '%s', got '%.*s'", what, want,
			 got.p ? (int)got.len : 6, got.p ? got.p : "(null)");
}

struct want {
	enum sp_uri_scheme scheme_id;
	enum sp_host_type host_type;
	const char *scheme, *user, *password, *host, *port_str;
	uint16_t port;
	const char *params, *headers;
};

static struct sp_uri parse_ok(const char *s)
{
	struct sp_uri u;
	int err = sp_uri_parse(sp_str_cstr(s), &u);
	if (err)
		fail_msg("'%s' should parse, got %d", s, err);
	return u;
}

static void expect(const char *s, struct want w)
{
	struct sp_uri u = parse_ok(s);
	assert_int_equal(u.scheme_id, w.scheme_id);
	assert_int_equal(u.host_type, w.host_type);
	check_slice(u.raw, s, "raw");
	check_slice(u.scheme, w.scheme, "scheme");
	check_slice(u.user, w.user, "user");
	check_slice(u.password, w.password, "password");
	check_slice(u.host, w.host, "host");
	check_slice(u.port_str, w.port_str, "port_str");
	assert_int_equal(u.port, w.port);
	check_slice(u.params, w.params, "params");
	check_slice(u.headers, w.headers, "headers");
	assert_true(sp_uri_eq(&u, &u));
}

static void expect_err(const char *s, int want)
{
	struct sp_uri u;
	memset(&u, 0xa5, sizeof(u));
	struct sp_uri before = u;
	int err = sp_uri_parse(sp_str_cstr(s), &u);
	if (err != want)
		fail_msg("'%s': expected %d, got %d", s, want, err);
	/* Out-parameters are untouched on failure. */
	assert_memory_equal(&u, &before, sizeof(u));
}

static bool eq(const char *a, const char *b)
{
	struct sp_uri x = parse_ok(a), y = parse_ok(b);
	bool r = sp_uri_eq(&x, &y);
	/* The relation must be symmetric. */
	if (r != sp_uri_eq(&y, &x))
		fail_msg("asymmetric comparison: '%s' vs '%s'", a, b);
	return r;
}

static void test_basic_fields(void **state)
{
	(void)state;
	expect("sip:alice@atlanta.com",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", "alice", NULL, "atlanta.com", NULL, 0,
			      NULL, NULL });
	expect("sips:alice@atlanta.com:5061",
	       (struct want){ SP_URI_SIPS, SP_HOST_NAME, "sips", "alice", NULL, "atlanta.com",
			      "5061", 5061, NULL, NULL });
	expect("sip:atlanta.com",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", NULL, NULL, "atlanta.com", NULL, 0,
			      NULL, NULL });
	expect("sip:192.0.2.4:0",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV4, "sip", NULL, NULL, "192.0.2.4", "0", 0,
			      NULL, NULL });
	expect("sip:h:65535",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", NULL, NULL, "h", "65535", 65535,
			      NULL, NULL });
	expect("sip:example.com.",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", NULL, NULL, "example.com.", NULL,
			      0, NULL, NULL });
	expect("sip:a-b.c-d.example;lr",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", NULL, NULL, "a-b.c-d.example", NULL,
			      0, ";lr", NULL });
	expect("sip:u:@h",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", "u", "", "h", NULL, 0, NULL, NULL });
	expect("sip:h?a=",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", NULL, NULL, "h", NULL, 0, NULL,
			      "a=" });
}

/* RFC 3261 section 19.1.3 examples. */
static void test_rfc3261_19_1_3(void **state)
{
	(void)state;
	expect("sip:alice@atlanta.com",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", "alice", NULL, "atlanta.com", NULL, 0,
			      NULL, NULL });
	expect("sip:alice:secretword@atlanta.com;transport=tcp",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", "alice", "secretword", "atlanta.com",
			      NULL, 0, ";transport=tcp", NULL });
	expect("sips:alice@atlanta.com?subject=project%20x&priority=urgent",
	       (struct want){ SP_URI_SIPS, SP_HOST_NAME, "sips", "alice", NULL, "atlanta.com", NULL,
			      0, NULL, "subject=project%20x&priority=urgent" });
	expect("sip:+1-212-555-1212:1234@gateway.com;user=phone",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", "+1-212-555-1212", "1234",
			      "gateway.com", NULL, 0, ";user=phone", NULL });
	expect("sips:1212@gateway.com",
	       (struct want){ SP_URI_SIPS, SP_HOST_NAME, "sips", "1212", NULL, "gateway.com", NULL,
			      0, NULL, NULL });
	expect("sip:alice@192.0.2.4",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV4, "sip", "alice", NULL, "192.0.2.4", NULL, 0,
			      NULL, NULL });
	expect("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", NULL, NULL, "atlanta.com", NULL, 0,
			      ";method=REGISTER", "to=alice%40atlanta.com" });
	expect("sip:alice;day=tuesday@atlanta.com",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", "alice;day=tuesday", NULL,
			      "atlanta.com", NULL, 0, NULL, NULL });

	struct sp_uri u = parse_ok("sip:alice:secretword@atlanta.com;transport=tcp");
	struct sp_str v;
	assert_int_equal(sp_uri_param(&u, "TRANSPORT", &v), 0);
	check_slice(v, "tcp", "transport");
	assert_int_equal(sp_uri_param(&u, "maddr", &v), SP_ENOENT);
}

/* RFC 3261 section 19.1.4: the URIs of each pair are equivalent. */
static void test_rfc3261_19_1_4_equal(void **state)
{
	(void)state;
	assert_true(eq("sip:%61lice@atlanta.com;transport=TCP",
		       "sip:alice@AtLanTa.CoM;Transport=tcp"));
	assert_true(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
	assert_true(eq("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
	assert_true(eq("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"));
	assert_true(eq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
		       "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
	assert_true(eq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
		       "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
}

/* RFC 3261 section 19.1.4: the URIs of each pair are not equivalent. */
static void test_rfc3261_19_1_4_not_equal(void **state)
{
	(void)state;
	assert_false(eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
	assert_false(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
	assert_false(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
	assert_false(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
	assert_false(eq("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
	assert_false(eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
	/* Equality is not transitive: both equal sip:carol@chicago.com. */
	assert_false(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
}

static void test_eq_rules(void **state)
{
	(void)state;
	/* Scheme names are case-insensitive; sip and sips never match. */
	assert_true(eq("SIP:bob@h", "sip:bob@h"));
	assert_false(eq("sip:bob@h", "sips:bob@h"));
	/* userinfo is case-sensitive, escapes equal their characters. */
	assert_false(eq("sip:Bob@h", "sip:bob@h"));
	assert_true(eq("sip:b%6Fb@h", "sip:bob@h"));
	assert_true(eq("sip:b%6fb@h", "sip:b%6Fb@h"));
	assert_false(eq("sip:bob:pw@h", "sip:bob@h"));
	assert_false(eq("sip:bob:pw@h", "sip:bob:PW@h"));
	assert_false(eq("sip:bob:@h", "sip:bob@h"));
	assert_false(eq("sip:bob@h", "sip:h"));
	/* Ports. */
	assert_true(eq("sip:h:5060", "sip:h:5060"));
	assert_true(eq("sip:h:05060", "sip:h:5060"));
	assert_false(eq("sip:h:5060", "sip:h:5061"));
	/* user, ttl, method, maddr, transport must be in both or neither. */
	assert_false(eq("sip:h;user=phone", "sip:h"));
	assert_false(eq("sip:h;ttl=1", "sip:h"));
	assert_false(eq("sip:h;method=INVITE", "sip:h"));
	assert_false(eq("sip:h;maddr=239.255.255.1", "sip:h"));
	assert_true(eq("sip:h;maddr=239.255.255.1;ttl=15", "sip:h;ttl=15;maddr=239.255.255.1"));
	assert_true(eq("sip:h;method=invite", "sip:h;METHOD=INVITE"));
	assert_true(eq("sip:h;%74ransport=tcp", "sip:h;transport=tcp"));
	assert_false(eq("sip:h;%74ransport=tcp", "sip:h"));
	/* Other parameters count only when in both; flag vs valued differs. */
	assert_true(eq("sip:h;lr", "sip:h"));
	assert_true(eq("sip:h;lr", "sip:h;LR"));
	assert_false(eq("sip:h;lr", "sip:h;lr=on"));
	assert_true(eq("sip:h;x=%41", "sip:h;x=a"));
	/* Headers: all must match; names case-insensitive, values exact. */
	assert_true(eq("sip:h?Subject=a", "sip:h?subject=a"));
	assert_false(eq("sip:h?subject=a", "sip:h?subject=A"));
	assert_true(eq("sip:h?subject=a%2Db", "sip:h?subject=a-b"));
	assert_false(eq("sip:h?a=1&b=2", "sip:h?a=1"));
	assert_false(eq("sip:h?a=1&a=1", "sip:h?a=1&b=1"));
	assert_true(eq("sip:h?%61=1", "sip:h?a=1"));
	/* Hosts: case-insensitive, trailing dot, IPv4 vs name. */
	assert_true(eq("sip:EXAMPLE.com", "sip:example.COM"));
	assert_true(eq("sip:example.com.", "sip:example.com"));
	assert_false(eq("sip:example.com", "sip:example.org"));
	assert_false(eq("sip:192.0.2.1", "sip:192.0.2.10"));
}

/* RFC 4475 section 3.1.1.x and 3.1.2.x URIs. */
static void test_rfc4475(void **state)
{
	(void)state;
	/* 3.1.1.10 semiuri: ';' in the user part, '@' escaped in it. */
	expect("sip:user;par=u%40example.net@example.com",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", "user;par=u%40example.net", NULL,
			      "example.com", NULL, 0, NULL, NULL });
	/* 3.1.1.8 escnull: escaped NULs in the user part. */
	expect("sip:null-%00-null@example.com",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", "null-%00-null", NULL, "example.com",
			      NULL, 0, NULL, NULL });
	char buf[32];
	size_t n;
	struct sp_uri u = parse_ok("sip:null-%00-null@example.com");
	assert_int_equal(sp_uri_unescape(u.user, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 11);
	assert_memory_equal(buf, "null-\0-null", 11);
	/* 3.1.1.7 esc01: escapes in user and params. */
	expect("sip:sips%3Auser%40example.com@example.net",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", "sips%3Auser%40example.com", NULL,
			      "example.net", NULL, 0, NULL, NULL });
	assert_true(eq("sip:%61lice@example.com", "sip:alice@example.com"));
	expect("sip:%61lice@bob.example.com;transport=%74cp",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", "%61lice", NULL, "bob.example.com",
			      NULL, 0, ";transport=%74cp", NULL });
	assert_true(eq("sip:%61lice@bob.example.com;transport=%74cp",
		       "sip:alice@BOB.example.com;transport=TCP"));
	/* 3.1.1.1 wsinv: odd but legal user and password characters. */
	expect("sip:vivekg@chair-dnrc.example.com;unknownparam",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", "vivekg", NULL,
			      "chair-dnrc.example.com", NULL, 0, ";unknownparam", NULL });
	expect("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip",
			      "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*",
			      "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)", "example.com", NULL, 0,
			      NULL, NULL });
	/* 3.1.1.6 longreq style: long user and parameter. */
	expect("sip:amazinglylongcallernameamazinglylongcallernameamazinglylongcallername@example.net;tag=12982982",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip",
			      "amazinglylongcallernameamazinglylongcallernameamazinglylongcallername",
			      NULL, "example.net", NULL, 0, ";tag=12982982", NULL });
	/* 3.1.1.11 transports: unknown URI schemes are opaque. */
	expect("soap.beep://192.0.2.103:3002",
	       (struct want){ SP_URI_OTHER, SP_HOST_NONE, "soap.beep", NULL, NULL, NULL, NULL, 0,
			      NULL, NULL });
	expect("http://example.com/a?b=c",
	       (struct want){ SP_URI_OTHER, SP_HOST_NONE, "http", NULL, NULL, NULL, NULL, 0, NULL,
			      NULL });
	/* 3.3.10 bigcode style: port out of range. */
	expect_err("sip:example.com:70000", SP_ERANGE);
	expect_err("sip:example.com:99999999999999999999999", SP_ERANGE);
	/* 3.1.2.x: embedded LWS, bad escapes, unquoted spaces. */
	expect_err("sip:user@example.com; transport=udp", SP_EINVAL);
	expect_err("sip:user@example.com ;lr", SP_EINVAL);
	expect_err("sip:user name@example.com", SP_EINVAL);
	expect_err("sip:user@example.com\r\n", SP_EINVAL);
	expect_err("sip:user@exa\tmple.com", SP_EINVAL);
	/* 3.1.2.4 escnull-like: an escape must be two hex digits. */
	expect_err("sip:user%2@example.com", SP_EINVAL);
	expect_err("sip:user%@example.com", SP_EINVAL);
	expect_err("sip:user%GG@example.com", SP_EINVAL);
	expect_err("sip:u:p%4@example.com", SP_EINVAL);
	expect_err("sip:h;a=%4", SP_EINVAL);
	expect_err("sip:h;a%=1", SP_EINVAL);
	expect_err("sip:h?a=%zz", SP_EINVAL);
	expect_err("sip:h?a%=1", SP_EINVAL);
	/* 3.1.2.9 ncl / scalar-like: an unknown scheme with a space. */
	expect_err("nobarscheme: foo", SP_EINVAL);
	/* 3.3.1 and 3.3.3: missing parts. */
	expect_err("sip:", SP_EINVAL);
	expect_err("sip:@example.com", SP_EINVAL);
	expect_err("sip:user@", SP_EINVAL);
}

/* RFC 5118 IPv6 cases. */
static void test_rfc5118(void **state)
{
	(void)state;
	/* 4.1 basic. */
	expect("sip:[2001:db8::10]",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV6, "sip", NULL, NULL, "[2001:db8::10]", NULL,
			      0, NULL, NULL });
	/* 4.2 unbracketed IPv6 is invalid. */
	expect_err("sip:2001:db8::10", SP_EINVAL);
	expect_err("sip:user@2001:db8::10", SP_EINVAL);
	/* 4.3 port after the reference. */
	expect("sip:[2001:db8::10]:5070",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV6, "sip", NULL, NULL, "[2001:db8::10]", "5070",
			      5070, NULL, NULL });
	/* 4.4 a port-looking last group is part of the address. */
	expect("sip:[2001:db8::10:5070]",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV6, "sip", NULL, NULL, "[2001:db8::10:5070]",
			      NULL, 0, NULL, NULL });
	/* 4.6 with user and params. */
	expect("sip:user@[2001:db8::1];maddr=[2001:db8::20]",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV6, "sip", "user", NULL, "[2001:db8::1]", NULL,
			      0, ";maddr=[2001:db8::20]", NULL });
	/* 4.7 different notations of one address. */
	assert_true(eq("sip:[2001:db8::9:1]", "sip:[2001:db8::9:01]"));
	assert_true(eq("sip:[2001:db8:0:0:0:0:9:1]", "sip:[2001:DB8::9:1]"));
	assert_false(eq("sip:[2001:db8::9:1]", "sip:[2001:db8::9:2]"));
	/* 4.8 embedded IPv4. */
	expect("sip:[::ffff:192.0.2.1]",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV6, "sip", NULL, NULL, "[::ffff:192.0.2.1]",
			      NULL, 0, NULL, NULL });
	assert_true(eq("sip:[::ffff:192.0.2.1]", "sip:[::ffff:c000:0201]"));
	expect("sip:[2001:db8::192.0.2.1]",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV6, "sip", NULL, NULL,
			      "[2001:db8::192.0.2.1]", NULL, 0, NULL, NULL });
	/* 4.10 the three-colon form allowed by the RFC 3261 ABNF. */
	expect("sip:[2001:db8:::192.0.2.1]",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV6, "sip", NULL, NULL,
			      "[2001:db8:::192.0.2.1]", NULL, 0, NULL, NULL });
	assert_true(eq("sip:[2001:db8:::192.0.2.1]", "sip:[2001:db8::192.0.2.1]"));
	expect("sip:[::1]:5060",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV6, "sip", NULL, NULL, "[::1]", "5060", 5060,
			      NULL, NULL });
	expect("sip:[::]", (struct want){ SP_URI_SIP, SP_HOST_IPV6, "sip", NULL, NULL, "[::]", NULL,
					  0, NULL, NULL });
	expect("sip:[1:2:3:4:5:6:7:8]",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV6, "sip", NULL, NULL, "[1:2:3:4:5:6:7:8]",
			      NULL, 0, NULL, NULL });
	/* Malformed references. */
	expect_err("sip:[2001:db8::10", SP_EINVAL);
	expect_err("sip:[]", SP_EINVAL);
	expect_err("sip:[2001:db8:::10]", SP_EINVAL);
	expect_err("sip:[1::2::3]", SP_EINVAL);
	expect_err("sip:[1:2:3:4:5:6:7:8:9]", SP_EINVAL);
	expect_err("sip:[1:2:3:4:5:6:7]", SP_EINVAL);
	expect_err("sip:[12345::1]", SP_EINVAL);
	expect_err("sip:[::1:]", SP_EINVAL);
	expect_err("sip:[:1::2]", SP_EINVAL);
	expect_err("sip:[::192.0.2.256]", SP_EINVAL);
	expect_err("sip:[::1]x", SP_EINVAL);
	expect_err("sip:[::1]:", SP_EINVAL);
	expect_err("sip:[::g]", SP_EINVAL);
}

static void test_tel(void **state)
{
	(void)state;
	expect("tel:+1-201-555-0123",
	       (struct want){ SP_URI_TEL, SP_HOST_NONE, "tel", "+1-201-555-0123", NULL, NULL, NULL, 0,
			      NULL, NULL });
	expect("tel:7042;phone-context=example.com",
	       (struct want){ SP_URI_TEL, SP_HOST_NONE, "tel", "7042", NULL, NULL, NULL, 0,
			      ";phone-context=example.com", NULL });
	expect("tel:863-1234;phone-context=+1-914-555",
	       (struct want){ SP_URI_TEL, SP_HOST_NONE, "tel", "863-1234", NULL, NULL, NULL, 0,
			      ";phone-context=+1-914-555", NULL });
	expect("TEL:+358-555-1234567;postd=pp22",
	       (struct want){ SP_URI_TEL, SP_HOST_NONE, "TEL", "+358-555-1234567", NULL, NULL, NULL,
			      0, ";postd=pp22", NULL });
	expect("tel:+1(800)555.1234;ext=22;isub=1411",
	       (struct want){ SP_URI_TEL, SP_HOST_NONE, "tel", "+1(800)555.1234", NULL, NULL, NULL,
			      0, ";ext=22;isub=1411", NULL });
	expect("tel:*21#;phone-context=example.com",
	       (struct want){ SP_URI_TEL, SP_HOST_NONE, "tel", "*21#", NULL, NULL, NULL, 0,
			      ";phone-context=example.com", NULL });
	struct sp_uri u = parse_ok("tel:7042;phone-context=example.com");
	struct sp_str v;
	assert_int_equal(sp_uri_param(&u, "Phone-Context", &v), 0);
	check_slice(v, "example.com", "phone-context");

	assert_true(eq("tel:+1-201-555-0123", "tel:+12015550123"));
	assert_true(eq("tel:+1(201)555.0123", "tel:+1-201-555-0123"));
	assert_false(eq("tel:+12015550123", "tel:+12015550124"));
	assert_false(eq("tel:+12015550123", "tel:+120155501234"));
	assert_true(eq("tel:7042;phone-context=EXAMPLE.com", "tel:7042;phone-context=example.com"));
	assert_true(eq("tel:+1234;ext=1;isub=2", "tel:+1234;isub=2;EXT=1"));
	assert_false(eq("tel:+1234;ext=1", "tel:+1234"));
	assert_false(eq("tel:+1234", "tel:+1234;ext=1"));
	assert_false(eq("tel:7042;phone-context=a.example", "tel:7042;phone-context=b.example"));
	assert_false(eq("tel:+1234", "sip:+1234@h"));

	expect_err("tel:7042", SP_EINVAL);
	expect_err("tel:+", SP_EINVAL);
	expect_err("tel:+--", SP_EINVAL);
	expect_err("tel:", SP_EINVAL);
	expect_err("tel:+12 34", SP_EINVAL);
	expect_err("tel:+1234;", SP_EINVAL);
	expect_err("tel:+1234;ext=", SP_EINVAL);
	expect_err("tel:+1234;e_x=1", SP_EINVAL);
	expect_err("tel:+12x4", SP_EINVAL);
	expect_err("tel:7042;phone-context=", SP_EINVAL);
	expect_err("tel:7042;phone-context=+", SP_EINVAL);
	expect_err("tel:+1234;ext=1;ext=2", SP_EINVAL);
	expect_err("tel:+1234?x=y", SP_EINVAL);
}

static void test_other_schemes(void **state)
{
	(void)state;
	expect("mailto:bob@example.com",
	       (struct want){ SP_URI_OTHER, SP_HOST_NONE, "mailto", NULL, NULL, NULL, NULL, 0, NULL,
			      NULL });
	expect("urn:service:sos",
	       (struct want){ SP_URI_OTHER, SP_HOST_NONE, "urn", NULL, NULL, NULL, NULL, 0, NULL,
			      NULL });
	expect("im:fred%20x@example.com",
	       (struct want){ SP_URI_OTHER, SP_HOST_NONE, "im", NULL, NULL, NULL, NULL, 0, NULL,
			      NULL });
	assert_true(eq("MAILTO:bob@example.com", "mailto:bob@example.com"));
	assert_false(eq("mailto:Bob@example.com", "mailto:bob@example.com"));
	assert_false(eq("mailto:bob@example.com", "sip:bob@example.com"));
	assert_false(eq("mailto:bob@example.com", "im:bob@example.com"));
	expect_err("mailto:", SP_EINVAL);
	expect_err("mailto:a b", SP_EINVAL);
	expect_err("mailto:a%2", SP_EINVAL);
	expect_err("mailto:a<b", SP_EINVAL);
	expect_err("mailto:a\"b", SP_EINVAL);
	expect_err("1abc:x", SP_EINVAL);
	expect_err("a_b:x", SP_EINVAL);
	expect_err("nocolon", SP_EINVAL);
	expect_err(":x", SP_EINVAL);
	expect_err("", SP_EINVAL);
	expect_err("x:\xc3\xa9", SP_EINVAL);
}

static void test_hosts(void **state)
{
	(void)state;
	expect("sip:1.2.3.4",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV4, "sip", NULL, NULL, "1.2.3.4", NULL, 0, NULL,
			      NULL });
	expect("sip:255.255.255.255",
	       (struct want){ SP_URI_SIP, SP_HOST_IPV4, "sip", NULL, NULL, "255.255.255.255", NULL,
			      0, NULL, NULL });
	expect("sip:1.2.3.com",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", NULL, NULL, "1.2.3.com", NULL, 0,
			      NULL, NULL });
	expect("sip:x9",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", NULL, NULL, "x9", NULL, 0, NULL,
			      NULL });
	expect_err("sip:256.1.1.1", SP_EINVAL);
	expect_err("sip:1.2.3", SP_EINVAL);
	expect_err("sip:1.2.3.4.5", SP_EINVAL);
	expect_err("sip:-a.com", SP_EINVAL);
	expect_err("sip:a-.com", SP_EINVAL);
	expect_err("sip:a..com", SP_EINVAL);
	expect_err("sip:.com", SP_EINVAL);
	expect_err("sip:a.com..", SP_EINVAL);
	expect_err("sip:a_b.com", SP_EINVAL);
	expect_err("sip:a.9com", SP_EINVAL);
	expect_err("sip:bob@h@h", SP_EINVAL);
	expect_err("sip:h:", SP_EINVAL);
	expect_err("sip:h:-1", SP_EINVAL);
	expect_err("sip:h:12a", SP_EINVAL);
	expect_err("sip:h:65536", SP_ERANGE);
	expect_err("sip:h/x", SP_EINVAL);
}

static void test_params_headers(void **state)
{
	(void)state;
	expect("sip:h;a;b=1;c=[::1];d=x%20y",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", NULL, NULL, "h", NULL, 0,
			      ";a;b=1;c=[::1];d=x%20y", NULL });
	expect("sip:h:5060;lr?a=b&c=d",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", NULL, NULL, "h", "5060", 5060, ";lr",
			      "a=b&c=d" });
	expect("sip:h?Route=%3Csip:x%3E",
	       (struct want){ SP_URI_SIP, SP_HOST_NAME, "sip", NULL, NULL, "h", NULL, 0, NULL,
			      "Route=%3Csip:x%3E" });
	struct sp_uri u = parse_ok("sip:h;A;b=1");
	struct sp_str v;
	assert_int_equal(sp_uri_param(&u, "a", &v), 0);
	assert_null(v.p);
	assert_int_equal(v.len, 0);
	assert_int_equal(sp_uri_param(&u, "a", NULL), 0);
	assert_int_equal(sp_uri_param(&u, "B", &v), 0);
	check_slice(v, "1", "b");
	assert_int_equal(sp_uri_param(&u, "c", &v), SP_ENOENT);

	expect_err("sip:h;", SP_EINVAL);
	expect_err("sip:h;;a", SP_EINVAL);
	expect_err("sip:h;a=", SP_EINVAL);
	expect_err("sip:h;=1", SP_EINVAL);
	expect_err("sip:h;a=1=2", SP_EINVAL);
	expect_err("sip:h;a;A", SP_EINVAL);
	expect_err("sip:h;a=\"x\"", SP_EINVAL);
	expect_err("sip:h?", SP_EINVAL);
	expect_err("sip:h?a", SP_EINVAL);
	expect_err("sip:h?=b", SP_EINVAL);
	expect_err("sip:h?a=b&", SP_EINVAL);
	expect_err("sip:h?a=b?c=d", SP_EINVAL);
	expect_err("sip:h?a=<b>", SP_EINVAL);
}

static void test_limits(void **state)
{
	(void)state;
	char buf[SP_URI_MAX_LEN + 64];
	size_t n;

	/* SP_PARAM_MAX parameters pass, one more does not. */
	n = (size_t)snprintf(buf, sizeof(buf), "sip:h");
	for (int i = 0; i < SP_PARAM_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ";p%d", i);
	parse_ok(buf);
	snprintf(buf + n, sizeof(buf) - n, ";extra");
	expect_err(buf, SP_E2BIG);

	/* Too many header components. */
	n = (size_t)snprintf(buf, sizeof(buf), "sip:h?h0=0");
	for (int i = 1; i <= SP_PARAM_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "&h%d=%d", i, i);
	expect_err(buf, SP_E2BIG);

	/* Length: exactly the maximum passes, one more byte is refused. */
	memcpy(buf, "sip:", 4);
	memset(buf + 4, 'a', SP_URI_MAX_LEN - 4);
	buf[SP_URI_MAX_LEN] = '\0';
	struct sp_uri u = parse_ok(buf);
	assert_int_equal(u.host.len, SP_URI_MAX_LEN - 4);
	buf[SP_URI_MAX_LEN] = 'a';
	buf[SP_URI_MAX_LEN + 1] = '\0';
	expect_err(buf, SP_E2BIG);
}

static void test_unescape(void **state)
{
	(void)state;
	char out[16];
	size_t n = 99;

	assert_int_equal(sp_uri_unescape(SP_STR("a%20b%41"), out, sizeof(out), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "a bA", 4);
	assert_int_equal(sp_uri_unescape(SP_STR(""), out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(sp_uri_unescape(SP_STR("%"), out, sizeof(out), &n), SP_EINVAL);
	assert_int_equal(sp_uri_unescape(SP_STR("%4"), out, sizeof(out), &n), SP_EINVAL);
	assert_int_equal(sp_uri_unescape(SP_STR("%4g"), out, sizeof(out), &n), SP_EINVAL);
	assert_int_equal(sp_uri_unescape(SP_STR("abcd"), out, 3, &n), SP_E2BIG);
	assert_int_equal(n, 99);
	assert_int_equal(sp_uri_unescape(SP_STR("ab%63"), out, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "abc", 3);
}

/* The parser must never read past its slice: feed every prefix of some
 * URIs from a heap copy sized exactly (ASan catches an overread). */
static void test_prefixes(void **state)
{
	(void)state;
	static const char *const uris[] = {
		"sips:alice:pw@[2001:db8:::192.0.2.1]:5061;transport=tls;x=%41?a=b&c=%20",
		"tel:+1-201-555-0123;ext=1;phone-context=+1",
		"sip:user;par=u%40example.net@example.com",
		"mailto:x%41@y",
	};
	for (size_t k = 0; k < sizeof(uris) / sizeof(uris[0]); k++) {
		size_t len = strlen(uris[k]);
		for (size_t i = 0; i <= len; i++) {
			char *p = test_malloc(i ? i : 1);
			memcpy(p, uris[k], i);
			struct sp_uri u;
			if (sp_uri_parse(sp_str_make(p, i), &u) == 0)
				assert_true(sp_uri_eq(&u, &u));
			test_free(p);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_fields),
		cmocka_unit_test(test_rfc3261_19_1_3),
		cmocka_unit_test(test_rfc3261_19_1_4_equal),
		cmocka_unit_test(test_rfc3261_19_1_4_not_equal),
		cmocka_unit_test(test_eq_rules),
		cmocka_unit_test(test_rfc4475),
		cmocka_unit_test(test_rfc5118),
		cmocka_unit_test(test_tel),
		cmocka_unit_test(test_other_schemes),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_params_headers),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
