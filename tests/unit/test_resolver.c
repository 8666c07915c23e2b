/* test_resolver.c: the c-ares resolver on a real loop against a small DNS server in this process: cache, TTL expiry, negative caching, coalescing, timeout, malformed answers, cancel, the cache bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "dns/resolver.h"
#include "io/loop.h"

/* ---- a tiny authoritative server ---------------------------------------- */

struct server {
	int fd;
	struct sockaddr_in addr;
	unsigned queries; /* packets received */
	unsigned ttl;     /* of the A answers */
};

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
	return 4;
}

/* Answers by the first label of the question: "a*" an A record
 * 192.0.2.<n>, "nx*" NXDOMAIN with an SOA (minimum 60), "silent*" nothing,
 * "bad*" an A record with a 3-byte address, "srv*" one SRV record. */
static void on_query(int fd, unsigned events, void *arg)
{
	struct server *s = arg;
	uint8_t q[512], r[600];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	if (n < 17)
		return;
	s->queries++;
	/* The question: from byte 12 to the end of QNAME, then type, class. */
	size_t qend = 12;
	while (qend < (size_t)n && q[qend])
		qend += q[qend] + 1u;
	qend += 5;
	if (qend > (size_t)n)
		return;
	const char *label = (const char *)q + 13;
	uint8_t l0 = q[12];
	if (l0 >= 6 && memcmp(label, "silent", 6) == 0)
		return;
	memcpy(r, q, qend);
	r[2] = 0x85; /* QR, AA, RD */
	r[3] = 0x80; /* RA, NOERROR */
	memset(r + 6, 0, 6);
	size_t p = qend;
	if (l0 >= 2 && memcmp(label, "nx", 2) == 0) {
		r[3] |= 3;
		put16(r + 8, 1); /* NSCOUNT */
		/* test. SOA: the root's name, minimal fields, minimum 60. */
		r[p++] = 0xc0;
		r[p++] = 12;
		p += put16(r + p, 6);
		p += put16(r + p, 1);
		p += put32(r + p, 300);
		p += put16(r + p, 22);
		r[p++] = 0; /* mname: root */
		r[p++] = 0; /* rname: root */
		p += put32(r + p, 1);
		p += put32(r + p, 3600);
		p += put32(r + p, 600);
		p += put32(r + p, 86400);
		p += put32(r + p, 60);
	} else if (l0 >= 3 && memcmp(label, "srv", 3) == 0) {
		put16(r + 6, 1);
		r[p++] = 0xc0;
		r[p++] = 12;
		p += put16(r + p, 33);
		p += put16(r + p, 1);
		p += put32(r + p, 120);
		p += put16(r + p, 6 + 6);
		p += put16(r + p, 10);
		p += put16(r + p, 5);
		p += put16(r + p, 5070);
		memcpy(r + p, "\x04host\x00", 6);
		p += 6;
	} else {
		bool bad = l0 >= 3 && memcmp(label, "bad", 3) == 0;
		put16(r + 6, 1);
		r[p++] = 0xc0;
		r[p++] = 12;
		p += put16(r + p, 1);
		p += put16(r + p, 1);
		p += put32(r + p, s->ttl);
		p += put16(r + p, bad ? 3 : 4);
		r[p++] = 192;
		r[p++] = 0;
		r[p++] = 2;
		if (!bad)
			r[p++] = (uint8_t)s->queries;
	}
	sendto(fd, r, p, 0, (struct sockaddr *)&from, fl);
}

struct fixture {
	struct sp_loop *loop;
	struct sp_resolver *res;
	struct server srv;
	struct sp_timer stop;
};

struct got {
	int calls;
	enum sp_dns_status status;
	bool cached;
	size_t n;
	uint8_t a[4];
	uint16_t srv_port;
	char why[64];
	struct sp_loop *loop;
};

static void on_result(void *arg, const struct sp_dns_result *r)
{
	struct got *g = arg;
	g->calls++;
	g->status = r->status;
	g->cached = r->cached;
	g->n = r->n;
	if (r->n && r->rr[0].type == SP_DNS_A)
		memcpy(g->a, r->rr[0].u.a, 4);
	if (r->n && r->rr[0].type == SP_DNS_SRV)
		g->srv_port = r->rr[0].u.srv.port;
	snprintf(g->why, sizeof(g->why), "%s", r->why ? r->why : "");
	if (g->loop)
		sp_loop_stop(g->loop);
}

static void on_stop(struct sp_timer *t, void *arg)
{
	sp_loop_stop(arg);
}

/* Runs the loop until a callback stops it, or ms pass. */
static void run_for(struct fixture *f, uint64_t ms)
{
	sp_timer_start(sp_loop_timers(f->loop), &f->stop, sp_now_ms() + ms, on_stop, f->loop);
	sp_loop_run(f->loop);
	sp_timer_stop(sp_loop_timers(f->loop), &f->stop);
}

