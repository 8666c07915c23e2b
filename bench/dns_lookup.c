/* dns_lookup.c: DNS benchmark on one core with a warm cache: sp_resolver_query hits per second, and full cached routing decisions (ENUM NAPTR, NAPTR, SRV, A, AAAA) per second. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/err.h"
#include "dns/resolver.h"
#include "io/loop.h"
#include "routing/router.h"

/*
 * The cache is primed from a small authoritative server inside this process
 * (127.0.0.1, an ephemeral port), run by the same loop as the resolver, so
 * no external server is needed. It answers by question type:
 *   NAPTR  under ENUM_SUFFIX: one "u" "E2U+sip" rule to sip:\1@d<number>.bench;
 *          under RAW_SUFFIX: one SIP+D2U rule to _sip._udp.<name>;
 *          anything else: NODATA with an SOA (negatively cached);
 *   SRV    one record, priority 10 weight 10 port 5060, target "host." + the name
 *          after "_sip._udp." (every domain has its own host);
 *   A      127.0.3.<n>;
 *   AAAA   NODATA with an SOA.
 * Every TTL is a day, so nothing expires while the benchmark runs.
 */
#define ENUM_SUFFIX "e164.bench"
#define RAW_SUFFIX "raw.bench"
#define TTL 86400u
#define NNAMES 1000     /* (a): cached names, a third each NAPTR, SRV and A */
#define NNUMBERS 1000   /* (b): numbers, five cached answers each */
#define RUNS 5
#define BATCH 100       /* questions in flight while priming (the server's socket buffer) */

