/* test_hide.c: topology-hiding tokens: a round trip, and refusal of other dialogs, other secrets and tampering. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "proxy/hide.h"

static void test_round_trip(void **state)
{
	char tok[SP_HIDE_TOKEN_MAX + 1], out[SP_HIDE_PLAIN_MAX + 1], tok2[SP_HIDE_TOKEN_MAX + 1];
	size_t len;
	const char *plain = "sip:alice@192.168.1.20:5062;transport=udp;ob";
	struct sp_str cid = SP_STR("a84b4c76e66710@pc33.atlanta.example.com");

	assert_int_equal(sp_hide_seal("s3cret-s3cret-s3cret", cid, sp_str_cstr(plain), tok, sizeof(tok)), 0);
	/* URI-safe: base64url, nothing to escape in a parameter. */
	assert_int_equal(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
			 strlen(tok));
	assert_null(strstr(tok, "192.168"));
	assert_int_equal(sp_hide_open("s3cret-s3cret-s3cret", cid, sp_str_cstr(tok), out, sizeof(out), &len), 0);
	assert_int_equal(len, strlen(plain));
	assert_string_equal(out, plain);
	/* A fresh nonce each time: two seals of one text differ. */
	assert_int_equal(sp_hide_seal("s3cret-s3cret-s3cret", cid, sp_str_cstr(plain), tok2, sizeof(tok2)), 0);
	assert_string_not_equal(tok, tok2);
}

static void test_refusals(void **state)
{
	char tok[SP_HIDE_TOKEN_MAX + 1], out[SP_HIDE_PLAIN_MAX + 1];
	size_t len;
	struct sp_str cid = SP_STR("call-1");

	assert_int_equal(sp_hide_seal("key-one-key-one!", cid, SP_STR("<sip:10.0.0.7;lr>"), tok, sizeof(tok)), 0);
	/* Another dialog, another secret. */
	assert_int_equal(sp_hide_open("key-one-key-one!", SP_STR("call-2"), sp_str_cstr(tok), out, sizeof(out), &len), SP_EINVAL);
	assert_int_equal(sp_hide_open("key-two-key-two!", cid, sp_str_cstr(tok), out, sizeof(out), &len), SP_EINVAL);
	/* One character changed, one removed, junk, empty. */
	tok[10] = tok[10] == 'A' ? 'B' : 'A';
	assert_int_equal(sp_hide_open("key-one-key-one!", cid, sp_str_cstr(tok), out, sizeof(out), &len), SP_EINVAL);
	assert_int_equal(sp_hide_open("key-one-key-one!", cid, sp_str_make(tok, strlen(tok) - 1), out, sizeof(out), &len), SP_EINVAL);
	assert_int_equal(sp_hide_open("key-one-key-one!", cid, SP_STR("not*base64"), out, sizeof(out), &len), SP_EINVAL);
	assert_int_equal(sp_hide_open("key-one-key-one!", cid, SP_STR(""), out, sizeof(out), &len), SP_EINVAL);
	/* Too long to seal; too small to open into. */
	char big[SP_HIDE_PLAIN_MAX + 2];
	memset(big, 'a', sizeof(big));
	assert_int_equal(sp_hide_seal("k", cid, sp_str_make(big, sizeof(big)), tok, sizeof(tok)), SP_E2BIG);
	assert_int_equal(sp_hide_seal("k", cid, SP_STR("sip:x"), tok, sizeof(tok)), 0);
	assert_int_equal(sp_hide_open("k", cid, sp_str_cstr(tok), out, 4, &len), SP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
