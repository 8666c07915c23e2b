/* router.h: the routing chain of a request: local users (location service), then the configured routes. */
#ifndef SP_ROUTING_ROUTER_H
#define SP_ROUTING_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "dns/locate.h"
#include "dns/resolver.h"
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
/* Targets found through DNS (ENUM, RFC 3263) carry this bit and a hash of
 * their domain. */
#define SP_ROUTER_TAG_DNS 0x80000000u

/* Health of a peer's hosts (OPTIONS probes): host h of peer p is up?
 * Without it every host counts as up. */
typedef bool (*sp_router_host_up_h)(void *arg, size_t peer, size_t host);
void sp_router_set_health(struct sp_router *rt, sp_router_host_up_h h, void *arg);

/* DNS for enum and dns routes (NULL: static entries only), the timers of
 * the loop it runs on, and the time all look-ups of one request may take
 * together. */
void sp_router_set_dns(struct sp_router *rt, struct sp_resolver *res, struct sp_timers *timers,
		       uint32_t budget_ms);
/* Is host this provider's (a domain or an address of ours)? An ENUM answer
 * that names it is no route. */
void sp_router_set_ours(struct sp_router *rt, bool (*is_ours)(void *arg, struct sp_str host),
			void *arg);

/* TLS targets the walk found through DNS: the certificate names to expect
 * of addr (a peer's certificate.san; the SIP domain for others, RFC 5922).
 * The daemon passes them to sp_transport_tls_expect. */
typedef void (*sp_router_tls_names_h)(void *arg, const struct sp_sockaddr *addr,
				      const char *const *names, size_t n);
void sp_router_set_tls_names(struct sp_router *rt, sp_router_tls_names_h h, void *arg);

/* The proxy's target_failed: a target found through DNS that gave no
 * answer or a 503 is tried last for that domain for 30 s. */
void sp_router_target_failed(struct sp_router *rt, uint32_t tag, const struct sp_dest *dst,
			     uint64_t now_ms);

/* sp_router_route's answer when a DNS look-up is on its way: the request
 * is kept and forwarded (or answered) when the look-ups end. */
#define SP_ROUTER_PENDING 1

/* Decides where r goes, adding its targets to r (sp_proxy_target_add):
 * 1. a local user: every current binding, highest q first (equal q forks in
 *    parallel); none registered: 480;
 * 2. every route of cfg->routes that matches, in order, one serial group
 *    each (failover: a route whose next hop fails gives way to the next
 *    matching one); prefix matches the normalized user part, domain the
 *    Request-URI host, any everything; peer:NAME adds the peer's hosts
 *    (one group each, failover only for want of an answer); enum and dns
 *    first look for a static peer entry serving the number or domain;
 *    enum: a static peer number range, else ENUM in the private trees of
 *    the federations in fed_mask (bit i: cfg->federations[i]), then the
 *    public suffixes; the URI it gives goes to the peer serving its
 *    domain, else where RFC 3263 says; dns: a peer serving the domain,
 *    else RFC 3263 on the Request-URI;
 * 3. nothing: 404; nothing, and a look-up failed or a route could not be
 *    used: 503.
 * Returns 0 when targets were added, SP_ROUTER_PENDING (see above), or
 * the status to answer. */
uint16_t sp_router_route_ex(struct sp_router *rt, struct sp_proxy_req *r, uint64_t now_s,
			    uint64_t fed_mask);
/* The same with every federation's trees. */
uint16_t sp_router_route(struct sp_router *rt, struct sp_proxy_req *r, uint64_t now_s);

/* The walk of the routes for a target given as text ("+4722000001", a
 * national number, "sip:bob@ssp-b.test"), the way a call from one of our
 * users would go, with every step given to trace: sipeerctl resolve. done
 * gets 0 when targets were found, else the status a call would get; it
 * may run before this returns. */
typedef void (*sp_router_resolved_h)(void *arg, uint16_t status);
int sp_router_resolve(struct sp_router *rt, const char *target, uint64_t fed_mask,
		      sp_dns_trace_h trace, void *trace_arg, sp_router_resolved_h done, void *arg);

/* The proxy's locate(): the address of a next hop given by name (the
 * remote target or Route of a dialog, a contact), by RFC 3263; done gets
 * NULL when there is none (or no resolver). */
void sp_router_locate_hop(struct sp_router *rt, const struct sp_proxy_hop_name *hop,
			  sp_proxy_located_h done, void *ctx);

/* Ends every walk still waiting for DNS: each is answered 503 with
 * Retry-After, and next-hop look-ups get no address (a reload, a stop).
 * sp_router_destroy does it too. */
void sp_router_shutdown(struct sp_router *rt);

struct sp_router_stats {
	uint64_t async;   /* requests that waited for DNS */
	uint64_t refused; /* look-ups refused: too many waiting (503) */
};
const struct sp_router_stats *sp_router_stats(const struct sp_router *rt);

#endif