static int setup_n(void **state, size_t max_entries)
{
	struct fixture *f = calloc(1, sizeof(*f));
	socklen_t len = sizeof(f->srv.addr);
	assert_int_equal(sp_loop_create(256, &f->loop), 0);
	f->srv.ttl = 60;
	f->srv.fd = socket(AF_INET, SOCK_DGRAM, 0);
	f->srv.addr.sin_family = AF_INET;
	f->srv.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->srv.fd, (struct sockaddr *)&f->srv.addr, sizeof(f->srv.addr)), 0);
	getsockname(f->srv.fd, (struct sockaddr *)&f->srv.addr, &len);
	assert_int_equal(sp_loop_fd_add(f->loop, f->srv.fd, SP_IO_READ, on_query, &f->srv), 0);

	struct sp_sockaddr sa;
	memset(&sa, 0, sizeof(sa));
	memcpy(&sa.u.in, &f->srv.addr, sizeof(f->srv.addr));
	sa.len = sizeof(f->srv.addr);
	struct sp_resolver_cfg rc = { .servers = &sa, .nservers = 1, .timeout_ms = 300, .max_entries = max_entries };
	assert_int_equal(sp_resolver_create(f->loop, &rc, &f->res), 0);
	sp_timer_init(&f->stop);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_n(state, 100);
}

static int setup_small(void **state)
{
	return setup_n(state, 2);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	sp_resolver_destroy(f->res);
	sp_loop_fd_del(f->loop, f->srv.fd);
	close(f->srv.fd);
	sp_loop_destroy(f->loop);
	free(f);
	return 0;
}

static void test_answer_then_cache(void **state)
{
	struct fixture *f = *state;
	struct got g = { .loop = f->loop };
	struct sp_dns_query *q;

	assert_int_equal(sp_resolver_query(f->res, "a1.example.test", SP_DNS_A, on_result, &g, &q), 0);
	assert_non_null(q);
	assert_int_equal(g.calls, 0);
	run_for(f, 2000);
	assert_null(q); /* cleared before the callback */
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.status, SP_DNS_OK);
	assert_false(g.cached);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.a[3], 1);

	/* Again, in another case: from the cache, at once, no packet. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(sp_resolver_query(f->res, "A1.Example.TEST", SP_DNS_A, on_result, &g, &q), 0);
	assert_null(q);
	assert_int_equal(g.calls, 1);
	assert_true(g.cached);
	assert_int_equal(g.a[3], 1);
	assert_int_equal(f->srv.queries, 1);
	assert_int_equal(sp_resolver_stats(f->res)->cache_hits, 1);

	/* Another type of the same name is another question. */
	memset(&g, 0, sizeof(g));
	g.loop = f->loop;
	assert_int_equal(sp_resolver_query(f->res, "srv1.example.test", SP_DNS_SRV, on_result, &g, &q), 0);
	run_for(f, 2000);
	assert_int_equal(g.status, SP_DNS_OK);
	assert_int_equal(g.srv_port, 5070);
}

static void test_ttl_expiry(void **state)
{
	struct fixture *f = *state;
	struct got g = { .loop = f->loop };
	struct sp_dns_query *q;

	f->srv.ttl = 1;
	assert_int_equal(sp_resolver_query(f->res, "a2.example.test", SP_DNS_A, on_result, &g, &q), 0);
	run_for(f, 2000);
	assert_int_equal(g.a[3], 1);
	run_for(f, 1100); /* past the TTL */
	memset(&g, 0, sizeof(g));
	g.loop = f->loop;
	assert_int_equal(sp_resolver_query(f->res, "a2.example.test", SP_DNS_A, on_result, &g, &q), 0);
	assert_int_equal(g.calls, 0); /* not from the cache */
	run_for(f, 2000);
	assert_int_equal(g.calls, 1);
	assert_false(g.cached);
	assert_int_equal(g.a[3], 2); /* the server's second answer */
	assert_int_equal(f->srv.queries, 2);
}

static void test_negative_cache(void **state)
{
	struct fixture *f = *state;
	struct got g = { .loop = f->loop };
	struct sp_dns_query *q;

	assert_int_equal(sp_resolver_query(f->res, "nx1.example.test", SP_DNS_A, on_result, &g, &q), 0);
	run_for(f, 2000);
	assert_int_equal(g.status, SP_DNS_NONAME);
	memset(&g, 0, sizeof(g));
	assert_int_equal(sp_resolver_query(f->res, "nx1.example.test", SP_DNS_A, on_result, &g, &q), 0);
	assert_int_equal(g.calls, 1);
	assert_true(g.cached);
	assert_int_equal(g.status, SP_DNS_NONAME);
	assert_int_equal(f->srv.queries, 1);
}

