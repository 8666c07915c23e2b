/* test_param.c: unit tests of header and URI parameter lists and quoted-string scanning. */
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
#include "testutil.h"

/* A slice of a string literal with its exact length (may hold NUL bytes). */
#define S(lit) SP_STR(lit)

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

/* Reads the next parameter and checks its name and value and what is left. */
static void next_ok(struct sp_str *cur, enum sp_param_kind kind, const char *name,
		    const char *value)
{
	struct sp_str n, v;
	int err = sp_param_next(cur, kind, &n, &v);
	if (err)
		fail_msg("expected parameter '%s', got %d at '%.*s'", name, err, SP_STR_FMT(*cur));
	check_slice(n, name, "name");
	check_slice(v, value, "value");
}

static void next_err(struct sp_str s, enum sp_param_kind kind, int want)
{
	struct sp_str cur = s, n = { "x", 1 }, v = { "y", 1 };
	int err = sp_param_next(&cur, kind, &n, &v);
	if (err != want)
		fail_msg("'%.*s': expected %d, got %d", SP_STR_FMT(s), want, err);
	/* Nothing moves on failure. */
	assert_ptr_equal(cur.p, s.p);
	assert_int_equal(cur.len, s.len);
	check_slice(n, "x", "name untouched");
	check_slice(v, "y", "value untouched");
}

static void test_header_next(void **state)
{
	(void)state;
	struct sp_str cur = S(";branch=z9hG4bK776asdhds;received=192.0.2.1;rport");
	next_ok(&cur, SP_PARAM_HEADER, "branch", "z9hG4bK776asdhds");
	next_ok(&cur, SP_PARAM_HEADER, "received", "192.0.2.1");
	next_ok(&cur, SP_PARAM_HEADER, "rport", NULL);
	assert_int_equal(cur.len, 0);
	next_err(cur, SP_PARAM_HEADER, SP_ENOENT);

	/* LWS around ';' and '=' (RFC 3261 25.1 SEMI and EQUAL). */
	cur = S(" ; lr ;\tttl = 15 ;  maddr= 239.255.255.1");
	next_ok(&cur, SP_PARAM_HEADER, "lr", NULL);
	check_slice(cur, " ;\tttl = 15 ;  maddr= 239.255.255.1", "rest");
	next_ok(&cur, SP_PARAM_HEADER, "ttl", "15");
	next_ok(&cur, SP_PARAM_HEADER, "maddr", "239.255.255.1");
	assert_int_equal(cur.len, 0);

	/* Folding counts as LWS. */
	cur = S(";a=1\r\n ;b\r\n\t=\r\n 2");
	next_ok(&cur, SP_PARAM_HEADER, "a", "1");
	next_ok(&cur, SP_PARAM_HEADER, "b", "2");
	assert_int_equal(cur.len, 0);

	/* A quoted value keeps its quotes; escapes inside are skipped. */
	cur = S(";q=\"a \\\"b\\\" ; c\";tag=x");
	next_ok(&cur, SP_PARAM_HEADER, "q", "\"a \\\"b\\\" ; c\"");
	next_ok(&cur, SP_PARAM_HEADER, "tag", "x");

	/* RFC 5118 4.5: IPv6 references as values. */
	cur = S(";received=[2001:db8::9:255];branch=z9hG4bKas3-111");
	next_ok(&cur, SP_PARAM_HEADER, "received", "[2001:db8::9:255]");
	next_ok(&cur, SP_PARAM_HEADER, "branch", "z9hG4bKas3-111");
	cur = S(";received=[::ffff:192.0.2.1]");
	next_ok(&cur, SP_PARAM_HEADER, "received", "[::ffff:192.0.2.1]");
	/* ... and bare, as the RFC 3261 ABNF wrote it. */
	cur = S(";received=2001:db8::9:255 ;rport=5060");
	next_ok(&cur, SP_PARAM_HEADER, "received", "2001:db8::9:255");
	next_ok(&cur, SP_PARAM_HEADER, "rport", "5060");
	cur = S(";received=::ffff:192.0.2.1");
	next_ok(&cur, SP_PARAM_HEADER, "received", "::ffff:192.0.2.1");
	/* One colon is no address; the list then fails on the rest. */
	cur = S(";a=b:c");
	next_ok(&cur, SP_PARAM_HEADER, "a", "b");
	check_slice(cur, ":c", "rest");
	assert_int_equal(sp_param_list_check(S(";a=b:c"), SP_PARAM_HEADER), SP_EINVAL);
	assert_int_equal(sp_param_list_check(S(";a=fe80::1x"), SP_PARAM_HEADER), SP_EINVAL);

	/* Token characters in names and values. */
	cur = S(";x-Y.z!%*_+`'~=a-B.c!%*_+`'~");
	next_ok(&cur, SP_PARAM_HEADER, "x-Y.z!%*_+`'~", "a-B.c!%*_+`'~");

	/* The parameter ends before a comma, which is the caller's. */
	cur = S(";expires=60 , <sip:b@h>");
	next_ok(&cur, SP_PARAM_HEADER, "expires", "60");
	check_slice(cur, " , <sip:b@h>", "rest");
	next_err(cur, SP_PARAM_HEADER, SP_ENOENT);

	/* A flag parameter does not swallow the LWS after it. */
	cur = S(";lr ,x");
	next_ok(&cur, SP_PARAM_HEADER, "lr", NULL);
	check_slice(cur, " ,x", "rest");
}

