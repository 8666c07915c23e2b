/* test_number.c: E.164 normalization of dialled numbers with a national numbering plan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "routing/number.h"

static const struct sp_numbering plan = { "47", "0", "00" };

static void expect(const char *in, const char *want)
{
	char out[SP_NUMBER_MAX + 16];
	bool ok = sp_number_normalize(&plan, sp_str_cstr(in), out, sizeof(out));
	if (!want) {
		assert_false(ok);
		return;
	}
	assert_true(ok);
	assert_string_equal(out, want);
}

static void test_forms(void **state)
{
	expect("+4721000001", "+4721000001");        /* already E.164 */
	expect("004721000001", "+4721000001");       /* international prefix */
	expect("0046701234567", "+46701234567");     /* another country */
	expect("021000001", "+4721000001");          /* national prefix */
	expect("+47-21-00.00(01)", "+4721000001");   /* visual separators (RFC 3966) */
	expect("112", "112");                        /* a short local number stays */
	expect("alice", NULL);                       /* a name is not a number */
	expect("+", NULL);
	expect("", NULL);
	expect("12a", NULL);
	expect("1234567890123456789012345678901234567890", NULL); /* too long */
}

static void test_empty_plan(void **state)
{
	struct sp_numbering none = { "", "", "" };
	char out[64];
	assert_true(sp_number_normalize(&none, sp_str_cstr("021000001"), out, sizeof(out)));
	assert_string_equal(out, "021000001");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_empty_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