struct server {
	int fd;
	struct sockaddr_in addr;
	unsigned long queries;
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

/* A name in text form as labels (no compression); 0 if it does not fit. */
static size_t put_name(uint8_t *p, size_t room, const char *name)
{
	size_t n = 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		if (l == 0 || l > 63 || n + l + 2 > room)
			return 0;
		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

static size_t put_cstr(uint8_t *p, const char *s)
{
	size_t l = strlen(s);
	p[0] = (uint8_t)l;
	memcpy(p + 1, s, l);
	return l + 1;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a > b && s[a - b - 1] == '.' && strcmp(s + a - b, suffix) == 0;
}

/* The record of one question into r at p (after the echoed question);
 * returns the new end, or 0 to answer NODATA. */
static size_t answer(const char *qname, uint16_t qtype, uint8_t *r, size_t p, size_t room)
{
	uint8_t *rd;
	size_t n;

	r[p++] = 0xc0; /* owner: the question's name */
	r[p++] = 12;
	p += put16(r + p, qtype);
	p += put16(r + p, 1);
	p += put32(r + p, TTL);
	rd = r + p;
	p += 2; /* RDLENGTH, below */
	switch (qtype) {
	case SP_DNS_NAPTR: {
		char num[32], repl[300];
		size_t k = 0;
		if (ends_with(qname, ENUM_SUFFIX)) {
			/* 1.0.0.0.0.0.1.9.7.4.e164.bench -> 4791000001 */
			size_t dl = strlen(qname) - strlen(ENUM_SUFFIX) - 1;
			for (size_t i = dl; i-- > 0 && k + 1 < sizeof(num);)
				if (qname[i] != '.')
					num[k++] = qname[i];
			num[k] = '\0';
			snprintf(repl, sizeof(repl), "!^(.*)$!sip:\\1@d%s.bench!", num);
			p += put16(r + p, 100);
			p += put16(r + p, 10);
			p += put_cstr(r + p, "u");
			p += put_cstr(r + p, "E2U+sip");
			p += put_cstr(r + p, repl);
			r[p++] = 0; /* replacement: the root */
		} else if (ends_with(qname, RAW_SUFFIX)) {
			snprintf(repl, sizeof(repl), "_sip._udp.%s", qname);
			p += put16(r + p, 10);
			p += put16(r + p, 10);
			p += put_cstr(r + p, "s");
			p += put_cstr(r + p, "SIP+D2U");
			p += put_cstr(r + p, "");
			if (!(n = put_name(r + p, room - p, repl)))
				return 0;
			p += n;
		} else {
			return 0;
		}
		break;
	}
	case SP_DNS_SRV: {
		char target[300];
		const char *dom = strncmp(qname, "_sip._udp.", 10) == 0 ? qname + 10 : qname;
		snprintf(target, sizeof(target), "host.%s", dom);
		p += put16(r + p, 10);
		p += put16(r + p, 10);
		p += put16(r + p, 5060);
		if (!(n = put_name(r + p, room - p, target)))
			return 0;
		p += n;
		break;
	}
	case SP_DNS_A:
		r[p++] = 127;
		r[p++] = 0;
		r[p++] = 3;
		r[p++] = (uint8_t)(1 + strlen(qname) % 200);
		break;
	default:
		return 0;
	}
	put16(rd, (uint16_t)(r + p - rd - 2));
	return p;
}

static void on_query(int fd, unsigned events, void *arg)
{
	struct server *s = arg;
	uint8_t q[512], r[1024];
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;

	/* Everything waiting: c-ares sends a batch before the loop comes here. */
	while (fl = sizeof(from),
	       (n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) >= 0) {
		char qname[SP_DNS_NAME_MAX];
		size_t qend = 12, k = 0, p;
		if (n < 17)
			continue;
		while (qend < (size_t)n && q[qend]) {
			size_t l = q[qend];
			if (qend + 1 + l > (size_t)n || k + l + 2 > sizeof(qname))
				break;
			if (k)
				qname[k++] = '.';
			for (size_t i = 0; i < l; i++) {
				char c = (char)q[qend + 1 + i];
				qname[k++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
			}
			qend += 1 + l;
		}
		qname[k] = '\0';
		qend += 5;
		if (qend > (size_t)n)
			continue;
		s->queries++;
		uint16_t qtype = (uint16_t)(q[qend - 4] << 8 | q[qend - 3]);
		memcpy(r, q, qend);
		r[2] = 0x85; /* QR, AA, RD */
		r[3] = 0x80; /* RA, NOERROR */
		memset(r + 6, 0, 6);
		if ((p = answer(qname, qtype, r, qend, sizeof(r))) != 0) {
			put16(r + 6, 1); /* ANCOUNT */
		} else {
			/* NODATA: the name exists, not this type; an SOA for the
			 * negative TTL (RFC 2308). */
			p = qend;
			put16(r + 8, 1); /* NSCOUNT */
			r[p++] = 0xc0;
			r[p++] = 12;
			p += put16(r + p, SP_DNS_SOA);
			p += put16(r + p, 1);
			p += put32(r + p, TTL);
			p += put16(r + p, 22);
			r[p++] = 0; /* mname: root */
			r[p++] = 0; /* rname: root */
			p += put32(r + p, 1);
			p += put32(r + p, 3600);
			p += put32(r + p, 600);
			p += put32(r + p, 86400);
			p += put32(r + p, TTL);
		}
		sendto(fd, r, p, 0, (struct sockaddr *)&from, fl);
	}
}

/* ---- the bookkeeping of priming ------------------------------------------- */

struct ctx {
	struct sp_loop *loop;
	unsigned long outstanding; /* look-ups not yet answered while priming */
	unsigned long answered, failed, records;
	bool timed_out;
};

static void on_dns(void *arg, const struct sp_dns_result *r)
{
	struct ctx *c = arg;
	c->answered++;
	c->records += r->n;
	if (r->status != SP_DNS_OK || r->n == 0)
		c->failed++;
	if (c->outstanding && --c->outstanding == 0)
		sp_loop_stop(c->loop);
}

static void on_resolved(void *arg, uint16_t status)
{
	struct ctx *c = arg;
	c->answered++;
	if (status != 0)
		c->failed++;
	if (c->outstanding && --c->outstanding == 0)
		sp_loop_stop(c->loop);
}

/* CPU time of this thread, as bench/parse: another process taking turns on
 * the core does not lower the rate. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static bool is_ours(void *arg, struct sp_str host)
{
	return sp_str_caseeq_c(host, "bench.test");
}

static void on_guard(struct sp_timer *t, void *arg)
{
	struct ctx *c = arg;
	fprintf(stderr, "bench/dns_lookup: priming timed out (%lu answers missing)\n",
		c->outstanding);
	c->timed_out = true;
	sp_loop_stop(c->loop);
}

/* Runs the loop until every outstanding look-up is answered, or 10 s. */
static int wait_all(struct ctx *c)
{
	struct sp_timer guard;
	if (!c->outstanding)
		return 0;
	sp_timer_init(&guard);
	sp_timer_start(sp_loop_timers(c->loop), &guard, sp_now_ms() + 10000, on_guard, c);
	sp_loop_run(c->loop);
	sp_timer_stop(sp_loop_timers(c->loop), &guard);
	return c->timed_out ? -1 : 0;
}

/* Rates of RUNS runs of at least min_s seconds each: the median, min, max. */
struct rates {
	double r[RUNS];
	unsigned long iters;
};

static double report(const char *what, const char *unit, struct rates *rt)
{
	qsort(rt->r, RUNS, sizeof(rt->r[0]), cmp);
	double med = rt->r[RUNS / 2];
	printf("%s: median %.0f %s/s (%.1f ns/%s), min %.0f, max %.0f; %d runs of %lu\n", what, med,
	       unit, 1e9 / med, unit, rt->r[0], rt->r[RUNS - 1], RUNS, rt->iters);
	return med;
}

static void print_step(void *arg, const char *line)
{
	printf("  | %s\n", line);
}

/* bench_dns_lookup [SECONDS] [--trace]: SECONDS per run (default 1); --trace
 * prints the walk of one cached decision first. */
int main(int argc, char **argv)
{
	double min_s = 1.0;
	bool show = false;
	struct ctx c = { 0 };
	struct server srv = { .fd = -1 };
	struct sp_resolver *res = NULL;
	struct sp_router *rt = NULL;
	struct sp_config *cfg = NULL;
	struct sp_config_diag diag;
	static char names[NNAMES][64], numbers[NNUMBERS][16];
	static uint16_t types[NNAMES];
	/* The resolver clears a query's handle when it answers: it must
	 * outlive the wait. */
	static struct sp_dns_query *slots[NNAMES];
	struct rates raw = { .iters = 0 }, route = { .iters = 0 };
	int ret = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--trace") == 0)
			show = true;
		else if ((min_s = atof(argv[i])) <= 0)
			min_s = 1.0;
	}
	if (sp_loop_create(1024, &c.loop) != 0)
		return 1;

	/* The server. */
	socklen_t alen = sizeof(srv.addr);
	srv.fd = socket(AF_INET, SOCK_DGRAM, 0);
	srv.addr.sin_family = AF_INET;
	srv.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&srv.addr, sizeof(srv.addr)) != 0 ||
	    getsockname(srv.fd, (struct sockaddr *)&srv.addr, &alen) != 0 ||
	    sp_loop_fd_add(c.loop, srv.fd, SP_IO_READ, on_query, &srv) != 0) {
		perror("bench/dns_lookup: server socket");
		goto out;
	}