static void test_header_next_errors(void **state)
{
	(void)state;
	next_err(S(""), SP_PARAM_HEADER, SP_ENOENT);
	next_err(S("   "), SP_PARAM_HEADER, SP_ENOENT);
	next_err(S("x;a"), SP_PARAM_HEADER, SP_ENOENT);
	next_err(S(",;a"), SP_PARAM_HEADER, SP_ENOENT);
	next_err(S(";"), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S("; "), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";=1"), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";a="), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";a= "), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";a=;b"), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";a=\"open"), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";a=\"x\\\""), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";a=[::1"), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";a=[]"), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";a=[zz]"), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";\"a\"=1"), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";a=<x>"), SP_PARAM_HEADER, SP_EINVAL);
	/* A line end that is not a fold is not LWS. */
	next_err(S("\r\n;a"), SP_PARAM_HEADER, SP_ENOENT);
	next_err(S(";\r\na"), SP_PARAM_HEADER, SP_EINVAL);
	next_err(S(";a=\r\n1"), SP_PARAM_HEADER, SP_EINVAL);
}

static void test_header_list_check(void **state)
{
	(void)state;
	assert_int_equal(sp_param_list_check(S(""), SP_PARAM_HEADER), 0);
	assert_int_equal(sp_param_list_check(SP_STR_NULL, SP_PARAM_HEADER), 0);
	assert_int_equal(sp_param_list_check(S(";a;b=1;c=\"x y\" "), SP_PARAM_HEADER), 0);
	assert_int_equal(sp_param_list_check(S(" ;a = 1\r\n ; b"), SP_PARAM_HEADER), 0);
	/* Header lists may repeat a name; the header parser decides. */
	assert_int_equal(sp_param_list_check(S(";a;a"), SP_PARAM_HEADER), 0);
	assert_int_equal(sp_param_list_check(S(";a b"), SP_PARAM_HEADER), SP_EINVAL);
	assert_int_equal(sp_param_list_check(S(";a=1 2"), SP_PARAM_HEADER), SP_EINVAL);
	assert_int_equal(sp_param_list_check(S(";a;"), SP_PARAM_HEADER), SP_EINVAL);
	assert_int_equal(sp_param_list_check(S("a"), SP_PARAM_HEADER), SP_EINVAL);
	assert_int_equal(sp_param_list_check(S(";a\r\n"), SP_PARAM_HEADER), SP_EINVAL);
	assert_int_equal(sp_param_list_check(S(";a=\"x\"y"), SP_PARAM_HEADER), SP_EINVAL);
}

static void test_uri_next(void **state)
{
	(void)state;
	struct sp_str cur = S(";transport=tcp;lr;maddr=[2001:db8::1];x=%41b?h=v");
	next_ok(&cur, SP_PARAM_URI, "transport", "tcp");
	next_ok(&cur, SP_PARAM_URI, "lr", NULL);
	next_ok(&cur, SP_PARAM_URI, "maddr", "[2001:db8::1]");
	next_ok(&cur, SP_PARAM_URI, "x", "%41b");
	check_slice(cur, "?h=v", "rest");
	next_err(cur, SP_PARAM_URI, SP_ENOENT);

	/* paramchar: param-unreserved, unreserved, escaped. */
	cur = S(";[]/:&+$-_.!~*'()az09%20=[]/:&+$-_.!~*'()AZ09%7e");
	next_ok(&cur, SP_PARAM_URI, "[]/:&+$-_.!~*'()az09%20", "[]/:&+$-_.!~*'()AZ09%7e");
	assert_int_equal(cur.len, 0);

	next_err(S(""), SP_PARAM_URI, SP_ENOENT);
	next_err(S("?a"), SP_PARAM_URI, SP_ENOENT);
	/* No LWS in URIs. */
	next_err(S(" ;a"), SP_PARAM_URI, SP_ENOENT);
	next_err(S("; a"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";a =1"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";a= 1"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";=1"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";a="), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";a=1=2"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";a=\"1\""), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";a=%"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";a=%4"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";a=%4x"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";%zz=1"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";a@b"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";a,b"), SP_PARAM_URI, SP_EINVAL);
	next_err(S(";a=b\xc3\xa9"), SP_PARAM_URI, SP_EINVAL);
}

