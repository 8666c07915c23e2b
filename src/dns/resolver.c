/* resolver.c: c-ares sends and receives on the loop's sockets and timers; answers are parsed here (dns/msg.c), cached by TTL and shared between identical queries. */
#include "dns/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/timer.h"

#define DEF_TIMEOUT_MS 800u
#define DEF_MAX_ENTRIES 4096u
#define DEF_MAX_TTL 86400u
#define DEF_MAX_NEG_TTL 300u

/* One cached answer: a name, a type and the records of that type. */
struct entry {
	struct sp_hnode node;
	struct entry *prev, *next; /* LRU: res->lru_head is the most recent */
	uint16_t type;
	enum sp_dns_status status; /* OK or NXDOMAIN: failures are not kept */
	uint64_t expires;          /* ms on the loop's clock */
	size_t n;
	struct sp_dns_rr *rr;
	char name[];
};

/* One name and type on its way, and everyone waiting for it. */
struct pending {
	struct sp_hnode node;
	struct sp_resolver *res;
	uint16_t type;
	struct sp_dns_query *waiters;
	struct pending *late_next; /* ended inside ares_query: delivered from a timer */
	int late_status;
	char name[];
};

struct sp_dns_query {
	struct pending *pq;
	struct sp_dns_query *next, *prev;
	sp_dns_h cb;
	void *arg;
	struct sp_dns_query **slot;
};

struct sp_resolver {
	struct sp_loop *loop;
	ares_channel channel;
	struct sp_timer timer;
	struct sp_resolver_cfg cfg;
	struct sp_htab cache, pending;
	struct entry *lru_head, *lru_tail;
	struct sp_resolver_stats stats;
	struct sp_dns_answer scratch; /* the parse of the latest packet */
	struct sp_log_ratelimit rl;
	bool destroying;
	/* c-ares may end queries inside ares_query (a send that fails at
	 * once ends every query of that server): those answers wait for a
	 * timer, so no callback runs nested in a caller that is asking. */
	bool asking;
	struct pending *late;
	struct sp_timer late_timer;
};

const char *sp_dns_type_name(uint16_t type)
{
	switch (type) {
	case SP_DNS_A: return "A";
	case SP_DNS_AAAA: return "AAAA";
	case SP_DNS_CNAME: return "CNAME";
	case SP_DNS_SOA: return "SOA";
	case SP_DNS_SRV: return "SRV";
	case SP_DNS_NAPTR: return "NAPTR";
	}
	return "?";
}

/* Host names as DNS queries take them: letters, digits, '-', '_' (SRV
 * labels), dots between non-empty labels of at most 63. */
