/* daemon.c: the sipeer daemon: wiring of one worker, the admission and authentication policy, signals, reload, graceful stop. */
#include "app/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "auth/digest.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "dialog/cdr.h"
#include "dns/resolver.h"
#include "io/loop.h"
#include "peering/health.h"
#include "peering/peering.h"
#include "proxy/proxy.h"
#include "registrar/registrar.h"
#include "routing/router.h"
#include "store/store.h"
#include "transport/transport.h"
#include "txn/txn.h"

#define DRAIN_MS 2000u      /* how long SIGTERM waits for open transactions */
#define SWEEP_MS 1000u      /* registrar expiry sweep */
#define MAX_EXTRA_LINES 80  /* header lines of one REGISTER answer */
#define DYN_TLS_MAX 256     /* TLS addresses found through DNS with pinned names */

/* One worker: everything a request touches, owned by one thread. (One
 * worker today; DESIGN.md's Call-ID sharding adds more of these.) */
struct worker {
	struct sp_config *cfg;
	const char *path;
	struct sp_loop *loop;
	struct sp_store *store;
	struct sp_registrar *reg;
	struct sp_digest *digest;
	struct sp_transport *tp;
	struct sp_txn_layer *txn;
	struct sp_proxy *proxy;
	struct sp_router *router;
	struct sp_resolver *res; /* DNS for enum and dns routes (NULL: none) */
	struct sp_peering *peering;
	struct sp_cdr *cdr;
	struct sp_health *health;
	struct sp_listen_spec *listen;
	char *secret;   /* the running auth.secret (nonces, Record-Route tokens) */
	int sigfd;
	struct sp_timer sweep;
	struct sp_timer drain;
	bool stopping;
	uint64_t stop_deadline;
	struct {
		uint64_t registers, challenges, auth_failures, admission_refused, reloads;
		uint64_t peer_unknown, peer_need_tls, peer_wrong_cert, peer_relay_denied;
		uint64_t peer_requests, ondemand_requests;
	} stats;
	struct sp_log_ratelimit rl_admission;
	/* TLS addresses found through DNS whose certificate names are pinned. */
	struct sp_sockaddr dyn_tls[DYN_TLS_MAX];
	bool dyn_tls_used[DYN_TLS_MAX];
	size_t dyn_tls_next;
};