static void test_uri_list_check(void **state)
{
	(void)state;
	assert_int_equal(sp_param_list_check(SP_STR_NULL, SP_PARAM_URI), 0);
	assert_int_equal(sp_param_list_check(S(";a;b=1;c=%20"), SP_PARAM_URI), 0);
	/* Duplicates, whatever their case or escaping, are refused. */
	assert_int_equal(sp_param_list_check(S(";lr;LR"), SP_PARAM_URI), SP_EINVAL);
	assert_int_equal(sp_param_list_check(S(";lr;%6cr=1"), SP_PARAM_URI), SP_EINVAL);
	assert_int_equal(sp_param_list_check(S(";a?x=y"), SP_PARAM_URI), SP_EINVAL);
	assert_int_equal(sp_param_list_check(S(";a;"), SP_PARAM_URI), SP_EINVAL);
	assert_int_equal(sp_param_list_check(S("a"), SP_PARAM_URI), SP_EINVAL);
	assert_int_equal(sp_param_list_check(S(";a "), SP_PARAM_URI), SP_EINVAL);
}

static void test_max(void **state)
{
	(void)state;
	char buf[1024];
	size_t n = 0;

	for (int i = 0; i < SP_PARAM_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ";p%d=%d", i, i);
	assert_int_equal(sp_param_list_check(sp_str_make(buf, n), SP_PARAM_URI), 0);
	assert_int_equal(sp_param_list_check(sp_str_make(buf, n), SP_PARAM_HEADER), 0);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, ";one-more");
	assert_int_equal(sp_param_list_check(sp_str_make(buf, n), SP_PARAM_URI), SP_E2BIG);
	assert_int_equal(sp_param_list_check(sp_str_make(buf, n), SP_PARAM_HEADER), SP_E2BIG);

	/* A repeated name is fine in a header list, refused in a URI's. */
	n = 0;
	for (int i = 0; i < SP_PARAM_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ";a");
	assert_int_equal(sp_param_list_check(sp_str_make(buf, n), SP_PARAM_HEADER), 0);
	assert_int_equal(sp_param_list_check(sp_str_make(buf, n), SP_PARAM_URI), SP_EINVAL);
}

static void test_find(void **state)
{
	(void)state;
	struct sp_str v;
	struct sp_str h = S(" ;Branch=z9hG4bK1 ; RPORT ;received=[::1];q=\"x\"");

	assert_int_equal(sp_param_find(h, SP_PARAM_HEADER, "branch", &v), 0);
	check_slice(v, "z9hG4bK1", "branch");
	v = S("unchanged");
	assert_int_equal(sp_param_find(h, SP_PARAM_HEADER, "rport", &v), 0);
	check_slice(v, NULL, "rport");
	assert_int_equal(sp_param_find(h, SP_PARAM_HEADER, "Received", &v), 0);
	check_slice(v, "[::1]", "received");
	assert_int_equal(sp_param_find(h, SP_PARAM_HEADER, "q", &v), 0);
	check_slice(v, "\"x\"", "q");
	assert_int_equal(sp_param_find(h, SP_PARAM_HEADER, "q", NULL), 0);
	v = S("unchanged");
	assert_int_equal(sp_param_find(h, SP_PARAM_HEADER, "tag", &v), SP_ENOENT);
	check_slice(v, "unchanged", "untouched");
	assert_int_equal(sp_param_find(h, SP_PARAM_HEADER, "branc", &v), SP_ENOENT);
	assert_int_equal(sp_param_find(SP_STR_NULL, SP_PARAM_HEADER, "a", &v), SP_ENOENT);

	/* URI names may be escaped. */
	struct sp_str u = S(";%74ransport=tcp;LR");
	assert_int_equal(sp_param_find(u, SP_PARAM_URI, "transport", &v), 0);
	check_slice(v, "tcp", "transport");
	assert_int_equal(sp_param_find(u, SP_PARAM_URI, "lr", &v), 0);
	check_slice(v, NULL, "lr");
	assert_int_equal(sp_param_find_s(u, SP_PARAM_URI, S("Transpor%74"), &v), 0);
	check_slice(v, "tcp", "transport");
	assert_int_equal(sp_param_find(u, SP_PARAM_URI, "maddr", NULL), SP_ENOENT);
	/* Header names are not escaped. */
	assert_int_equal(sp_param_find(S(";%61=1"), SP_PARAM_HEADER, "a", NULL), SP_ENOENT);
}