	/* The configuration a node with an ENUM route would have. */
	char yaml[512];
	int yl = snprintf(yaml, sizeof(yaml),
			  "listen: [\"udp://127.0.0.1:5060\"]\n"
			  "domains: [bench.test]\n"
			  "routes:\n"
			  "  - match: { prefix: \"+\" }\n"
			  "    to: enum\n"
			  "enum: { resolver: \"127.0.0.1:%u\", suffixes: [" ENUM_SUFFIX "],"
			  " timeout_ms: 2000, cache_size: %u }\n",
			  (unsigned)ntohs(srv.addr.sin_port), (NNAMES + 5 * NNUMBERS) * 2);
	if (sp_config_load_string("bench", yaml, (size_t)yl, &cfg, &diag) != 0) {
		sp_config_diag_print(&diag, stderr);
		goto out;
	}
	struct sp_resolver_cfg rc = { .servers = cfg->enum_.resolvers,
				      .nservers = cfg->enum_.resolver_count,
				      .timeout_ms = cfg->enum_.timeout_ms,
				      .max_entries = cfg->enum_.cache_size,
				      .max_neg_ttl = TTL };
	if (sp_resolver_create(c.loop, &rc, &res) != 0 || sp_router_create(cfg, NULL, &rt) != 0) {
		fprintf(stderr, "bench/dns_lookup: cannot start the resolver or router\n");
		goto out;
	}
	/* No timers: a call (sp_router_route_ex) arms the walk's budget only
	 * when it must wait for the network, and a cached walk never does;
	 * sp_router_resolve would arm and stop it for every walk. */
	sp_router_set_dns(rt, res, NULL, 0);
	sp_router_set_ours(rt, is_ours, NULL);

	/* (a) NNAMES names: NAPTR, SRV and A in turn. */
	for (size_t i = 0; i < NNAMES; i++) {
		switch (i % 3) {
		case 0:
			snprintf(names[i], sizeof(names[i]), "n%zu." RAW_SUFFIX, i);
			types[i] = SP_DNS_NAPTR;
			break;
		case 1:
			snprintf(names[i], sizeof(names[i]), "_sip._udp.s%zu." RAW_SUFFIX, i);
			types[i] = SP_DNS_SRV;
			break;
		default:
			snprintf(names[i], sizeof(names[i]), "host.h%zu." RAW_SUFFIX, i);
			types[i] = SP_DNS_A;
		}
	}
	for (size_t i = 0; i < NNUMBERS; i++)
		snprintf(numbers[i], sizeof(numbers[i]), "+4791%06zu", i);

