/* locate.c: the steps of RFC 3263 section 4 as a small state machine over the resolver's asynchronous answers. */
#include "dns/locate.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/err.h"
#include "dns/srv.h"

#define MAX_NAPTR 8
#define MAX_SRV 8

enum state {
	S_START,
	S_NAPTR,     /* asking NAPTR of the host */
	S_NAPTR_SRV, /* asking SRV of the NAPTR choices, in order */
	S_SRV_DEF,   /* asking the default SRV names, in order */
	S_SRV_ADDR,  /* addresses of the SRV targets, in order */
	S_HOST_ADDR, /* addresses of the host itself */
	S_DONE,
};

struct sp_locate {
	struct sp_resolver *res;
	sp_locate_h cb;
	void *arg;
	sp_dns_trace_h trace;
	void *trace_arg;
	struct sp_locate **slot;
	struct sp_dns_query *q;
	char host[SP_DNS_NAME_MAX];
	uint16_t port;
	enum sp_proto proto;
	bool sips;

	enum state st;
	bool waiting;  /* a query is on its way */
	bool running;  /* inside advance(): a synchronous answer only moves the state */
	bool failed;   /* a look-up failed */
	size_t step;   /* index within the state (NAPTR choice, SRV name, target) */
	bool aaaa;     /* S_*_ADDR: asking AAAA (after A) */
	struct sp_sip_naptr naptr[MAX_NAPTR];
	size_t nnaptr;
	struct sp_srv_target srv[MAX_SRV];
	size_t nsrv;
	enum sp_proto srv_proto;
	struct sp_locate_result out;
};

