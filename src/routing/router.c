/* router.c: local users first (the location service), then the configured routes in order. */
#include "routing/router.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/timer.h"
#include "dns/enum_query.h"
#include "dns/locate.h"
#include "sip/uri.h"

#define SP_ROUTER_FAILED_MAX 64      /* failed DNS targets remembered */
#define SP_ROUTER_FAILED_MS 30000u   /* and tried last for this long */
#define SP_ROUTER_MAX_WALKS 8192u    /* requests waiting for DNS at once */
#define SP_ROUTER_MAX_HOPS 1024u     /* next hops given by name being located at once */

struct sp_router_failed {
	uint32_t tag; /* SP_ROUTER_TAG_DNS | the domain's hash */
	enum sp_proto proto;
	struct sp_sockaddr addr;
	uint64_t until; /* ms, sp_now_ms() */
};

struct lookup;

struct sp_router {
	const struct sp_config *cfg;
	struct sp_registrar *reg;
	struct sp_numbering plan;
	sp_router_host_up_h host_up;
	void *host_up_arg;
	struct sp_resolver *res;   /* NULL: no DNS (enum/dns routes use static entries only) */
	struct sp_timers *timers;
	uint32_t budget_ms;
	bool (*is_ours)(void *arg, struct sp_str host);
	void *is_ours_arg;
	sp_router_tls_names_h tls_names;
	void *tls_names_arg;
	struct lookup *lookups;    /* walks waiting for DNS */
	size_t nlookups, nhops;    /* in that list; of them, next-hop look-ups */
	/* Users by name and by number: open addressing, user index + 1 (0:
	 * empty), mask + 1 slots, at least twice the users. */
	uint32_t *by_name, *by_number;
	size_t mask;
	struct sp_router_failed failed[SP_ROUTER_FAILED_MAX];
	size_t failed_next;
	struct sp_router_stats stats;
};

void sp_router_set_health(struct sp_router *rt, sp_router_host_up_h h, void *arg)
{
	rt->host_up = h;
	rt->host_up_arg = arg;
}

