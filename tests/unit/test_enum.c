/* test_enum.c: ENUM domains, the SIP enumservice test, RFC 3402 rewrites and the choice among NAPTR records. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "dns/enum.h"

static void test_domain(void **state)
{
	char out[128];

	/* RFC 6116 section 2.4's example number. */
	assert_int_equal(sp_enum_domain("+441632960083", "e164.arpa", out, sizeof(out)), 0);
	assert_string_equal(out, "3.8.0.0.6.9.2.3.6.1.4.4.e164.arpa");
	assert_int_equal(sp_enum_domain("+4721000001", "e164.arpa", out, sizeof(out)), 0);
	assert_string_equal(out, "1.0.0.0.0.0.1.2.7.4.e164.arpa");
	/* A trailing dot in the suffix changes nothing; no suffix, no dot. */
	assert_int_equal(sp_enum_domain("+4721000001", "e164.example.", out, sizeof(out)), 0);
	assert_string_equal(out, "1.0.0.0.0.0.1.2.7.4.e164.example");
	assert_int_equal(sp_enum_domain("+47", "", out, sizeof(out)), 0);
	assert_string_equal(out, "7.4");
	assert_int_equal(sp_enum_domain("+123456789012345", "e164.arpa", out, sizeof(out)), 0);
	assert_string_equal(out, "5.4.3.2.1.0.9.8.7.6.5.4.3.2.1.e164.arpa");

	/* Not a normalized E.164 number. */
	const char *bad[] = { "441632960083", "+", "", "+44 1632960083", "+44-1632", "+1234567890123456",
			      "++47", "+47a", "tel:+47" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sp_enum_domain(bad[i], "e164.arpa", out, sizeof(out)), SP_EINVAL);
	assert_int_equal(sp_enum_domain(NULL, "e164.arpa", out, sizeof(out)), SP_EINVAL);
	assert_int_equal(sp_enum_domain("+47", NULL, out, sizeof(out)), SP_EINVAL);
	assert_int_equal(sp_enum_domain("+47", ".e164.arpa", out, sizeof(out)), SP_EINVAL);

	/* The exact size fits, one less does not. */
	size_t need = strlen("7.4.e164.arpa") + 1;
	assert_int_equal(sp_enum_domain("+47", "e164.arpa", out, need), 0);
	assert_string_equal(out, "7.4.e164.arpa");
	assert_int_equal(sp_enum_domain("+47", "e164.arpa", out, need - 1), SP_E2BIG);
	assert_int_equal(sp_enum_domain("+47", "e164.arpa", out, 0), SP_E2BIG);
}

