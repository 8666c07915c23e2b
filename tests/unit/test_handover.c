/* test_handover.c: messages handed between worker threads reach the owner of their Call-ID, intact and in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/timer.h"
#include "io/loop.h"
#include "transport/handover.h"

#define NWORKERS 3
#define NMSG 600
#define NCALLS 40

struct seen {
	unsigned call;
	unsigned seq;
	bool bytes_ok;
	bool tls_ok;
};

struct worker {
	unsigned index;
	struct sp_loop *loop;
	pthread_t thread;
	pthread_t ran_on;  /* the thread that delivered: must be this worker's */
	bool wrong_thread;
	struct seen seen[NMSG];
	unsigned nseen;    /* written by this worker's thread only */
};

static struct worker workers[NWORKERS];
static _Atomic unsigned delivered;

static void on_handover(void *arg, const struct sp_rx *rx)
{
	struct worker *w = arg;
	unsigned call, seq;
	char want[128];
	if (!pthread_equal(pthread_self(), w->thread))
		w->wrong_thread = true;
	struct seen *s = &w->seen[w->nseen++];
	s->bytes_ok = sscanf(rx->buf, "MESSAGE sip:x SIP/2.0\r\nCall-ID: c%u\r\nCSeq: %u", &call, &seq) == 2;
	s->call = call;
	s->seq = seq;
	snprintf(want, sizeof(want), "MESSAGE sip:x SIP/2.0\r\nCall-ID: c%u\r\nCSeq: %u MESSAGE\r\n\r\n", call, seq);
	s->bytes_ok = s->bytes_ok && rx->len == strlen(want) && memcmp(rx->buf, want, rx->len) == 0 &&
		      rx->src.proto == SP_PROTO_TLS && rx->src.conn == 42;
	s->tls_ok = rx->tls && rx->tls->nsan == 2 && rx->tls->ca == 1 && strcmp(rx->tls->san[0], "sbe.peer.test") == 0 &&
		    strcmp(rx->tls->san[1], "peer.test") == 0;
	atomic_fetch_add(&delivered, 1);
}

static void *run(void *arg)
{
	struct worker *w = arg;
	sp_loop_run(w->loop);
	return NULL;
}

static void test_owner_gets_everything_in_order(void **state)
{
	struct sp_workers *ws;
	const char *const san[] = { "sbe.peer.test", "peer.test" };
	struct sp_tls_peer tls = { san, 2, 1 };
	unsigned next_seq[NCALLS] = { 0 };

	assert_int_equal(sp_workers_create(NWORKERS, 0, &ws), 0);
	for (unsigned i = 0; i < NWORKERS; i++) {
		workers[i].index = i;
		assert_int_equal(sp_loop_create(64, &workers[i].loop), 0);
		sp_workers_set(ws, i, workers[i].loop, on_handover, &workers[i]);
		assert_int_equal(pthread_create(&workers[i].thread, NULL, run, &workers[i]), 0);
	}
	/* The main thread plays the worker that received everything. */
	for (unsigned k = 0; k < NMSG; k++) {
		char buf[128], cid[16];
		unsigned call = (k * 7) % NCALLS;
		int n = snprintf(buf, sizeof(buf),
				 "MESSAGE sip:x SIP/2.0\r\nCall-ID: c%u\r\nCSeq: %u MESSAGE\r\n\r\n", call,
				 next_seq[call]++);
		snprintf(cid, sizeof(cid), "c%u", call);
		struct sp_rx rx = { .buf = buf, .len = (size_t)n, .tls = &tls };
		rx.src.proto = SP_PROTO_TLS;
		rx.src.conn = 42;
		unsigned owner = sp_workers_owner(ws, sp_str_cstr(cid));
		assert_true(owner < NWORKERS);
		assert_int_equal(owner, sp_workers_owner(ws, sp_str_cstr(cid))); /* stable */
		assert_int_equal(sp_handover(ws, owner, &rx), 0);
	}
	for (int i = 0; i < 500 && atomic_load(&delivered) < NMSG; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&delivered), NMSG);
	for (unsigned i = 0; i < NWORKERS; i++) {
		sp_loop_stop(workers[i].loop);
		pthread_join(workers[i].thread, NULL);
	}

	unsigned total = 0;
	for (unsigned i = 0; i < NWORKERS; i++) {
		struct worker *w = &workers[i];
		unsigned last[NCALLS];
		memset(last, 0xff, sizeof(last));
		assert_false(w->wrong_thread);
		assert_true(w->nseen > 0); /* 40 Call-IDs spread over 3 workers */
		for (unsigned j = 0; j < w->nseen; j++) {
			struct seen *s = &w->seen[j];
			char cid[16];
			assert_true(s->bytes_ok);
			assert_true(s->tls_ok);
			snprintf(cid, sizeof(cid), "c%u", s->call);
			assert_int_equal(sp_workers_owner(ws, sp_str_cstr(cid)), i);
			/* Per Call-ID, the order of arrival is kept. */
			assert_true(last[s->call] == 0xffffffffu || s->seq == last[s->call] + 1);
			last[s->call] = s->seq;
		}
		total += w->nseen;
		sp_loop_destroy(w->loop);
	}
	assert_int_equal(total, NMSG);
	sp_workers_destroy(ws);
}

static void noop(void *arg, const struct sp_rx *rx)
{
}

static void stop_loop(struct sp_timer *t, void *arg)
{
	sp_loop_stop(arg);
}

/* Runs a loop for about ms milliseconds: long enough to drain posted work. */
static void run_for(struct sp_loop *loop, unsigned ms)
{
	struct sp_timer t;
	sp_timer_init(&t);
	assert_int_equal(sp_timer_start(sp_loop_timers(loop), &t, sp_now_ms() + ms, stop_loop, loop), 0);
	sp_loop_run(loop);
	sp_timer_stop(sp_loop_timers(loop), &t);
}

/* The bytes in flight towards one worker are capped: a stalled worker
 * cannot make the others' memory grow without bound. */
static void test_queue_cap(void **state)
{
	struct sp_workers *ws;
	struct sp_loop *loop;
	char buf[1000];
	struct sp_rx rx = { .buf = buf, .len = sizeof(buf) };
	int i, err = 0;

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(sp_workers_create(2, 10000, &ws), 0);
	assert_int_equal(sp_loop_create(16, &loop), 0);
	sp_workers_set(ws, 1, loop, noop, NULL);
	assert_int_equal(sp_handover(ws, 0, &rx), SP_EINVAL); /* worker 0 has no loop */
	assert_int_equal(sp_handover(ws, 2, &rx), SP_EINVAL);
	for (i = 0; i < 100 && (err = sp_handover(ws, 1, &rx)) == 0; i++)
		;
	assert_int_equal(err, SP_E2BIG);
	assert_true(i >= 5 && i < 10);
	/* Running the loop delivers (and frees) what was queued. */
	run_for(loop, 50);
	assert_int_equal(sp_handover(ws, 1, &rx), 0);
	run_for(loop, 50);
	sp_loop_destroy(loop);
	sp_workers_destroy(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_gets_everything_in_order),
		cmocka_unit_test(test_queue_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