static uint64_t wall_s(void)
{
	return (uint64_t)time(NULL);
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- authentication ------------------------------------------------------ */

static int lookup_secret(void *arg, struct sp_str username, struct sp_str realm,
			 struct sp_digest_secret *out)
{
	struct worker *w = arg;
	ptrdiff_t i = sp_router_user_by_name(w->router, username);
	if (i < 0)
		return SP_ENOENT;
	memset(out, 0, sizeof(*out));
	out->password = sp_str_cstr(w->cfg->users[i].password);
	return 0;
}

/* Answers 401/407 with one challenge per algorithm, most preferred first. */
static void challenge(struct worker *w, struct sp_proxy_req *r, uint16_t status, bool stale)
{
	char storage[2048];
	struct sp_buf b;
	struct sp_str extra[SP_DIGEST__ALG_COUNT];
	size_t starts[SP_DIGEST__ALG_COUNT], n = sp_digest_challenge_count(w->digest);
	const char *name = status == 401 ? "WWW-Authenticate: " : "Proxy-Authenticate: ";

	sp_buf_init_static(&b, storage, sizeof(storage), sizeof(storage));
	if (n > SP_DIGEST__ALG_COUNT)
		n = SP_DIGEST__ALG_COUNT;
	for (size_t i = 0; i < n; i++) {
		starts[i] = b.len;
		if (sp_buf_append_c(&b, name) != 0 ||
		    sp_digest_challenge(w->digest, (unsigned)i, wall_s(), stale, &b) != 0) {
			sp_proxy_reply(r, 500, NULL, NULL, 0);
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		size_t end = i + 1 < n ? starts[i + 1] : b.len;
		extra[i] = sp_str_make(b.p + starts[i], end - starts[i]);
	}
	w->stats.challenges++;
	sp_proxy_reply(r, status, NULL, extra, n);
}

/* Checks the request's credentials for our realm. Returns the index of the
 * authenticated user, or -1 after answering (challenge or re-challenge).
 * An unknown user and a wrong password get the same answer. */
static ptrdiff_t authenticate(struct worker *w, struct sp_proxy_req *r, enum sp_hdr_id hdr,
			      uint16_t status)
{
	struct sp_auth cred;
	bool stale = false;

	if (sp_digest_find_cred(w->digest, r->msg, hdr, &cred) == 0) {
		enum sp_digest_result res = sp_digest_verify(w->digest, &cred, r->msg->method,
							     wall_s(), lookup_secret, w);
		if (res == SP_DIGEST_OK) {
			char user[SP_DIGEST_USER_MAX + 1];
			size_t len;
			if (sp_digest_unescape(cred.username, user, sizeof(user), &len) == 0) {
				ptrdiff_t i = sp_router_user_by_name(w->router, sp_str_make(user, len));
				if (i >= 0)
					return i;
			}
		}
		stale = res == SP_DIGEST_STALE;
		if (!stale) {
			char src[SP_SOCKADDR_STRLEN];
			sp_sockaddr_fmt(&r->src.addr, true, false, src, sizeof(src));
			w->stats.auth_failures++;
			sp_log_cid(SP_LOG_INFO, sp_msg_call_id(r->msg),
				   "authentication failed for user \"%.*s\" from %s",
				   (int)(cred.username.len > 64 ? 64 : cred.username.len), cred.username.p,
				   src);
		}
	}
	challenge(w, r, status, stale);
	return -1;
}

/* ---- REGISTER ------------------------------------------------------------ */

static void register_done(const struct sp_registrar_reply *reply, void *arg)
{
	struct sp_proxy_pending *pp = arg;
	char storage[8192];
	struct sp_buf b;
	struct sp_str extra[MAX_EXTRA_LINES];
	size_t n = 0, start = 0;

	sp_buf_init_static(&b, storage, sizeof(storage), sizeof(storage));
	if (sp_registrar_reply_headers(reply, &b) != 0) {
		sp_proxy_reply_later(pp, 500, "Too many bindings to list", NULL, 0);
		return;
	}
	for (size_t i = 0; i + 1 < b.len && n < MAX_EXTRA_LINES; i++) {
		if (b.p[i] == '\r' && b.p[i + 1] == '\n') {
			if (i > start)
				extra[n++] = sp_str_make(b.p + start, i - start);
			start = i + 2;
			i++;
		}
	}
	sp_proxy_reply_later(pp, reply->status, reply->reason, extra, n);
	sp_buf_free(&b);
}

static int do_register(struct worker *w, struct sp_proxy_req *r)
{
	struct sp_msg *m = r->msg;
	const struct sp_addr *to = sp_msg_to(m);
	char aor[512];
	ptrdiff_t u;
	int err;

	w->stats.registers++;
	if (!r->for_us || !to) {
		sp_proxy_reply(r, 403, "Not a domain of this registrar", NULL, 0);
		return 0;
	}
	if ((u = authenticate(w, r, SP_HDR_AUTHORIZATION, 401)) < 0)
		return 0;
	/* A user registers its own AoR only (RFC 3261 section 10.3 step 3). */
	if (!sp_str_eq_c(to->uri.user, w->cfg->users[u].user) ||
	    !sp_proxy_host_is_ours(w->proxy, to->uri.host)) {
		sp_proxy_reply(r, 403, "Not your address of record", NULL, 0);
		return 0;
	}
	snprintf(aor, sizeof(aor), "sip:%s@%s", w->cfg->users[u].user,
		 w->cfg->domain_count ? w->cfg->domains[0] : "localhost");
	struct sp_proxy_pending *pp = sp_proxy_req_keep(r);
	if (!pp)
		return SP_ENOMEM;
	err = sp_registrar_register(w->reg, sp_str_cstr(aor), m, &r->src, wall_s(), register_done, pp);
	if (err) {
		static const struct sp_str ra[] = { SP_STR("Retry-After: 5") };
		sp_proxy_reply_later(pp, err == SP_E2BIG ? 503 : 500, NULL, ra, 1);
	}
	return SP_EAGAIN;
}

/* ---- the decision step: who is admitted, then where it goes -------------- */

/* The federations whose private ENUM trees a request may use: every one
 * for our own side; for a peer's request (transit), those it came through. */
static uint64_t federations_of(struct worker *w, const struct sp_peer_origin *o)
{
	uint64_t mask = 0;
	if (!o)
		return UINT64_MAX;
	if (o->federation >= 0 && o->federation < 64)
		mask |= 1ull << o->federation;
	for (size_t f = 0; o->peer >= 0 && f < w->cfg->federation_count && f < 64; f++)
		for (size_t k = 0; k < w->cfg->federations[f].member_count; k++)
			if (w->cfg->federations[f].member_peers[k] == (size_t)o->peer)
				mask |= 1ull << f;
	return mask;
}

static int route(struct worker *w, struct sp_proxy_req *r, const struct sp_peer_origin *o)
{
	uint16_t status;
	if (r->has_route) /* a pre-loaded route, from an admitted source */
		return sp_proxy_target_add(r, SP_STR_NULL, SP_STR_NULL, NULL, 0);
	status = sp_router_route_ex(w->router, r, wall_s(), federations_of(w, o));
	if (status == SP_ROUTER_PENDING)
		return 0; /* kept: forwarded when the look-ups end */
	if (status)
		sp_proxy_reply(r, status, NULL, NULL, 0);
	return 0;
}

static void on_target_failed(void *arg, uint32_t tag, const struct sp_dest *dst, uint16_t status)
{
	struct worker *w = arg;
	sp_router_target_failed(w->router, tag, dst, sp_now_ms());
}

static void on_locate_hop(void *arg, const struct sp_proxy_hop_name *hop, sp_proxy_located_h done,
			  void *ctx)
{
	struct worker *w = arg;
	sp_router_locate_hop(w->router, hop, done, ctx);
}

static bool host_is_ours(void *arg, struct sp_str host)
{
	struct worker *w = arg;
	return sp_proxy_host_is_ours(w->proxy, host);
}

/* The resolver of cfg's enum section. Without one (c-ares cannot start),
 * enum and dns routes use static peer entries only. */
static struct sp_resolver *make_resolver(struct worker *w, const struct sp_config *cfg)
{
	struct sp_resolver *res = NULL;
	struct sp_resolver_cfg rc = { .servers = cfg->enum_.resolvers,
				      .nservers = cfg->enum_.resolver_count,
				      .timeout_ms = cfg->enum_.timeout_ms,
				      .max_entries = cfg->enum_.cache_size };
	if (sp_resolver_create(w->loop, &rc, &res) != 0)
		sp_log(SP_LOG_ERR, "dns: no resolver; enum and dns routes use static peer entries only");
	return res;
}

/* Certificate names expected of TLS targets found through DNS. A
 * configured peer's own pin is never replaced (a name that resolves to a
 * peer's address must not lower what that peer has to show), and the
 * addresses pinned this way are bounded: the oldest gives way. */
static void expect_tls_names(void *arg, const struct sp_sockaddr *addr, const char *const *names,
			     size_t n)
{
	struct worker *w = arg;
	size_t i;
	for (size_t p = 0; p < w->cfg->peer_count; p++)
		for (size_t h = 0; h < w->cfg->peers[p].host_count; h++) {
			const struct sp_config_host *host = &w->cfg->peers[p].hosts[h];
			if (host->numeric && host->proto == SP_PROTO_TLS &&
			    w->cfg->peers[p].san_count && sp_sockaddr_eq(&host->addr, addr))
				return;
		}
	for (i = 0; i < DYN_TLS_MAX && !(w->dyn_tls_used[i] && sp_sockaddr_eq(&w->dyn_tls[i], addr));
	     i++)
		;
	if (i == DYN_TLS_MAX) {
		i = w->dyn_tls_next;
		w->dyn_tls_next = (w->dyn_tls_next + 1) % DYN_TLS_MAX;
		if (w->dyn_tls_used[i])
			sp_transport_tls_expect(w->tp, &w->dyn_tls[i], NULL, 0);
		w->dyn_tls[i] = *addr;
		w->dyn_tls_used[i] = true;
	}
	if (sp_transport_tls_expect(w->tp, addr, names, n) != 0)
		sp_log(SP_LOG_WARN, "cannot pin the certificate names of a TLS target");
}

static void router_wire(struct worker *w, struct sp_router *rt, struct sp_resolver *res,
			const struct sp_config *cfg)
{
	sp_router_set_dns(rt, res, sp_loop_timers(w->loop), cfg->enum_.budget_ms);
	sp_router_set_ours(rt, host_is_ours, w);
	sp_router_set_tls_names(rt, expect_tls_names, w);
}

static bool from_our_domain(struct worker *w, struct sp_msg *m)
{
	const struct sp_addr *from = sp_msg_from(m);
	if (!from || (from->uri.scheme_id != SP_URI_SIP && from->uri.scheme_id != SP_URI_SIPS))
		return false;
	for (size_t i = 0; i < w->cfg->domain_count; i++)
		if (sp_str_caseeq_c(from->uri.host, w->cfg->domains[i]))
			return true;
	return false;
}

/* ---- call records ------------------------------------------------------------ */

/* A party for the record: the E.164 number of a user part when it is one,
 * else user@host. */
static void party(struct worker *w, const struct sp_uri *u, char *out, size_t size)
{
	out[0] = '\0';
	if (!u)
		return;
	if (sp_router_user_number(w->router, u->user, out, size) && out[0] == '+')
		return;
	if (u->scheme_id == SP_URI_TEL)
		snprintf(out, size, "%.*s", (int)u->user.len, u->user.p);
	else
		snprintf(out, size, "%.*s@%.*s", (int)(u->user.len > 64 ? 64 : u->user.len), u->user.p,
			 (int)(u->host.len > 64 ? 64 : u->host.len), u->host.p);
}

/* An admitted INVITE that starts a dialog: its record begins. The caller
 * is the asserted identity when there is one (ours, or a trusted peer's). */
static void record_start(struct worker *w, struct sp_proxy_req *r, const struct sp_peer_origin *o,
			 const char *asserted_user)
{
	struct sp_msg *m = r->msg;
	const struct sp_addr *to = sp_msg_to(m), *from = sp_msg_from(m);
	char caller[160], callee[160], ingress[160];
	struct sp_cdr_info info;

	if (!w->cdr || m->method_id != SP_METHOD_INVITE || !to || to->tag.len)
		return;
	ptrdiff_t u = -1;
	if (!asserted_user && !o && from && from->uri.scheme_id != SP_URI_TEL &&
	    sp_proxy_host_is_ours(w->proxy, from->uri.host))
		u = sp_router_user_by_name(w->router, from->uri.user);
	if (asserted_user)
		snprintf(caller, sizeof(caller), "%s", asserted_user);
	else if (u >= 0 && w->cfg->users[u].number)
		snprintf(caller, sizeof(caller), "%s", w->cfg->users[u].number); /* a trusted source's user */
	else
		party(w, from ? &from->uri : NULL, caller, sizeof(caller));
	party(w, sp_msg_ruri(m), callee, sizeof(callee));
	memset(&info, 0, sizeof(info));
	info.caller = caller;
	info.callee = callee;
	if (o) {
		sp_peering_origin_name(w->peering, o, ingress, sizeof(ingress));
		if (o->federation >= 0 && (size_t)o->federation < w->cfg->federation_count)
			info.federation = w->cfg->federations[o->federation].name;
	} else {
		snprintf(ingress, sizeof(ingress), "local");
	}
	info.ingress = ingress;
	sp_cdr_start(w->cdr, sp_msg_call_id(m), &info, wall_ms());
}

static void on_invite_final(void *arg, struct sp_str call_id, uint16_t status, uint32_t egress)
{
	struct worker *w = arg;
	char name[160] = "";
	const char *fed = NULL;
	if (!w->cdr)
		return;
	if (egress >= SP_ROUTER_TAG_PEER && egress - SP_ROUTER_TAG_PEER < w->cfg->peer_count) {
		/* The federation the call went through: the egress peer's first. */
		int f = sp_peering_peer_federation(w->peering, egress - SP_ROUTER_TAG_PEER);
		if (f >= 0)
			fed = w->cfg->federations[f].name;
	}
	if (egress == SP_ROUTER_TAG_LOCAL)
		snprintf(name, sizeof(name), "local");
	else if (egress >= SP_ROUTER_TAG_PEER && egress - SP_ROUTER_TAG_PEER < w->cfg->peer_count)
		snprintf(name, sizeof(name), "peer %s", w->cfg->peers[egress - SP_ROUTER_TAG_PEER].name);
	else if (egress == SP_ROUTER_TAG_ROUTE)
		snprintf(name, sizeof(name), "route");
	sp_cdr_final(w->cdr, call_id, status, name, fed, wall_ms());
}

static void on_bye(void *arg, struct sp_str call_id)
{
	struct worker *w = arg;
	if (w->cdr)
		sp_cdr_bye(w->cdr, call_id, wall_ms());
}

/* ---- the peering side ------------------------------------------------------ */

static void log_refusal(struct worker *w, const struct sp_rx *rx, const char *why)
{
	uint64_t supp = 0;
	if (!sp_log_ratelimit(&w->rl_admission, rx->now_ms, &supp))
		return;
	char src[SP_SOCKADDR_STRLEN];
	sp_sockaddr_fmt(&rx->src.addr, true, false, src, sizeof(src));
	sp_log(SP_LOG_NOTICE, "peering: request from %s %s%s%s refused: %s (%" PRIu64
	       " more refusals not logged)",
	       sp_proto_name(rx->src.proto), src, rx->tls ? " certificate " : "",
	       rx->tls && rx->tls->nsan ? rx->tls->san[0] : "", why, supp);
}

/* The proxy's admit(): only configured peers and federation members get
 * an answer on the peering side (DESIGN.md section 3). */
static int on_admit(void *arg, const struct sp_rx *rx, uint32_t *origin)
{
	struct worker *w = arg;
	struct sp_peer_origin o;
	switch (sp_peering_classify(w->peering, &rx->src, rx->tls, &o)) {
	case SP_ADMIT_PEER:
	case SP_ADMIT_ONDEMAND:
		*origin = sp_peering_origin_pack(&o);
		return SP_PROXY_ADMIT;
	case SP_ADMIT_NEED_TLS:
		w->stats.peer_need_tls++;
		log_refusal(w, rx, "its federation requires TLS");
		break;
	case SP_ADMIT_WRONG_CERT:
		w->stats.peer_wrong_cert++;
		log_refusal(w, rx, "the certificate is not the peer's");
		break;
	case SP_ADMIT_UNKNOWN:
		w->stats.peer_unknown++;
		log_refusal(w, rx, "not a peer");
		break;
	}
	return w->cfg->peering_refuse_reject ? SP_PROXY_REJECT : SP_PROXY_DROP;
}

/* A request from another provider: it may reach this provider's domains
 * and numbers only, unless the peer is a transit customer; asserted
 * identity is believed only from a trusted peer. */
static int peer_request(struct worker *w, struct sp_proxy_req *r, const struct sp_peer_origin *o)
{
	char num[SP_NUMBER_MAX + 16], who[160];
	const struct sp_uri *u = sp_msg_ruri(r->msg);

	if (o->peer >= 0)
		w->stats.peer_requests++;
	else
		w->stats.ondemand_requests++;
	if (r->msg->method_id == SP_METHOD_REGISTER) {
		sp_proxy_reply(r, 403, "Peers do not register here", NULL, 0);
		return 0;
	}
	/* A pre-loaded Route would let the peer pick our next hop (inside, or
	 * anywhere): only a transit peer may send one. */
	if (!o->transit && r->has_route) {
		w->stats.peer_relay_denied++;
		sp_proxy_reply(r, 403, "Pre-loaded Route refused", NULL, 0);
		return 0;
	}
	if (!o->transit) {
		bool number = sp_router_ruri_number(w->router, r, num, sizeof(num));
		bool ours = number ? sp_router_number_is_ours(w->router, num) :
				     u && u->scheme_id != SP_URI_TEL && r->for_us;
		if (!ours) {
			w->stats.peer_relay_denied++;
			sp_peering_origin_name(w->peering, o, who, sizeof(who));
			sp_log_cid(SP_LOG_INFO, sp_msg_call_id(r->msg),
				   "%s asked for %.*s: not ours, and it is no transit peer", who,
				   (int)(r->msg->ruri_raw.len > 120 ? 120 : r->msg->ruri_raw.len),
				   r->msg->ruri_raw.p);
			sp_proxy_reply(r, 403, "Relaying denied", NULL, 0);
			return 0;
		}
	}
	if (!o->trusted && sp_proxy_req_identity(r, true, NULL, NULL, NULL) != 0)
		return SP_ENOMEM;
	record_start(w, r, o, NULL);
	return route(w, r, o);
}

/* DESIGN.md "Who is admitted, who is challenged". */
static int on_request(void *arg, struct sp_proxy_req *r)
{
	struct worker *w = arg;
	struct sp_peer_origin o;
	char aor[512];

	if (w->stopping) {
		static const struct sp_str ra[] = { SP_STR("Retry-After: 5") };
		sp_proxy_reply(r, 503, "Shutting down", ra, 1);
		return 0;
	}
	if (sp_peering_origin_unpack(r->origin, &o))
		return peer_request(w, r, &o);
	if (r->msg->method_id == SP_METHOD_REGISTER)
		return do_register(w, r);
	if (sp_config_cidr_match_any(w->cfg->trusted, w->cfg->trusted_count, &r->src.addr)) {
		record_start(w, r, NULL, NULL);
		return route(w, r, NULL);
	}
	if (from_our_domain(w, r->msg)) {
		ptrdiff_t u = authenticate(w, r, SP_HDR_PROXY_AUTHORIZATION, 407);
		if (u < 0)
			return 0;
		/* The authenticated user is the asserted identity (RFC 3325); what
		 * the phone claimed is dropped, and so are our credentials. */
		char sip[600], tel[64];
		snprintf(sip, sizeof(sip), "<sip:%s@%s>", w->cfg->users[u].user,
			 w->cfg->domain_count ? w->cfg->domains[0] : "localhost");
		if (w->cfg->users[u].number)
			snprintf(tel, sizeof(tel), "<tel:%s>", w->cfg->users[u].number);
		if (sp_proxy_req_identity(r, true, sip, w->cfg->users[u].number ? tel : NULL,
					  w->cfg->auth.realm) != 0)
			return SP_ENOMEM;
		char who[600];
		if (w->cfg->users[u].number)
			snprintf(who, sizeof(who), "%s", w->cfg->users[u].number);
		else
			snprintf(who, sizeof(who), "%s@%s", w->cfg->users[u].user,
				 w->cfg->domain_count ? w->cfg->domains[0] : "localhost");
		record_start(w, r, NULL, who);
		return route(w, r, NULL);
	}
	/* Anyone may reach this node's own users, and nothing else: never an
	 * open relay. An identity asserted by a stranger is not believed. */
	if (!r->has_route && sp_router_local_user(w->router, r, aor, sizeof(aor)) >= 0) {
		if (sp_proxy_req_identity(r, true, NULL, NULL, NULL) != 0)
			return SP_ENOMEM;
		record_start(w, r, NULL, NULL);
		return route(w, r, NULL);
	}
	w->stats.admission_refused++;
	sp_proxy_reply(r, 403, "Relaying denied", NULL, 0);
	return 0;
}

/* ---- plumbing -------------------------------------------------------------- */

static void tp_rx(void *arg, const struct sp_rx *rx)
{
	struct worker *w = arg;
	if (w->proxy)
		sp_proxy_rx(w->proxy, rx);
}

static void tp_send_error(void *arg, const struct sp_dest *dst, int err)
{
	struct worker *w = arg;
	if (w->proxy)
		sp_proxy_send_error(w->proxy, dst, err);
}

static int txn_send(void *arg, const struct sp_dest *dst, const char *buf, size_t len)
{
	struct worker *w = arg;
	return sp_transport_send(w->tp, dst, buf, len);
}

static uint64_t txn_now(void *arg)
{
	struct worker *w = arg;
	return sp_loop_now(w->loop);
}

static void on_store(int fd, unsigned events, void *arg)
{
	struct worker *w = arg;
	/* A group commit answers its registrations together: their 200s go
	 * out in one sendmmsg. */
	sp_transport_batch_begin(w->tp);
	sp_store_dispatch(w->store);
	sp_transport_batch_end(w->tp);
}

static void on_sweep(struct sp_timer *t, void *arg)
{
	struct worker *w = arg;
	sp_registrar_sweep(w->reg, wall_s());
	if (w->cdr)
		sp_cdr_sweep(w->cdr, wall_ms());
	sp_timer_start(sp_loop_timers(w->loop), &w->sweep, sp_loop_now(w->loop) + SWEEP_MS, on_sweep, w);
}

static void on_drain(struct sp_timer *t, void *arg)
{
	struct worker *w = arg;
	uint64_t now = sp_loop_now(w->loop);
	if ((sp_store_pending(w->store) == 0 && sp_txn_count(w->txn) == 0) || now >= w->stop_deadline) {
		sp_loop_stop(w->loop);
		return;
	}
	sp_timer_start(sp_loop_timers(w->loop), &w->drain, now + 100, on_drain, w);
}

static int restore_cdr(const struct sp_store_cdr *r, void *arg)
{
	sp_cdr_restore(arg, r);
	return 0;
}

static int make_digest(const struct sp_config *cfg, const char *secret, struct sp_digest **out)
{
	struct sp_digest_config dc;
	memset(&dc, 0, sizeof(dc));
	dc.realm = sp_str_cstr(cfg->auth.realm);
	dc.secret = (const uint8_t *)secret;
	dc.secret_len = strlen(secret);
	if (dc.secret_len > 64) /* the nonce key's size; longer secrets add nothing */
		dc.secret_len = 64;
	dc.nonce_ttl_s = cfg->auth.nonce_ttl;
	/* MD5 unless configured: SIPp, sipsak and many deployed phones answer
	 * only the first challenge and know only MD5, so offering SHA-256 first
	 * (RFC 8760) locks them out. auth.algorithms turns SHA-256 on. */
	dc.algs = SP_DIGEST_ALG_BIT(SP_DIGEST_MD5);
	if (cfg->auth.algorithm_count) {
		dc.algs = 0;
		for (size_t i = 0; i < cfg->auth.algorithm_count; i++) {
			enum sp_digest_alg alg;
			bool sess;
			if (sp_digest_alg_parse(sp_str_cstr(cfg->auth.algorithms[i]), &alg, &sess) == 0)
				dc.algs |= SP_DIGEST_ALG_BIT(alg);
		}
	}
	return sp_digest_new(&dc, out);
}

/* Outgoing TLS to a peer's host must reach that peer: its certificate
 * must carry one of the peer's certificate.san names. */
static void set_tls_expectations(struct worker *w)
{
	sp_transport_tls_expect_clear(w->tp);
	memset(w->dyn_tls_used, 0, sizeof(w->dyn_tls_used));
	for (size_t i = 0; i < w->cfg->peer_count; i++) {
		const struct sp_config_peer *peer = &w->cfg->peers[i];
		for (size_t h = 0; peer->san_count && h < peer->host_count; h++)
			if (peer->hosts[h].numeric && peer->hosts[h].proto == SP_PROTO_TLS &&
			    sp_transport_tls_expect(w->tp, &peer->hosts[h].addr,
						    (const char *const *)peer->san,
						    peer->san_count) != 0)
				sp_log(SP_LOG_WARN, "peer %s: cannot pin its certificate names",
				       peer->name);
	}
}

/* The OPTIONS prober of cfg's peers, and the router's view of it. */
static int start_health(struct worker *w, const struct sp_config *cfg, struct sp_router *rt,
			struct sp_health **out)
{
	struct sp_health_cfg hc = { .cfg = cfg };
	*out = NULL;
	if (!cfg->peering_probe_interval)
		return 0;
	hc.interval_ms = cfg->peering_probe_interval * 1000u;
	int err = sp_health_create(&hc, sp_loop_timers(w->loop), w->tp, w->txn, out);
	if (err == 0)
		sp_router_set_health(rt, sp_health_host_up, *out);
	return err;
}

static bool same_cas(const struct sp_peering *a, const struct sp_peering *b)
{
	size_t na, nb;
	const char *const *ca = sp_peering_extra_cas(a, &na), *const *cb = sp_peering_extra_cas(b, &nb);
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(ca[i], cb[i]) != 0)
			return false;
	return true;
}

static bool same_listeners(const struct sp_config *a, const struct sp_config *b)
{
	if (a->listen_count != b->listen_count)
		return false;
	for (size_t i = 0; i < a->listen_count; i++)
		if (strcmp(a->listen[i].uri, b->listen[i].uri) != 0 ||
		    a->listen[i].role != b->listen[i].role)
			return false;
	return true;
}

/* SIGHUP: a bad file is refused with its errors and the old configuration
 * stays; a good one replaces users, routes, domains, trust and auth at once.
 * Open transactions keep running (they copied what they need). */
static void reload(struct worker *w)
{
	struct sp_config *ncfg = NULL;
	struct sp_config_diag *diag;
	struct sp_router *nrt = NULL;
	struct sp_digest *ndg = NULL;
	struct sp_peering *npg = NULL;

	if (!w->path) {
		sp_log(SP_LOG_NOTICE, "SIGHUP: running on the built-in configuration; nothing to reload");
		return;
	}
	diag = calloc(1, sizeof(*diag));
	if (!diag)
		return;
	if (sp_config_load(w->path, &ncfg, diag) != 0) {
		for (size_t i = 0; i < diag->count; i++)
			sp_log(SP_LOG_ERR, "%s:%u:%u: %s", diag->file, diag->errors[i].line,
			       diag->errors[i].col, diag->errors[i].msg);
		sp_log(SP_LOG_ERR, "reload refused: the previous configuration stays in force");
		free(diag);
		return;
	}
	free(diag);
	/* A generated secret would change on every reload and void every
	 * outstanding nonce and Record-Route token: the running one stays
	 * unless the file sets one. */
	char *nsecret = ncfg->auth.secret_generated ? strdup(w->secret) : strdup(ncfg->auth.secret);
	if (!nsecret || sp_router_create(ncfg, w->reg, &nrt) != 0 ||
	    make_digest(ncfg, nsecret, &ndg) != 0 || sp_peering_create(ncfg, &npg) != 0) {
		sp_log(SP_LOG_ERR, "reload failed; the previous configuration stays");
		sp_router_destroy(nrt);
		sp_digest_free(ndg);
		sp_config_free(ncfg);
		free(nsecret);
		return;
	}
	if (!same_listeners(w->cfg, ncfg))
		sp_log(SP_LOG_WARN, "reload: listen changes take effect at the next start");
	if (!same_cas(w->peering, npg)) {
		/* The transport loaded the anchors at start, in the order that maps
		 * a chain's anchor to its federation: a new order would misplace
		 * on-demand peers. */
		sp_log(SP_LOG_ERR, "reload refused: the federations' CA files changed; restart to "
				   "apply them (the previous configuration stays)");
		sp_router_destroy(nrt);
		sp_digest_free(ndg);
		sp_peering_destroy(npg);
		sp_config_free(ncfg);
		free(nsecret);
		return;
	}
	sp_health_destroy(w->health);
	w->health = NULL;
	if (start_health(w, ncfg, nrt, &w->health) != 0)
		sp_log(SP_LOG_WARN, "reload: peer probes could not start; every host counts as up");
	/* Requests still waiting for DNS are answered 503 by the old router;
	 * a new resolver takes the new enum settings (and starts with an
	 * empty cache). */
	sp_router_destroy(w->router);
	w->router = nrt;
	sp_resolver_destroy(w->res);
	w->res = make_resolver(w, ncfg);
	router_wire(w, nrt, w->res, ncfg);
	sp_peering_destroy(w->peering);
	w->peering = npg;
	sp_digest_free(w->digest);
	w->digest = ndg;
	sp_proxy_set_secret(w->proxy, nsecret);
	free(w->secret);
	w->secret = nsecret;
	sp_proxy_set_domains(w->proxy, (const char *const *)ncfg->domains, ncfg->domain_count);
	sp_log_set_level(ncfg->log_level);
	sp_config_free(w->cfg);
	w->cfg = ncfg;
	set_tls_expectations(w);
	w->stats.reloads++;
	sp_log(SP_LOG_NOTICE, "configuration reloaded from %s", w->path);
}

static void on_signal(int fd, unsigned events, void *arg)
{
	struct worker *w = arg;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(w);
		} else if (!w->stopping) {
			sp_log(SP_LOG_NOTICE, "signal %u: finishing open transactions, then stopping",
			       si.ssi_signo);
			w->stopping = true;
			w->stop_deadline = sp_loop_now(w->loop) + DRAIN_MS;
			sp_proxy_shutdown(w->proxy);
			sp_timer_start(sp_loop_timers(w->loop), &w->drain, sp_loop_now(w->loop), on_drain, w);
		} else {
			sp_loop_stop(w->loop);
		}
	}
}