static void trace(struct sp_locate *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(struct sp_locate *l, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	if (!l->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	l->trace(l->trace_arg, line);
}

static uint32_t rnd(void *arg)
{
	static _Thread_local uint64_t s;
	if (!s && (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s) || !s))
		s = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&s;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return (uint32_t)(s >> 16);
}

static uint16_t default_port(enum sp_proto proto)
{
	return proto == SP_PROTO_TLS ? 5061 : 5060;
}

static void add_target(struct sp_locate *l, enum sp_proto proto, const void *ip, bool v6,
		       uint16_t port, const char *name)
{
	if (l->out.n >= SP_LOCATE_MAX)
		return;
	struct sp_locate_target *t = &l->out.t[l->out.n];
	memset(t, 0, sizeof(*t));
	if (v6) {
		t->addr.u.in6.sin6_family = AF_INET6;
		memcpy(&t->addr.u.in6.sin6_addr, ip, 16);
		t->addr.len = sizeof(struct sockaddr_in6);
	} else {
		t->addr.u.in.sin_family = AF_INET;
		memcpy(&t->addr.u.in.sin_addr, ip, 4);
		t->addr.len = sizeof(struct sockaddr_in);
	}
	sp_sockaddr_set_port(&t->addr, port);
	/* The same address twice (two SRV names for one host) is tried once. */
	for (size_t i = 0; i < l->out.n; i++)
		if (l->out.t[i].proto == proto && sp_sockaddr_eq(&l->out.t[i].addr, &t->addr))
			return;
	t->proto = proto;
	snprintf(t->host, sizeof(t->host), "%s", name);
	l->out.n++;
}

static const char *srv_name(enum sp_proto proto)
{
	return proto == SP_PROTO_TLS ? "_sips._tcp" : proto == SP_PROTO_TCP ? "_sip._tcp" :
	       "_sip._udp";
}

static void advance(struct sp_locate *l);

/* The answer to the question of the current state. */
static void on_dns(void *arg, const struct sp_dns_result *r)
{
	struct sp_locate *l = arg;
	const char *src = r->cached ? " (cached)" : "";
	char name[SP_DNS_NAME_MAX + 16];

	l->waiting = false;
	if (r->status == SP_DNS_FAILED) {
		l->failed = true;
		trace(l, "  failed: %s", r->why ? r->why : "no answer");
	}
	switch (l->st) {
	case S_NAPTR:
		l->nnaptr = 0;
		if (r->status == SP_DNS_OK && r->n) {
			l->nnaptr = sp_sip_naptr_choices(sp_dns_result_answer(r), l->sips, l->naptr,
							 MAX_NAPTR);
		}
		trace(l, "  NAPTR %s: %s%zu record%s, %zu for SIP%s", l->host,
		      r->status == SP_DNS_NONAME ? "NXDOMAIN, " : "", r->n, r->n == 1 ? "" : "s",
		      l->nnaptr, src);
		for (size_t i = 0; i < l->nnaptr; i++)
			trace(l, "    order %u pref %u %s -> %s", l->naptr[i].order,
			      l->naptr[i].preference, sp_proto_name(l->naptr[i].proto), l->naptr[i].srv);
		if (r->status == SP_DNS_NONAME) {
			/* The domain does not exist: SRV and A would say the same. */
			l->st = S_DONE;
			break;
		}
		l->st = l->nnaptr ? S_NAPTR_SRV : S_SRV_DEF;
		l->step = 0;
		break;
	case S_NAPTR_SRV:
	case S_SRV_DEF:
		l->nsrv = 0;
		if (r->status == SP_DNS_OK && r->n) {
			l->nsrv = sp_srv_order(sp_dns_result_answer(r), l->srv, MAX_SRV, rnd, NULL);
		}
		if (l->st == S_NAPTR_SRV)
			snprintf(name, sizeof(name), "%s", l->naptr[l->step].srv);
		else
			snprintf(name, sizeof(name), "%s.%s", srv_name(l->srv_proto), l->host);
		trace(l, "  SRV %s: %s%zu target%s%s", name,
		      r->status == SP_DNS_NONAME ? "NXDOMAIN, " : "", l->nsrv,
		      l->nsrv == 1 ? "" : "s", src);
		for (size_t i = 0; i < l->nsrv; i++)
			trace(l, "    priority %u weight %u port %u %s", l->srv[i].priority,
			      l->srv[i].weight, l->srv[i].port, l->srv[i].target);
		if (l->nsrv) {
			l->st = S_SRV_ADDR;
			l->step = 0;
			l->aaaa = false;
		} else {
			l->step++;
		}
		break;
	case S_SRV_ADDR:
	case S_HOST_ADDR: {
		const char *host = l->st == S_SRV_ADDR ? l->srv[l->step].target : l->host;
		uint16_t port = l->st == S_SRV_ADDR ? l->srv[l->step].port :
				l->port ? l->port : default_port(l->srv_proto);
		char ip[64];
		size_t shown = 0;
		ip[0] = '\0';
		for (size_t i = 0; r->status == SP_DNS_OK && i < r->n; i++) {
			const struct sp_dns_rr *rr = &r->rr[i];
			if (rr->type != (l->aaaa ? SP_DNS_AAAA : SP_DNS_A))
				continue;
			add_target(l, l->srv_proto, l->aaaa ? (const void *)rr->u.aaaa :
				   (const void *)rr->u.a, l->aaaa, port, host);
			if (shown++ == 0)
				inet_ntop(l->aaaa ? AF_INET6 : AF_INET,
					  l->aaaa ? (const void *)rr->u.aaaa : (const void *)rr->u.a,
					  ip, sizeof(ip));
		}
		trace(l, "  %s %s: %s%s%s%s", l->aaaa ? "AAAA" : "A", host,
		      r->status == SP_DNS_NONAME ? "NXDOMAIN" : shown ? ip : "none",
		      shown > 1 ? " and more" : "", src, "");
		if (!l->aaaa && r->status != SP_DNS_NONAME) {
			l->aaaa = true;
		} else {
			l->aaaa = false;
			if (l->st == S_SRV_ADDR && ++l->step < l->nsrv)
				break;
			l->st = S_DONE;
		}
		break;
	}
	default:
		break;
	}
	advance(l);
}

static void ask(struct sp_locate *l, const char *name, uint16_t type)
{
	l->waiting = true;
	int err = sp_resolver_query(l->res, name, type, on_dns, l, &l->q);
	if (err) {
		/* Not even asked (a bad name, too many queries): a failed step. */
		struct sp_dns_result r = { .status = SP_DNS_FAILED,
					   .why = err == SP_EINVAL ? "not a host name" : "resolver busy" };
		on_dns(l, &r);
	}
}

/* One question for the current state, or the end. */
static void step(struct sp_locate *l)
{
	char name[SP_DNS_NAME_MAX + 16];
	switch (l->st) {
	case S_START: {
		struct sp_sockaddr a;
		enum sp_proto proto = l->proto ? l->proto : l->sips ? SP_PROTO_TLS : SP_PROTO_UDP;
		if (sp_sockaddr_from_host(sp_str_cstr(l->host), l->port ? l->port : default_port(proto),
					  &a) == 0) {
			/* A numeric host: no DNS at all. */
			add_target(l, proto, a.u.sa.sa_family == AF_INET6 ?
				   (const void *)&a.u.in6.sin6_addr : (const void *)&a.u.in.sin_addr,
				   a.u.sa.sa_family == AF_INET6, sp_sockaddr_port(&a), l->host);
			trace(l, "  %s is an address: no DNS", l->host);
			l->st = S_DONE;
		} else if (l->port) {
			l->srv_proto = proto;
			trace(l, "  port %u given: A/AAAA only, %s", l->port, sp_proto_name(proto));
			l->st = S_HOST_ADDR;
		} else if (l->proto) {
			l->srv_proto = l->proto;
			trace(l, "  transport %s given: SRV only", sp_proto_name(l->proto));
			l->st = S_SRV_DEF;
			l->step = 2; /* see S_SRV_DEF: the one service of that transport */
		} else {
			l->st = S_NAPTR;
		}
		return;
	}
	case S_NAPTR:
		ask(l, l->host, SP_DNS_NAPTR);
		return;
	case S_NAPTR_SRV:
		if (l->step >= l->nnaptr) {
			/* No NAPTR led to an SRV target: RFC 3263 says the NAPTR
			 * records are all there is, but a server with no SRV
			 * behind them is better reached by A than not at all,
			 * over the transport its best NAPTR named. */
			l->srv_proto = l->naptr[0].proto;
			l->st = S_HOST_ADDR;
			return;
		}
		l->srv_proto = l->naptr[l->step].proto;
		ask(l, l->naptr[l->step].srv, SP_DNS_SRV);
		return;
	case S_SRV_DEF: {
		/* The services to try, in order; an explicit transport starts
		 * at step 2 and tries only its own. */
		static const enum sp_proto order[] = { SP_PROTO_UDP, SP_PROTO_TCP, SP_PROTO_TLS };
		enum sp_proto p;
		if (l->proto) {
			if (l->step > 2) {
				l->st = S_HOST_ADDR;
				return;
			}
			p = l->proto;
		} else if (l->sips) {
			if (l->step > 0) {
				l->srv_proto = SP_PROTO_TLS;
				l->st = S_HOST_ADDR;
				return;
			}
			p = SP_PROTO_TLS;
		} else {
			if (l->step >= 3) {
				l->srv_proto = SP_PROTO_UDP;
				l->st = S_HOST_ADDR;
				return;
			}
			p = order[l->step];
		}
		l->srv_proto = p;
		snprintf(name, sizeof(name), "%s.%s", srv_name(p), l->host);
		ask(l, name, SP_DNS_SRV);
		return;
	}
	case S_SRV_ADDR:
		ask(l, l->srv[l->step].target, l->aaaa ? SP_DNS_AAAA : SP_DNS_A);
		return;
	case S_HOST_ADDR:
		ask(l, l->host, l->aaaa ? SP_DNS_AAAA : SP_DNS_A);
		return;
	case S_DONE:
		return;
	}
}

static void finish(struct sp_locate *l)
{
	struct sp_locate_result *out = &l->out;
	out->status = out->n ? 0 : l->failed ? SP_EAGAIN : SP_ENOENT;
	for (size_t i = 0; i < out->n; i++) {
		char a[SP_SOCKADDR_STRLEN];
		sp_sockaddr_fmt(&out->t[i].addr, true, false, a, sizeof(a));
		trace(l, "  -> %s %s (%s)", sp_proto_name(out->t[i].proto), a, out->t[i].host);
	}
	if (!out->n)
		trace(l, "  -> nothing%s", l->failed ? " (a look-up failed)" : "");
	*l->slot = NULL;
	sp_locate_h cb = l->cb;
	void *arg = l->arg;
	struct sp_locate_result r = *out;
	free(l);
	cb(arg, &r);
}

/* Runs the steps until one waits for the network; an answer from the
 * cache comes back inside step() and only moves the state on. */
static void advance(struct sp_locate *l)
{
	if (l->running)
		return;
	l->running = true;
	while (l->st != S_DONE && !l->waiting)
		step(l);
	l->running = false;
	if (l->st == S_DONE && !l->waiting)
		finish(l);
}

int sp_locate_start(struct sp_resolver *res, const struct sp_locate_req *req, sp_locate_h cb,
		    void *arg, sp_dns_trace_h tr, void *trace_arg, struct sp_locate **slot)
{
	struct sp_locate *l = calloc(1, sizeof(*l));
	if (!l)
		return SP_ENOMEM;
	l->res = res;
	l->cb = cb;
	l->arg = arg;
	l->trace = tr;
	l->trace_arg = trace_arg;
	l->slot = slot;
	snprintf(l->host, sizeof(l->host), "%s", req->host);
	/* An absolute name ("example.com.") is the same name. */
	size_t hl = strlen(l->host);
	if (hl > 1 && l->host[hl - 1] == '.')
		l->host[hl - 1] = '\0';
	/* Names compare and cache in lower case. */
	for (char *c = l->host; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	l->port = req->port;
	l->proto = req->proto;
	l->sips = req->sips;
	if (l->sips && l->proto && l->proto != SP_PROTO_TLS)
		l->proto = SP_PROTO_TLS; /* sips: only over TLS (RFC 3263 section 4.1) */
	*slot = l;
	trace(l, "locate %s%s%s%s", req->sips ? "sips:" : "sip:", l->host,
	      l->port ? " port given" : "", l->proto ? " transport given" : "");
	advance(l);
	return 0;
}

void sp_locate_cancel(struct sp_locate **slot)
{
	struct sp_locate *l = slot ? *slot : NULL;
	if (!l)
		return;
	sp_dns_query_cancel(&l->q);
	*slot = NULL;
	free(l);
}
