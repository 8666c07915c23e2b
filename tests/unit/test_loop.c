/* test_loop.c: the event loop: fd readiness, timers, posts from another thread, stop, stale events. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "io/loop.h"

struct ctx {
	struct sp_loop *loop;
	int calls;
	int order[16];
	int norder;
	struct sp_timer guard; /* stops a test that would otherwise hang */
	bool guard_fired;
};

static void guard_cb(struct sp_timer *t, void *arg)
{
	struct ctx *c = arg;
	c->guard_fired = true;
	sp_loop_stop(c->loop);
}

static void setup_ctx(struct ctx *c, uint64_t guard_ms)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(sp_loop_create(64, &c->loop), 0);
	sp_timer_init(&c->guard);
	assert_int_equal(sp_timer_start(sp_loop_timers(c->loop), &c->guard,
					sp_loop_now(c->loop) + guard_ms, guard_cb, c), 0);
}

static void teardown_ctx(struct ctx *c)
{
	sp_timer_stop(sp_loop_timers(c->loop), &c->guard);
	sp_loop_destroy(c->loop);
}

static void on_read(int fd, unsigned ev, void *arg)
{
	struct ctx *c = arg;
	char b[16];
	assert_true(ev & SP_IO_READ);
	assert_int_equal(read(fd, b, sizeof(b)), 3);
	assert_memory_equal(b, "abc", 3);
	c->calls++;
	sp_loop_fd_del(c->loop, fd);
	sp_loop_stop(c->loop);
}

static void test_fd_ready(void **state)
{
	struct ctx c;
	int p[2];
	setup_ctx(&c, 2000);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sp_loop_fd_add(c.loop, p[0], SP_IO_READ, on_read, &c), 0);
	assert_int_equal(sp_loop_fd_add(c.loop, p[0], SP_IO_READ, on_read, &c), SP_EINVAL);
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(sp_loop_run(c.loop), 0);
	assert_int_equal(c.calls, 1);
	assert_false(c.guard_fired);
	assert_int_equal(sp_loop_fd_mod(c.loop, p[0], SP_IO_WRITE), SP_ENOENT);
	close(p[0]);
	close(p[1]);
	teardown_ctx(&c);
}

struct tim {
	struct sp_timer t;
	struct ctx *c;
	int id;
};

static void on_timer(struct sp_timer *t, void *arg)
{
	struct tim *tm = arg;
	tm->c->order[tm->c->norder++] = tm->id;
	if (tm->c->norder == 3)
		sp_loop_stop(tm->c->loop);
}

static void test_timers_in_order(void **state)
{
	struct ctx c;
	struct tim t[3];
	int delay[3] = { 60, 20, 40 };
	setup_ctx(&c, 2000);
	uint64_t start = sp_now_ms();
	for (int i = 0; i < 3; i++) {
		t[i].c = &c;
		t[i].id = i;
		sp_timer_init(&t[i].t);
		assert_int_equal(sp_timer_start(sp_loop_timers(c.loop), &t[i].t,
						sp_loop_now(c.loop) + (uint64_t)delay[i], on_timer, &t[i]), 0);
	}
	assert_int_equal(sp_loop_run(c.loop), 0);
	assert_false(c.guard_fired);
	assert_int_equal(c.norder, 3);
	assert_int_equal(c.order[0], 1);
	assert_int_equal(c.order[1], 2);
	assert_int_equal(c.order[2], 0);
	/* The loop slept until the last one was due, not less. */
	assert_true(sp_now_ms() - start >= 59);
	teardown_ctx(&c);
}

static pthread_t main_thread;

static void posted(void *arg)
{
	struct ctx *c = arg;
	/* Runs on the loop's thread, not the poster's. */
	assert_true(pthread_equal(pthread_self(), main_thread));
	c->calls++;
	if (c->calls == 10)
		sp_loop_stop(c->loop);
}

static void *poster(void *arg)
{
	struct ctx *c = arg;
	usleep(20000); /* the loop is asleep in epoll_wait by now */
	for (int i = 0; i < 10; i++)
		if (sp_loop_post(c->loop, posted, c) != 0)
			break;
	return NULL;
}

