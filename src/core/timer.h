/* timer.h: a min-heap of one-shot timers on a millisecond clock, one heap per event loop. */
#ifndef SP_CORE_TIMER_H
#define SP_CORE_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sp_timer;
typedef void (*sp_timer_h)(struct sp_timer *t, void *arg);

/* The caller owns the struct (usually embedded in a transaction or a
 * connection) and must stop it before freeing it. Fields are private. */
struct sp_timer {
	uint64_t due;     /* ms on the heap's clock */
	size_t idx;       /* position in the heap; SIZE_MAX when not armed */
	sp_timer_h cb;
	void *arg;
};

/* A heap holds at most max timers; starting one more fails with SP_E2BIG.
 * Not thread-safe: one heap belongs to one loop. */
struct sp_timers {
	struct sp_timer **heap;
	size_t n;
	size_t cap;
	size_t max;
};

/* The monotonic clock every loop uses, in milliseconds. Tests drive a heap
 * with their own clock instead (sp_timers_run takes "now"). */
uint64_t sp_now_ms(void);

void sp_timers_init(struct sp_timers *ts, size_t max);
/* Forgets every armed timer (without calling them) and frees the heap. */
void sp_timers_free(struct sp_timers *ts);

/* sp_timer_init marks a timer not armed; call it once before first use. */
void sp_timer_init(struct sp_timer *t);
/* Arms t to fire at due (absolute ms); re-arms it when already armed.
 * Returns 0, SP_E2BIG or SP_ENOMEM (t is then not armed). */
int sp_timer_start(struct sp_timers *ts, struct sp_timer *t, uint64_t due, sp_timer_h cb,
		   void *arg);
/* Disarms t; harmless when it is not armed. */
void sp_timer_stop(struct sp_timers *ts, struct sp_timer *t);
static inline bool sp_timer_armed(const struct sp_timer *t)
{
	return t->idx != SIZE_MAX;
}

/* Due time of the earliest timer, or UINT64_MAX when none is armed. */
uint64_t sp_timers_next(const struct sp_timers *ts);
/* Fires, earliest first, every timer due at or before now; a timer is
 * disarmed before its callback runs, and callbacks may start and stop any
 * timer (one started for a time <= now fires in the same call). Returns how
 * many fired. */
size_t sp_timers_run(struct sp_timers *ts, uint64_t now);

#endif
