/* timer.c: binary min-heap of timers; each timer knows its slot, so stop is O(log n). */
#include "core/timer.h"

#include <stdlib.h>
#include <time.h>

#include "core/err.h"

uint64_t sp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sp_timers_init(struct sp_timers *ts, size_t max)
{
	ts->heap = NULL;
	ts->n = 0;
	ts->cap = 0;
	ts->max = max;
}

void sp_timers_free(struct sp_timers *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		ts->heap[i]->idx = SIZE_MAX;
	free(ts->heap);
	sp_timers_init(ts, ts->max);
}

void sp_timer_init(struct sp_timer *t)
{
	t->due = 0;
	t->idx = SIZE_MAX;
	t->cb = NULL;
	t->arg = NULL;
}

static void place(struct sp_timers *ts, size_t i, struct sp_timer *t)
{
	ts->heap[i] = t;
	t->idx = i;
}

/* Earlier due first; ties keep no particular order. */
static void sift_up(struct sp_timers *ts, size_t i)
{
	struct sp_timer *t = ts->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (ts->heap[parent]->due <= t->due)
			break;
		place(ts, i, ts->heap[parent]);
		i = parent;
	}
	place(ts, i, t);
}

static void sift_down(struct sp_timers *ts, size_t i)
{
	struct sp_timer *t = ts->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= ts->n)
			break;
		if (c + 1 < ts->n && ts->heap[c + 1]->due < ts->heap[c]->due)
			c++;
		if (t->due <= ts->heap[c]->due)
			break;
		place(ts, i, ts->heap[c]);
		i = c;
	}
	place(ts, i, t);
}

void sp_timer_stop(struct sp_timers *ts, struct sp_timer *t)
{
	size_t i = t->idx;
	if (i == SIZE_MAX)
		return;
	t->idx = SIZE_MAX;
	ts->n--;
	if (i == ts->n)
		return;
	place(ts, i, ts->heap[ts->n]);
	/* The moved timer may belong below or above its new slot. */
	sift_down(ts, i);
	sift_up(ts, i);
}

int sp_timer_start(struct sp_timers *ts, struct sp_timer *t, uint64_t due, sp_timer_h cb,
		   void *arg)
{
	sp_timer_stop(ts, t);
	if (ts->n == ts->cap) {
		if (ts->n >= ts->max)
			return SP_E2BIG;
		size_t cap = ts->cap ? ts->cap * 2 : 64;
		if (cap > ts->max)
			cap = ts->max;
		struct sp_timer **h = realloc(ts->heap, cap * sizeof(*h));
		if (!h)
			return SP_ENOMEM;
		ts->heap = h;
		ts->cap = cap;
	}
	t->due = due;
	t->cb = cb;
	t->arg = arg;
	place(ts, ts->n++, t);
	sift_up(ts, t->idx);
	return 0;
}

uint64_t sp_timers_next(const struct sp_timers *ts)
{
	return ts->n ? ts->heap[0]->due : UINT64_MAX;
}

size_t sp_timers_run(struct sp_timers *ts, uint64_t now)
{
	size_t fired = 0;
	while (ts->n && ts->heap[0]->due <= now) {
		struct sp_timer *t = ts->heap[0];
		sp_timer_stop(ts, t);
		fired++;
		t->cb(t, t->arg);
	}
	return fired;
}
