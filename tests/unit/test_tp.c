/* test_tp.c: protocol names and socket addresses: parsing, formatting, equality, hashing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "transport/tp.h"

static void test_proto(void **state)
{
	enum sp_proto p;
	assert_int_equal(sp_proto_parse(SP_STR("udp"), &p), 0);
	assert_int_equal(p, SP_PROTO_UDP);
	assert_int_equal(sp_proto_parse(SP_STR("TcP"), &p), 0);
	assert_int_equal(p, SP_PROTO_TCP);
	assert_int_equal(sp_proto_parse(SP_STR("TLS"), &p), 0);
	assert_int_equal(p, SP_PROTO_TLS);
	assert_int_equal(sp_proto_parse(SP_STR("sctp"), &p), SP_EINVAL);
	assert_int_equal(sp_proto_parse(SP_STR(""), &p), SP_EINVAL);
	assert_string_equal(sp_proto_name(SP_PROTO_UDP), "UDP");
	assert_string_equal(sp_proto_name(SP_PROTO_TLS), "TLS");
	assert_false(sp_proto_reliable(SP_PROTO_UDP));
	assert_true(sp_proto_reliable(SP_PROTO_TCP));
}

static void test_v4(void **state)
{
	struct sp_sockaddr a, b;
	char s[SP_SOCKADDR_STRLEN];
	assert_int_equal(sp_sockaddr_from_host(SP_STR("192.0.2.1"), 5060, &a), 0);
	assert_int_equal(a.u.sa.sa_family, AF_INET);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(sp_sockaddr_port(&a), 5060);
	assert_int_equal(sp_sockaddr_fmt(&a, true, false, s, sizeof(s)), strlen("192.0.2.1:5060"));
	assert_string_equal(s, "192.0.2.1:5060");
	sp_sockaddr_fmt(&a, false, false, s, sizeof(s));
	assert_string_equal(s, "192.0.2.1");
	assert_int_equal(sp_sockaddr_from_host(SP_STR("192.0.2.1"), 5061, &b), 0);
	assert_false(sp_sockaddr_eq(&a, &b));
	assert_true(sp_sockaddr_eq_host(&a, &b));
	sp_sockaddr_set_port(&b, 5060);
	assert_true(sp_sockaddr_eq(&a, &b));
	assert_true(sp_sockaddr_hash(&a) == sp_sockaddr_hash(&b));
	/* Truncation keeps the NUL and reports what was written. */
	assert_int_equal(sp_sockaddr_fmt(&a, true, false, s, 5), 4);
	assert_string_equal(s, "192.");
}

static void test_v6(void **state)
{
	struct sp_sockaddr a, b, c;
	char s[SP_SOCKADDR_STRLEN];
	assert_int_equal(sp_sockaddr_from_host(SP_STR("[2001:db8::1]"), 5061, &a), 0);
	assert_int_equal(a.u.sa.sa_family, AF_INET6);
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
	assert_int_equal(sp_sockaddr_from_host(SP_STR("2001:DB8:0::1"), 5061, &b), 0);
	assert_true(sp_sockaddr_eq(&a, &b));
	sp_sockaddr_fmt(&a, true, false, s, sizeof(s));
	assert_string_equal(s, "[2001:db8::1]:5061");
	sp_sockaddr_fmt(&a, false, false, s, sizeof(s));
	assert_string_equal(s, "[2001:db8::1]");
	sp_sockaddr_fmt(&a, false, true, s, sizeof(s));
	assert_string_equal(s, "2001:db8::1");
	/* A port needs brackets even when bare is asked. */
	sp_sockaddr_fmt(&a, true, true, s, sizeof(s));
	assert_string_equal(s, "[2001:db8::1]:5061");
	assert_int_equal(sp_sockaddr_from_host(SP_STR("::ffff:192.0.2.1"), 1, &c), 0);
	assert_false(sp_sockaddr_eq_host(&a, &c));
	/* The longest IPv6 text with a port fits. */
	assert_int_equal(sp_sockaddr_from_host(SP_STR("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"),
					       65535, &c), 0);
	size_t n = sp_sockaddr_fmt(&c, true, false, s, sizeof(s));
	assert_true(n < SP_SOCKADDR_STRLEN);
	assert_int_equal(strlen(s), n);
}

static void test_mixed_and_junk(void **state)
{
	struct sp_sockaddr a, b;
	assert_int_equal(sp_sockaddr_from_host(SP_STR("127.0.0.1"), 5060, &a), 0);
	assert_int_equal(sp_sockaddr_from_host(SP_STR("::1"), 5060, &b), 0);
	assert_false(sp_sockaddr_eq(&a, &b));
	assert_false(sp_sockaddr_eq_host(&a, &b));
	a.u.in.sin_port = 0xffff;
	assert_int_equal(sp_sockaddr_from_host(SP_STR("example.com"), 1, &a), SP_EINVAL);
	assert_int_equal(a.u.in.sin_port, 0xffff); /* untouched on failure */
	assert_int_equal(sp_sockaddr_from_host(SP_STR("[127.0.0.1]"), 1, &a), SP_EINVAL);
	assert_int_equal(sp_sockaddr_from_host(SP_STR("[]"), 1, &a), SP_EINVAL);
	assert_int_equal(sp_sockaddr_from_host(SP_STR("1.2.3.256"), 1, &a), SP_EINVAL);
	assert_int_equal(sp_sockaddr_from_host(SP_STR("[::1"), 1, &a), SP_EINVAL);
	assert_int_equal(sp_sockaddr_from_host(SP_STR(""), 1, &a), SP_EINVAL);
	assert_int_equal(sp_sockaddr_from_host(
				 SP_STR("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa"), 1, &a),
			 SP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto),
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_mixed_and_junk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