static void test_service_sip(void **state)
{
	const char *yes[] = { "E2U+sip", "e2u+SIP", "E2U+sip+h323", "E2U+h323+sip", "E2U+voice:sip",
			      "sip+E2U", "SIP+e2u", "E2U+sip:foo" };
	const char *no[] = { "E2U+sips", "E2U+mailto", "E2U+email:mailto", "E2U", "E2U+", "E2U++sip",
			     "E2U+sip+", "sip", "", "E2U+voice:", "E2U+sip:", "E2U+s ip", "E2U+sipx",
			     "SIP+D2U", "E2U+voice:tel", "xE2U+sip", "h323+E2U",
			     "E2U+sip+bad_char" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(sp_enum_service_sip(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (sp_enum_service_sip(no[i]))
			fail_msg("\"%s\" taken as SIP", no[i]);
	}
	assert_false(sp_enum_service_sip(NULL));
	/* A field of only separators. */
	char plus[SP_DNS_NAPTR_SERVICES_MAX];
	memset(plus, '+', sizeof(plus) - 1);
	plus[sizeof(plus) - 1] = '\0';
	assert_false(sp_enum_service_sip(plus));
}

static void rw_ok(const char *rx, const char *aus, const char *want)
{
	char out[SP_ENUM_URI_MAX + 1];
	int err = sp_enum_rewrite(rx, aus, out, sizeof(out));
	if (err)
		fail_msg("%s on %s: %d", rx, aus, err);
	assert_string_equal(out, want);
}

static int rw(const char *rx, const char *aus)
{
	char out[SP_ENUM_URI_MAX + 1];
	return sp_enum_rewrite(rx, aus, out, sizeof(out));
}

static void test_rewrite(void **state)
{
	/* RFC 6116 and RFC 3403 style records. */
	rw_ok("!^.*$!sip:info@example.com!", "+441632960083", "sip:info@example.com");
	rw_ok("!^\\+441632960083$!sip:info@example.com!", "+441632960083", "sip:info@example.com");
	assert_int_equal(rw("!^\\+441632960083$!sip:info@example.com!", "+441632960084"), SP_ENOENT);
	rw_ok("!^\\+(47)(.*)$!sip:\\2@ssp-\\1.test!", "+4721000001", "sip:21000001@ssp-47.test");
	rw_ok("!^\\+4416(.*)$!mailto:\\1@example.com!", "+441632960083", "mailto:32960083@example.com");
	/* Any delimiter. */
	rw_ok("#^\\+47(.*)$#sip:\\1@example.net#", "+4721000001", "sip:21000001@example.net");
	rw_ok("/^\\+47(.*)$/sip:\\1@example.net;user=phone/", "+4721000001",
	      "sip:21000001@example.net;user=phone");
	/* sed-like: only the matched part is replaced. */
	rw_ok("!47!XX!", "+4721000001", "+XX21000001");
	rw_ok("!^\\+!00!", "+4721000001", "004721000001");
	/* Flag i. */
	assert_int_equal(rw("!^abc$!sip:x@y.test!", "ABC"), SP_ENOENT);
	rw_ok("!^abc$!sip:x@y.test!i", "ABC", "sip:x@y.test");
	/* Escapes in the repl: the delimiter, a backslash, anything else. */
	rw_ok("!^.*$!sip:a\\!b@x.test!", "+47", "sip:a!b@x.test");
	rw_ok("!^.*$!sip:a\\\\b@x.test!", "+47", "sip:a\\b@x.test");
	rw_ok("!^.*$!sip:a\\@x.test!", "+47", "sip:a@x.test");
	/* An escaped delimiter in the ERE: a plain character, or a literal
	 * when the delimiter means something in an ERE. */
	rw_ok("#^\\+47(\\#?)(.*)$#sip:\\2@x.test#", "+47#21", "sip:21@x.test");
	rw_ok("|^a\\|b$|sip:ok@x.test|", "a|b", "sip:ok@x.test");
	assert_int_equal(rw("|^a\\|b$|sip:ok@x.test|", "a"), SP_ENOENT);
	/* Intervals and bracket expressions. */
	rw_ok("!^\\+47([0-9]{8})$!sip:\\1@x.test!", "+4721000001", "sip:21000001@x.test");
	rw_ok("!^\\+47[[:digit:]]{2,}$!sip:x@x.test!", "+4721000001", "sip:x@x.test");
	rw_ok("![]a]!b!", "x]y", "xby");
	rw_ok("![^]0-9]+!N!", "+47]", "N47]");
	/* A group that took no part in the match gives nothing. */
	rw_ok("!^(x)?\\+(.*)$!sip:\\1\\2@x.test!", "+47", "sip:47@x.test");

	/* Malformed expressions. */
	const char *bad[] = {
		"", "!", "!^.*$", "!^.*$!sip:x", "!^.*$!sip:x!q", "!^.*$!sip:x!ii", "!^.*$!sip:x!i!",
		"1^.*$1sip:x1", "\\^.*$\\sip:x\\", "i^.*$isip:xi", " ^.*$ sip:x ",
		"!!sip:x!",              /* an empty ERE */
		"!^(.*$!sip:x!",         /* does not compile */
		"!^(a)$!\\2!",           /* a back-reference to no group */
		"!^(a)\\1$!x!",          /* a back-reference in the ERE */
		"!^.*$!sip:x\\",         /* a lone backslash at the end */
		/* What glibc would expand exponentially, and what POSIX leaves
		 * undefined: refused before regcomp sees it. */
		"#^\\+44(163;2)++++++++++++++++++++++++++++++++++++++?(.*)$#sip:\\1@x#i",
		"!((((((((a+)+)+)+)+)+)+)+)+!x!",
		"!((a{99}){99}){99}!x!", "!a{256}!x!", "!(a{32}){33}!x!", "!a{2,1}!x!", "!a{,2}!x!", "!a{x}!x!",
		"!a**!x!", "!*a!x!", "!(*a)!x!", "!a|+!x!", "![abc!x!", "![[:digit:]!x!",
		"!(a!x!", "!a)!x!", "!((((((((((((((((((a))))))))))))))))))!x!",
		"!^.*\\",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rw(bad[i], "a") != SP_EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
	}
	assert_int_equal(rw(NULL, "a"), SP_EINVAL);
	assert_int_equal(rw("!a!b!", NULL), SP_EINVAL);
	/* 255 characters, the most a character-string holds, and one more. */
	char longrx[257];
	memset(longrx, 'a', sizeof(longrx));
	longrx[0] = '!';
	memcpy(longrx + 253, "!!", 3);
	assert_int_equal(strlen(longrx), 255);
	char aus252[260];
	memset(aus252, 'a', 252);
	strcpy(aus252 + 252, "xyz");
	rw_ok(longrx, aus252, "xyz"); /* 252 a's replaced by nothing */
	memcpy(longrx + 253, "a!!", 4);
	assert_int_equal(rw(longrx, "a"), SP_EINVAL);

	/* The cap: SP_ENUM_URI_MAX fits, one more does not; and a small out. */
	char aus[SP_ENUM_URI_MAX + 2], out[SP_ENUM_URI_MAX + 1];
	memset(aus, '7', sizeof(aus));
	aus[SP_ENUM_URI_MAX - 4] = '\0';
	assert_int_equal(sp_enum_rewrite("!^!sip:!", aus, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), SP_ENUM_URI_MAX);
	aus[SP_ENUM_URI_MAX - 4] = '7';
	aus[SP_ENUM_URI_MAX - 3] = '\0';
	assert_int_equal(sp_enum_rewrite("!^!sip:!", aus, out, sizeof(out)), SP_E2BIG);
	assert_int_equal(sp_enum_rewrite("!^(.*)$!sip:\\1\\1\\1\\1\\1\\1\\1\\1\\1@x!", "+4721000001234567890123456789012345678901234567890123456789",
					 out, sizeof(out)), SP_E2BIG);
	assert_int_equal(sp_enum_rewrite("!^.*$!sip:info@example.com!", "+47", out, 20), SP_E2BIG);
	assert_int_equal(sp_enum_rewrite("!^.*$!sip:info@example.com!", "+47", out, 21), 0);
	assert_int_equal(sp_enum_rewrite("!^.*$!sip:info@example.com!", "+47", out, 0), SP_E2BIG);
}

static void add_naptr(struct sp_dns_answer *a, uint16_t order, uint16_t pref, const char *flags,
		      const char *svc, const char *rx, const char *repl)
{
	struct sp_dns_rr *rr = &a->rr[a->n++];
	memset(rr, 0, sizeof(*rr));
	rr->type = SP_DNS_NAPTR;
	rr->ttl = 60;
	strcpy(rr->name, "1.0.0.0.0.0.1.2.7.4.e164.arpa");
	rr->u.naptr.order = order;
	rr->u.naptr.preference = pref;
	strcpy(rr->u.naptr.flags, flags);
	strcpy(rr->u.naptr.services, svc);
	strcpy(rr->u.naptr.regexp, rx);
	strcpy(rr->u.naptr.replacement, repl);
}

static void test_choices(void **state)
{
	static struct sp_dns_answer a;
	struct sp_enum_choice c[SP_ENUM_MAX_CHOICES];
	size_t bad = 99, n;

	memset(&a, 0, sizeof(a));
	a.rr[a.n].type = SP_DNS_CNAME; /* not a NAPTR: ignored */
	strcpy(a.rr[a.n++].u.cname, "x.test");
	/* Order 5 has nothing usable for this number: on to order 10. */
	add_naptr(&a, 5, 1, "u", "E2U+sip", "!^\\+1!sip:x@y.test!", "");
	add_naptr(&a, 20, 1, "u", "E2U+sip", "!^.*$!sip:later@x.test!", "");
	add_naptr(&a, 10, 20, "u", "E2U+sip", "!^.*$!sip:b@x.test!", "");
	add_naptr(&a, 10, 10, "u", "E2U+email:mailto", "!^.*$!mailto:a@x.test!", "");
	add_naptr(&a, 10, 5, "u", "E2U+sip", "!^.*$!tel:+4721000001!", "");  /* not sip: */
	add_naptr(&a, 10, 6, "x", "E2U+sip", "!^.*$!sip:unknown@x.test!", ""); /* unknown flag */
	add_naptr(&a, 10, 7, "us", "E2U+sip", "!^.*$!sip:us@x.test!", "");     /* one unknown */
	add_naptr(&a, 10, 30, "u", "E2U+sip", "!^(.*$!sip:x!", "");          /* bad */
	add_naptr(&a, 10, 40, "", "", "", "next.example");                   /* non-terminal */
	add_naptr(&a, 10, 10, "U", "E2U+sip", "!^\\+47(.*)$!sips:\\1@x.test!", "");
	add_naptr(&a, 10, 20, "u", "E2U+voice:sip", "!^.*$!sip:c@x.test!", "");

	n = sp_enum_choices(&a, "+4721000001", c, SP_ENUM_MAX_CHOICES, &bad);
	assert_int_equal(n, 4);
	assert_int_equal(bad, 1);
	assert_int_equal(c[0].kind, SP_ENUM_URI);
	assert_int_equal(c[0].order, 10);
	assert_int_equal(c[0].preference, 10);
	assert_string_equal(c[0].value, "sips:21000001@x.test");
	/* Equal preferences keep the order received. */
	assert_string_equal(c[1].value, "sip:b@x.test");
	assert_int_equal(c[1].preference, 20);
	assert_string_equal(c[2].value, "sip:c@x.test");
	assert_int_equal(c[3].kind, SP_ENUM_NEXT);
	assert_int_equal(c[3].preference, 40);
	assert_string_equal(c[3].value, "next.example");

	/* max limits what is written, not what is counted. */
	n = sp_enum_choices(&a, "+4721000001", c, 2, NULL);
	assert_int_equal(n, 2);
	assert_string_equal(c[1].value, "sip:b@x.test");
	assert_int_equal(sp_enum_choices(&a, "+4721000001", c, 0, &bad), 0);
	assert_int_equal(bad, 1);

	/* Order 5 matches for a +1 number: only it is kept. */
	n = sp_enum_choices(&a, "+12025550100", c, SP_ENUM_MAX_CHOICES, &bad);
	assert_int_equal(n, 1);
	assert_int_equal(c[0].order, 5);
	assert_string_equal(c[0].value, "sip:x@y.test2025550100");

	/* A non-terminal rule by regexp; a rule with both a regexp and a
	 * replacement is broken; a failing rewrite (too long) is counted. */
	memset(&a, 0, sizeof(a));
	add_naptr(&a, 1, 1, "", "E2U+sip", "!^\\+47(.*)$!\\1.e164.example!", "");
	add_naptr(&a, 1, 2, "", "", "!^.*$!other.example!", "other.example");
	char big[SP_DNS_NAPTR_REGEXP_MAX] = "!^(.*)$!sip:";
	for (int i = 0; i < 50; i++)
		strcat(big, "\\1");
	strcat(big, "@x.test!");
	add_naptr(&a, 1, 3, "u", "E2U+sip", big, "");
	n = sp_enum_choices(&a, "+4721000001", c, SP_ENUM_MAX_CHOICES, &bad);
	assert_int_equal(n, 1);
	assert_int_equal(bad, 2);
	assert_int_equal(c[0].kind, SP_ENUM_NEXT);
	assert_string_equal(c[0].value, "21000001.e164.example");

	/* Nothing usable at all. */
	memset(&a, 0, sizeof(a));
	add_naptr(&a, 1, 1, "u", "E2U+sips", "!^.*$!sips:a@x.test!", "");
	add_naptr(&a, 1, 1, "s", "SIP+D2U", "", "_sip._udp.x.test");
	add_naptr(&a, 1, 1, "u", "E2U+sip", "", "x.test"); /* "u" with a replacement only */
	add_naptr(&a, 1, 1, "", "", "", "");               /* non-terminal going nowhere */
	assert_int_equal(sp_enum_choices(&a, "+4721000001", c, SP_ENUM_MAX_CHOICES, &bad), 0);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_service_sip),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_choices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
