/* test_cdr.c: call records: one per attempt, a 407 retry is the same attempt, BYE ends a call, sweeps and shutdown end the rest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dialog/cdr.h"

static char path[64];

/* The JSON lines written so far, as one string. */
static char *lines(void)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

static void test_attempts(void **state)
{
	struct sp_cdr *t;
	const struct sp_cdr_info info = { "+4721000001", "+4722000001", "local", NULL };
	snprintf(path, sizeof(path), "/tmp/test_cdr.%d.jsonl", (int)getpid());
	unlink(path);
	assert_int_equal(sp_cdr_create(NULL, path, 4, 60000, &t), 0);

	/* Busy: one record, ended at once. */
	sp_cdr_start(t, SP_STR("c1"), &info, 1000);
	sp_cdr_final(t, SP_STR("c1"), 486, "peer ssp-b", NULL, 1100);
	assert_int_equal(count(lines(), "\n"), 1);
	assert_non_null(strstr(lines(), "\"status\":486"));
	assert_non_null(strstr(lines(), "\"reason\":\"failed\""));

	/* 407, the retry, answer, BYE: one record with the duration. */
	sp_cdr_start(t, SP_STR("c2"), &info, 2000);
	sp_cdr_final(t, SP_STR("c2"), 407, "", NULL, 2001);
	sp_cdr_start(t, SP_STR("c2"), &info, 2100);
	sp_cdr_final(t, SP_STR("c2"), 200, "peer ssp-b", NULL, 2200);
	sp_cdr_start(t, SP_STR("c2"), &info, 2300); /* a late retransmission changes nothing */
	assert_int_equal(count(lines(), "\n"), 1); /* open calls are not in the JSON yet */
	sp_cdr_bye(t, SP_STR("c2"), 5200);
	sp_cdr_bye(t, SP_STR("c2"), 5300); /* a retransmitted BYE too */
	assert_int_equal(count(lines(), "\n"), 2);
	assert_non_null(strstr(lines(), "\"start_ms\":2100,\"answer_ms\":2200,\"end_ms\":5200,"
					"\"duration_ms\":3000,\"status\":200"));
	assert_non_null(strstr(lines(), "\"egress\":\"peer ssp-b\""));

	/* CANCEL: 487. */
	sp_cdr_start(t, SP_STR("c3"), &info, 6000);
	sp_cdr_final(t, SP_STR("c3"), 487, "", NULL, 6100);
	assert_non_null(strstr(lines(), "\"reason\":\"cancelled\""));

	/* Answered and never hung up: the sweep ends it after max_call_ms; an
	 * attempt never answered is forgotten. */
	sp_cdr_start(t, SP_STR("c4"), &info, 10000);
	sp_cdr_final(t, SP_STR("c4"), 200, "local", NULL, 10001);
	sp_cdr_start(t, SP_STR("c5"), &info, 10000);
	sp_cdr_sweep(t, 20000);
	assert_int_equal(count(lines(), "\"reason\":\"timeout\""), 0);
	sp_cdr_sweep(t, 80000);
	assert_int_equal(count(lines(), "\"reason\":\"timeout\""), 1);
	struct sp_cdr_stats st;
	sp_cdr_stats(t, &st);
	assert_int_equal(st.open, 1); /* the unanswered attempt waits 5 minutes */
	sp_cdr_sweep(t, 10000 + 300001);
	sp_cdr_stats(t, &st);
	assert_int_equal(st.open, 0);

	/* The cap: the fifth open attempt is not followed. */
	for (int i = 0; i < 5; i++) {
		char cid[8];
		snprintf(cid, sizeof(cid), "d%d", i);
		sp_cdr_start(t, sp_str_cstr(cid), &info, 90000);
		sp_cdr_final(t, sp_str_cstr(cid), 200, "local", NULL, 90001);
	}
	sp_cdr_stats(t, &st);
	assert_int_equal(st.open, 4);
	assert_int_equal(st.dropped_cap, 1);
	/* A stop leaves them open (the store has them); a restart takes one
	 * back and its BYE ends it with the right times. */
	sp_cdr_destroy(t);
	assert_int_equal(count(lines(), "\n"), 4);
	assert_int_equal(sp_cdr_create(NULL, path, 4, 60000, &t), 0);
	struct sp_store_cdr kept = { .id = SP_STR("90000-d0"), .call_id = SP_STR("d0"),
				     .start_ms = 90000, .answer_ms = 90001, .status = 200,
				     .caller = SP_STR("+4721000001"), .egress = SP_STR("local") };
	sp_cdr_restore(t, &kept);
	sp_cdr_bye(t, SP_STR("d0"), 99001);
	assert_non_null(strstr(lines(), "\"id\":\"90000-d0\""));
	assert_non_null(strstr(lines(), "\"duration_ms\":9000,"));
	sp_cdr_destroy(t);
	unlink(path);
}

static void test_escaping(void **state)
{
	struct sp_cdr *t;
	const struct sp_cdr_info info = { "a\"b\\c\x01", "x", "local", "nordic" };
	snprintf(path, sizeof(path), "/tmp/test_cdr.%d.jsonl", (int)getpid());
	unlink(path);
	assert_int_equal(sp_cdr_create(NULL, path, 0, 0, &t), 0);
	sp_cdr_start(t, SP_STR("q\"1"), &info, 1);
	sp_cdr_final(t, SP_STR("q\"1"), 404, NULL, NULL, 2);
	assert_non_null(strstr(lines(), "\"caller\":\"a\\\"b\\\\c\\u0001\""));
	assert_non_null(strstr(lines(), "\"call_id\":\"q\\\"1\""));
	assert_non_null(strstr(lines(), "\"federation\":\"nordic\""));
	sp_cdr_destroy(t);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attempts),
		cmocka_unit_test(test_escaping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