static void copy_plan(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

int sp_router_create(const struct sp_config *cfg, struct sp_registrar *reg,
		     struct sp_router **out)
{
	struct sp_router *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return SP_ENOMEM;
	rt->cfg = cfg;
	rt->reg = reg;
	copy_plan(rt->plan.country_code, sizeof(rt->plan.country_code), cfg->numbering.country_code);
	copy_plan(rt->plan.national_prefix, sizeof(rt->plan.national_prefix),
		  cfg->numbering.national_prefix);
	copy_plan(rt->plan.international_prefix, sizeof(rt->plan.international_prefix),
		  cfg->numbering.international_prefix);
	/* Every request for a local user looks it up: a linear scan of
	 * 1,000 users was an eighth of a call's instructions. */
	size_t slots = 16;
	while (slots < cfg->user_count * 2)
		slots *= 2;
	rt->mask = slots - 1;
	rt->by_name = calloc(slots, sizeof(*rt->by_name));
	rt->by_number = calloc(slots, sizeof(*rt->by_number));
	if (!rt->by_name || !rt->by_number) {
		sp_router_destroy(rt);
		return SP_ENOMEM;
	}
	for (size_t i = 0; i < cfg->user_count; i++) {
		/* The first of equal names or numbers wins, as the scan did. */
		const char *keys[2] = { cfg->users[i].user, cfg->users[i].number };
		uint32_t *tab[2] = { rt->by_name, rt->by_number };
		for (int k = 0; k < 2; k++) {
			if (!keys[k])
				continue;
			size_t h = sp_hash(keys[k], strlen(keys[k])) & rt->mask;
			bool dup = false;
			while (tab[k][h] && !dup) {
				const struct sp_config_user *o = &cfg->users[tab[k][h] - 1];
				const char *ok = k ? o->number : o->user;
				dup = ok && strcmp(ok, keys[k]) == 0;
				h = (h + 1) & rt->mask;
			}
			if (!dup)
				tab[k][h] = (uint32_t)i + 1;
		}
	}
	*out = rt;
	return 0;
}

void sp_router_destroy(struct sp_router *rt)
{
	if (!rt)
		return;
	sp_router_shutdown(rt);
	free(rt->by_name);
	free(rt->by_number);
	free(rt);
}

/* A user by name (number: false) or number (true) in the index. */
static ptrdiff_t user_find(const struct sp_router *rt, struct sp_str key, bool number)
{
	const uint32_t *tab = number ? rt->by_number : rt->by_name;
	for (size_t h = sp_hash(key.p, key.len) & rt->mask; tab[h]; h = (h + 1) & rt->mask) {
		const struct sp_config_user *u = &rt->cfg->users[tab[h] - 1];
		const char *k = number ? u->number : u->user;
		if (k && sp_str_eq_c(key, k))
			return (ptrdiff_t)tab[h] - 1;
	}
	return -1;
}

ptrdiff_t sp_router_user_by_name(const struct sp_router *rt, struct sp_str name)
{
	return user_find(rt, name, false);
}

bool sp_router_user_number(const struct sp_router *rt, struct sp_str user, char *num, size_t size)
{
	char buf[SP_NUMBER_MAX + 8];
	size_t len;
	if (user.len == 0 || sp_uri_unescape(user, buf, sizeof(buf), &len) != 0)
		return false;
	return sp_number_normalize(&rt->plan, sp_str_make(buf, len), num, size);
}

/* The Request-URI's user part as a number, when it is one. */
static bool ruri_number(const struct sp_router *rt, const struct sp_uri *u, char *num, size_t size)
{
	return sp_router_user_number(rt, u->user, num, size);
}

ptrdiff_t sp_router_local_user(const struct sp_router *rt, const struct sp_proxy_req *r,
			       char *aor, size_t size)
{
	const struct sp_uri *u = sp_msg_ruri(r->msg);
	char num[SP_NUMBER_MAX + 16];
	ptrdiff_t found = -1;

	if (!u)
		return -1;
	if (u->scheme_id == SP_URI_TEL || r->for_us) {
		if (u->scheme_id != SP_URI_TEL)
			found = sp_router_user_by_name(rt, u->user);
		if (found < 0 && ruri_number(rt, u, num, sizeof(num)))
			found = user_find(rt, sp_str_cstr(num), true);
	}
	if (found >= 0)
		snprintf(aor, size, "sip:%s@%s", rt->cfg->users[found].user,
			 rt->cfg->domain_count ? rt->cfg->domains[0] : "localhost");
	return found;
}

/* RFC 1918, shared address space (RFC 6598), link-local, unique local
 * IPv6: addresses a phone behind NAT writes in its Contact but that cannot
 * be reached from here. */
static bool private_addr(const struct sp_sockaddr *a)
{
	if (a->u.sa.sa_family == AF_INET) {
		const uint8_t *b = (const uint8_t *)&a->u.in.sin_addr;
		return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		       (b[0] == 192 && b[1] == 168) || (b[0] == 100 && (b[1] & 0xc0) == 64) ||
		       (b[0] == 169 && b[1] == 254);
	}
	if (a->u.sa.sa_family == AF_INET6) {
		const uint8_t *b = a->u.in6.sin6_addr.s6_addr;
		return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
	}
	return false;
}

/* Where to send a request for one binding, when not simply to its Contact:
 * - registered over TCP or TLS: on that connection (the phone may accept no
 *   connection of its own, and behind NAT it cannot); the transport opens a
 *   new one to the Contact only when it is gone;
 * - registered over UDP with a private Contact from another address: to
 *   the address the REGISTER came from (the NAT's mapping), the way
 *   Kamailio's nathelper does it.
 * Path, when present, decides the next hop instead. Returns false to use
 * the Contact. */
static bool binding_dest(const struct sp_registrar_binding *b, struct sp_dest *out)
{
	struct sp_uri cu;
	struct sp_dest dst;

	if (!b->has_source || b->path.len || sp_uri_parse(b->contact, &cu) != 0 ||
	    sp_proxy_uri_dest(&cu, &dst) != 0)
		return false;
	if (sp_proto_reliable(b->source.proto)) {
		if (!b->source.conn || dst.proto != b->source.proto)
			return false;
		dst.conn = b->source.conn;
		*out = dst;
		return true;
	}
	if (dst.proto == SP_PROTO_UDP && private_addr(&dst.addr) &&
	    !sp_sockaddr_eq(&dst.addr, &b->source.addr) && !private_addr(&b->source.addr)) {
		*out = b->source;
		out->conn = 0;
		return true;
	}
	return false;
}

static uint16_t route_local(struct sp_router *rt, struct sp_proxy_req *r, const char *aor,
			    uint64_t now_s)
{
	struct sp_registrar_binding b[SP_PROXY_MAX_TARGETS];
	size_t n = 0;
	unsigned group = 0;
	uint16_t last_q = 0;

	sp_registrar_lookup(rt->reg, sp_str_cstr(aor), now_s, b, SP_PROXY_MAX_TARGETS, &n);
	if (n == 0)
		return 480;
	for (size_t i = 0; i < n; i++) {
		/* Equal q: parallel; lower q: a later serial group (RFC 3261 16.6). */
		if (i > 0 && b[i].q != last_q)
			group++;
		last_q = b[i].q;
		struct sp_dest dst;
		bool override = binding_dest(&b[i], &dst);
		struct sp_proxy_target t = { .uri = b[i].contact, .route = b[i].path,
					     .dst = override ? &dst : NULL, .group = group,
					     .tag = SP_ROUTER_TAG_LOCAL };
		if (sp_proxy_target_add_ex(r, &t) != 0)
			return 500;
	}
	return 0;
}

bool sp_router_ruri_number(const struct sp_router *rt, const struct sp_proxy_req *r, char *num,
			   size_t size)
{
	const struct sp_uri *u = sp_msg_ruri(r->msg);
	return u && ruri_number(rt, u, num, size) && num[0] == '+';
}

bool sp_router_number_is_ours(const struct sp_router *rt, const char *num)
{
	const struct sp_config *cfg = rt->cfg;
	for (size_t i = 0; i < cfg->number_count; i++)
		if (strncmp(num, cfg->numbers[i], strlen(cfg->numbers[i])) == 0)
			return true;
	return user_find(rt, sp_str_cstr(num), true) >= 0;
}

/* ---- the route walk ----------------------------------------------------------- */

/* One request's walk of the routes. It runs synchronously while every
 * answer it needs is at hand (static routes, the DNS cache); the first
 * DNS question that must go to the network makes it keep the request and
 * go on from the resolver's callbacks. */
struct lookup {
	struct lookup *prev, *next;     /* rt->lookups */
	struct sp_router *rt;
	struct sp_proxy_req *r;         /* while inside sp_router_route */
	struct sp_proxy_pending *pp;    /* after it: the kept request */
	sp_router_resolved_h done_cb;   /* sp_router_resolve: no request at all */
	void *done_arg;
	sp_proxy_located_h hop_done;    /* sp_router_locate_hop: one next hop */
	void *hop_ctx;
	sp_dns_trace_h trace;
	void *trace_arg;
	struct sp_timer budget;
	struct sp_enum_query *eq;
	struct sp_locate *lq;

	size_t route;                   /* the route being worked on */
	unsigned group;
	bool unsupported;               /* a route could not be used */
	bool failed;                    /* a look-up failed or ran out of time */
	bool running, waiting, done;
	bool inside;                    /* within the call that started it */
	bool is_hop;                    /* sp_router_locate_hop */
	size_t ntargets;
	ptrdiff_t peer;                 /* the peer whose hosts are being added, or -1 */
	size_t peer_host;               /* its next host */
	size_t peer_added;
	uint64_t peer_down;             /* its hosts the probes call down */
	char peer_uri[SP_ENUM_URI_MAX + 1];

	/* The Request-URI, as much of it as routing needs. */
	bool tel, sips, for_us, numeric;
	char host[SP_DNS_NAME_MAX];
	uint16_t port;
	enum sp_proto proto;
	char num[SP_NUMBER_MAX + 16];   /* "" when the user part is no number */
	uint64_t fed_mask;              /* federations whose private trees the caller may use */
	const char *trees[32];          /* ENUM suffixes, private first */
	size_t ntrees;
	char enum_uri[SP_ENUM_URI_MAX + 1]; /* the URI ENUM gave, while it is located */
	bool loc_pending;               /* lk_step locates loc_host next */
	char loc_host[SP_DNS_NAME_MAX];
	uint16_t loc_port;
	enum sp_proto loc_proto;
	bool loc_sips;
	char cid[96];                   /* Call-ID, for the log */
};

static void lk_trace(struct lookup *lk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lk_trace(struct lookup *lk, const char *fmt, ...)
{
	char line[768];
	va_list ap;
	if (!lk->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	lk->trace(lk->trace_arg, line);
}

/* A target goes to the request (during sp_router_route), to the kept
 * request (later), or to the trace (sp_router_resolve). */
static int lk_add(struct lookup *lk, const struct sp_proxy_target *t)
{
	int err = 0;
	lk->ntargets++;
	if (lk->r)
		err = sp_proxy_target_add_ex(lk->r, t);
	else if (lk->pp)
		err = sp_proxy_pending_target_add(lk->pp, t);
	if (lk->trace) {
		char a[SP_SOCKADDR_STRLEN] = "";
		if (t->dst)
			sp_sockaddr_fmt(&t->dst->addr, true, false, a, sizeof(a));
		/* Lower case, like ;transport= values. */
		const char *proto = !t->dst ? "route" : t->dst->proto == SP_PROTO_TLS ? "tls" :
				    t->dst->proto == SP_PROTO_TCP ? "tcp" : "udp";
		lk_trace(lk, "target %zu: %s %s%s%.*s%s", lk->ntargets, proto,
			 t->dst ? a : "", t->uri.len ? " uri " : "", (int)t->uri.len, t->uri.p,
			 (t->flags & SP_PROXY_T_UNTRUSTED) ? " (outside the trust domain)" : "");
	}
	return err;
}

/* ---- failed targets: tried last for a while ---- */

static bool target_failed_recently(const struct sp_router *rt, uint32_t tag, enum sp_proto proto,
				   const struct sp_sockaddr *addr, uint64_t now)
{
	for (size_t i = 0; i < SP_ROUTER_FAILED_MAX; i++) {
		const struct sp_router_failed *f = &rt->failed[i];
		if (f->until > now && f->tag == tag && f->proto == proto &&
		    sp_sockaddr_eq(&f->addr, addr))
			return true;
	}
	return false;
}

void sp_router_target_failed(struct sp_router *rt, uint32_t tag, const struct sp_dest *dst,
			     uint64_t now_ms)
{
	if (!(tag & SP_ROUTER_TAG_DNS))
		return; /* peers have their probes; fixed routes are fixed */
	struct sp_router_failed *f = NULL;
	for (size_t i = 0; i < SP_ROUTER_FAILED_MAX && !f; i++)
		if (rt->failed[i].tag == tag && rt->failed[i].proto == dst->proto &&
		    sp_sockaddr_eq(&rt->failed[i].addr, &dst->addr))
			f = &rt->failed[i];
	if (!f) {
		f = &rt->failed[rt->failed_next];
		rt->failed_next = (rt->failed_next + 1) % SP_ROUTER_FAILED_MAX;
	}
	f->tag = tag;
	f->proto = dst->proto;
	f->addr = dst->addr;
	f->until = now_ms + SP_ROUTER_FAILED_MS;
}

/* A configured peer's hosts, in order, one serial group each: the next is
 * tried only when the one before gave no answer (408, 503, timeout,
 * transport error). Numbers go as sip:+E164@domain;user=phone, unless ENUM
 * gave the URI (uri_given). A host given by name is located by RFC 3263
 * (its addresses join the list there). Numeric hosts marked down by the
 * health probes are left out while another host gave a target. When the
 * peer's hosts are all in, the walk goes on with the next route. */
static void route_peer(struct lookup *lk, size_t pi, const char *uri_given)
{
	const struct sp_config_peer *peer = &lk->rt->cfg->peers[pi];
	const char *num = lk->num[0] ? lk->num : NULL;

	lk->peer = (ptrdiff_t)pi;
	lk->peer_host = 0;
	lk->peer_added = 0;
	lk->peer_down = 0;
	lk->peer_uri[0] = '\0';
	if (uri_given) {
		snprintf(lk->peer_uri, sizeof(lk->peer_uri), "%s", uri_given);
	} else if (num && num[0] == '+') {
		const char *domain = peer->domain_count ? peer->domains[0] :
				     peer->host_count ? peer->hosts[0].host : NULL;
		bool v6 = domain && strchr(domain, ':');
		if (domain)
			snprintf(lk->peer_uri, sizeof(lk->peer_uri), "sip:%s@%s%s%s;user=phone", num,
				 v6 ? "[" : "", domain, v6 ? "]" : "");
	}
	lk_trace(lk, "peer %s", peer->name);
}

static void peer_add(struct lookup *lk, enum sp_proto proto, const struct sp_sockaddr *addr)
{
	struct sp_router *rt = lk->rt;
	const struct sp_config_peer *peer = &rt->cfg->peers[lk->peer];
	struct sp_dest dst;
	struct sp_proxy_target t;

	memset(&t, 0, sizeof(t));
	t.flags = SP_PROXY_T_FAILOVER | SP_PROXY_T_FOREIGN |
		  (peer->trusted ? 0 : SP_PROXY_T_UNTRUSTED);
	t.tag = SP_ROUTER_TAG_PEER + (uint32_t)lk->peer;
	t.uri = sp_str_cstr(lk->peer_uri);
	memset(&dst, 0, sizeof(dst));
	dst.proto = proto;
	dst.addr = *addr;
	dst.listener = sp_config_peering_listener(rt->cfg, proto, addr->u.sa.sa_family);
	t.dst = &dst;
	t.group = lk->group++;
	if (lk_add(lk, &t) != 0)
		lk->failed = true;
	lk->peer_added++;
}

static void lk_advance(struct lookup *lk);

/* The addresses of a peer host given by name: its certificate names are
 * expected of each (TLS), like those of the numeric hosts. */
static void on_peer_located(void *arg, const struct sp_locate_result *res)
{
	struct lookup *lk = arg;
	const struct sp_config_peer *peer = &lk->rt->cfg->peers[lk->peer];
	lk->waiting = false;
	if (res->status == SP_EAGAIN)
		lk->failed = true;
	for (size_t i = 0; i < res->n; i++) {
		if (res->t[i].proto == SP_PROTO_TLS && lk->rt->tls_names && peer->san_count)
			lk->rt->tls_names(lk->rt->tls_names_arg, &res->t[i].addr,
					  (const char *const *)peer->san, peer->san_count);
		peer_add(lk, res->t[i].proto, &res->t[i].addr);
	}
	lk->peer_host++;
	lk_advance(lk);
}

static void locate_cb(struct lookup *lk, const char *host, uint16_t port, enum sp_proto proto,
		      bool sips, sp_locate_h cb);

/* The next host of the peer being added. */
static void peer_step(struct lookup *lk)
{
	struct sp_router *rt = lk->rt;
	const struct sp_config_peer *peer = &rt->cfg->peers[lk->peer];

	while (lk->peer_host < peer->host_count) {
		size_t h = lk->peer_host;
		const struct sp_config_host *host = &peer->hosts[h];
		if (!host->numeric) {
			if (!rt->res) {
				lk_trace(lk, "  host %s: a name, and no resolver", host->uri);
				lk->unsupported = true;
				lk->peer_host++;
				continue;
			}
			/* The transport only when the URI names one: otherwise
			 * NAPTR and SRV decide (RFC 3263 section 4.1). */
			locate_cb(lk, host->host, host->port, host->has_transport ? host->proto : 0,
				  strncasecmp(host->uri, "sips:", 5) == 0, on_peer_located);
			return;
		}
		if (rt->host_up && !rt->host_up(rt->host_up_arg, lk->peer, h)) {
			lk_trace(lk, "  host %s: down (probes), tried only if nothing else is", host->uri);
			if (h < 64)
				lk->peer_down |= 1ull << h;
		} else {
			peer_add(lk, host->proto, &host->addr);
		}
		lk->peer_host++;
	}
	/* Every host is believed down: try them all the same, since a probe
	 * may be wrong and trying is better than refusing. */
	bool none = lk->peer_added == 0;
	for (size_t h = 0; none && h < peer->host_count && h < 64; h++)
		if (lk->peer_down & (1ull << h))
			peer_add(lk, peer->hosts[h].proto, &peer->hosts[h].addr);
	lk->peer = -1;
	lk->enum_uri[0] = '\0';
	lk->route++;
}

/* A static peer entry that serves the number (longest prefix) or the
 * domain: the look-up that needs no DNS. */
static ptrdiff_t peer_for(const struct sp_config *cfg, const char *num, const char *host)
{
	ptrdiff_t best = -1;
	size_t best_len = 0;
	for (size_t i = 0; i < cfg->peer_count; i++) {
		const struct sp_config_peer *peer = &cfg->peers[i];
		for (size_t k = 0; num && k < peer->number_count; k++) {
			size_t l = strlen(peer->numbers[k]);
			if (l > best_len && strncmp(num, peer->numbers[k], l) == 0) {
				best = (ptrdiff_t)i;
				best_len = l;
			}
		}
		for (size_t k = 0; best < 0 && host && k < peer->domain_count; k++)
			if (strcasecmp(host, peer->domains[k]) == 0)
				return (ptrdiff_t)i;
	}
	return best;
}

static bool lk_route_matches(const struct lookup *lk, const struct sp_config_route *ro)
{
	switch (ro->match) {
	case SP_CONFIG_MATCH_ANY:
		return true;
	case SP_CONFIG_MATCH_DOMAIN:
		return !lk->tel && strcasecmp(lk->host, ro->value) == 0;
	case SP_CONFIG_MATCH_PREFIX:
		return lk->num[0] && strncmp(lk->num, ro->value, strlen(ro->value)) == 0;
	}
	return false;
}

/* The tag of targets found through DNS: the domain's hash, so a failed
 * target is tried last for that domain only. */
static uint32_t dns_tag(const char *domain)
{
	return SP_ROUTER_TAG_DNS | (uint32_t)(sp_hash_case(domain, strlen(domain)) & 0x7fffffffu);
}

/* Each step of a request's look-up in the debug log. */
static void trace_log(void *arg, const char *line)
{
	struct lookup *lk = arg;
	sp_log_cid(SP_LOG_DEBUG, sp_str_cstr(lk->cid), "routing: %s", line);
}

/* The addresses RFC 3263 gave, as one serial group each (failover), with
 * the targets that failed lately moved to the end. */
static void on_located(void *arg, const struct sp_locate_result *res)
{
	struct lookup *lk = arg;
	struct sp_router *rt = lk->rt;
	const char *uri = lk->enum_uri[0] ? lk->enum_uri : NULL;
	char dom[SP_DNS_NAME_MAX];
	struct sp_uri u;

	lk->waiting = false;
	/* The domain the targets belong to: the ENUM URI's host, or ours. */
	if (uri && sp_uri_parse(sp_str_cstr(uri), &u) == 0 && u.host.len < sizeof(dom))
		snprintf(dom, sizeof(dom), "%.*s", (int)u.host.len, u.host.p);
	else
		snprintf(dom, sizeof(dom), "%s", lk->host);
	if (res->status == SP_EAGAIN)
		lk->failed = true;
	uint32_t tag = dns_tag(dom);
	uint64_t now = sp_now_ms();
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < res->n; i++) {
			const struct sp_locate_target *lt = &res->t[i];
			bool bad = target_failed_recently(rt, tag, lt->proto, &lt->addr, now);
			if (bad != (pass == 1))
				continue;
			if (bad)
				lk_trace(lk, "  %s failed lately: tried last", lt->host);
			if (lt->proto == SP_PROTO_TLS && rt->tls_names) {
				/* RFC 5922 section 4: the certificate names the SIP
				 * domain. */
				const char *names[] = { dom };
				rt->tls_names(rt->tls_names_arg, &lt->addr, names, 1);
			}
			struct sp_dest dst;
			memset(&dst, 0, sizeof(dst));
			dst.proto = lt->proto;
			dst.addr = lt->addr;
			dst.listener = sp_config_peering_listener(rt->cfg, lt->proto,
								  lt->addr.u.sa.sa_family);
			/* Found only through DNS: another provider, outside the
			 * trust domain (DESIGN.md, "Trust domain"). */
			struct sp_proxy_target t = {
				.uri = uri ? sp_str_cstr(uri) : SP_STR_NULL,
				.dst = &dst,
				.group = lk->group++,
				.flags = SP_PROXY_T_FAILOVER | SP_PROXY_T_FOREIGN | SP_PROXY_T_UNTRUSTED,
				.tag = tag,
			};
			if (lk_add(lk, &t) != 0)
				lk->failed = true;
		}
	}
	lk->enum_uri[0] = '\0';
	lk->route++;
	lk_advance(lk);
}

static void locate_cb(struct lookup *lk, const char *host, uint16_t port, enum sp_proto proto,
		      bool sips, sp_locate_h cb)
{
	struct sp_locate_req req = { .host = host, .port = port, .proto = proto, .sips = sips };
	lk->waiting = true;
	if (sp_locate_start(lk->rt->res, &req, cb, lk, lk->trace, lk->trace_arg, &lk->lq) != 0) {
		/* As if it found nothing. */
		struct sp_locate_result none = { .status = SP_EAGAIN };
		cb(lk, &none);
	}
}

static void locate(struct lookup *lk, const char *host, uint16_t port, enum sp_proto proto,
		   bool sips)
{
	locate_cb(lk, host, port, proto, sips, on_located);
}

/* The addresses of a fixed next hop given by name: inside the trust
 * domain like the route itself, tried in order. */
static void on_route_located(void *arg, const struct sp_locate_result *res)
{
	struct lookup *lk = arg;
	lk->waiting = false;
	if (res->status == SP_EAGAIN)
		lk->failed = true;
	for (size_t i = 0; i < res->n; i++) {
		struct sp_dest dst;
		memset(&dst, 0, sizeof(dst));
		dst.proto = res->t[i].proto;
		dst.addr = res->t[i].addr;
		dst.listener = -1;
		struct sp_proxy_target t = { .dst = &dst, .group = lk->group++,
					     .tag = SP_ROUTER_TAG_ROUTE };
		if (lk_add(lk, &t) != 0)
			lk->failed = true;
	}
	lk->peer_uri[0] = '\0';
	lk->route++;
	lk_advance(lk);
}

/* Where the URI that ENUM gave goes: a peer serving its domain, else
 * RFC 3263 on it. */
static void on_enum(void *arg, const struct sp_enum_query_result *res)
{
	struct lookup *lk = arg;
	struct sp_uri u;
	char host[SP_DNS_NAME_MAX];

	lk->waiting = false;
	if (res->status != 0) {
		if (res->status == SP_EAGAIN)
			lk->failed = true;
		lk->route++;
		lk_advance(lk);
		return;
	}
	snprintf(lk->enum_uri, sizeof(lk->enum_uri), "%s", res->uri);
	if (sp_uri_parse(sp_str_cstr(lk->enum_uri), &u) != 0 || u.host.len == 0 ||
	    u.host.len >= sizeof(host)) {
		lk_trace(lk, "  %s is no usable SIP URI", lk->enum_uri);
		lk->enum_uri[0] = '\0';
		lk->route++;
		lk_advance(lk);
		return;
	}
	snprintf(host, sizeof(host), "%.*s", (int)u.host.len, u.host.p);
	ptrdiff_t pi = peer_for(lk->rt->cfg, NULL, host);
	if (pi >= 0) {
		lk_trace(lk, "  %s: domain of peer %s", host, lk->rt->cfg->peers[pi].name);
		route_peer(lk, (size_t)pi, lk->enum_uri);
	} else if (lk->rt->is_ours && lk->rt->is_ours(lk->rt->is_ours_arg, u.host)) {
		/* The tree names this provider: the number is ours after all,
		 * and no local user has it. */
		lk_trace(lk, "  %s is this provider's own domain: no route", host);
		lk->enum_uri[0] = '\0';
		lk->route++;
	} else {
		enum sp_proto proto = 0;
		struct sp_str tp;
		if (sp_uri_param(&u, "transport", &tp) == 0)
			proto = sp_str_caseeq_c(tp, "tcp") ? SP_PROTO_TCP :
				sp_str_caseeq_c(tp, "tls") ? SP_PROTO_TLS :
				sp_str_caseeq_c(tp, "udp") ? SP_PROTO_UDP : 0;
		/* Callbacks only record and move the state on: lk_step starts
		 * the next job (a job that ends at once would otherwise finish
		 * the walk under this callback's feet). */
		snprintf(lk->loc_host, sizeof(lk->loc_host), "%s", host);
		lk->loc_port = u.port;
		lk->loc_proto = proto;
		lk->loc_sips = u.scheme_id == SP_URI_SIPS;
		lk->loc_pending = true;
	}
	lk_advance(lk);
}

/* One route, or the start of its look-up. */
static void lk_step(struct lookup *lk)
{
	struct sp_router *rt = lk->rt;
	const struct sp_config_route *ro;

	if (lk->loc_pending) {
		lk->loc_pending = false;
		locate(lk, lk->loc_host, lk->loc_port, lk->loc_proto, lk->loc_sips);
		return;
	}
	if (lk->peer >= 0) {
		peer_step(lk);
		return;
	}
	if (lk->route >= rt->cfg->route_count) {
		lk->done = true;
		return;
	}
	ro = &rt->cfg->routes[lk->route];
	if (!lk_route_matches(lk, ro)) {
		lk->route++;
		return;
	}
	switch (ro->to) {
	case SP_CONFIG_TO_URI: {
		/* A fixed next hop: the request keeps its Request-URI and goes
		 * there, like to an outbound proxy. */
		struct sp_uri tu;
		struct sp_dest dst;
		lk_trace(lk, "route %zu: %s", lk->route + 1, ro->target);
		if (sp_uri_parse(sp_str_cstr(ro->target), &tu) == 0 &&
		    tu.host_type == SP_HOST_NAME && rt->res && tu.host.len < sizeof(lk->peer_uri)) {
			/* A next hop given by name: RFC 3263 finds its addresses. */
			struct sp_str tp;
			enum sp_proto proto = 0;
			if (sp_uri_param(&tu, "transport", &tp) == 0)
				proto = sp_str_caseeq_c(tp, "tcp") ? SP_PROTO_TCP :
					sp_str_caseeq_c(tp, "tls") ? SP_PROTO_TLS : SP_PROTO_UDP;
			/* peer_uri holds the name while it is located. */
			snprintf(lk->peer_uri, sizeof(lk->peer_uri), "%.*s", (int)tu.host.len,
				 tu.host.p);
			locate_cb(lk, lk->peer_uri, tu.port, proto, tu.scheme_id == SP_URI_SIPS,
				  on_route_located);
			return;
		}
		if (sp_uri_parse(sp_str_cstr(ro->target), &tu) != 0 ||
		    sp_proxy_uri_dest(&tu, &dst) != 0) {
			lk->unsupported = true;
		} else {
			struct sp_proxy_target t = { .dst = &dst, .group = lk->group++,
						     .tag = SP_ROUTER_TAG_ROUTE };
			if (lk_add(lk, &t) != 0)
				lk->failed = true;
		}
		lk->route++;
		return;
	}
	case SP_CONFIG_TO_PEER:
		lk_trace(lk, "route %zu: peer:%s", lk->route + 1, rt->cfg->peers[ro->peer].name);
		route_peer(lk, ro->peer, NULL);
		return;
	case SP_CONFIG_TO_ENUM: {
		lk_trace(lk, "route %zu: enum", lk->route + 1);
		if (lk->num[0] != '+') {
			lk_trace(lk, "  %s is no E.164 number", lk->tel ? "the tel: URI" : "the user part");
			lk->route++;
			return;
		}
		/* Static number ranges answer first, without DNS. */
		ptrdiff_t pi = peer_for(rt->cfg, lk->num, NULL);
		if (pi >= 0) {
			lk_trace(lk, "  %s: static number range of peer %s", lk->num,
				 rt->cfg->peers[pi].name);
			route_peer(lk, (size_t)pi, NULL);
			return;
		}
		if (!rt->res || lk->ntrees == 0) {
			lk_trace(lk, "  no ENUM tree to ask");
			lk->unsupported = !rt->res;
			lk->route++;
			return;
		}
		lk->waiting = true;
		if (sp_enum_query_start(rt->res, lk->num, lk->trees, lk->ntrees, on_enum, lk,
					lk->trace, lk->trace_arg, &lk->eq) != 0) {
			lk->waiting = false;
			lk->failed = true;
			lk->route++;
		}
		return;
	}
	case SP_CONFIG_TO_DNS: {
		lk_trace(lk, "route %zu: dns", lk->route + 1);
		if (lk->tel || lk->for_us) {
			lk_trace(lk, "  %s: nothing to look up", lk->tel ? "a tel: URI" :
				 "the Request-URI names this provider");
			lk->route++;
			return;
		}
		ptrdiff_t pi = peer_for(rt->cfg, NULL, lk->host);
		if (pi >= 0) {
			lk_trace(lk, "  %s: domain of peer %s", lk->host, rt->cfg->peers[pi].name);
			route_peer(lk, (size_t)pi, NULL);
			return;
		}
		if (!rt->res && !lk->numeric) {
			lk->unsupported = true;
			lk->route++;
			return;
		}
		locate(lk, lk->host, lk->port, lk->proto, lk->sips);
		return;
	}
	}
	lk->route++;
}

static void lk_unlink(struct lookup *lk)
{
	struct sp_router *rt = lk->rt;
	if (lk->prev)
		lk->prev->next = lk->next;
	else if (rt->lookups == lk)
		rt->lookups = lk->next;
	if (lk->next)
		lk->next->prev = lk->prev;
	lk->prev = lk->next = NULL;
}

static void lk_free(struct lookup *lk)
{
	lk->rt->nlookups--;
	if (lk->is_hop)
		lk->rt->nhops--;
	sp_enum_query_cancel(&lk->eq);
	sp_locate_cancel(&lk->lq);
	if (lk->rt->timers)
		sp_timer_stop(lk->rt->timers, &lk->budget);
	lk_unlink(lk);
	free(lk);
}

/* The walk is over: the status to answer when nothing was found. */
static uint16_t lk_status(const struct lookup *lk)
{
	if (lk->group)
		return 0;
	return lk->failed || lk->unsupported ? 503 : 404;
}

/* Ends a walk that went asynchronous. */
static void lk_finish(struct lookup *lk)
{
	uint16_t status = lk_status(lk);
	if (lk->hop_done) {
		lk->hop_done(lk->hop_ctx, NULL);
	} else if (lk->done_cb) {
		lk->done_cb(lk->done_arg, status);
	} else if (lk->pp) {
		if (status)
			sp_log_cid(SP_LOG_INFO, sp_str_cstr(lk->cid), "no route%s: %u",
				   lk->failed ? " (a look-up failed)" : "", status);
		sp_proxy_forward_later(lk->pp, status,
				       status == 503 && lk->failed ? "Look-up failed" : NULL);
		lk->pp = NULL;
	}
	lk_free(lk);
}

static void lk_advance(struct lookup *lk)
{
	if (lk->running)
		return;
	/* An answer from the cache comes back inside lk_step and only moves
	 * the state on; the loop then takes the next step. */
	lk->running = true;
	while (!lk->done && !lk->waiting)
		lk_step(lk);
	lk->running = false;
	/* Inside sp_router_route or _resolve the caller finishes; later, we do. */
	if (lk->done && !lk->waiting && !lk->inside)
		lk_finish(lk);
}

/* The overall budget of one request's look-ups ran out: what was found
 * so far is tried, the rest given up. */
static void on_budget(struct sp_timer *t, void *arg)
{
	struct lookup *lk = arg;
	lk_trace(lk, "look-up budget of %u ms spent", lk->rt->budget_ms);
	sp_log_cid(SP_LOG_NOTICE, sp_str_cstr(lk->cid), "routing: look-ups took over %u ms: given up",
		   lk->rt->budget_ms);
	sp_enum_query_cancel(&lk->eq);
	sp_locate_cancel(&lk->lq);
	lk->waiting = false;
	lk->failed = true;
	lk->done = true;
	lk_finish(lk);
}

/* The trees a caller may use: the private ones of its federations (in
 * the order of the configuration), then the public suffixes. */
static void lk_trees(struct lookup *lk)
{
	const struct sp_config *cfg = lk->rt->cfg;
	size_t max = sizeof(lk->trees) / sizeof(lk->trees[0]);
	for (size_t f = 0; f < cfg->federation_count && f < 64; f++) {
		if (!(lk->fed_mask & (1ull << f)))
			continue;
		for (size_t k = 0; k < cfg->federations[f].enum_suffix_count && lk->ntrees < max; k++)
			lk->trees[lk->ntrees++] = cfg->federations[f].enum_suffixes[k];
	}
	for (size_t k = 0; k < cfg->enum_.suffix_count && lk->ntrees < max; k++)
		lk->trees[lk->ntrees++] = cfg->enum_.suffixes[k];
}

static struct lookup *lk_new(struct sp_router *rt, uint64_t fed_mask)
{
	if (rt->nlookups >= SP_ROUTER_MAX_WALKS) {
		rt->stats.refused++;
		return NULL;
	}
	struct lookup *lk = calloc(1, sizeof(*lk));
	if (!lk)
		return NULL;
	rt->nlookups++;
	lk->rt = rt;
	lk->fed_mask = fed_mask;
	lk->peer = -1;
	sp_timer_init(&lk->budget);
	lk_trees(lk);
	lk->next = rt->lookups;
	if (lk->next)
		lk->next->prev = lk;
	rt->lookups = lk;
	return lk;
}

/* The parts of a URI the walk needs. */
static void lk_set_uri(struct lookup *lk, const struct sp_uri *u)
{
	lk->tel = u->scheme_id == SP_URI_TEL;
	lk->sips = u->scheme_id == SP_URI_SIPS;
	if (!lk->tel) {
		snprintf(lk->host, sizeof(lk->host), "%.*s",
			 (int)(u->host.len < sizeof(lk->host) ? u->host.len : 0), u->host.p);
		lk->numeric = u->host_type != SP_HOST_NAME;
		if (lk->numeric && lk->host[0] == '[') {
			/* IPv6 references lose their brackets here. */
			size_t n = strlen(lk->host);
			memmove(lk->host, lk->host + 1, n);
			if (n >= 2 && lk->host[n - 2] == ']')
				lk->host[n - 2] = '\0';
		}
		lk->port = u->port;
		struct sp_str tp;
		if (sp_uri_param(u, "transport", &tp) == 0)
			lk->proto = sp_str_caseeq_c(tp, "tcp") ? SP_PROTO_TCP :
				    sp_str_caseeq_c(tp, "tls") ? SP_PROTO_TLS :
				    sp_str_caseeq_c(tp, "udp") ? SP_PROTO_UDP : 0;
	}
}

uint16_t sp_router_route_ex(struct sp_router *rt, struct sp_proxy_req *r, uint64_t now_s,
			    uint64_t fed_mask)
{
	const struct sp_uri *u = sp_msg_ruri(r->msg);
	char aor[512];
	struct lookup *lk;

	if (!u)
		return 400;
	if (sp_router_local_user(rt, r, aor, sizeof(aor)) >= 0)
		return route_local(rt, r, aor, now_s);
	if (!(lk = lk_new(rt, fed_mask)))
		return 503; /* too many requests waiting for DNS */
	lk->r = r;
	lk->inside = true;
	lk_set_uri(lk, u);
	lk->for_us = r->for_us;
	if (!ruri_number(rt, u, lk->num, sizeof(lk->num)))
		lk->num[0] = '\0';
	struct sp_str cid = sp_msg_call_id(r->msg);
	snprintf(lk->cid, sizeof(lk->cid), "%.*s", (int)(cid.len < 90 ? cid.len : 90), cid.p);
	if (sp_log_enabled(SP_LOG_DEBUG)) {
		lk->trace = trace_log;
		lk->trace_arg = lk;
	}
	lk_advance(lk);
	lk->inside = false;
	if (lk->done && !lk->waiting) {
		uint16_t status = lk_status(lk);
		lk_free(lk);
		return status;
	}
	/* A look-up is on its way: keep the request and go on later, within
	 * the budget. */
	lk->pp = sp_proxy_req_keep(r);
	lk->r = NULL;
	if (!lk->pp) {
		lk_free(lk);
		return 500;
	}
	if (rt->timers && rt->budget_ms)
		sp_timer_start(rt->timers, &lk->budget, sp_now_ms() + rt->budget_ms, on_budget, lk);
	rt->stats.async++;
	return SP_ROUTER_PENDING;
}

uint16_t sp_router_route(struct sp_router *rt, struct sp_proxy_req *r, uint64_t now_s)
{
	return sp_router_route_ex(rt, r, now_s, UINT64_MAX);
}

int sp_router_resolve(struct sp_router *rt, const char *target, uint64_t fed_mask,
		      sp_dns_trace_h trace, void *trace_arg, sp_router_resolved_h done, void *arg)
{
	struct lookup *lk;
	struct sp_uri u;
	char buf[600];
	const char *uri = target;

	if (!(lk = lk_new(rt, fed_mask)))
		return SP_ENOMEM;
	lk->trace = trace;
	lk->trace_arg = trace_arg;
	lk->done_cb = done;
	lk->done_arg = arg;
	if (strncmp(target, "sip:", 4) != 0 && strncmp(target, "sips:", 5) != 0 &&
	    strncmp(target, "tel:", 4) != 0) {
		/* A bare number: as if dialled by one of our users. */
		snprintf(buf, sizeof(buf), "sip:%s@%s;user=phone", target,
			 rt->cfg->domain_count ? rt->cfg->domains[0] : "localhost");
		uri = buf;
	}
	if (sp_uri_parse(sp_str_cstr(uri), &u) != 0 ||
	    (u.scheme_id != SP_URI_TEL && u.host.len == 0)) {
		lk_free(lk);
		return SP_EINVAL;
	}
	lk_set_uri(lk, &u);
	lk->for_us = !lk->tel && rt->is_ours && rt->is_ours(rt->is_ours_arg, u.host);
	if (!ruri_number(rt, &u, lk->num, sizeof(lk->num)))
		lk->num[0] = '\0';
	lk_trace(lk, "resolve %s%s%s%s", uri, lk->num[0] ? " (number " : "", lk->num,
		 lk->num[0] ? ")" : "");
	ptrdiff_t user = -1;
	if (lk->for_us || lk->tel)
		user = lk->for_us ? user_find(rt, u.user, false) : -1;
	if (user < 0 && (lk->for_us || lk->tel) && lk->num[0])
		user = user_find(rt, sp_str_cstr(lk->num), true);
	if (user >= 0) {
		/* Local users come before any route: their registered
		 * contacts (which only the running node knows). */
		lk_trace(lk, "local user %s: its registered contacts (480 when none)",
			 rt->cfg->users[user].user);
		lk_free(lk);
		done(arg, 0);
		return 0;
	}
	for (size_t i = 0; i < lk->ntrees; i++)
		lk_trace(lk, "  ENUM tree %zu: %s", i + 1, lk->trees[i]);
	snprintf(lk->cid, sizeof(lk->cid), "resolve");
	if (rt->timers && rt->budget_ms)
		sp_timer_start(rt->timers, &lk->budget, sp_now_ms() + rt->budget_ms, on_budget, lk);
	lk->inside = true;
	lk_advance(lk);
	lk->inside = false;
	if (lk->done && !lk->waiting) {
		/* Answered without the network: lk_advance left it to us. */
		lk_finish(lk);
	}
	return 0;
}

/* The address of a next hop given by name: the first that RFC 3263 gives
 * (a request in a dialog has one remote target, not a failover list). */
static void on_hop_located(void *arg, const struct sp_locate_result *res)
{
	struct lookup *lk = arg;
	struct sp_router *rt = lk->rt;
	sp_proxy_located_h done = lk->hop_done;
	lk->waiting = false;
	lk->done = true;
	lk->hop_done = NULL;
	if (res->n) {
		struct sp_dest dst;
		memset(&dst, 0, sizeof(dst));
		dst.proto = res->t[0].proto;
		dst.addr = res->t[0].addr;
		dst.listener = -1;
		if (dst.proto == SP_PROTO_TLS && rt->tls_names) {
			const char *names[] = { lk->host };
			rt->tls_names(rt->tls_names_arg, &dst.addr, names, 1);
		}
		done(lk->hop_ctx, &dst);
	} else {
		done(lk->hop_ctx, NULL);
	}
	if (!lk->inside)
		lk_free(lk);
}

void sp_router_locate_hop(struct sp_router *rt, const struct sp_proxy_hop_name *hop,
			  sp_proxy_located_h done, void *ctx)
{
	struct lookup *lk;
	/* Next hops are bounded apart, so that in-dialog traffic toward names
	 * that never answer cannot take every look-up from new calls. */
	if (!rt->res || hop->host.len == 0 || hop->host.len >= SP_DNS_NAME_MAX ||
	    rt->nhops >= SP_ROUTER_MAX_HOPS || !(lk = lk_new(rt, 0))) {
		done(ctx, NULL);
		return;
	}
	lk->is_hop = true;
	rt->nhops++;
	lk->hop_done = done;
	lk->hop_ctx = ctx;
	snprintf(lk->host, sizeof(lk->host), "%.*s", (int)hop->host.len, hop->host.p);
	snprintf(lk->cid, sizeof(lk->cid), "next hop %.80s", lk->host);
	if (sp_log_enabled(SP_LOG_DEBUG)) {
		lk->trace = trace_log;
		lk->trace_arg = lk;
	}
	lk->inside = true;
	locate_cb(lk, lk->host, hop->port, hop->proto, hop->sips, on_hop_located);
	lk->inside = false;
	if (lk->done) {
		lk_free(lk);
		return;
	}
	if (rt->timers && rt->budget_ms)
		sp_timer_start(rt->timers, &lk->budget, sp_now_ms() + rt->budget_ms, on_budget, lk);
}

void sp_router_set_dns(struct sp_router *rt, struct sp_resolver *res, struct sp_timers *timers,
		       uint32_t budget_ms)
{
	rt->res = res;
	rt->timers = timers;
	rt->budget_ms = budget_ms;
}

void sp_router_set_ours(struct sp_router *rt, bool (*is_ours)(void *arg, struct sp_str host),
			void *arg)
{
	rt->is_ours = is_ours;
	rt->is_ours_arg = arg;
}

void sp_router_set_tls_names(struct sp_router *rt, sp_router_tls_names_h h, void *arg)
{
	rt->tls_names = h;
	rt->tls_names_arg = arg;
}

const struct sp_router_stats *sp_router_stats(const struct sp_router *rt)
{
	return &rt->stats;
}

void sp_router_shutdown(struct sp_router *rt)
{
	/* Walks still waiting for DNS are answered 503 at once: a reload or
	 * a stop must not leave their requests hanging, nor use the old
	 * configuration later. */
	static const struct sp_str ra[] = { SP_STR("Retry-After: 5") };
	while (rt->lookups) {
		struct lookup *lk = rt->lookups;
		sp_enum_query_cancel(&lk->eq);
		sp_locate_cancel(&lk->lq);
		if (lk->hop_done)
			lk->hop_done(lk->hop_ctx, NULL);
		else if (lk->done_cb)
			lk->done_cb(lk->done_arg, 503);
		else if (lk->pp)
			sp_proxy_reply_later(lk->pp, 503, "Routing restarted", ra, 1);
		lk_free(lk);
	}
}