static bool valid_name(const char *name)
{
	size_t len = strlen(name), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

static uint64_t key_hash(const char *name, uint16_t type)
{
	return sp_hash_mix(sp_hash_case(name, strlen(name)), type);
}

/* ---- the cache ------------------------------------------------------------ */

static void lru_unlink(struct sp_resolver *res, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		res->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		res->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct sp_resolver *res, struct entry *e)
{
	e->prev = NULL;
	e->next = res->lru_head;
	if (res->lru_head)
		res->lru_head->prev = e;
	res->lru_head = e;
	if (!res->lru_tail)
		res->lru_tail = e;
}

static void entry_drop(struct sp_resolver *res, struct entry *e)
{
	sp_htab_remove(&res->cache, &e->node);
	lru_unlink(res, e);
	free(e->rr);
	free(e);
	res->stats.entries--;
}

static struct entry *cache_find(struct sp_resolver *res, const char *name, uint16_t type)
{
	uint64_t h = key_hash(name, type);
	for (struct sp_hnode *n = sp_htab_first(&res->cache, h); n; n = sp_htab_next(n)) {
		struct entry *e = (struct entry *)n;
		if (e->type == type && strcasecmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

static void cache_put(struct sp_resolver *res, const char *name, uint16_t type,
		      enum sp_dns_status status, const struct sp_dns_rr *rr, size_t n, uint32_t ttl)
{
	struct entry *e = cache_find(res, name, type);
	if (e)
		entry_drop(res, e);
	if (ttl == 0 || res->cfg.max_entries == 0)
		return;
	while (res->stats.entries >= res->cfg.max_entries && res->lru_tail) {
		entry_drop(res, res->lru_tail);
		res->stats.evictions++;
	}
	size_t nl = strlen(name) + 1;
	if (!(e = calloc(1, sizeof(*e) + nl)))
		return;
	if (n && !(e->rr = malloc(n * sizeof(*rr)))) {
		free(e);
		return;
	}
	if (n)
		memcpy(e->rr, rr, n * sizeof(*rr));
	e->n = n;
	e->type = type;
	e->status = status;
	e->expires = sp_loop_now(res->loop) + (uint64_t)ttl * 1000u;
	memcpy(e->name, name, nl);
	sp_htab_insert(&res->cache, &e->node, key_hash(name, type));
	lru_push(res, e);
	res->stats.entries++;
}

void sp_resolver_flush(struct sp_resolver *res)
{
	while (res->lru_head)
		entry_drop(res, res->lru_head);
}

/* ---- c-ares on the loop ----------------------------------------------------- */

static void on_timer(struct sp_timer *t, void *arg);

/* After c-ares did anything: its next timeout on the loop's timer heap. */
static void rearm(struct sp_resolver *res)
{
	struct timeval tv, *tvp = ares_timeout(res->channel, NULL, &tv);
	if (!tvp) {
		sp_timer_stop(sp_loop_timers(res->loop), &res->timer);
		return;
	}
	uint64_t ms = (uint64_t)tvp->tv_sec * 1000u + (uint64_t)tvp->tv_usec / 1000u + 1u;
	sp_timer_start(sp_loop_timers(res->loop), &res->timer, sp_loop_now(res->loop) + ms,
		       on_timer, res);
}

static void on_timer(struct sp_timer *t, void *arg)
{
	struct sp_resolver *res = arg;
	ares_process_fd(res->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(res);
}

static void on_io(int fd, unsigned events, void *arg)
{
	struct sp_resolver *res = arg;
	ares_socket_t r = (events & (SP_IO_READ | SP_IO_ERROR)) ? fd : ARES_SOCKET_BAD;
	ares_socket_t w = (events & SP_IO_WRITE) ? fd : ARES_SOCKET_BAD;
	ares_process_fd(res->channel, r, w);
	rearm(res);
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct sp_resolver *res = data;
	unsigned ev = (readable ? SP_IO_READ : 0) | (writable ? SP_IO_WRITE : 0);
	if (!ev) {
		sp_loop_fd_del(res->loop, fd);
		return;
	}
	if (sp_loop_fd_mod(res->loop, fd, ev) == SP_ENOENT &&
	    sp_loop_fd_add(res->loop, fd, ev, on_io, res) != 0)
		sp_log(SP_LOG_ERR, "dns: cannot watch socket %d", (int)fd);
}

/* ---- answers -------------------------------------------------------------- */

static void pending_free(struct sp_resolver *res, struct pending *pq)
{
	struct sp_dns_query *w;
	/* The resolver is going: the waiters' owners cancelled theirs or are
	 * gone too, so their slots are not touched. */
	while ((w = pq->waiters)) {
		pq->waiters = w->next;
		free(w);
	}
	free(pq);
	res->stats.pending--;
}

/* Hands the result to every waiter, one by one: a callback may start new
 * queries (for this very name too: the pending entry is already out of the
 * table) and cancel other waiters. */
static void deliver(struct sp_resolver *res, struct pending *pq, const struct sp_dns_result *r)
{
	struct sp_dns_query *w;
	if (r->status == SP_DNS_FAILED)
		res->stats.failures++;
	while ((w = pq->waiters)) {
		pq->waiters = w->next;
		if (w->next)
			w->next->prev = NULL;
		if (w->slot)
			*w->slot = NULL;
		sp_dns_h cb = w->cb;
		void *arg = w->arg;
		free(w);
		cb(arg, r);
	}
	free(pq);
	res->stats.pending--;
}

static const char *ares_why(int status)
{
	switch (status) {
	case ARES_ETIMEOUT: return "timeout";
	case ARES_ECONNREFUSED: return "connection refused";
	case ARES_ESERVFAIL: return "SERVFAIL";
	case ARES_EREFUSED: return "REFUSED";
	case ARES_ENOTIMP: return "NOTIMP";
	case ARES_EFORMERR: return "FORMERR";
	case ARES_EBADRESP: return "bad response";
	case ARES_ECANCELLED: return "cancelled";
	}
	return ares_strerror(status);
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

static void on_late(struct sp_timer *t, void *arg)
{
	struct sp_resolver *res = arg;
	struct pending *pq;
	while ((pq = res->late)) {
		res->late = pq->late_next;
		on_answer(pq, pq->late_status, 0, NULL, 0);
	}
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct pending *pq = arg;
	struct sp_resolver *res = pq->res;
	struct sp_dns_answer *a = &res->scratch;
	struct sp_dns_result r = { .status = SP_DNS_FAILED };
	struct sp_dns_rr *rr = NULL;
	size_t n = 0;

	if (res->destroying) {
		pending_free(res, pq);
		return;
	}
	if (res->asking) {
		/* Only a failure can come back inside ares_query: no packet. */
		pq->late_status = status;
		pq->late_next = res->late;
		res->late = pq;
		sp_timer_start(sp_loop_timers(res->loop), &res->late_timer, sp_loop_now(res->loop),
			       on_late, res);
		return;
	}
	sp_htab_remove(&res->pending, &pq->node);
	/* ares_query hands over the packet also for NXDOMAIN and NODATA
	 * (ARES_ENOTFOUND, ARES_ENODATA): its rcode is read here. */
	if (!abuf || alen <= 0) {
		r.why = ares_why(status);
	} else if (sp_dns_parse(abuf, (size_t)alen, a) != 0) {
		res->stats.malformed++;
		r.why = "malformed answer";
		uint64_t supp = 0;
		if (sp_log_ratelimit(&res->rl, sp_loop_now(res->loop), &supp))
			sp_log(SP_LOG_WARN, "dns: malformed answer for %s %s refused (%" PRIu64
			       " more not logged)", pq->name, sp_dns_type_name(pq->type), supp);
	} else if (a->rcode == SP_DNS_NXDOMAIN) {
		r.status = SP_DNS_NONAME;
		r.ttl = a->neg_ttl < res->cfg.max_neg_ttl ? a->neg_ttl : res->cfg.max_neg_ttl;
	} else if (a->rcode != SP_DNS_NOERROR) {
		r.why = a->rcode == SP_DNS_SERVFAIL ? "SERVFAIL" : "error answer";
	} else {
		/* The records of the type asked, wherever the CNAME chain led;
		 * the rest stays out, in place in the scratch answer. */
		for (size_t i = 0; i < a->n; i++)
			if (a->rr[i].type == pq->type && n++ != i)
				a->rr[n - 1] = a->rr[i];
		a->n = n;
		rr = a->rr;
		r.status = SP_DNS_OK;
		if (n) {
			uint32_t t = sp_dns_min_ttl(a, pq->type);
			r.ttl = t < res->cfg.max_ttl ? t : res->cfg.max_ttl;
		} else {
			r.ttl = a->neg_ttl < res->cfg.max_neg_ttl ? a->neg_ttl : res->cfg.max_neg_ttl;
		}
	}
	r.rr = rr;
	r.n = n;
	if (r.status != SP_DNS_FAILED)
		cache_put(res, pq->name, pq->type, r.status, rr, n, r.ttl);
	deliver(res, pq, &r);
}

const struct sp_dns_answer *sp_dns_result_answer(const struct sp_dns_result *r)
{
	static _Thread_local struct sp_dns_answer a;
	a.rcode = SP_DNS_NOERROR;
	a.n = r->n < SP_DNS_MAX_RR ? r->n : SP_DNS_MAX_RR;
	if (a.n)
		memcpy(a.rr, r->rr, a.n * sizeof(a.rr[0]));
	return &a;
}

/* ---- queries ---------------------------------------------------------------- */

int sp_resolver_query(struct sp_resolver *res, const char *name, uint16_t type, sp_dns_h cb,
		      void *arg, struct sp_dns_query **q)
{
	*q = NULL;
	res->stats.queries++;
	if (!valid_name(name))
		return SP_EINVAL;
	struct entry *e = cache_find(res, name, type);
	uint64_t now = sp_loop_now(res->loop);
	if (e && e->expires <= now) {
		entry_drop(res, e);
		e = NULL;
	}
	if (e) {
		lru_unlink(res, e);
		lru_push(res, e);
		res->stats.cache_hits++;
		struct sp_dns_result r = { .status = e->status, .rr = e->rr, .n = e->n,
					   .cached = true,
					   .ttl = (uint32_t)((e->expires - now + 999u) / 1000u) };
		cb(arg, &r);
		return 0;
	}

	struct pending *pq = NULL;
	uint64_t h = key_hash(name, type);
	for (struct sp_hnode *n = sp_htab_first(&res->pending, h); n; n = sp_htab_next(n)) {
		struct pending *c = (struct pending *)n;
		if (c->type == type && strcasecmp(c->name, name) == 0) {
			pq = c;
			break;
		}
	}
	struct sp_dns_query *w = calloc(1, sizeof(*w));
	if (!w)
		return SP_ENOMEM;
	w->cb = cb;
	w->arg = arg;
	w->slot = q;
	bool fresh = !pq;
	if (pq) {
		res->stats.coalesced++;
	} else {
		if (res->stats.pending >= SP_DNS_MAX_PENDING) {
			free(w);
			return SP_E2BIG;
		}
		size_t nl = strlen(name) + 1;
		if (!(pq = calloc(1, sizeof(*pq) + nl))) {
			free(w);
			return SP_ENOMEM;
		}
		pq->res = res;
		pq->type = type;
		memcpy(pq->name, name, nl);
		sp_htab_insert(&res->pending, &pq->node, h);
		res->stats.pending++;
	}
	w->pq = pq;
	w->next = pq->waiters;
	if (w->next)
		w->next->prev = w;
	pq->waiters = w;
	*q = w;
	if (fresh) {
		res->stats.sent++;
		/* ares_query may call on_answer at once (a closed channel, a
		 * name it refuses): *q is then already cleared. */
		res->asking = true;
		ares_query(res->channel, pq->name, 1 /* C_IN */, type, on_answer, pq);
		res->asking = false;
		rearm(res);
	}
	return 0;
}

void sp_dns_query_cancel(struct sp_dns_query **q)
{
	struct sp_dns_query *w = q ? *q : NULL;
	if (!w)
		return;
	struct pending *pq = w->pq;
	if (w->prev)
		w->prev->next = w->next;
	else
		pq->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	*q = NULL;
	free(w);
}

const struct sp_resolver_stats *sp_resolver_stats(const struct sp_resolver *res)
{
	return &res->stats;
}

/* ---- life ------------------------------------------------------------------- */

int sp_resolver_create(struct sp_loop *loop, const struct sp_resolver_cfg *cfg,
		       struct sp_resolver **out)
{
	struct sp_resolver *res = calloc(1, sizeof(*res));
	struct ares_options opt;
	int mask, st;

	if (!res)
		return SP_ENOMEM;
	res->loop = loop;
	res->cfg = *cfg;
	if (!res->cfg.timeout_ms)
		res->cfg.timeout_ms = DEF_TIMEOUT_MS;
	if (!res->cfg.max_ttl)
		res->cfg.max_ttl = DEF_MAX_TTL;
	if (!res->cfg.max_neg_ttl)
		res->cfg.max_neg_ttl = DEF_MAX_NEG_TTL;
	res->cfg.servers = NULL;
	sp_htab_init(&res->cache);
	sp_htab_init(&res->pending);
	sp_timer_init(&res->timer);
	sp_timer_init(&res->late_timer);

	if ((st = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		sp_log(SP_LOG_ERR, "dns: c-ares: %s", ares_strerror(st));
		free(res);
		return SP_ENOMEM;
	}
	memset(&opt, 0, sizeof(opt));
	/* Two rounds over the servers within the query's time: c-ares asks
	 * each server in turn and doubles the wait on the second round, so
	 * one attempt gets timeout / (3 x servers). */
	unsigned ns = cfg->nservers ? (unsigned)(cfg->nservers < 4 ? cfg->nservers : 4) : 1u;
	opt.timeout = (int)(res->cfg.timeout_ms / (3u * ns) ? res->cfg.timeout_ms / (3u * ns) : 1u);
	opt.tries = 2;
	opt.sock_state_cb = sock_state;
	opt.sock_state_cb_data = res;
	opt.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS;
	if ((st = ares_init_options(&res->channel, &opt, mask)) != ARES_SUCCESS) {
		sp_log(SP_LOG_ERR, "dns: c-ares: %s", ares_strerror(st));
		ares_library_cleanup();
		free(res);
		return SP_ENOMEM;
	}
	if (cfg->nservers) {
		struct ares_addr_port_node srv[4];
		size_t n = cfg->nservers < 4 ? cfg->nservers : 4;
		memset(srv, 0, sizeof(srv));
		for (size_t i = 0; i < n; i++) {
			const struct sp_sockaddr *a = &cfg->servers[i];
			if (a->u.sa.sa_family == AF_INET6) {
				srv[i].family = AF_INET6;
				memcpy(&srv[i].addr.addr6, &a->u.in6.sin6_addr, 16);
			} else {
				srv[i].family = AF_INET;
				memcpy(&srv[i].addr.addr4, &a->u.in.sin_addr, 4);
			}
			srv[i].udp_port = srv[i].tcp_port = sp_sockaddr_port(a);
			srv[i].next = i + 1 < n ? &srv[i + 1] : NULL;
		}
		if ((st = ares_set_servers_ports(res->channel, srv)) != ARES_SUCCESS) {
			sp_log(SP_LOG_ERR, "dns: resolver address: %s", ares_strerror(st));
			ares_destroy(res->channel);
			ares_library_cleanup();
			free(res);
			return SP_EINVAL;
		}
	}
	*out = res;
	return 0;
}

void sp_resolver_destroy(struct sp_resolver *res)
{
	if (!res)
		return;
	res->destroying = true;
	sp_timer_stop(sp_loop_timers(res->loop), &res->timer);
	sp_timer_stop(sp_loop_timers(res->loop), &res->late_timer);
	while (res->late) {
		struct pending *pq = res->late;
		res->late = pq->late_next;
		pending_free(res, pq);
	}
	ares_destroy(res->channel); /* on_answer frees every pending query */
	ares_library_cleanup();
	sp_resolver_flush(res);
	sp_htab_free(&res->cache);
	sp_htab_free(&res->pending);
	free(res);
}