static void print_stats(struct worker *w)
{
	const struct sp_proxy_stats *ps = w->proxy ? sp_proxy_stats(w->proxy) : NULL;
	const struct sp_transport_stats *ts = w->tp ? sp_transport_stats(w->tp) : NULL;
	if (ps)
		sp_log(SP_LOG_NOTICE,
		       "counters: requests %" PRIu64 " responses %" PRIu64 " replies 1xx %" PRIu64
		       " 2xx %" PRIu64 " 3xx %" PRIu64 " 4xx %" PRIu64 " 5xx %" PRIu64 " 6xx %" PRIu64
		       " forwarded %" PRIu64 " stateless %" PRIu64,
		       ps->requests, ps->responses, ps->replies[1], ps->replies[2], ps->replies[3],
		       ps->replies[4], ps->replies[5], ps->replies[6], ps->forwarded,
		       ps->stateless_forwarded);
	if (ps)
		sp_log(SP_LOG_NOTICE,
		       "drops: malformed %" PRIu64 " (400 sent for %" PRIu64 ") stray responses %" PRIu64
		       " no route %" PRIu64 " overload %" PRIu64 " admission refused %" PRIu64,
		       ps->drops_malformed, ps->rejected_malformed, ps->drops_stray_response,
		       ps->drops_no_route, ps->overload, w->stats.admission_refused);
	sp_log(SP_LOG_NOTICE,
	       "registrar: REGISTERs %" PRIu64 " bindings %zu challenges %" PRIu64
	       " auth failures %" PRIu64 " reloads %" PRIu64,
	       w->stats.registers, w->reg ? sp_registrar_count(w->reg) : 0, w->stats.challenges,
	       w->stats.auth_failures, w->stats.reloads);
	if (w->cdr) {
		struct sp_cdr_stats cs;
		sp_cdr_stats(w->cdr, &cs);
		sp_log(SP_LOG_NOTICE,
		       "call records: written %" PRIu64 " open %zu not recorded (cap) %" PRIu64
		       " write errors %" PRIu64,
		       cs.written, cs.open, cs.dropped_cap, cs.write_errors);
	}
	sp_log(SP_LOG_NOTICE,
	       "peering: requests from peers %" PRIu64 " on-demand %" PRIu64 " refused: not a peer %"
	       PRIu64 " TLS required %" PRIu64 " wrong certificate %" PRIu64 " relaying %" PRIu64
	       " hosts down %zu",
	       w->stats.peer_requests, w->stats.ondemand_requests, w->stats.peer_unknown,
	       w->stats.peer_need_tls, w->stats.peer_wrong_cert, w->stats.peer_relay_denied,
	       sp_health_down_count(w->health));
	if (w->store) {
		struct sp_store_stats ss;
		sp_store_stats(w->store, &ss);
		sp_log(SP_LOG_NOTICE,
		       "store: %" PRIu64 " writes in %" PRIu64 " transactions (disk syncs), %" PRIu64
		       " failed", ss.batches, ss.transactions, ss.failed);
	}
	if (w->res) {
		const struct sp_resolver_stats *rs = sp_resolver_stats(w->res);
		sp_log(SP_LOG_NOTICE,
		       "dns: questions %" PRIu64 " cache hits %" PRIu64 " coalesced %" PRIu64
		       " sent %" PRIu64 " failed %" PRIu64 " malformed %" PRIu64 " cached now %zu"
		       " evicted %" PRIu64 "; requests that waited for DNS %" PRIu64,
		       rs->queries, rs->cache_hits, rs->coalesced, rs->sent, rs->failures,
		       rs->malformed, rs->entries, rs->evictions,
		       w->router ? sp_router_stats(w->router)->async : 0);
	}
	if (ts)
		sp_log(SP_LOG_NOTICE,
		       "transport: rx %" PRIu64 " tx %" PRIu64 " connections accepted %" PRIu64
		       " refused at cap %" PRIu64 " closed idle %" PRIu64 " frame errors %" PRIu64
		       " send errors %" PRIu64,
		       ts->rx_msgs, ts->tx_msgs, ts->conns_accepted, ts->conns_refused_cap,
		       ts->conns_closed_idle, ts->frame_errors, ts->send_errors);
}

