/* proxy.h: the RFC 3261 section 16 stateful proxy core of one worker: the path of a request from bytes to forwarded branches. */
#ifndef SP_PROXY_PROXY_H
#define SP_PROXY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "sip/msg.h"
#include "transport/tp.h"
#include "transport/transport.h"
#include "txn/txn.h"

struct sp_proxy;
struct sp_proxy_req;

/* A next hop given by a host name (a Contact, Route or Request-URI with a
 * domain): what RFC 3263 needs to find its address. host points into the
 * request: copy it. */
struct sp_proxy_hop_name {
	struct sp_str host;
	uint16_t port;        /* 0: none given */
	enum sp_proto proto;  /* 0: no ;transport= */
	bool sips;
};
/* The address found for a next hop, or NULL when there is none. */
typedef void (*sp_proxy_located_h)(void *ctx, const struct sp_dest *dst);

#define SP_PROXY_MAX_TARGETS 16 /* contacts or next hops per request */

/* The decision step the daemon plugs in (admission, registrar, local users,
 * routes): called for each new request that Route processing did not
 * already send on. It must do exactly one of: answer with sp_proxy_reply,
 * add targets with sp_proxy_target_add (they are then forwarded, same
 * group in parallel, groups in order), or keep the request (return
 * SP_EAGAIN after sp_proxy_req_keep) and answer later with
 * sp_proxy_reply_later. Returning another error answers 500. */
struct sp_proxy_h {
	int (*request)(void *arg, struct sp_proxy_req *r);
	/* Admission of a request that arrived on the peering side (a peering
	 * listener, or a connection we opened from one), before it is parsed
	 * or matched to a transaction: in-dialog requests, ACK and CANCEL
	 * included. Returns SP_PROXY_ADMIT (and may set *origin, passed on as
	 * sp_proxy_req.origin), SP_PROXY_DROP (no answer at all) or
	 * SP_PROXY_REJECT (a stateless 403). NULL: everything is admitted. */
	int (*admit)(void *arg, const struct sp_rx *rx, uint32_t *origin);
	/* Call records (may be NULL): the final answer to an INVITE without
	 * To tag went upstream; egress is the tag of the target that answered
	 * (sp_proxy_target.tag), 0 when it was answered here. */
	void (*invite_final)(void *arg, struct sp_str call_id, uint16_t status, uint32_t egress);
	/* A BYE was accepted (a 2xx went upstream), from either side. */
	void (*bye)(void *arg, struct sp_str call_id);
	/* A branch got no answer at all (status 408: timeout; 0: transport
	 * error) or a 503 from the next hop dst: the router may try that
	 * target last for a while. tag is the target's. May be NULL. */
	void (*target_failed)(void *arg, uint32_t tag, const struct sp_dest *dst, uint16_t status);
	/* Finds the address of a next hop given by name (RFC 3263) and calls
	 * done(ctx, ...) exactly once, possibly before returning. Requests
	 * wait for it, and so does an ACK for a 2xx (a copy of it). NULL:
	 * such next hops fail (503; an ACK is dropped). */
	void (*locate)(void *arg, const struct sp_proxy_hop_name *hop, sp_proxy_located_h done,
		       void *ctx);
};

enum { SP_PROXY_ADMIT = 0, SP_PROXY_DROP = 1, SP_PROXY_REJECT = 2 };

struct sp_proxy_cfg {
	/* Domains this node serves (lower case): a Request-URI with one of
	 * them, or with one of the node's listener addresses, is "for us". */
	const char *const *domains;
	size_t ndomains;
	/* Server header / User-Agent token written in our own responses. */
	const char *server_name;
	/* Key of the Record-Route token (auth.secret): the same on every node
	 * and across restarts, or in-dialog requests of older dialogs are
	 * treated as new ones. */
	const char *secret;
	/* Timer C (RFC 3261 16.6 step 11) runs on the worker's timer heap
	 * (the loop's clock, sp_now_ms); NULL: no Timer C. timer_c_ms 0: 181 s. */
	struct sp_timers *timers;
	uint32_t timer_c_ms;
};

/* One request being decided. Valid during the request() call; after
 * sp_proxy_req_keep, until sp_proxy_reply_later. */
struct sp_proxy_req {
	struct sp_proxy *p;
	struct sp_txn *st;           /* its server transaction */
	struct sp_msg *msg;          /* parsed request (during request() only) */
	struct sp_dest src;          /* where it came from */
	enum sp_role role;           /* the listener's role */
	const struct sp_tls_peer *tls;
	bool for_us;                 /* Request-URI is one of our domains or addresses */
	struct sp_str ruri_user;     /* user part of the Request-URI (escaped) */
	bool has_route;              /* a Route beyond us remains: a target with an empty
				      * uri follows it */
	uint32_t origin;             /* what admit() said of the source (0: access side) */
	/* Private. */
	struct sp_pcall *call;
	bool answered;
	bool kept;
};

int sp_proxy_create(const struct sp_proxy_cfg *cfg, struct sp_transport *tp,
		    struct sp_txn_layer *txn, const struct sp_proxy_h *h, void *arg,
		    struct sp_proxy **out);
void sp_proxy_destroy(struct sp_proxy *p);
/* Graceful stop: every request still waiting for its branches is answered
 * 503 (Retry-After) and its branches are cancelled, so neither side keeps
 * ringing; 2xx that still arrive are passed on. */