static void test_post_from_thread(void **state)
{
	struct ctx c;
	pthread_t th;
	setup_ctx(&c, 3000);
	main_thread = pthread_self();
	assert_int_equal(pthread_create(&th, NULL, poster, &c), 0);
	assert_int_equal(sp_loop_run(c.loop), 0);
	pthread_join(th, NULL);
	assert_false(c.guard_fired);
	assert_int_equal(c.calls, 10);
	teardown_ctx(&c);
}

static void *stopper(void *arg)
{
	usleep(20000);
	sp_loop_stop(arg);
	return NULL;
}

static void test_stop_from_thread(void **state)
{
	struct ctx c;
	pthread_t th;
	setup_ctx(&c, 3000);
	assert_int_equal(pthread_create(&th, NULL, stopper, c.loop), 0);
	assert_int_equal(sp_loop_run(c.loop), 0);
	pthread_join(th, NULL);
	assert_false(c.guard_fired);
	/* A stopped loop can run again; posted work left over is freed by destroy. */
	assert_int_equal(sp_loop_post(c.loop, posted, &c), 0);
	teardown_ctx(&c);
}

/* Two readable pipes in one batch: whichever handler runs first deletes the
 * other registration, closes that fd and opens a new pipe that takes its
 * number. The stale event of the deleted fd must reach nobody. */
struct pair {
	struct sp_loop *loop;
	int rd[2], wr[2];
	int calls[2];
	int fresh_calls;
	int fresh[2];
};

static void on_fresh(int fd, unsigned ev, void *arg)
{
	struct pair *p = arg;
	p->fresh_calls++;
}

static void on_pair(int fd, unsigned ev, void *arg)
{
	struct pair *p = arg;
	int me = fd == p->rd[0] ? 0 : 1;
	int other = 1 - me;
	p->calls[me]++;
	if (p->rd[other] >= 0) {
		int old = p->rd[other];
		sp_loop_fd_del(p->loop, old);
		close(old);
		p->rd[other] = -1;
		assert_int_equal(pipe(p->fresh), 0);
		assert_int_equal(p->fresh[0], old); /* lowest free number */
		assert_int_equal(sp_loop_fd_add(p->loop, p->fresh[0], SP_IO_READ, on_fresh, p), 0);
	}
	sp_loop_fd_del(p->loop, fd);
	sp_loop_stop(p->loop);
}

static void test_delete_in_batch(void **state)
{
	struct pair p;
	int a[2], b[2];
	memset(&p, 0, sizeof(p));
	assert_int_equal(sp_loop_create(8, &p.loop), 0);
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	p.rd[0] = a[0];
	p.rd[1] = b[0];
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "y", 1), 1);
	assert_int_equal(sp_loop_fd_add(p.loop, a[0], SP_IO_READ, on_pair, &p), 0);
	assert_int_equal(sp_loop_fd_add(p.loop, b[0], SP_IO_READ, on_pair, &p), 0);
	assert_int_equal(sp_loop_run(p.loop), 0);
	assert_int_equal(p.calls[0] + p.calls[1], 1);
	assert_int_equal(p.fresh_calls, 0);
	sp_loop_fd_del(p.loop, p.fresh[0]);
	close(p.fresh[0]);
	close(p.fresh[1]);
	close(p.rd[0] >= 0 ? p.rd[0] : p.rd[1]);
	close(a[1]);
	close(b[1]);
	sp_loop_destroy(p.loop);
}

static void on_write_ready(int fd, unsigned ev, void *arg)
{
	struct ctx *c = arg;
	c->calls++;
	if (ev & SP_IO_WRITE) {
		/* Switch to read interest: nothing to read, so only the guard ends the run. */
		assert_int_equal(sp_loop_fd_mod(c->loop, fd, SP_IO_READ), 0);
	}
}

static void test_mod(void **state)
{
	struct ctx c;
	int p[2];
	setup_ctx(&c, 50);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sp_loop_fd_add(c.loop, p[1], SP_IO_WRITE, on_write_ready, &c), 0);
	assert_int_equal(sp_loop_run(c.loop), 0);
	assert_true(c.guard_fired);
	assert_int_equal(c.calls, 1);
	sp_loop_fd_del(c.loop, p[1]);
	close(p[0]);
	close(p[1]);
	teardown_ctx(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_ready),
		cmocka_unit_test(test_timers_in_order),
		cmocka_unit_test(test_post_from_thread),
		cmocka_unit_test(test_stop_from_thread),
		cmocka_unit_test(test_delete_in_batch),
		cmocka_unit_test(test_mod),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
