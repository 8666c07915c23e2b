/* router.c: local users first (the location service), then the configured routes in order. */
#include "routing/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "sip/uri.h"

struct sp_router {
	const struct sp_config *cfg;
	struct sp_registrar *reg;
	struct sp_numbering plan;
	sp_router_host_up_h host_up;
	void *host_up_arg;
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
	*out = rt;
	return 0;
}

void sp_router_destroy(struct sp_router *rt)
{
	free(rt);
}

ptrdiff_t sp_router_user_by_name(const struct sp_router *rt, struct sp_str name)
{
	for (size_t i = 0; i < rt->cfg->user_count; i++)
		if (sp_str_eq_c(name, rt->cfg->users[i].user))
			return (ptrdiff_t)i;
	return -1;
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
		if (found < 0 && ruri_number(rt, u, num, sizeof(num))) {
			for (size_t i = 0; i < rt->cfg->user_count; i++) {
				const char *n = rt->cfg->users[i].number;
				if (n && strcmp(n, num) == 0) {
					found = (ptrdiff_t)i;
					break;
				}
			}
		}
	}
	if (found >= 0)
		snprintf(aor, size, "sip:%s@%s", rt->cfg->users[found].user,
			 rt->cfg->domain_count ? rt->cfg->domains[0] : "localhost");
	return found;
}

static bool route_matches(const struct sp_router *rt, const struct sp_config_route *ro,
			  const struct sp_uri *u, const char *num)
{
	switch (ro->match) {
	case SP_CONFIG_MATCH_ANY:
		return true;
	case SP_CONFIG_MATCH_DOMAIN:
		return u->scheme_id != SP_URI_TEL && sp_str_caseeq_c(u->host, ro->value);
	case SP_CONFIG_MATCH_PREFIX:
		return num && strncmp(num, ro->value, strlen(ro->value)) == 0;
	}
	return false;
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
	for (size_t i = 0; i < cfg->user_count; i++)
		if (cfg->users[i].number && strcmp(num, cfg->users[i].number) == 0)
			return true;
	return false;
}

/* A configured peer's hosts, in order, one serial group each: the next is
 * tried only when the one before gave no answer (408, 503, timeout,
 * transport error). Numbers go as sip:+E164@domain;user=phone. Hosts
 * marked down by the health probes are skipped while another is up.
 * Returns the number of targets added, or -1 on failure. */
static int route_peer(struct sp_router *rt, struct sp_proxy_req *r, size_t pi, const char *num,
		      unsigned *group, bool *unsupported)
{
	const struct sp_config_peer *peer = &rt->cfg->peers[pi];
	char uri[256];
	struct sp_proxy_target t;
	int added = 0;

	memset(&t, 0, sizeof(t));
	t.flags = SP_PROXY_T_FAILOVER | SP_PROXY_T_FOREIGN |
		  (peer->trusted ? 0 : SP_PROXY_T_UNTRUSTED);
	t.tag = SP_ROUTER_TAG_PEER + (uint32_t)pi;
	if (num && num[0] == '+') {
		const char *domain = peer->domain_count ? peer->domains[0] :
				     peer->host_count ? peer->hosts[0].host : NULL;
		bool v6 = domain && strchr(domain, ':');
		if (domain) {
			snprintf(uri, sizeof(uri), "sip:%s@%s%s%s;user=phone", num, v6 ? "[" : "",
				 domain, v6 ? "]" : "");
			t.uri = sp_str_cstr(uri);
		}
	}
	for (int pass = 0; pass < 2 && added == 0; pass++) {
		/* First pass: hosts believed up; second: all of them, since a
		 * probe may be wrong and trying is better than refusing. */
		for (size_t h = 0; h < peer->host_count; h++) {
			const struct sp_config_host *host = &peer->hosts[h];
			struct sp_dest dst;
			if (!host->numeric) {
				*unsupported = true; /* names: the resolver's issue */
				continue;
			}
			if (pass == 0 && rt->host_up && !rt->host_up(rt->host_up_arg, pi, h))
				continue;
			memset(&dst, 0, sizeof(dst));
			dst.proto = host->proto;
			dst.addr = host->addr;
			dst.listener = sp_config_peering_listener(rt->cfg, host->proto, host->addr.u.sa.sa_family);
			t.dst = &dst;
			t.group = (*group)++;
			if (sp_proxy_target_add_ex(r, &t) != 0)
				return -1;
			added++;
		}
	}
	return added;
}