static void test_coalesce(void **state)
{
	struct fixture *f = *state;
	struct got g1 = { 0 }, g2 = { .loop = f->loop }, g3 = { 0 };
	struct sp_dns_query *q1, *q2, *q3;

	assert_int_equal(sp_resolver_query(f->res, "a3.example.test", SP_DNS_A, on_result, &g1, &q1), 0);
	assert_int_equal(sp_resolver_query(f->res, "a3.example.test", SP_DNS_A, on_result, &g2, &q2), 0);
	assert_int_equal(sp_resolver_query(f->res, "a3.example.test", SP_DNS_A, on_result, &g3, &q3), 0);
	/* One of them leaves: the others still get the answer. */
	sp_dns_query_cancel(&q3);
	assert_null(q3);
	run_for(f, 2000);
	assert_int_equal(g1.calls, 1);
	assert_int_equal(g2.calls, 1);
	assert_int_equal(g3.calls, 0);
	assert_int_equal(f->srv.queries, 1);
	assert_int_equal(sp_resolver_stats(f->res)->coalesced, 2);
}

static void test_timeout(void **state)
{
	struct fixture *f = *state;
	struct got g = { .loop = f->loop };
	struct sp_dns_query *q;
	uint64_t t0 = sp_now_ms();

	assert_int_equal(sp_resolver_query(f->res, "silent.example.test", SP_DNS_A, on_result, &g, &q), 0);
	run_for(f, 3000);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.status, SP_DNS_FAILED);
	assert_string_equal(g.why, "timeout");
	/* Within the query's time (300 ms), with some slack for the loop. */
	assert_true(sp_now_ms() - t0 < 800);
	/* A failure is not cached. */
	memset(&g, 0, sizeof(g));
	g.loop = f->loop;
	assert_int_equal(sp_resolver_query(f->res, "silent.example.test", SP_DNS_A, on_result, &g, &q), 0);
	assert_int_equal(g.calls, 0);
	sp_dns_query_cancel(&q);
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	struct got g = { .loop = f->loop };
	struct sp_dns_query *q;

	assert_int_equal(sp_resolver_query(f->res, "bad.example.test", SP_DNS_A, on_result, &g, &q), 0);
	run_for(f, 2000);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.status, SP_DNS_FAILED);
	assert_string_equal(g.why, "malformed answer");
	assert_int_equal(sp_resolver_stats(f->res)->malformed, 1);
}

static void test_bad_names(void **state)
{
	struct fixture *f = *state;
	struct got g = { 0 };
	struct sp_dns_query *q;
	char longname[300];

	assert_int_equal(sp_resolver_query(f->res, "", SP_DNS_A, on_result, &g, &q), SP_EINVAL);
	assert_int_equal(sp_resolver_query(f->res, "a..b", SP_DNS_A, on_result, &g, &q), SP_EINVAL);
	assert_int_equal(sp_resolver_query(f->res, "a b.test", SP_DNS_A, on_result, &g, &q), SP_EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(sp_resolver_query(f->res, longname, SP_DNS_A, on_result, &g, &q), SP_EINVAL);
	assert_int_equal(g.calls, 0);
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	struct got g = { 0 };
	struct sp_dns_query *q;

	assert_int_equal(sp_resolver_query(f->res, "a4.example.test", SP_DNS_A, on_result, &g, &q), 0);
	sp_dns_query_cancel(&q);
	run_for(f, 300);
	assert_int_equal(g.calls, 0);
	/* The answer still filled the cache. */
	assert_int_equal(sp_resolver_query(f->res, "a4.example.test", SP_DNS_A, on_result, &g, &q), 0);
	assert_int_equal(g.calls, 1);
	assert_true(g.cached);
}

static void test_cache_bound(void **state)
{
	struct fixture *f = *state;
	struct got g = { 0 };
	struct sp_dns_query *q;
	const char *names[] = { "a5.example.test", "a6.example.test", "a7.example.test" };

	for (size_t i = 0; i < 3; i++) {
		g.loop = f->loop;
		assert_int_equal(sp_resolver_query(f->res, names[i], SP_DNS_A, on_result, &g, &q), 0);
		run_for(f, 2000);
	}
	assert_int_equal(sp_resolver_stats(f->res)->entries, 2);
	assert_int_equal(sp_resolver_stats(f->res)->evictions, 1);
	/* The oldest went: asking it again sends a packet. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(sp_resolver_query(f->res, names[0], SP_DNS_A, on_result, &g, &q), 0);
	assert_int_equal(g.calls, 0);
	sp_dns_query_cancel(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answer_then_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coalesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_bound, setup_small, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