static int start(struct worker *w)
{
	struct sp_config *cfg = w->cfg;
	struct sp_transport_cfg tc;
	struct sp_txn_cfg xc;
	struct sp_registrar_conf rc;
	struct sp_proxy_cfg pc;
	static const struct sp_transport_h th = { .rx = tp_rx, .send_error = tp_send_error };
	static const struct sp_txn_ops xo = { .send = txn_send, .now = txn_now };
	static const struct sp_proxy_h ph = { .request = on_request,
					      .admit = on_admit,
					      .invite_final = on_invite_final,
					      .bye = on_bye,
					      .target_failed = on_target_failed,
					      .locate = on_locate_hop };
	char spec[4200];
	int err;

	if ((err = sp_loop_create((size_t)cfg->limits.transactions * 4 + 1024, &w->loop)) != 0)
		return err;
	if (cfg->store.kind != SP_CONFIG_STORE_SQLITE) {
		sp_log(SP_LOG_ERR, "store: only sqlite: is built so far");
		return SP_EINVAL;
	}
	snprintf(spec, sizeof(spec), "sqlite:%s", cfg->store.path);
	struct sp_store_opts so = { .commit_window_ms = cfg->registrar.commit_window_ms,
				    .cdr_sync = cfg->cdr.sync };
	if ((err = sp_store_open(spec, &so, &w->store)) != 0) {
		sp_log(SP_LOG_ERR, "store %s cannot be opened: %s", spec, sp_strerror(err));
		return err;
	}
	memset(&rc, 0, sizeof(rc));
	rc.default_expires = cfg->registrar.default_expires;
	rc.min_expires = cfg->registrar.min_expires;
	rc.max_expires = cfg->registrar.max_expires;
	rc.max_per_aor = cfg->registrar.max_bindings;
	if ((err = sp_registrar_create(&rc, w->store, &w->reg)) != 0 ||
	    (err = sp_registrar_load(w->reg, w->store, wall_s())) != 0) {
		sp_log(SP_LOG_ERR, "registrar: %s", sp_strerror(err));
		return err;
	}
	if (!(w->secret = strdup(cfg->auth.secret)))
		return SP_ENOMEM;
	if (cfg->auth.secret_generated) {
		/* No auth.secret in the file: the first start's random one is kept
		 * in the store, so nonces, Record-Route tokens and the sealed
		 * topology of dialogs stay valid across restarts. */
		char kept[256];
		err = sp_store_keep(w->store, "auth.secret", w->secret, kept, sizeof(kept));
		if (err == 0) {
			free(w->secret);
			if (!(w->secret = strdup(kept)))
				return SP_ENOMEM;
		} else if (err != SP_ENOENT) {
			sp_log(SP_LOG_WARN, "auth.secret could not be kept in the store (%s): dialogs "
					    "will not survive a restart; set auth.secret",
			       sp_strerror(err));
		}
	}
	if ((err = make_digest(cfg, w->secret, &w->digest)) != 0) {
		sp_log(SP_LOG_ERR, "auth: %s", sp_strerror(err));
		return err;
	}
	if ((err = sp_router_create(cfg, w->reg, &w->router)) != 0 ||
	    (err = sp_peering_create(cfg, &w->peering)) != 0)
		return err;
	if ((err = sp_cdr_create(w->store, cfg->cdr.file, cfg->limits.transactions,
				 (uint64_t)cfg->cdr.max_duration * 1000u, &w->cdr)) != 0)
		return err;
	/* Calls answered before a restart (or a crash) end with their BYE. */
	sp_store_cdr_list(cfg->store.path, 0, restore_cdr, w->cdr);
	w->rl_admission.interval_ms = 10000;

	w->listen = calloc(cfg->listen_count ? cfg->listen_count : 1, sizeof(*w->listen));
	if (!w->listen)
		return SP_ENOMEM;
	for (size_t i = 0; i < cfg->listen_count; i++) {
		w->listen[i].proto = cfg->listen[i].proto;
		w->listen[i].addr = cfg->listen[i].addr;
		w->listen[i].role = cfg->listen[i].role;
	}
	memset(&tc, 0, sizeof(tc));
	tc.listen = w->listen;
	tc.nlisten = cfg->listen_count;
	tc.tls_cert = cfg->tls.cert;
	tc.tls_key = cfg->tls.key;
	tc.tls_ca = cfg->tls.ca;
	tc.tls_extra_ca = sp_peering_extra_cas(w->peering, &tc.ntls_extra_ca);
	tc.max_conns = cfg->limits.connections;
	tc.max_conns_per_ip = cfg->limits.connections_per_source;
	tc.idle_timeout_ms = (uint64_t)cfg->limits.stream_idle_timeout * 1000u;
	tc.max_stream_msg = cfg->limits.stream_message_size;
	tc.max_pending_out = 1u << 20;
	if ((err = sp_transport_create(w->loop, &tc, &th, w, &w->tp)) != 0)
		return err;
	set_tls_expectations(w);

	memset(&xc, 0, sizeof(xc));
	xc.t1_ms = cfg->timers.t1;
	xc.t2_ms = cfg->timers.t2;
	xc.t4_ms = cfg->timers.t4;
	xc.max_txns = cfg->limits.transactions;
	if ((err = sp_txn_layer_create(&xc, sp_loop_timers(w->loop), &xo, w, &w->txn)) != 0)
		return err;

	memset(&pc, 0, sizeof(pc));
	pc.domains = (const char *const *)cfg->domains;
	pc.ndomains = cfg->domain_count;
	pc.server_name = "sipeer";
	pc.secret = w->secret;
	pc.timers = sp_loop_timers(w->loop);
	if ((err = sp_proxy_create(&pc, w->tp, w->txn, &ph, w, &w->proxy)) != 0)
		return err;
	if ((err = start_health(w, cfg, w->router, &w->health)) != 0)
		return err;
	w->res = make_resolver(w, cfg);
	router_wire(w, w->router, w->res, cfg);

	if ((err = sp_loop_fd_add(w->loop, sp_store_fd(w->store), SP_IO_READ, on_store, w)) != 0 ||
	    (err = sp_loop_fd_add(w->loop, w->sigfd, SP_IO_READ, on_signal, w)) != 0)
		return err;
	sp_timer_start(sp_loop_timers(w->loop), &w->sweep, sp_loop_now(w->loop) + SWEEP_MS, on_sweep, w);
	return 0;
}