/* A static peer entry that serves the number (longest prefix) or the
 * domain: the look-up that needs no DNS. */
static ptrdiff_t peer_for(const struct sp_config *cfg, const char *num, const struct sp_uri *u)
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
		for (size_t k = 0; best < 0 && u->scheme_id != SP_URI_TEL && k < peer->domain_count; k++)
			if (sp_str_caseeq_c(u->host, peer->domains[k]))
				return (ptrdiff_t)i;
	}
	return best;
}

uint16_t sp_router_route(struct sp_router *rt, struct sp_proxy_req *r, uint64_t now_s)
{
	const struct sp_uri *u = sp_msg_ruri(r->msg);
	char aor[512], numbuf[SP_NUMBER_MAX + 16];
	const char *num = NULL;
	unsigned group = 0;
	bool unsupported = false;

	if (!u)
		return 400;
	if (sp_router_local_user(rt, r, aor, sizeof(aor)) >= 0)
		return route_local(rt, r, aor, now_s);
	if (ruri_number(rt, u, numbuf, sizeof(numbuf)))
		num = numbuf;
	for (size_t i = 0; i < rt->cfg->route_count; i++) {
		const struct sp_config_route *ro = &rt->cfg->routes[i];
		struct sp_uri tu;
		struct sp_dest dst;
		if (!route_matches(rt, ro, u, num))
			continue;
		switch (ro->to) {
		case SP_CONFIG_TO_URI:
			/* A fixed next hop: the request keeps its Request-URI and
			 * goes there, like to an outbound proxy. */
			if (sp_uri_parse(sp_str_cstr(ro->target), &tu) != 0 ||
			    sp_proxy_uri_dest(&tu, &dst) != 0) {
				unsupported = true;
				continue;
			}
			struct sp_proxy_target t = { .dst = &dst, .group = group++,
						     .tag = SP_ROUTER_TAG_ROUTE };
			if (sp_proxy_target_add_ex(r, &t) != 0)
				return 500;
			break;
		case SP_CONFIG_TO_PEER:
			if (route_peer(rt, r, ro->peer, num, &group, &unsupported) < 0)
				return 500;
			break;
		case SP_CONFIG_TO_ENUM:
		case SP_CONFIG_TO_DNS: {
			/* Static peer entries answer first, without DNS. */
			ptrdiff_t pi = peer_for(rt->cfg, ro->to == SP_CONFIG_TO_ENUM ? num : NULL, u);
			if (ro->to == SP_CONFIG_TO_ENUM && (!num || num[0] != '+'))
				pi = -1;
			if (pi >= 0) {
				if (route_peer(rt, r, (size_t)pi, num, &group, &unsupported) < 0)
					return 500;
				break;
			}
			if (ro->to == SP_CONFIG_TO_ENUM) {
				unsupported = true; /* ENUM: the look-up issue */
				break;
			}
		}
			/* RFC 3263 needs the resolver; a numeric host needs none. */
			if (u->scheme_id != SP_URI_TEL && u->host_type != SP_HOST_NAME && !r->for_us &&
			    sp_proxy_uri_dest(u, &dst) == 0) {
				if (sp_proxy_target_add(r, SP_STR_NULL, SP_STR_NULL, &dst, group++) != 0)
					return 500;
			} else {
				unsupported = true;
			}
			break;
		}
	}
	if (group)
		return 0;
	return unsupported ? 503 : 404;
}