static void test_escaped_eq(void **state)
{
	(void)state;
	assert_true(sp_param_escaped_eq(S("%61lice"), S("alice"), false));
	assert_true(sp_param_escaped_eq(S("alice"), S("%61lice"), false));
	assert_true(sp_param_escaped_eq(S("%41"), S("a"), true));
	assert_false(sp_param_escaped_eq(S("%41"), S("a"), false));
	assert_true(sp_param_escaped_eq(S("%4a"), S("%4A"), false));
	assert_true(sp_param_escaped_eq(S(""), S(""), false));
	assert_false(sp_param_escaped_eq(S("a"), S(""), false));
	assert_false(sp_param_escaped_eq(S("ab"), S("a"), false));
	assert_true(sp_param_escaped_eq(S("null-%00-null"), S("null-\0-null"), false));
	/* A stray '%' compares as itself. */
	assert_true(sp_param_escaped_eq(S("%"), S("%"), false));
	assert_false(sp_param_escaped_eq(S("%4"), S("%"), false));
}

static void quoted_ok(struct sp_str s, size_t want)
{
	size_t len = 12345;
	int err = sp_quoted_scan(s, &len);
	if (err)
		fail_msg("'%.*s' should scan, got %d", SP_STR_FMT(s), err);
	assert_int_equal(len, want);
}

static void quoted_err(struct sp_str s)
{
	size_t len = 12345;
	if (sp_quoted_scan(s, &len) != SP_EINVAL)
		fail_msg("'%.*s' should be refused", SP_STR_FMT(s));
	assert_int_equal(len, 12345);
}

static void test_quoted(void **state)
{
	(void)state;
	quoted_ok(S("\"\""), 2);
	quoted_ok(S("\"abc\" rest"), 5);
	quoted_ok(S("\"a\\\"b\""), 6);
	quoted_ok(S("\"a\\\\\"x\""), 5);
	quoted_ok(S("\"tab\there\""), 10);
	quoted_ok(S("\"!#$%&'()*+,-./:;<=>?@[]^_`{|}~\""), 32);
	quoted_ok(S("\"J\xc3\xa9r\xc3\xb4me\""), 10);
	quoted_ok(S("\"\xe2\x80\x9c\""), 5);
	/* Folding inside a quoted string. */
	quoted_ok(S("\"a\r\n b\""), 7);
	quoted_ok(S("\"a\r\n\tb\""), 7);
	/* quoted-pair takes any byte but CR and LF, NUL included. */
	quoted_ok(S("\"\\\x00\""), 4);
	quoted_ok(S("\"\\\x7f\""), 4);

	quoted_err(S(""));
	quoted_err(S("abc"));
	quoted_err(S("\""));
	quoted_err(S("\"abc"));
	quoted_err(S("\"abc\\\""));
	quoted_err(S("\"abc\\"));
	quoted_err(S("\"a\r\nb\""));
	quoted_err(S("\"a\rb\""));
	quoted_err(S("\"a\nb\""));
	quoted_err(S("\"a\r\n"));
	quoted_err(S("\"a\\\r\n b\""));
	quoted_err(S("\"a\\\n\""));
	quoted_err(S("\"a\x00b\""));
	quoted_err(S("\"a\x01b\""));
	quoted_err(S("\"a\x7f\""));
}

/* Scanning every prefix of a list from an exactly sized heap copy shows
 * that nothing reads past the slice (ASan). */
static void test_prefixes(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		enum sp_param_kind kind;
	} lists[] = {
		{ " ; a = \"q\\\"x\"\r\n ;received=[::1];b", SP_PARAM_HEADER },
		{ ";a=%41;b;c=[::1]?x", SP_PARAM_URI },
	};
	for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
		size_t len = strlen(lists[k].s);
		for (size_t i = 0; i <= len; i++) {
			char *p = test_malloc(i ? i : 1);
			memcpy(p, lists[k].s, i);
			struct sp_str s = sp_str_make(p, i), n, v;
			size_t q;
			(void)sp_param_list_check(s, lists[k].kind);
			(void)sp_param_find(s, lists[k].kind, "b", &v);
			while (sp_param_next(&s, lists[k].kind, &n, &v) == 0)
				;
			if (i && p[0] == '"')
				(void)sp_quoted_scan(sp_str_make(p, i), &q);
			test_free(p);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_next),
		cmocka_unit_test(test_header_next_errors),
		cmocka_unit_test(test_header_list_check),
		cmocka_unit_test(test_uri_next),
		cmocka_unit_test(test_uri_list_check),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_escaped_eq),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
