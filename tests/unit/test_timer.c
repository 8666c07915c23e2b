/* test_timer.c: the timer heap: order, re-arming, stopping from callbacks, the cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/timer.h"

struct rec {
	int order[64];
	int n;
};

struct item {
	struct sp_timer t;
	int id;
	struct rec *rec;
	struct sp_timers *ts;
	struct sp_timer *stop_other;
	uint64_t rearm_at;
};

static void fire(struct sp_timer *t, void *arg)
{
	struct item *it = arg;
	it->rec->order[it->rec->n++] = it->id;
	if (it->stop_other)
		sp_timer_stop(it->ts, it->stop_other);
	if (it->rearm_at) {
		uint64_t at = it->rearm_at;
		it->rearm_at = 0;
		assert_int_equal(sp_timer_start(it->ts, t, at, fire, it), 0);
	}
}

static void test_order_and_stop(void **state)
{
	struct sp_timers ts;
	struct rec rec = { .n = 0 };
	struct item it[20];
	unsigned seed = 7;
	sp_timers_init(&ts, 100);
	for (int i = 0; i < 20; i++) {
		it[i] = (struct item){ .id = i, .rec = &rec, .ts = &ts };
		sp_timer_init(&it[i].t);
		seed = seed * 1103515245u + 12345u;
		assert_int_equal(sp_timer_start(&ts, &it[i].t, 100 + (seed >> 16) % 50, fire, &it[i]), 0);
	}
	/* Stop every third one, re-arm one later. */
	for (int i = 0; i < 20; i += 3)
		sp_timer_stop(&ts, &it[i].t);
	assert_false(sp_timer_armed(&it[0].t));
	assert_int_equal(sp_timer_start(&ts, &it[1].t, 1000, fire, &it[1]), 0);
	assert_int_equal(sp_timers_run(&ts, 99), 0);
	size_t fired = sp_timers_run(&ts, 200);
	assert_int_equal(fired, 20 - 7 - 1);
	for (int i = 1; i < rec.n; i++)
		assert_true(it[rec.order[i - 1]].t.due <= it[rec.order[i]].t.due);
	assert_int_equal(sp_timers_next(&ts), 1000);
	assert_int_equal(sp_timers_run(&ts, 1000), 1);
	assert_int_equal(sp_timers_next(&ts), UINT64_MAX);
	sp_timers_free(&ts);
}

static void test_callbacks_rearm_and_stop(void **state)
{
	struct sp_timers ts;
	struct rec rec = { .n = 0 };
	struct item a = { .id = 1, .rec = &rec, .ts = &ts, .rearm_at = 5 };
	struct item b = { .id = 2, .rec = &rec, .ts = &ts };
	struct item c = { .id = 3, .rec = &rec, .ts = &ts };
	sp_timers_init(&ts, 10);
	sp_timer_init(&a.t);
	sp_timer_init(&b.t);
	sp_timer_init(&c.t);
	a.stop_other = &c.t;
	sp_timer_start(&ts, &a.t, 1, fire, &a);
	sp_timer_start(&ts, &b.t, 3, fire, &b);
	sp_timer_start(&ts, &c.t, 4, fire, &c);
	/* a fires at 1, stops c, re-arms itself at 5 which is still <= 10. */
	assert_int_equal(sp_timers_run(&ts, 10), 3);
	assert_int_equal(rec.n, 3);
	assert_int_equal(rec.order[0], 1);
	assert_int_equal(rec.order[1], 2);
	assert_int_equal(rec.order[2], 1);
	sp_timers_free(&ts);
}

static void test_cap(void **state)
{
	struct sp_timers ts;
	struct sp_timer t[3];
	struct rec rec = { .n = 0 };
	struct item it = { .rec = &rec };
	sp_timers_init(&ts, 2);
	for (int i = 0; i < 3; i++)
		sp_timer_init(&t[i]);
	assert_int_equal(sp_timer_start(&ts, &t[0], 1, fire, &it), 0);
	assert_int_equal(sp_timer_start(&ts, &t[1], 1, fire, &it), 0);
	assert_int_equal(sp_timer_start(&ts, &t[2], 1, fire, &it), SP_E2BIG);
	assert_false(sp_timer_armed(&t[2]));
	/* Re-arming an armed timer does not need a new slot. */
	assert_int_equal(sp_timer_start(&ts, &t[1], 7, fire, &it), 0);
	sp_timers_free(&ts);
	assert_false(sp_timer_armed(&t[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_stop),
		cmocka_unit_test(test_callbacks_rearm_and_stop),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