static void stop(struct worker *w)
{
	if (w->loop) {
		sp_timer_stop(sp_loop_timers(w->loop), &w->sweep);
		sp_timer_stop(sp_loop_timers(w->loop), &w->drain);
	}
	print_stats(w);
	/* The transactions first: their destroyed() handlers free the proxy's
	 * contexts, which are still readable then. Then the store: closing
	 * flushes what is queued and runs the registrar's pending answers,
	 * which find their transactions gone and only free their contexts
	 * (so the proxy must still exist). */
	sp_health_destroy(w->health);
	w->health = NULL;
	if (w->router)
		sp_router_shutdown(w->router); /* requests waiting for DNS: 503 */
	sp_txn_layer_destroy(w->txn);
	sp_cdr_destroy(w->cdr); /* answered calls stay open in the store for the next start */
	w->cdr = NULL;
	if (w->loop && w->store)
		sp_loop_fd_del(w->loop, sp_store_fd(w->store));
	if (w->store)
		sp_store_close(w->store);
	sp_proxy_destroy(w->proxy);
	if (w->tp)
		sp_transport_destroy(w->tp);
	if (w->loop && w->sigfd >= 0)
		sp_loop_fd_del(w->loop, w->sigfd);
	sp_registrar_destroy(w->reg);
	sp_router_destroy(w->router);
	sp_resolver_destroy(w->res);
	sp_peering_destroy(w->peering);
	sp_digest_free(w->digest);
	if (w->loop)
		sp_loop_destroy(w->loop);
	free(w->listen);
	free(w->secret);
	if (w->sigfd >= 0)
		close(w->sigfd);
	sp_config_free(w->cfg);
}