	/* Priming, a batch at a time: the answers fill the cache. */
	for (size_t i = 0; i < NNAMES; i += BATCH) {
		for (size_t j = i; j < i + BATCH && j < NNAMES; j++) {
			c.outstanding++;
			if (sp_resolver_query(res, names[j], types[j], on_dns, &c, &slots[j]) != 0)
				c.outstanding--, c.failed++;
		}
		if (wait_all(&c) != 0)
			goto out;
	}
	for (size_t i = 0; i < NNUMBERS; i += BATCH) {
		for (size_t j = i; j < i + BATCH && j < NNUMBERS; j++) {
			c.outstanding++;
			if (sp_router_resolve(rt, numbers[j], UINT64_MAX, NULL, NULL, on_resolved, &c) != 0)
				c.outstanding--, c.failed++;
		}
		if (wait_all(&c) != 0)
			goto out;
	}
	const struct sp_resolver_stats *st = sp_resolver_stats(res);
	printf("bench/dns_lookup: cache primed from an in-process server: %lu packets, %zu entries, "
	       "%lu failed\n", srv.queries, st->entries, c.failed);
	if (c.failed || st->entries != NNAMES + 5 * NNUMBERS) {
		fprintf(stderr, "bench/dns_lookup: priming failed (%lu failures, %zu entries, %d expected)\n",
			c.failed, st->entries, NNAMES + 5 * NNUMBERS);
		goto out;
	}

	if (show) {
		printf("bench/dns_lookup: the walk of one cached decision:\n");
		sp_router_resolve(rt, numbers[0], UINT64_MAX, print_step, NULL, on_resolved, &c);
	}

	/* (a) raw cached answers: every query must be a hit. */
	for (int run = 0; run < RUNS; run++) {
		uint64_t hits0 = st->cache_hits, sent0 = st->sent;
		unsigned long n = 0, answered0 = c.answered;
		size_t k = 0;
		double t0 = now(), dt;
		do {
			for (int i = 0; i < 10000; i++) {
				struct sp_dns_query *q;
				sp_resolver_query(res, names[k], types[k], on_dns, &c, &q);
				if (++k == NNAMES)
					k = 0;
			}
			n += 10000;
		} while ((dt = now() - t0) < min_s);
		if (st->cache_hits - hits0 != n || st->sent != sent0 || c.answered - answered0 != n) {
			fprintf(stderr, "bench/dns_lookup: a look-up missed the cache\n");
			goto out;
		}
		raw.r[run] = (double)n / dt;
		raw.iters = n;
	}

	/* (b) whole routing decisions from the cache: each must end at once,
	 * with a target. */
	for (int run = 0; run < RUNS; run++) {
		uint64_t sent0 = st->sent;
		unsigned long n = 0, answered0 = c.answered, failed0 = c.failed;
		size_t k = 0;
		double t0 = now(), dt;
		do {
			for (int i = 0; i < 1000; i++) {
				sp_router_resolve(rt, numbers[k], UINT64_MAX, NULL, NULL, on_resolved, &c);
				if (++k == NNUMBERS)
					k = 0;
			}
			n += 1000;
		} while ((dt = now() - t0) < min_s);
		if (st->sent != sent0 || c.answered - answered0 != n || c.failed != failed0) {
			fprintf(stderr, "bench/dns_lookup: a routing decision was not answered from the cache\n");
			goto out;
		}
		route.r[run] = (double)n / dt;
		route.iters = n;
	}

	printf("bench/dns_lookup: one core, thread CPU time; %d cached names (NAPTR, SRV, A), %d numbers "
	       "(ENUM NAPTR, NAPTR, SRV, A, AAAA each cached)\n", NNAMES, NNUMBERS);
	double m = report("lookups", "lookup", &raw);
	report("decisions", "decision", &route);
	printf("goal: at least 1,000,000 cached look-ups per second per core: %s\n",
	       m >= 1e6 ? "met" : "NOT met");
	ret = 0;
out:
	sp_router_destroy(rt);
	sp_resolver_destroy(res);
	sp_config_free(cfg);
	if (srv.fd >= 0) {
		sp_loop_fd_del(c.loop, srv.fd);
		close(srv.fd);
	}
	sp_loop_destroy(c.loop);
	return ret;
}
