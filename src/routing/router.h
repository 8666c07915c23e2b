/* router.h: the routing chain of a request: local users (location service), then the configured routes. */
#ifndef SP_ROUTING_ROUTER_H
#define SP_ROUTING_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "proxy/proxy.h"
#include "registrar/registrar.h"
#include "routing/number.h"

struct sp_router;

/* The router reads cfg (users, numbering, routes) and the registrar's
 * location table; both must outlive it (a reload makes a new router). */
int sp_router_create(const struct sp_config *cfg, struct sp_registrar *reg,
		     struct sp_router **out);
void sp_router_destroy(struct sp_router *rt);

/* The configured user a Request-URI addresses: its user part is a user's
 * name or (normalized) number and its host is ours (r->for_us), or it is a
 * tel: URI with a user's number. Writes the canonical AoR
 * ("sip:alice@ssp-a.test", the first domain) into aor. Returns the user's
 * index, or -1. */
ptrdiff_t sp_router_local_user(const struct sp_router *rt, const struct sp_proxy_req *r,
			       char *aor, size_t size);
/* A user by name (digest usernames, From users); -1 if none. */
ptrdiff_t sp_router_user_by_name(const struct sp_router *rt, struct sp_str name);

/* The Request-URI's user part as an E.164 number ("+..."), per the
 * numbering plan; false when it is a name or a local short number. */
bool sp_router_ruri_number(const struct sp_router *rt, const struct sp_proxy_req *r, char *num,
			   size_t size);
/* A user part (%-escaped, as in a URI) as a number per the numbering
 * plan (sp_number_normalize): true when it is one. */
bool sp_router_user_number(const struct sp_router *rt, struct sp_str user, char *num, size_t size);

/* Does this provider serve num (cfg->numbers prefixes, users' numbers)? */
bool sp_router_number_is_ours(const struct sp_router *rt, const char *num);

/* The tags the router gives targets (sp_proxy_target.tag), for call
 * records: a local user's contact, a fixed route, or peer i
 * (SP_ROUTER_TAG_PEER + i). */
enum { SP_ROUTER_TAG_LOCAL = 1, SP_ROUTER_TAG_ROUTE = 2, SP_ROUTER_TAG_PEER = 16 };

/* Health of a peer's hosts (OPTIONS probes): host h of peer p is up?
 * Without it every host counts as up. */
typedef bool (*sp_router_host_up_h)(void *arg, size_t peer, size_t host);
void sp_router_set_health(struct sp_router *rt, sp_router_host_up_h h, void *arg);

/* Decides where r goes, adding its targets to r (sp_proxy_target_add):
 * 1. a local user: every current binding, highest q first (equal q forks in
 *    parallel); none registered: 480;
 * 2. every route of cfg->routes that matches, in order, one serial group
 *    each (failover: a route whose next hop fails gives way to the next
 *    matching one); prefix matches the normalized user part, domain the
 *    Request-URI host, any everything; peer:NAME adds the peer's hosts
 *    (one group each, failover only for want of an answer); enum and dns
 *    first look for a static peer entry serving the number or domain;
 * 3. nothing: 404.
 * Returns 0 when targets were added, or the status to answer (404, 480,
 * 500, 503 when a route needs what is not built yet: ENUM, DNS names). */
uint16_t sp_router_route(struct sp_router *rt, struct sp_proxy_req *r, uint64_t now_s);

#endif