void sp_proxy_shutdown(struct sp_proxy *p);
/* A reload changes the Record-Route key (the string must outlive its use). */
void sp_proxy_set_secret(struct sp_proxy *p, const char *secret);
/* A reload changes the domains (the array must outlive its use). */
void sp_proxy_set_domains(struct sp_proxy *p, const char *const *domains, size_t n);

/* The transport's rx and send_error handlers: the daemon passes these on. */
void sp_proxy_rx(struct sp_proxy *p, const struct sp_rx *rx);
void sp_proxy_send_error(struct sp_proxy *p, const struct sp_dest *dst, int err);

/* Answers r's request statefully. extra: complete header lines without
 * CRLF ("Contact: <...>;expires=60"). reason NULL: the standard phrase. */
int sp_proxy_reply(struct sp_proxy_req *r, uint16_t status, const char *reason,
		   const struct sp_str *extra, size_t nextra);
/* Adds a target: uri is the new Request-URI ("sip:alice@192.0.2.1:5070");
 * route, when not empty, is a Route header value to put in front of the
 * request's (a registered Path); dst, when not NULL, overrides the next hop
 * found from the Route or the URI (a contact behind NAT is reached at the
 * address its REGISTER came from). group orders serial forking: lower
 * groups first, same group in parallel. Strings are copied. */
int sp_proxy_target_add(struct sp_proxy_req *r, struct sp_str uri, struct sp_str route,
			const struct sp_dest *dst, unsigned group);

/* A target with its policy (sp_proxy_target_add is the plain case). */
enum {
	/* The next group is tried after this one only when every branch of
	 * it failed for want of a server: 408, 503, timeout or transport
	 * error (a peer's hosts); a 486 from the first host is the answer. */
	SP_PROXY_T_FAILOVER = 1u << 0,
	/* Outside the trust domain (RFC 3325): no P-Asserted-Identity or
	 * P-Preferred-Identity goes there. */
	SP_PROXY_T_UNTRUSTED = 1u << 1,
	/* Another provider: the privacy service of RFC 3323 applies on the
	 * way out (Privacy: user or header anonymizes From). */
	SP_PROXY_T_FOREIGN = 1u << 2,
};
struct sp_proxy_target {
	struct sp_str uri;          /* empty: keep the Request-URI */
	struct sp_str route;        /* empty: none */
	const struct sp_dest *dst;  /* NULL: from the Route or the URI */
	unsigned group;
	unsigned flags;             /* SP_PROXY_T_* */
	uint32_t tag;               /* the caller's name for it, given back to invite_final */
};
int sp_proxy_target_add_ex(struct sp_proxy_req *r, const struct sp_proxy_target *t);

/* Trust-domain edits for every forwarded copy of r (RFC 3325, RFC 3261
 * section 22.3): strip removes the P-Asserted-Identity and
 * P-Preferred-Identity it carries; asserted (and asserted_tel), when not
 * NULL, are added as P-Asserted-Identity values ("<sip:alice@ssp-a.test>",
 * "<tel:+4721000001>"); consume_realm removes the Proxy-Authorization
 * credentials of that realm (ours: nobody downstream needs them). Strings
 * are copied. */
int sp_proxy_req_identity(struct sp_proxy_req *r, bool strip, const char *asserted,
			  const char *asserted_tel, const char *consume_realm);

/* Asynchronous answers (the registrar waits for its store): keep returns a
 * handle that stays valid until sp_proxy_reply_later is called with it,
 * also if the transaction has gone meanwhile (the answer is then dropped). */
struct sp_proxy_pending;
struct sp_proxy_pending *sp_proxy_req_keep(struct sp_proxy_req *r);
void sp_proxy_reply_later(struct sp_proxy_pending *pp, uint16_t status, const char *reason,
			  const struct sp_str *extra, size_t nextra);
/* A decision that needed time (a DNS look-up): targets are added to a
 * kept request, then sp_proxy_forward_later forwards them like targets
 * added during request() would have been. With no target it answers
 * status (500 when 0) with reason; a request cancelled meanwhile is
 * answered 487. pp is invalid afterwards. */
int sp_proxy_pending_target_add(struct sp_proxy_pending *pp, const struct sp_proxy_target *t);
void sp_proxy_forward_later(struct sp_proxy_pending *pp, uint16_t status, const char *reason);
/* The request of a pending answer, parsed (valid until the next call). */
struct sp_msg *sp_proxy_pending_msg(struct sp_proxy_pending *pp);

/* Is uri one of this node's addresses (listener host and port), so a
 * Route/Request-URI naming it points at us? */
bool sp_proxy_uri_is_self(const struct sp_proxy *p, const struct sp_uri *uri);
/* Is host one of the configured domains or listener addresses? */
bool sp_proxy_host_is_ours(const struct sp_proxy *p, struct sp_str host);

/* The next hop for a URI: numeric hosts only until the resolver lands
 * (SP_ENOENT for names); port 5060, or 5061 for TLS/sips; ;transport=
 * and ;maddr= honoured. */
int sp_proxy_uri_dest(const struct sp_uri *uri, struct sp_dest *out);

struct sp_proxy_stats {
	uint64_t requests, responses;
	uint64_t replies[7];        /* by class 1xx..6xx, index status/100 */
	uint64_t forwarded, stateless_forwarded;
	uint64_t drops_malformed, drops_stray_response, drops_no_route;
	uint64_t rejected_malformed; /* stateless 400 sent */
	uint64_t overload;           /* 503 for a cap reached */
	uint64_t drops_admission;    /* peering side: refused by admit() */
	uint64_t calls_active;       /* proxy contexts alive now */
};
const struct sp_proxy_stats *sp_proxy_stats(const struct sp_proxy *p);

#endif