int sp_daemon_run(struct sp_config *cfg, const char *path)
{
	struct worker w;
	sigset_t set;
	int err, rc = 0;

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.path = path;
	w.sigfd = -1;
	/* stop() stops these even when start() failed before arming them. */
	sp_timer_init(&w.sweep);
	sp_timer_init(&w.drain);
	sp_log_set_level(cfg->log_level);
	sp_hash_seed();

	/* Signals arrive through the loop (signalfd). Block them before any
	 * thread starts, so the store thread inherits the mask. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (w.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		sp_log(SP_LOG_ERR, "signals: %s", strerror(errno));
		sp_config_free(cfg);
		return 1;
	}
	if (cfg->workers > 1)
		sp_log(SP_LOG_WARN, "workers: %u asked for; this version runs one worker", cfg->workers);
	if ((err = start(&w)) != 0) {
		sp_log(SP_LOG_ERR, "sipeer could not start (see the lines above)");
		rc = 1;
		goto out;
	}
	{
		const struct sp_listener_info *li;
		size_t n = sp_transport_listeners(w.tp, &li);
		for (size_t i = 0; i < n; i++) {
			char a[SP_SOCKADDR_STRLEN];
			sp_sockaddr_fmt(&li[i].addr, true, false, a, sizeof(a));
			sp_log(SP_LOG_NOTICE, "listening on %s %s (%s)", sp_proto_name(li[i].proto), a,
			       li[i].role == SP_ROLE_PEERING ? "peering" : "access");
		}
		sp_log(SP_LOG_NOTICE, "sipeer ready: %zu users, %zu routes, %zu bindings loaded, realm %s",
		       w.cfg->user_count, w.cfg->route_count, sp_registrar_count(w.reg),
		       w.cfg->auth.realm);
	}
	if ((err = sp_loop_run(w.loop)) != 0) {
		sp_log(SP_LOG_ERR, "event loop failed: %s", sp_strerror(err));
		rc = 1;
	}
	sp_log(SP_LOG_NOTICE, "sipeer stopping");
out:
	stop(&w);
	return rc;
}
