/* proxy.c: the stateful proxy: validation (16.3), Route processing (16.4), forwarding and forking (16.6), response choice (16.7), CANCEL (16.10). */
#include "proxy/proxy.h"
#include "proxy/hide.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "sip/auth.h"
#include "sip/edit.h"
#include "sip/reply.h"
#include "sip/tokens.h"

#define OUT_MAX 65535u
#define SP_PROXY_MAX_ACKS_WAITING 1024u
#define MAX_GROUPS_PER_CALL SP_PROXY_MAX_TARGETS

struct target {
	char *uri;     /* NULL: keep the Request-URI */
	char *route;   /* NULL: none */
	struct sp_dest dst;
	bool has_dst;
	unsigned group;
	unsigned flags; /* SP_PROXY_T_* */
	uint32_t tag;   /* sp_proxy_target.tag */
};

struct branch {
	struct sp_pcall *call;
	struct sp_txn *ct;
	struct sp_timer timer_c; /* INVITE only: ringing without an answer (16.6 step 11) */
	bool started;
	bool done;
	uint16_t status; /* its final status, once done */
	bool hidden;     /* left by the peering side with the inner topology hidden */
	int out_li;      /* the listener it left by */
	struct sp_dest dst; /* where it went */
};

/* A target and the branch that tries it, allocated together when the
 * target is added: a context carries only the pointers, since it lives as
 * long as its server transaction (32 s after an INVITE's 2xx or a BYE's
 * answer) and most requests have one target. Sixteen inline slots made
 * every lingering context 3.6 KB. */
struct leg {
	struct target t;
	struct branch b;
};

static struct leg *leg_of(const struct branch *b)
{
	return (struct leg *)((char *)b - offsetof(struct leg, b));
}

/* The proxy context of one server transaction that the proxy forwards or
 * answers later. It lives until its server transaction is gone, every
 * client transaction it started is gone, and no pending answer holds it. */
struct sp_pcall {
	struct sp_hnode node;       /* p->calls, keyed by the server transaction */
	struct sp_proxy *p;
	struct sp_txn *st;
	struct leg *leg[SP_PROXY_MAX_TARGETS]; /* ntargets of them, sorted by group */
	unsigned ntargets;
	unsigned next;              /* first target not started */
	uint16_t best_status;       /* best final response so far (0 none) */
	char *best;                 /* its bytes, our Via removed; NULL: synthesize */
	size_t best_len;
	bool final_sent;
	bool cancelled;
	bool six;                   /* a 6xx ended the search */
	bool pending;               /* a sp_proxy_pending holds it */
	bool invite;
	bool strip_identity;        /* drop P-Asserted/P-Preferred-Identity on the way */
	char *identity[2];          /* P-Asserted-Identity values to add */
	char *realm;                /* our credentials (this realm) are removed */
	char *chal;                 /* challenges of every 401/407 ("Name: value\n" each) */
	size_t chal_len;
	unsigned nchal, nchal_resp; /* challenge lines, and responses they came from */
	int in_listener;
	bool from_peering;          /* the request came from another provider */
	bool initial_invite;        /* an INVITE without To tag: call records follow it */
	bool bye;                   /* a BYE: its 2xx ends the call record */
	uint32_t best_tag;          /* the target tag of the best response */
	unsigned hops_pending;      /* next hops given by name being located */
};

struct sp_proxy_pending {
	struct sp_pcall call; /* a pending answer is a context without branches */
};

struct sp_proxy {
	struct sp_proxy_cfg cfg;
	struct sp_transport *tp;
	struct sp_txn_layer *txn;
	struct sp_proxy_h h;
	void *arg;
	struct sp_proxy_stats stats;
	struct sp_htab calls;
	uint32_t seq;
	struct sp_msg *msg;   /* scratch parse of received messages */
	struct sp_msg *msg2;  /* scratch parse of a stored response */
	struct sp_buf rxcopy; /* a received request with received=/rport= filled in */
	struct sp_buf out;    /* scratch serialization */
	struct sp_log_ratelimit rl_overload, rl_malformed;
	uint32_t egress_hint; /* the target tag of an answer reply_txn sends on a branch's behalf */
	EVP_MAC_CTX *rr_ctx[2]; /* Record-Route token keys: access, peering */
	size_t acks_waiting;    /* ACKs waiting for the address of their next hop */
};

static void call_check_done(struct sp_pcall *c);
static void note_failed(struct branch *b, uint16_t status);
static bool resolve_hops(struct sp_pcall *c);
static void note_final(struct sp_proxy *p, struct sp_pcall *c, uint16_t status, uint32_t egress);

/* ---- addresses ---------------------------------------------------------- */

int sp_proxy_uri_dest(const struct sp_uri *uri, struct sp_dest *out)
{
	struct sp_dest d;
	struct sp_str host = uri->host, v;
	uint16_t port = uri->port;

	if (uri->scheme_id != SP_URI_SIP && uri->scheme_id != SP_URI_SIPS)
		return SP_EINVAL;
	memset(&d, 0, sizeof(d));
	d.listener = -1;
	d.proto = uri->scheme_id == SP_URI_SIPS ? SP_PROTO_TLS : SP_PROTO_UDP;
	if (sp_uri_param(uri, "transport", &v) == 0 && uri->scheme_id == SP_URI_SIP) {
		if (sp_proto_parse(v, &d.proto) != 0)
			return SP_EINVAL;
	}
	if (sp_uri_param(uri, "maddr", &v) == 0 && v.len)
		host = v;
	if (!port)
		port = d.proto == SP_PROTO_TLS ? 5061 : 5060;
	if (sp_sockaddr_from_host(host, port, &d.addr) != 0)
		return SP_ENOENT; /* a name: the resolver's job (not yet) */
	*out = d;
	return 0;
}

static bool host_port_is_listener(const struct sp_proxy *p, struct sp_str host, uint16_t port,
				  bool any_port)
{
	const struct sp_listener_info *li;
	size_t n = sp_transport_listeners(p->tp, &li);
	struct sp_sockaddr a;

	if (sp_sockaddr_from_host(host, 0, &a) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint16_t lport = sp_sockaddr_port(&li[i].addr);
		uint16_t want = port ? port : (li[i].proto == SP_PROTO_TLS ? 5061 : 5060);
		if (sp_sockaddr_eq_host(&a, &li[i].addr) && (any_port || lport == want))
			return true;
	}
	return false;
}

static bool listener_is_peering(const struct sp_proxy *p, int li)
{
	const struct sp_listener_info *l;
	size_t n = sp_transport_listeners(p->tp, &l);
	return li >= 0 && (size_t)li < n && l[li].role == SP_ROLE_PEERING;
}

static bool is_domain(const struct sp_proxy *p, struct sp_str host)
{
	for (size_t i = 0; i < p->cfg.ndomains; i++)
		if (sp_str_caseeq_c(host, p->cfg.domains[i]))
			return true;
	return false;
}

bool sp_proxy_host_is_ours(const struct sp_proxy *p, struct sp_str host)
{
	return is_domain(p, host) || host_port_is_listener(p, host, 0, true);
}

bool sp_proxy_uri_is_self(const struct sp_proxy *p, const struct sp_uri *uri)
{
	struct sp_str maddr;
	if (uri->scheme_id != SP_URI_SIP && uri->scheme_id != SP_URI_SIPS)
		return false;
	if (sp_uri_param(uri, "maddr", &maddr) == 0 && maddr.len)
		return host_port_is_listener(p, maddr, uri->port, false);
	if (uri->host_type == SP_HOST_NAME)
		return uri->user.len == 0 && is_domain(p, uri->host) && uri->port == 0;
	return host_port_is_listener(p, uri->host, uri->port, false);
}

static bool via_is_self(const struct sp_proxy *p, const struct sp_via *via)
{
	return via->host_type != SP_HOST_NAME && host_port_is_listener(p, via->host, via->port, false);
}

/* ---- small helpers ------------------------------------------------------ */

static void count_reply(struct sp_proxy *p, uint16_t status)
{
	if (status >= 100 && status < 700)
		p->stats.replies[status / 100]++;
}

static int send_buf(struct sp_proxy *p, const struct sp_dest *dst, struct sp_buf *b)
{
	int err = sp_transport_send(p->tp, dst, b->p, b->len);
	if (err)
		sp_log(SP_LOG_INFO, "send failed: %s", sp_strerror(err));
	return err;
}

/* A To tag for responses this node generates: unique per node run. */
static struct sp_str make_tag(struct sp_proxy *p, char *buf, size_t size)
{
	uint32_t seq = ++p->seq;
	int n = snprintf(buf, size, "sp%08" PRIx32 "%08" PRIx64, seq,
			 sp_hash(&seq, sizeof(seq)) & 0xffffffffu);
	return sp_str_make(buf, (size_t)n);
}

/* The token in our Record-Route URIs (";sp="): a keyed hash of the
 * Call-ID and of the side (access or peering) of the listener the entry
 * names. An in-dialog request is routed along its route set without the
 * admission rules only when the Route entry naming us carries the token of
 * its Call-ID for that side, that is when we really Record-Routed that
 * dialog there; anything else goes through the admission rules (else "To:
 * ;tag=x" plus a Route naming us would make this an open relay, and a
 * token seen on the access side would open the peering side). */
#define RR_TOKEN_LEN 16

/* The keyed HMAC-SHA256 contexts of the two sides, made once per secret:
 * OpenSSL's one-shot HMAC() fetches the algorithm and builds a context on
 * every call (a quarter of the user-space time of a call, by callgrind),
 * where duplicating a keyed context costs a copy. */
static void rr_keys_free(struct sp_proxy *p)
{
	for (int i = 0; i < 2; i++) {
		EVP_MAC_CTX_free(p->rr_ctx[i]);
		p->rr_ctx[i] = NULL;
	}
}

static void rr_keys_make(struct sp_proxy *p)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	char key[160];
	rr_keys_free(p);
	for (int i = 0; mac && i < 2; i++) {
		/* One key per side: the secret, with a suffix for the peering side. */
		int klen = snprintf(key, sizeof(key), "%.128s%s", p->cfg.secret ? p->cfg.secret : "",
				    i ? "|peering" : "");
		OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
					OSSL_PARAM_construct_end() };
		p->rr_ctx[i] = EVP_MAC_CTX_new(mac);
		if (p->rr_ctx[i] && (klen < 0 || EVP_MAC_init(p->rr_ctx[i], (const unsigned char *)key,
							      (size_t)klen, params) != 1)) {
			EVP_MAC_CTX_free(p->rr_ctx[i]);
			p->rr_ctx[i] = NULL;
		}
	}
	EVP_MAC_free(mac);
}

static void rr_token(const struct sp_proxy *p, struct sp_str call_id, enum sp_role role,
		     char out[RR_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	EVP_MAC_CTX *c = p->rr_ctx[role == SP_ROLE_PEERING] ?
				 EVP_MAC_CTX_dup(p->rr_ctx[role == SP_ROLE_PEERING]) : NULL;
	/* Without a context (out of memory) every token is zeros: nothing
	 * verifies, so in-dialog requests take the admission path. */
	if (!c || EVP_MAC_update(c, (const unsigned char *)call_id.p, call_id.len) != 1 ||
	    EVP_MAC_final(c, md, &mdlen, sizeof(md)) != 1 || mdlen < RR_TOKEN_LEN / 2)
		memset(md, 0, sizeof(md));
	EVP_MAC_CTX_free(c);
	for (unsigned i = 0; i < RR_TOKEN_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[RR_TOKEN_LEN] = '\0';
}

static enum sp_role listener_role(const struct sp_proxy *p, int li)
{
	const struct sp_listener_info *l;
	size_t n = sp_transport_listeners(p->tp, &l);
	return li >= 0 && (size_t)li < n ? l[li].role : SP_ROLE_ACCESS;
}

static int uri_listener(const struct sp_proxy *p, const struct sp_uri *uri, enum sp_proto *proto);

static bool rr_token_ok(const struct sp_proxy *p, struct sp_msg *m, const struct sp_uri *u)
{
	char want[RR_TOKEN_LEN + 1];
	struct sp_str v;
	enum sp_proto proto;
	if (sp_uri_param(u, "sp", &v) != 0 || v.len != RR_TOKEN_LEN)
		return false;
	rr_token(p, sp_msg_call_id(m), listener_role(p, uri_listener(p, u, &proto)), want);
	return memcmp(v.p, want, RR_TOKEN_LEN) == 0;
}

/* A stateless answer (no server transaction: caps reached, malformed). */
static void reply_stateless(struct sp_proxy *p, struct sp_msg *m, const struct sp_dest *src,
			    uint16_t status, const char *reason, const struct sp_str *extra,
			    size_t nextra)
{
	struct sp_dest dst;
	const struct sp_via *via = sp_msg_via(m);
	char tagbuf[32];
	if (!via || sp_txn_response_dest_for(via, src, &dst) != 0)
		return;
	sp_buf_reset(&p->out);
	if (sp_reply_build(m, status, reason, make_tag(p, tagbuf, sizeof(tagbuf)), extra, nextra,
			   &p->out) == 0 && send_buf(p, &dst, &p->out) == 0)
		count_reply(p, status);
}

/* Builds and sends a response on a server transaction. */
static int reply_txn(struct sp_proxy *p, struct sp_txn *st, uint16_t status, const char *reason,
		     const struct sp_str *extra, size_t nextra)
{
	struct sp_msg *req = sp_txn_request(st);
	char tagbuf[32];
	struct sp_str tag = status > 100 ? make_tag(p, tagbuf, sizeof(tagbuf)) : SP_STR_NULL;
	int err;

	if (!req)
		return SP_EINVAL;
	sp_buf_reset(&p->out);
	if ((err = sp_reply_build(req, status, reason, tag, extra, nextra, &p->out)) != 0)
		return err;
	if ((err = sp_txn_server_reply(st, status, p->out.p, p->out.len)) == 0)
		count_reply(p, status);
	if (status >= 200 && p->h.invite_final && req->method_id == SP_METHOD_INVITE) {
		const struct sp_addr *to = sp_msg_to(req);
		if (to && !to->tag.len)
			p->h.invite_final(p->arg, sp_msg_call_id(req), status, p->egress_hint);
	}
	if (status >= 200 && sp_log_enabled(SP_LOG_DEBUG))
		sp_log_cid(SP_LOG_DEBUG, sp_msg_call_id(req), "answered %.*s with %u %s",
			   SP_STR_FMT(req->method), status, reason ? reason : sp_reply_phrase(status));
	return err;
}

/* ---- Route processing (16.4) -------------------------------------------- */

/* How the Route headers of a request look once our own entries are taken
 * out: computed again from the request whenever a branch is forwarded, so
 * nothing about it needs to be stored. */
struct route_prep {
	unsigned skip;           /* leading Route values that name us */
	bool strict;             /* the Request-URI was our Record-Route (a strict router sent it) */
	struct sp_str new_ruri;  /* strict: the last Route value's URI */
	struct sp_addr next;     /* the first Route value left, when has_next */
	bool has_next;
	bool verified;           /* an entry naming us (or the strict Request-URI) carries
				  * our Record-Route token for this Call-ID */
	struct sp_str sph;       /* the sealed inner route of an entry of ours, if any */
	int out_li;              /* the listener our last skipped entry names: the side that
				  * faces the next hop (-1: unknown) */
	enum sp_proto out_proto; /* its protocol */
	int first_li;            /* the listener our first skipped entry names (-1) */
	bool first_verified;     /* and that entry carries the token */
};

/* The listener a URI of ours names (host, port and transport), or -1. */
static int uri_listener(const struct sp_proxy *p, const struct sp_uri *uri, enum sp_proto *proto)
{
	const struct sp_listener_info *l;
	size_t n = sp_transport_listeners(p->tp, &l);
	struct sp_dest d;
	struct sp_sockaddr a;
	if (sp_proxy_uri_dest(uri, &d) != 0 || sp_sockaddr_from_host(uri->host, 0, &a) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint16_t want = uri->port ? uri->port : (l[i].proto == SP_PROTO_TLS ? 5061 : 5060);
		if (l[i].proto == d.proto && sp_sockaddr_eq_host(&a, &l[i].addr) &&
		    sp_sockaddr_port(&l[i].addr) == want) {
			*proto = l[i].proto;
			return (int)i;
		}
	}
	return -1;
}

static int route_prep(struct sp_proxy *p, struct sp_msg *m, struct route_prep *rp)
{
	const struct sp_hdr *h;
	struct sp_addr a;
	unsigned total = 0, idx = 0;
	const struct sp_uri *ruri = sp_msg_ruri(m);

	memset(rp, 0, sizeof(*rp));
	rp->out_li = rp->first_li = -1;
	for (h = sp_msg_hdr(m, SP_HDR_ROUTE); h; h = sp_msg_hdr_next(m, h)) {
		struct sp_str cur = h->value;
		while (sp_addr_next(&cur, SP_ADDR_NAMEADDR, &a) == 0) {
			total++;
			if (total > 64)
				return SP_E2BIG;
		}
	}
	/* 16.4: a Request-URI that we put in a Record-Route means the previous
	 * hop is a strict router: the real target is the last Route value. */
	if (ruri && total && ruri->user.len == 0 && sp_proxy_uri_is_self(p, ruri)) {
		rp->strict = true;
		rp->verified = rr_token_ok(p, m, ruri);
		for (h = sp_msg_hdr(m, SP_HDR_ROUTE); h; h = sp_msg_hdr_next(m, h)) {
			struct sp_str cur = h->value;
			while (sp_addr_next(&cur, SP_ADDR_NAMEADDR, &a) == 0)
				rp->new_ruri = a.uri.raw;
		}
		total--;
	}
	/* Our own entries at the top (two when we double Record-Routed). */
	for (h = sp_msg_hdr(m, SP_HDR_ROUTE); h; h = sp_msg_hdr_next(m, h)) {
		struct sp_str cur = h->value;
		while (idx < total && sp_addr_next(&cur, SP_ADDR_NAMEADDR, &a) == 0) {
			if (idx == rp->skip && rp->skip < 2 && sp_proxy_uri_is_self(p, &a.uri)) {
				rp->skip++;
				rp->out_li = uri_listener(p, &a.uri, &rp->out_proto);
				if (rp->skip == 1)
					rp->first_li = rp->out_li;
				if (rr_token_ok(p, m, &a.uri)) {
					rp->verified = true;
					if (rp->skip == 1)
						rp->first_verified = true;
				}
				/* Only the entry a peer addressed (the first) carries
				 * the inner route for requests from that side. */
				struct sp_str v;
				if (rp->skip == 1 && sp_uri_param(&a.uri, "sph", &v) == 0 && v.len)
					rp->sph = v;
			} else if (!rp->has_next) {
				rp->next = a;
				rp->has_next = true;
			}
			idx++;
		}
	}
	return 0;
}

/* Applies a route_prep to an edit list: removes the skipped values at the
 * top and, for a strict router, the last value. Removal is only ever at the
 * two ends of the list, so what a line keeps is one contiguous slice. */
static int route_edit(struct sp_edit *e, struct sp_msg *m, const struct route_prep *rp)
{
	struct {
		const struct sp_hdr *h;
		struct sp_str raw;
	} v[65];
	unsigned n = 0, i = 0;
	int err;

	if (!rp->skip && !rp->strict)
		return 0;
	for (const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_ROUTE); h; h = sp_msg_hdr_next(m, h)) {
		struct sp_str cur = h->value;
		struct sp_addr a;
		while (n < 65 && sp_addr_next(&cur, SP_ADDR_NAMEADDR, &a) == 0) {
			v[n].h = h;
			v[n].raw = a.raw;
			n++;
		}
	}
	while (i < n) {
		const struct sp_hdr *h = v[i].h;
		const char *keep_start = NULL, *keep_end = NULL;
		unsigned total = 0, kept = 0;
		for (; i < n && v[i].h == h; i++) {
			bool drop = i < rp->skip || (rp->strict && i == n - 1);
			total++;
			if (drop)
				continue;
			if (!keep_start)
				keep_start = v[i].raw.p;
			keep_end = v[i].raw.p + v[i].raw.len;
			kept++;
		}
		if (kept == total)
			continue;
		if (kept == 0)
			err = sp_edit_hdr_remove(e, m, h);
		else
			err = sp_edit_hdr_value(e, m, h,
						sp_str_make(keep_start, (size_t)(keep_end - keep_start)));
		if (err)
			return err;
	}
	return 0;
}

/* ---- loop detection (16.3 step 4, 16.6 step 8) --------------------------- */

/* A hash of what identifies the request at this hop; a spiral (the
 * Request-URI changed) hashes differently, a loop does not. */
static uint64_t loop_hash(struct sp_msg *m)
{
	const struct sp_addr *from = sp_msg_from(m), *to = sp_msg_to(m);
	const struct sp_cseq *cs = sp_msg_cseq(m);
	uint64_t h = sp_hash_str(m->ruri_raw);
	h = sp_hash_mix(h, sp_hash_str(sp_msg_call_id(m)));
	if (from)
		h = sp_hash_mix(h, sp_hash_str(from->tag));
	if (to)
		h = sp_hash_mix(h, sp_hash_str(to->tag));
	if (cs)
		h = sp_hash_mix(h, cs->num);
	for (const struct sp_hdr *x = sp_msg_hdr(m, SP_HDR_PROXY_REQUIRE); x; x = sp_msg_hdr_next(m, x))
		h = sp_hash_mix(h, sp_hash_str(x->value));
	return h;
}

static bool is_loop(struct sp_proxy *p, struct sp_msg *m, uint64_t lh)
{
	char want[32];
	int n = snprintf(want, sizeof(want), "z9hG4bK%016" PRIx64 ".", lh);
	for (const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_VIA); h; h = sp_msg_hdr_next(m, h)) {
		struct sp_str cur = h->value;
		struct sp_via v;
		while (sp_via_next(&cur, &v) == 0) {
			if (v.branch.len > (size_t)n && memcmp(v.branch.p, want, (size_t)n) == 0 &&
			    via_is_self(p, &v))
				return true;
		}
	}
	return false;
}

/* ---- forwarding (16.6) ---------------------------------------------------- */

/* "<sip:[user@]host:port[;transport=x]PARAMS>" for listener li. */
static int listener_uri_ex(struct sp_proxy *p, int li, const char *user, const char *params,
			   char *buf, size_t size)
{
	const struct sp_listener_info *l;
	size_t n = sp_transport_listeners(p->tp, &l);
	char host[SP_SOCKADDR_STRLEN];
	if (li < 0 || (size_t)li >= n)
		return SP_EINVAL;
	sp_sockaddr_fmt(&l[li].addr, true, false, host, sizeof(host));
	int w = snprintf(buf, size, "<sip:%s%s%s%s%s%s>", user ? user : "", user ? "@" : "", host,
			 l[li].proto == SP_PROTO_UDP ? "" : ";transport=",
			 l[li].proto == SP_PROTO_UDP ? "" : l[li].proto == SP_PROTO_TCP ? "tcp" : "tls",
			 params);
	return w < 0 || (size_t)w >= size ? SP_E2BIG : 0;
}

static int listener_uri(struct sp_proxy *p, int li, const char *token, char *buf, size_t size)
{
	char params[64];
	snprintf(params, sizeof(params), ";lr;sp=%s", token);
	return listener_uri_ex(p, li, NULL, params, buf, size);
}

/* ---- topology hiding (DESIGN.md: the SBE) -----------------------------------
 * A request from this provider's side that leaves by a peering listener
 * shows the peer only this node: one Via (ours), one Record-Route (ours,
 * with the inner hops sealed in its sph parameter) and Contacts of ours
 * whose spc parameter seals the real URI. The responses that come back get
 * the inner Vias and Record-Routes again. The other way, a response that
 * goes back to a peer has its Contact sealed and the inner Record-Route
 * entries folded into our entry. In-dialog requests from the peer open the
 * seals (hide.c) to find the inner route and the real target again. */

#define HIDE_BUF (SP_HIDE_TOKEN_MAX + 256)

/* Joins every value of Via, Record-Route... of m, in order, with ", ". */
static int join_values(struct sp_msg *m, enum sp_hdr_id id, char *out, size_t size, size_t *len)
{
	size_t n = 0;
	for (const struct sp_hdr *h = sp_msg_hdr(m, id); h; h = sp_msg_hdr_next(m, h)) {
		struct sp_str v = sp_str_trim(h->value);
		if (n + (n ? 2 : 0) + v.len + 1 > size)
			return SP_E2BIG;
		if (n) {
			memcpy(out + n, ", ", 2);
			n += 2;
		}
		if (v.len)
			memcpy(out + n, v.p, v.len);
		n += v.len;
	}
	out[n] = '\0';
	*len = n;
	return 0;
}

/* Replaces every line of header id with one line holding value (which
 * must outlive the serialization). */
static int replace_all(struct sp_edit *e, struct sp_msg *m, enum sp_hdr_id id,
		       struct sp_str value)
{
	const struct sp_hdr *h = sp_msg_hdr(m, id);
	int err;
	if (!h)
		return SP_ENOENT;
	if ((err = sp_edit_hdr_value(e, m, h, value)) != 0)
		return err;
	while ((h = sp_msg_hdr_next(m, h)) != NULL)
		if ((err = sp_edit_hdr_remove(e, m, h)) != 0)
			return err;
	return 0;
}

/* The first Contact of m, sealed into a URI of listener li:
 * "<sip:sp@ours;spc=TOKEN>;header-params". The rest of the Contact lines
 * go (a request or answer names one Contact in a dialog). */
static int hide_contact(struct sp_proxy *p, struct sp_edit *e, struct sp_msg *m, int li,
			char *buf, size_t size)
{
	const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_CONTACT);
	struct sp_addr a;
	struct sp_str cur;
	char token[SP_HIDE_TOKEN_MAX + 1], params[SP_HIDE_TOKEN_MAX + 8];
	size_t used;
	int err;

	if (!h)
		return 0;
	cur = h->value;
	if (sp_addr_next(&cur, SP_ADDR_NAMEADDR, &a) != 0 || a.star)
		return 0;
	if ((err = sp_hide_seal(p->cfg.secret, sp_msg_call_id(m), a.uri.raw, token,
				sizeof(token))) != 0)
		return err;
	snprintf(params, sizeof(params), ";spc=%s", token);
	if ((err = listener_uri_ex(p, li, "sp", params, buf, size)) != 0)
		return err;
	used = strlen(buf);
	if (used + a.params.len + 1 > size)
		return SP_E2BIG;
	if (a.params.len)
		memcpy(buf + used, a.params.p, a.params.len);
	buf[used + a.params.len] = '\0';
	return replace_all(e, m, SP_HDR_CONTACT, sp_str_cstr(buf));
}

/* Opens the seals of an in-dialog request from a peer: the real target
 * (Request-URI "sp@ours;spc=") into uri, the inner route (our Route
 * entry's sph=) into route. Each stays "" when absent or not ours. */
static void hide_open(struct sp_proxy *p, struct sp_msg *m, const struct route_prep *rp,
		      bool from_peering, char *uri, char *route, size_t size)
{
	const struct sp_uri *ruri = sp_msg_ruri(m);
	struct sp_str v;
	size_t len;
	uri[0] = route[0] = '\0';
	/* Seals are for what comes back from a peer, through the entry that
	 * faces it; from inside the route set is already whole. */
	if (!from_peering || !listener_is_peering(p, rp->first_li))
		return;
	if (ruri && (ruri->scheme_id == SP_URI_SIP || ruri->scheme_id == SP_URI_SIPS) &&
	    ruri->host_type != SP_HOST_NAME && host_port_is_listener(p, ruri->host, ruri->port, false) &&
	    sp_uri_param(ruri, "spc", &v) == 0 &&
	    sp_hide_open(p->cfg.secret, sp_msg_call_id(m), v, uri, size, &len) != 0)
		uri[0] = '\0';
	if (rp->sph.len &&
	    sp_hide_open(p->cfg.secret, sp_msg_call_id(m), rp->sph, route, size, &len) != 0)
		route[0] = '\0';
}

static bool creates_dialog(struct sp_msg *m)
{
	const struct sp_addr *to = sp_msg_to(m);
	if (to && to->tag.len)
		return false;
	switch (m->method_id) {
	case SP_METHOD_INVITE:
	case SP_METHOD_SUBSCRIBE:
	case SP_METHOD_REFER:
	case SP_METHOD_NOTIFY:
		return true;
	default:
		return false;
	}
}

/* The next hop of a request: the target's own route (Path), else the first
 * Route left, else the target URI (or the Request-URI). */
/* The URI whose host is the next hop of a target (RFC 3261 16.6 step 7,
 * 16.12): the target's own route, the first Route left, the target's URI,
 * the strict router's last Route, or the Request-URI. Sets *adjust when
 * the side our Route entry named should be used to leave. */
static int hop_uri(struct sp_msg *m, const struct route_prep *rp, const struct target *t,
		   struct sp_uri *out, bool *adjust)
{
	struct sp_addr a;
	*adjust = false;
	if (t && t->route) {
		struct sp_str cur = sp_str_cstr(t->route);
		if (sp_addr_next(&cur, SP_ADDR_NAMEADDR, &a) != 0)
			return SP_EINVAL;
		*out = a.uri;
		return 0;
	}
	if (rp->has_next) {
		/* Leave by the side our own Route entry named (the one facing the
		 * next hop when we double Record-Routed), not by the first listener
		 * of the protocol: the peer knows us by that address. */
		*out = rp->next.uri;
		*adjust = true;
		return 0;
	}
	if (t && t->uri)
		return sp_uri_parse(sp_str_cstr(t->uri), out) != 0 ? SP_EINVAL : 0;
	if (rp->strict)
		return sp_uri_parse(rp->new_ruri, out) != 0 ? SP_EINVAL : 0;
	const struct sp_uri *ruri = sp_msg_ruri(m);
	if (!ruri)
		return SP_EINVAL;
	/* The remote target of a dialog whose last hop before it is us: the
	 * side our Route entry named faces it too. */
	*out = *ruri;
	*adjust = true;
	return 0;
}

static int next_hop(struct sp_msg *m, const struct route_prep *rp, const struct target *t,
		    struct sp_dest *dst)
{
	struct sp_uri u;
	bool adjust;
	int err;
	if (t && t->has_dst) {
		*dst = t->dst;
		return 0;
	}
	if ((err = hop_uri(m, rp, t, &u, &adjust)) != 0 || (err = sp_proxy_uri_dest(&u, dst)) != 0)
		return err;
	if (adjust && rp->out_li >= 0 && rp->out_proto == dst->proto)
		dst->listener = rp->out_li;
	return 0;
}

/* The parts of a next hop given by name that RFC 3263 needs. */
static bool hop_name(const struct sp_uri *u, struct sp_proxy_hop_name *h)
{
	struct sp_str tp;
	if (u->scheme_id == SP_URI_TEL || u->host_type != SP_HOST_NAME || u->host.len == 0)
		return false;
	memset(h, 0, sizeof(*h));
	h->host = u->host;
	h->port = u->port;
	h->sips = u->scheme_id == SP_URI_SIPS;
	if (sp_uri_param(u, "transport", &tp) == 0)
		h->proto = sp_str_caseeq_c(tp, "tcp") ? SP_PROTO_TCP :
			   sp_str_caseeq_c(tp, "tls") ? SP_PROTO_TLS :
			   sp_str_caseeq_c(tp, "udp") ? SP_PROTO_UDP : 0;
	/* maddr= names the next hop instead (RFC 3261 19.1.1). */
	struct sp_str maddr;
	if (sp_uri_param(u, "maddr", &maddr) == 0 && maddr.len)
		return false;
	return true;
}

/* Serializes m as forwarded to dst into p->out: our Via with branch, the
 * Request-URI of the target, Max-Forwards less one, our Route entries
 * removed, the target's route in front, Record-Route for dialogs. */
/* Does a Privacy header of m ask for priv-value v (RFC 3323 section 4.2:
 * values separated by ';')? */
static bool privacy_has(struct sp_msg *m, const char *v)
{
	for (const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_PRIVACY); h; h = sp_msg_hdr_next(m, h)) {
		struct sp_str rest = h->value;
		while (rest.len) {
			size_t i = 0;
			while (i < rest.len && rest.p[i] != ';')
				i++;
			struct sp_str tok = sp_str_trim(sp_str_make(rest.p, i));
			if (sp_str_caseeq_c(tok, v))
				return true;
			rest = i < rest.len ? sp_str_make(rest.p + i + 1, rest.len - i - 1) : SP_STR_NULL;
		}
	}
	return false;
}

/* The trust-domain edits of one forwarded copy (RFC 3325, RFC 3323, RFC
 * 3261 section 22.3): identity stripped or asserted, our own credentials
 * consumed, and towards another provider the privacy the caller asked for.
 * from_buf holds a rewritten From until the message is serialized. */
static int identity_edit(struct sp_edit *e, struct sp_msg *m, const struct sp_pcall *c,
			 const struct target *t, char *from_buf, size_t from_size)
{
	bool untrusted = t && (t->flags & SP_PROXY_T_UNTRUSTED);
	int err;
	if ((c->strip_identity || untrusted) &&
	    ((err = sp_edit_hdr_remove_all(e, m, SP_HDR_P_ASSERTED_IDENTITY)) != 0 ||
	     (err = sp_edit_hdr_remove_all(e, m, SP_HDR_P_PREFERRED_IDENTITY)) != 0))
		return err;
	for (int i = 0; i < 2 && !untrusted; i++)
		if (c->identity[i] &&
		    (err = sp_edit_hdr_add(e, m, SP_EDIT_BOTTOM, SP_STR("P-Asserted-Identity"),
					   sp_str_cstr(c->identity[i]))) != 0)
			return err;
	if (c->realm) {
		for (const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_PROXY_AUTHORIZATION); h;
		     h = sp_msg_hdr_next(m, h)) {
			struct sp_auth a;
			if (sp_auth_parse(h->value, &a) == 0 && a.digest &&
			    sp_str_eq_c(a.realm, c->realm) && (err = sp_edit_hdr_remove(e, m, h)) != 0)
				return err;
		}
	}
	/* RFC 3323 section 5.1: user (and header) privacy leaves an anonymous
	 * From; the tag stays, dialogs are matched by it. */
	const struct sp_hdr *fh = sp_msg_hdr(m, SP_HDR_FROM);
	const struct sp_addr *from = sp_msg_from(m);
	if (t && (t->flags & SP_PROXY_T_FOREIGN) && fh && from &&
	    (privacy_has(m, "user") || privacy_has(m, "header"))) {
		int n = snprintf(from_buf, from_size,
				 "\"Anonymous\" <sip:anonymous@anonymous.invalid>%s%.*s",
				 from->tag.len ? ";tag=" : "", (int)from->tag.len, from->tag.p);
		if (n < 0 || (size_t)n >= from_size)
			return SP_E2BIG;
		if ((err = sp_edit_hdr_value(e, m, fh, sp_str_cstr(from_buf))) != 0)
			return err;
	}
	return 0;
}

static int build_forward(struct sp_proxy *p, struct sp_msg *m, const struct route_prep *rp,
			 const struct target *t, const struct sp_dest *dst, int in_li,
			 const char *branch, bool stateless_ack, const struct sp_pcall *c,
			 bool from_access, bool *hidden)
{
	struct sp_edit e;
	const struct sp_listener_info *l;
	char via[256], host[SP_SOCKADDR_STRLEN], rr_out[HIDE_BUF], rr_in[160], mfbuf[16];
	char from_buf[512], contact_buf[HIDE_BUF], inner[SP_HIDE_PLAIN_MAX + 1];
	int li = sp_transport_pick_listener(p->tp, dst), err;
	uint32_t mf = 70;
	const struct sp_hdr *mfh = sp_msg_hdr(m, SP_HDR_MAX_FORWARDS);

	sp_transport_listeners(p->tp, &l);
	if (li < 0)
		return SP_ENOENT;
	bool hide = from_access && l[li].role == SP_ROLE_PEERING;
	if (hidden)
		*hidden = hide;
	sp_edit_init(&e);
	if (t && t->uri) {
		if ((err = sp_edit_ruri(&e, m, sp_str_cstr(t->uri))) != 0)
			return err;
	} else if (rp->strict) {
		if ((err = sp_edit_ruri(&e, m, rp->new_ruri)) != 0)
			return err;
	}
	if (mfh) {
		if (sp_msg_max_forwards(m, &mf) == 0 && mf > 0)
			mf--;
		snprintf(mfbuf, sizeof(mfbuf), "%" PRIu32, mf);
		if ((err = sp_edit_hdr_value(&e, m, mfh, sp_str_cstr(mfbuf))) != 0)
			return err;
	} else if ((err = sp_edit_hdr_add(&e, m, SP_EDIT_TOP, SP_STR("Max-Forwards"),
					  SP_STR("70"))) != 0) {
		return err;
	}
	if ((err = route_edit(&e, m, rp)) != 0)
		return err;
	/* A datagram may omit Content-Length; a stream may not (RFC 3261
	 * section 18.3): write it whenever it is missing. */
	if (m->content_length < 0 && (err = sp_edit_body(&e, m, m->body)) != 0)
		return err;
	if (t && t->route &&
	    (err = sp_edit_hdr_add(&e, m, SP_EDIT_TOP, SP_STR("Route"), sp_str_cstr(t->route))) != 0)
		return err;
	if (c && (err = identity_edit(&e, m, c, t, from_buf, sizeof(from_buf))) != 0)
		return err;
	if (hide && (err = hide_contact(p, &e, m, li, contact_buf, sizeof(contact_buf))) != 0)
		return err;
	const struct sp_addr *to_a = sp_msg_to(m);
	if (hide && to_a && to_a->tag.len) {
		/* In-dialog towards another provider: no identity needs asserting
		 * any more, and the privacy asked for goes on (RFC 3323, 3325). */
		struct target priv = { .flags = SP_PROXY_T_FOREIGN };
		struct sp_pcall none;
		memset(&none, 0, sizeof(none));
		if ((err = sp_edit_hdr_remove_all(&e, m, SP_HDR_P_ASSERTED_IDENTITY)) != 0 ||
		    (err = sp_edit_hdr_remove_all(&e, m, SP_HDR_P_PREFERRED_IDENTITY)) != 0 ||
		    (err = identity_edit(&e, m, &none, &priv, from_buf, sizeof(from_buf))) != 0)
			return err;
	}
	if (hide && !stateless_ack && creates_dialog(m)) {
		/* One entry, ours; the inner ones travel sealed inside it. */
		char token[RR_TOKEN_LEN + 1], sealed[SP_HIDE_TOKEN_MAX + 1], params[SP_HIDE_TOKEN_MAX + 64];
		size_t ilen = 0;
		rr_token(p, sp_msg_call_id(m), listener_role(p, li), token);
		if ((err = join_values(m, SP_HDR_RECORD_ROUTE, inner, sizeof(inner), &ilen)) != 0)
			return err;
		if (ilen) {
			if ((err = sp_hide_seal(p->cfg.secret, sp_msg_call_id(m),
						sp_str_make(inner, ilen), sealed, sizeof(sealed))) != 0 ||
			    (err = sp_edit_hdr_remove_all(&e, m, SP_HDR_RECORD_ROUTE)) != 0)
				return err;
			snprintf(params, sizeof(params), ";lr;sp=%s;sph=%s", token, sealed);
		} else {
			snprintf(params, sizeof(params), ";lr;sp=%s", token);
		}
		if ((err = listener_uri_ex(p, li, NULL, params, rr_out, sizeof(rr_out))) != 0 ||
		    (err = sp_edit_hdr_add(&e, m, SP_EDIT_TOP, SP_STR("Record-Route"),
					   sp_str_cstr(rr_out))) != 0)
			return err;
	} else if (!stateless_ack && creates_dialog(m)) {
		/* Two entries when the request leaves by another listener, so each
		 * side of the dialog sees the address it can reach (RFC 5658). */
		char token[RR_TOKEN_LEN + 1];
		rr_token(p, sp_msg_call_id(m), listener_role(p, li), token);
		if ((err = listener_uri(p, li, token, rr_out, sizeof(rr_out))) != 0 ||
		    (err = sp_edit_hdr_add(&e, m, SP_EDIT_TOP, SP_STR("Record-Route"),
					   sp_str_cstr(rr_out))) != 0)
			return err;
		if (in_li >= 0 && in_li != li) {
			rr_token(p, sp_msg_call_id(m), listener_role(p, in_li), token);
			if ((err = listener_uri(p, in_li, token, rr_in, sizeof(rr_in))) != 0 ||
			    (err = sp_edit_hdr_add(&e, m, SP_EDIT_TOP, SP_STR("Record-Route"),
						   sp_str_cstr(rr_in))) != 0)
				return err;
		}
	}
	/* Our Via last, so that at the top of the message the Record-Route and
	 * Route lines we add come first and the Via lines stay together. */
	sp_sockaddr_fmt(&l[li].addr, true, false, host, sizeof(host));
	snprintf(via, sizeof(via), "SIP/2.0/%s %s;branch=%s", sp_proto_name(dst->proto), host, branch);
	if (hide) {
		/* Ours alone: the inner Vias come back from the server
		 * transaction when the responses return. */
		if ((err = replace_all(&e, m, SP_HDR_VIA, sp_str_cstr(via))) != 0)
			return err;
	} else if ((err = sp_edit_via_prepend(&e, m, sp_str_cstr(via))) != 0) {
		return err;
	}
	sp_buf_reset(&p->out);
	return sp_edit_serialize(m, &e, &p->out);
}

static void make_branch(struct sp_proxy *p, struct sp_msg *m, char *buf, size_t size)
{
	snprintf(buf, size, "z9hG4bK%016" PRIx64 ".%" PRIx32, loop_hash(m), ++p->seq);
}

/* ---- the proxy context ---------------------------------------------------- */

static uint64_t st_hash(const struct sp_txn *st)
{
	return sp_hash(&st, sizeof(st));
}

static struct sp_pcall *call_find(struct sp_proxy *p, const struct sp_txn *st)
{
	uint64_t h = st_hash(st);
	for (struct sp_hnode *n = sp_htab_first(&p->calls, h); n; n = sp_htab_next(n)) {
		struct sp_pcall *c = (struct sp_pcall *)n;
		if (c->st == st)
			return c;
	}
	return NULL;
}

static void call_maybe_free(struct sp_pcall *c)
{
	if (c->st || c->pending || c->hops_pending)
		return;
	for (unsigned i = 0; i < c->ntargets; i++)
		if (c->leg[i]->b.ct)
			return;
	for (unsigned i = 0; i < c->ntargets; i++) {
		free(c->leg[i]->t.uri);
		free(c->leg[i]->t.route);
		free(c->leg[i]);
	}
	free(c->best);
	free(c->identity[0]);
	free(c->identity[1]);
	free(c->realm);
	free(c->chal);
	c->p->stats.calls_active--;
	free(c);
}

static void st_destroyed(void *arg, struct sp_txn *st)
{
	struct sp_pcall *c = arg;
	sp_htab_remove(&c->p->calls, &c->node);
	c->st = NULL;
	/* Branches still running finish on their own (their CANCEL or final
	 * response); nobody is left to tell. */
	call_maybe_free(c);
}

static const struct sp_txn_server_h server_h = { .destroyed = st_destroyed };

static struct sp_pcall *call_get(struct sp_proxy_req *r)
{
	if (r->call)
		return r->call;
	struct sp_pcall *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->p = r->p;
	c->st = r->st;
	c->in_listener = r->src.listener;
	c->from_peering = r->role == SP_ROLE_PEERING;
	c->bye = r->msg && r->msg->method_id == SP_METHOD_BYE;
	if (r->msg && r->msg->method_id == SP_METHOD_INVITE) {
		const struct sp_addr *to = sp_msg_to(r->msg);
		c->initial_invite = to && !to->tag.len;
	}
	c->invite = r->msg && r->msg->method_id == SP_METHOD_INVITE;
	sp_htab_insert(&r->p->calls, &c->node, st_hash(r->st));
	sp_txn_server_set_handler(r->st, &server_h, c);
	r->p->stats.calls_active++;
	r->call = c;
	return c;
}

/* A response that comes back from a peer through a hidden branch gets the
 * inner topology back: the Vias of the request as it reached us, and after
 * our Record-Route entry (and its twin on the inner listener) the inner
 * entries the request carried. vias/rrs hold the new values until the
 * response is serialized. */
static int unhide_response(struct sp_proxy *p, struct sp_pcall *c, const struct branch *b,
			   struct sp_edit *e, struct sp_msg *resp, char *vias, char *rrs,
			   size_t size)
{
	struct sp_msg *req;
	size_t vlen = 0, ilen = 0, rlen = 0;
	char inner[SP_HIDE_PLAIN_MAX + 1];
	int err;

	if (!c->st || !(req = sp_txn_request(c->st)))
		return SP_ENOENT;
	if ((err = join_values(req, SP_HDR_VIA, vias, size, &vlen)) != 0 ||
	    (err = join_values(req, SP_HDR_RECORD_ROUTE, inner, sizeof(inner), &ilen)) != 0)
		return err;
	if ((err = replace_all(e, resp, SP_HDR_VIA, sp_str_make(vias, vlen))) != 0)
		return err;
	if (!sp_msg_hdr(resp, SP_HDR_RECORD_ROUTE))
		return 0;
	if ((err = join_values(resp, SP_HDR_RECORD_ROUTE, rrs, size, &rlen)) != 0)
		return err;
	if (c->in_listener >= 0 && c->in_listener != b->out_li) {
		char token[RR_TOKEN_LEN + 1], twin[160];
		rr_token(p, sp_msg_call_id(resp), listener_role(p, c->in_listener), token);
		if (listener_uri(p, c->in_listener, token, twin, sizeof(twin)) != 0 ||
		    rlen + 2 + strlen(twin) + 1 > size)
			return SP_E2BIG;
		rlen += (size_t)snprintf(rrs + rlen, size - rlen, ", %s", twin);
	}
	if (ilen) {
		if (rlen + 2 + ilen + 1 > size)
			return SP_E2BIG;
		rlen += (size_t)snprintf(rrs + rlen, size - rlen, ", %s", inner);
	}
	return replace_all(e, resp, SP_HDR_RECORD_ROUTE, sp_str_make(rrs, rlen));
}

/* A response that goes back to a peer from inside: its Contact sealed, and
 * the Record-Route entries above our last one (the inner hops, and our
 * twin) folded into that one entry, sealed. */
static int hide_response(struct sp_proxy *p, struct sp_pcall *c, struct sp_edit *e,
			 struct sp_msg *resp, char *contact, char *rrs, size_t size)
{
	char inner[SP_HIDE_PLAIN_MAX + 1], token[RR_TOKEN_LEN + 1];
	char sealed[SP_HIDE_TOKEN_MAX + 1], params[SP_HIDE_TOKEN_MAX + 64];
	size_t ilen = 0, rlen = 0, nin = 0;
	struct sp_str rest = SP_STR_NULL, in[32];
	int err;

	if ((err = hide_contact(p, e, resp, c->in_listener, contact, size)) != 0)
		return err;
	if (!sp_msg_hdr(resp, SP_HDR_RECORD_ROUTE))
		return 0;
	/* Find our last entry: what is above it is ours or inner, what is
	 * below belongs to the peer's side. */
	const struct sp_hdr *last_h = NULL;
	struct sp_str last_after = SP_STR_NULL;
	for (const struct sp_hdr *h = sp_msg_hdr(resp, SP_HDR_RECORD_ROUTE); h;
	     h = sp_msg_hdr_next(resp, h)) {
		struct sp_str cur = h->value;
		struct sp_addr a;
		while (sp_addr_next(&cur, SP_ADDR_NAMEADDR, &a) == 0)
			if (sp_proxy_uri_is_self(p, &a.uri)) {
				last_h = h;
				last_after = cur;
			}
	}
	if (!last_h)
		return 0; /* we did not Record-Route: nothing of ours to fold into */
	bool done = false;
	for (const struct sp_hdr *h = sp_msg_hdr(resp, SP_HDR_RECORD_ROUTE); h && !done;
	     h = sp_msg_hdr_next(resp, h)) {
		struct sp_str cur = h->value;
		struct sp_addr a;
		while (sp_addr_next(&cur, SP_ADDR_NAMEADDR, &a) == 0) {
			bool ours = sp_proxy_uri_is_self(p, &a.uri);
			if (!ours) {
				if (nin >= sizeof(in) / sizeof(in[0]))
					return SP_E2BIG;
				in[nin++] = a.raw;
			}
			if (h == last_h && cur.p == last_after.p) {
				done = true;
				break;
			}
		}
	}
	/* The peer's side sends its requests along the route set in the
	 * reverse of Record-Route order: the hop next to us first. */
	for (size_t k = nin; k-- > 0;) {
		if (ilen + 2 + in[k].len + 1 > sizeof(inner))
			return SP_E2BIG;
		if (ilen) {
			memcpy(inner + ilen, ", ", 2);
			ilen += 2;
		}
		memcpy(inner + ilen, in[k].p, in[k].len);
		ilen += in[k].len;
	}
	/* Below our last entry: the rest of its line, then the later lines. */
	rest = sp_str_trim(last_after);
	if (rest.len && rest.p[0] == ',') /* the parser stops before the comma */
		rest = sp_str_trim(sp_str_make(rest.p + 1, rest.len - 1));
	rr_token(p, sp_msg_call_id(resp), listener_role(p, c->in_listener), token);
	if (ilen) {
		if ((err = sp_hide_seal(p->cfg.secret, sp_msg_call_id(resp), sp_str_make(inner, ilen),
					sealed, sizeof(sealed))) != 0)
			return err;
		snprintf(params, sizeof(params), ";lr;sp=%s;sph=%s", token, sealed);
	} else {
		snprintf(params, sizeof(params), ";lr;sp=%s", token);
	}
	if ((err = listener_uri_ex(p, c->in_listener, NULL, params, rrs, size)) != 0)
		return err;
	rlen = strlen(rrs);
	if (rest.len) {
		if (rlen + 2 + rest.len + 1 > size)
			return SP_E2BIG;
		rlen += (size_t)snprintf(rrs + rlen, size - rlen, ", %.*s", (int)rest.len, rest.p);
	}
	for (const struct sp_hdr *h = sp_msg_hdr_next(resp, last_h); h; h = sp_msg_hdr_next(resp, h)) {
		struct sp_str v = sp_str_trim(h->value);
		if (rlen + 2 + v.len + 1 > size)
			return SP_E2BIG;
		rlen += (size_t)snprintf(rrs + rlen, size - rlen, ", %.*s", (int)v.len, v.p);
	}
	return replace_all(e, resp, SP_HDR_RECORD_ROUTE, sp_str_make(rrs, rlen));
}

/* Forwards a response upstream on the server transaction, our Via removed
 * (and the topology hidden or restored, see above). */
static int relay(struct sp_proxy *p, struct sp_pcall *c, const struct branch *b,
		 struct sp_msg *resp, bool keep)
{
	struct sp_edit e;
	char hb1[2 * HIDE_BUF], hb2[2 * HIDE_BUF];
	int err;
	sp_edit_init(&e);
	if (b && b->hidden) {
		if ((err = unhide_response(p, c, b, &e, resp, hb1, hb2, sizeof(hb1))) != 0)
			return err;
	} else {
		if ((err = sp_edit_via_pop(&e, resp)) != 0)
			return err;
		if (b && c->from_peering && !listener_is_peering(p, b->out_li) &&
		    (err = hide_response(p, c, &e, resp, hb1, hb2, sizeof(hb1))) != 0)
			return err;
	}
	if (resp->content_length < 0 && (err = sp_edit_body(&e, resp, resp->body)) != 0)
		return err;
	sp_buf_reset(&p->out);
	if ((err = sp_edit_serialize(resp, &e, &p->out)) != 0)
		return err;
	if (keep) {
		char *copy = malloc(p->out.len);
		if (!copy)
			return SP_ENOMEM;
		memcpy(copy, p->out.p, p->out.len);
		free(c->best);
		c->best = copy;
		c->best_len = p->out.len;
		return 0;
	}
	if (!c->st)
		return SP_ENOENT;
	if ((err = sp_txn_server_reply(c->st, resp->status, p->out.p, p->out.len)) == 0)
		count_reply(p, resp->status);
	return err;
}

/* 16.7 step 6: 6xx beats everything; otherwise the lowest class wins, and
 * the first response of a class is kept. */
static bool better(uint16_t cand, uint16_t best)
{
	if (!best)
		return true;
	if (best >= 600)
		return false;
	if (cand >= 600)
		return true;
	return cand / 100 < best / 100;
}

#define CHAL_MAX_LINES 16
#define CHAL_MAX_BYTES 8192

/* 16.7 step 7: the challenges of every 401 and 407 a request got are kept,
 * so the one sent upstream can carry them all (each branch's server asks
 * for its own credentials). */
static void collect_challenges(struct sp_pcall *c, struct sp_msg *resp)
{
	static const struct {
		enum sp_hdr_id id;
		const char *name;
	} kinds[] = { { SP_HDR_WWW_AUTHENTICATE, "WWW-Authenticate" },
		      { SP_HDR_PROXY_AUTHENTICATE, "Proxy-Authenticate" } };
	bool any = false;
	for (size_t k = 0; k < 2; k++) {
		for (const struct sp_hdr *h = sp_msg_hdr(resp, kinds[k].id); h; h = sp_msg_hdr_next(resp, h)) {
			size_t nl = strlen(kinds[k].name), need = nl + 2 + h->value.len + 1;
			char *grown;
			if (c->nchal >= CHAL_MAX_LINES || c->chal_len + need > CHAL_MAX_BYTES ||
			    memchr(h->value.p, '\n', h->value.len) || memchr(h->value.p, '\r', h->value.len))
				continue;
			if (!(grown = realloc(c->chal, c->chal_len + need)))
				return;
			c->chal = grown;
			memcpy(c->chal + c->chal_len, kinds[k].name, nl);
			memcpy(c->chal + c->chal_len + nl, ": ", 2);
			memcpy(c->chal + c->chal_len + nl + 2, h->value.p, h->value.len);
			c->chal[c->chal_len + need - 1] = '\n';
			c->chal_len += need;
			c->nchal++;
			any = true;
		}
	}
	if (any)
		c->nchal_resp++;
}

/* Sends the stored 401/407 with the challenges of every branch in place of
 * its own; 0, or an error (the caller then sends it as it is). */
static int send_merged_challenges(struct sp_pcall *c, uint16_t status)
{
	struct sp_proxy *p = c->p;
	struct sp_msg *m = p->msg2;
	struct sp_sip_error perr;
	struct sp_edit e;
	size_t off = 0;
	int err;

	if ((err = sp_msg_parse(m, c->best, c->best_len, 0, &perr)) != 0)
		return err;
	sp_edit_init(&e);
	if ((err = sp_edit_hdr_remove_all(&e, m, SP_HDR_WWW_AUTHENTICATE)) != 0 ||
	    (err = sp_edit_hdr_remove_all(&e, m, SP_HDR_PROXY_AUTHENTICATE)) != 0)
		return err;
	while (off < c->chal_len) {
		const char *line = c->chal + off, *end = memchr(line, '\n', c->chal_len - off);
		const char *colon = memchr(line, ':', (size_t)(end - line));
		if (!end || !colon)
			return SP_EINVAL;
		if ((err = sp_edit_hdr_add(&e, m, SP_EDIT_BOTTOM, sp_str_make(line, (size_t)(colon - line)),
					   sp_str_make(colon + 2, (size_t)(end - colon - 2)))) != 0)
			return err;
		off = (size_t)(end - c->chal) + 1;
	}
	sp_buf_reset(&p->out);
	if ((err = sp_edit_serialize(m, &e, &p->out)) != 0)
		return err;
	if ((err = sp_txn_server_reply(c->st, status, p->out.p, p->out.len)) == 0)
		count_reply(p, status);
	return err;
}

static void branch_final(struct branch *b, uint16_t status, struct sp_msg *resp)
{
	struct sp_pcall *c = b->call;
	b->done = true;
	b->status = status;
	if (resp && (status == 401 || status == 407))
		collect_challenges(c, resp);
	if (better(status, c->best_status)) {
		c->best_status = status;
		c->best_tag = leg_of(b)->t.tag;
		free(c->best);
		c->best = NULL;
		if (resp && relay(c->p, c, b, resp, true) != 0)
			c->best = NULL;
	}
	if (status >= 600)
		c->six = true;
}

static void cancel_pending(struct sp_pcall *c)
{
	if (!c->invite)
		return; /* only an INVITE can be cancelled (section 9) */
	for (unsigned i = 0; i < c->next; i++) {
		struct branch *b = &c->leg[i]->b;
		if (b->ct && !b->done)
			sp_txn_client_cancel(b->ct);
	}
}

static void stop_timer_c(struct branch *b)
{
	if (b->call->p->cfg.timers)
		sp_timer_stop(b->call->p->cfg.timers, &b->timer_c);
}

/* Timer C: a branch that rings too long is cancelled and counts as 408,
 * so the caller is not left ringing forever and serial forking goes on. */
static void on_timer_c(struct sp_timer *t, void *arg)
{
	struct branch *b = arg;
	if (b->done || !b->ct)
		return;
	sp_log(SP_LOG_INFO, "Timer C: a branch rang for %u s without an answer: cancelled",
	       b->call->p->cfg.timer_c_ms / 1000);
	sp_txn_client_cancel(b->ct);
	branch_final(b, 408, NULL);
	call_check_done(b->call);
}

static void on_branch_response(void *arg, struct sp_txn *ct, struct sp_msg *resp)
{
	struct branch *b = arg;
	struct sp_pcall *c = b->call;
	struct sp_proxy *p = c->p;
	uint16_t status = resp->status;

	if (status < 200) {
		if (status > 100 && sp_timer_armed(&b->timer_c))
			sp_timer_start(p->cfg.timers, &b->timer_c, sp_now_ms() + p->cfg.timer_c_ms,
				       on_timer_c, b);
		if (status > 100 && !c->final_sent)
			relay(p, c, b, resp, false);
		if (c->cancelled)
			sp_txn_client_cancel(ct);
		return;
	}
	stop_timer_c(b);
	if (status < 300) {
		/* Every 2xx goes up at once (16.7 step 5), and the others stop. */
		b->done = true;
		relay(p, c, b, resp, false);
		if (!c->final_sent) {
			c->final_sent = true;
			note_final(p, c, status, leg_of(b)->t.tag);
			/* The dialog really ended: the other side accepted the BYE. */
			if (c->bye && p->h.bye)
				p->h.bye(p->arg, sp_msg_call_id(resp));
			cancel_pending(c);
		}
		return;
	}
	if (b->done)
		return;
	if (status == 503)
		note_failed(b, 503);
	branch_final(b, status, resp);
	if (c->six)
		cancel_pending(c);
	call_check_done(c);
}

/* The next hop gave no answer at all, or a 503: the router may try it
 * last for a while. */
static void note_failed(struct branch *b, uint16_t status)
{
	struct sp_proxy *p = b->call->p;
	if (p->h.target_failed)
		p->h.target_failed(p->arg, leg_of(b)->t.tag, &b->dst, status);
}

static void on_branch_timeout(void *arg, struct sp_txn *ct)
{
	struct branch *b = arg;
	stop_timer_c(b);
	if (b->done)
		return;
	note_failed(b, 408);
	branch_final(b, 408, NULL);
	call_check_done(b->call);
}

static void on_branch_error(void *arg, struct sp_txn *ct, int err)
{
	struct branch *b = arg;
	stop_timer_c(b);
	if (b->done)
		return;
	sp_log(SP_LOG_INFO, "next hop failed (%s): trying the next target", sp_strerror(err));
	note_failed(b, 0);
	branch_final(b, 503, NULL);
	call_check_done(b->call);
}

static void on_branch_destroyed(void *arg, struct sp_txn *ct)
{
	struct branch *b = arg;
	stop_timer_c(b);
	b->ct = NULL;
	if (!b->done) {
		b->done = true;
		b->status = 408;
		if (!b->call->best_status)
			b->call->best_status = 408;
	}
	call_maybe_free(b->call);
}

static const struct sp_txn_client_h client_h = {
	.response = on_branch_response,
	.timeout = on_branch_timeout,
	.transport_error = on_branch_error,
	.destroyed = on_branch_destroyed,
};

/* Starts the branches of the next group: 1 when some started, 0 when all
 * failed at once (each has its final status), -1 when nothing can start. */
static int start_group(struct sp_pcall *c)
{
	struct sp_proxy *p = c->p;
	struct sp_msg *m;
	struct route_prep rp;
	int started = 0;

	if (!c->st || c->next >= c->ntargets || !(m = sp_txn_request(c->st)))
		return -1;
	if (route_prep(p, m, &rp) != 0)
		return -1;
	unsigned group = c->leg[c->next]->t.group;
	while (c->next < c->ntargets && c->leg[c->next]->t.group == group) {
		/* The parsed request is the layer's scratch copy, valid until the
		 * next sp_txn_request: take it again for each branch. */
		if (!(m = sp_txn_request(c->st)) || route_prep(p, m, &rp) != 0)
			return started ? 1 : -1;
		unsigned i = c->next++;
		struct target *t = &c->leg[i]->t;
		struct branch *b = &c->leg[i]->b;
		struct sp_dest dst;
		char branch[64];
		int err;

		b->call = c;
		b->started = true;
		sp_timer_init(&b->timer_c);
		if ((err = next_hop(m, &rp, t, &dst)) != 0) {
			sp_log_cid(SP_LOG_NOTICE, sp_msg_call_id(m),
				   "target %s has no usable next hop (%s)", t->uri ? t->uri : "(R-URI)",
				   err == SP_ENOENT ? "its host name was not found" : sp_strerror(err));
			branch_final(b, err == SP_ENOENT ? 503 : 400, NULL);
			continue;
		}
		make_branch(p, m, branch, sizeof(branch));
		b->dst = dst;
		b->out_li = sp_transport_pick_listener(p->tp, &dst);
		if ((err = build_forward(p, m, &rp, t, &dst, c->in_listener, branch, false, c,
					 !c->from_peering, &b->hidden)) != 0 ||
		    (err = sp_txn_client_start(p->txn, p->out.p, p->out.len, &dst, &client_h, b,
					       &b->ct)) != 0) {
			sp_log_cid(SP_LOG_WARN, sp_msg_call_id(m), "cannot forward: %s",
				   sp_strerror(err));
			/* No server was reached: for failover this is a 503. */
			branch_final(b, 503, NULL);
			if (err == SP_E2BIG)
				p->stats.overload++;
			continue;
		}
		p->stats.forwarded++;
		started = 1;
		if (c->invite && p->cfg.timers)
			sp_timer_start(p->cfg.timers, &b->timer_c, sp_now_ms() + p->cfg.timer_c_ms,
				       on_timer_c, b);
	}
	return started;
}

/* Call records: the final answer of an initial INVITE went upstream. */
static void note_final(struct sp_proxy *p, struct sp_pcall *c, uint16_t status, uint32_t egress)
{
	struct sp_msg *req;
	if (!p->h.invite_final || !c->initial_invite || !c->st || !(req = sp_txn_request(c->st)))
		return;
	p->h.invite_final(p->arg, sp_msg_call_id(req), status, egress);
}

static void send_best(struct sp_pcall *c)
{
	struct sp_proxy *p = c->p;
	uint16_t status = c->best_status ? c->best_status : 408;

	c->final_sent = true;
	if (!c->st)
		return;
	/* 16.7 step 6: a 503 from downstream is not passed on as such (it
	 * would make the caller think this proxy is overloaded). */
	p->egress_hint = c->best_tag;
	if (status == 503 || !c->best) {
		reply_txn(p, c->st, status == 503 ? 500 : status, NULL, NULL, 0);
		p->egress_hint = 0;
		return;
	}
	if ((status == 401 || status == 407) && c->nchal_resp > 1 &&
	    send_merged_challenges(c, status) == 0) {
		p->egress_hint = 0;
		return;
	}
	p->egress_hint = 0;
	if (sp_txn_server_reply(c->st, status, c->best, c->best_len) == 0)
		count_reply(p, status);
	note_final(p, c, status, c->best_tag);
}

/* Did the last group started hold failover targets of which one was
 * answered by a server (anything but 408 and 503)? Then the search ends. */
static bool failover_ends(const struct sp_pcall *c)
{
	if (c->next == 0 || !(c->leg[c->next - 1]->t.flags & SP_PROXY_T_FAILOVER))
		return false;
	unsigned group = c->leg[c->next - 1]->t.group;
	for (unsigned i = c->next; i-- > 0 && c->leg[i]->t.group == group;)
		if (c->leg[i]->b.status != 408 && c->leg[i]->b.status != 503)
			return true;
	return false;
}

static void call_check_done(struct sp_pcall *c)
{
	for (unsigned i = 0; i < c->next; i++)
		if (!c->leg[i]->b.done)
			return;
	if (c->final_sent)
		return;
	/* Serial forking: the next group, unless a 6xx or a CANCEL ended it,
	 * or a group of failover targets got an answer from a server. */
	while (!c->six && !c->cancelled && c->next < c->ntargets && !failover_ends(c)) {
		int r = start_group(c);
		if (r < 0)
			break;
		if (r > 0) {
			for (unsigned i = 0; i < c->next; i++)
				if (!c->leg[i]->b.done)
					return;
		}
	}
	if (c->cancelled && !c->best_status)
		c->best_status = 487;
	send_best(c);
}

/* ---- the request path ----------------------------------------------------- */

int sp_proxy_reply(struct sp_proxy_req *r, uint16_t status, const char *reason,
		   const struct sp_str *extra, size_t nextra)
{
	r->answered = true;
	return reply_txn(r->p, r->st, status, reason, extra, nextra);
}

int sp_proxy_target_add(struct sp_proxy_req *r, struct sp_str uri, struct sp_str route,
			const struct sp_dest *dst, unsigned group)
{
	struct sp_proxy_target t = { .uri = uri, .route = route, .dst = dst, .group = group };
	return sp_proxy_target_add_ex(r, &t);
}

int sp_proxy_target_add_ex(struct sp_proxy_req *r, const struct sp_proxy_target *tg)
{
	struct sp_str uri = tg->uri, route = tg->route;
	const struct sp_dest *dst = tg->dst;
	unsigned group = tg->group;
	struct sp_pcall *c = call_get(r);
	struct leg *leg;
	struct target *t;
	if (!c)
		return SP_ENOMEM;
	if (c->ntargets >= SP_PROXY_MAX_TARGETS)
		return SP_E2BIG;
	if (!(leg = calloc(1, sizeof(*leg))))
		return SP_ENOMEM;
	t = &leg->t;
	if ((uri.len && !(t->uri = strndup(uri.p, uri.len))) ||
	    (route.len && !(t->route = strndup(route.p, route.len)))) {
		free(t->uri);
		free(leg);
		return SP_ENOMEM;
	}
	if (dst) {
		t->dst = *dst;
		t->has_dst = true;
	}
	t->group = group;
	t->flags = tg->flags;
	t->tag = tg->tag;
	/* Keep the targets sorted by group (stable). */
	unsigned i = c->ntargets++;
	c->leg[i] = leg;
	while (i > 0 && c->leg[i - 1]->t.group > group) {
		struct leg *tmp = c->leg[i - 1];
		c->leg[i - 1] = c->leg[i];
		c->leg[i] = tmp;
		i--;
	}
	return 0;
}

int sp_proxy_req_identity(struct sp_proxy_req *r, bool strip, const char *asserted,
			  const char *asserted_tel, const char *consume_realm)
{
	struct sp_pcall *c = call_get(r);
	if (!c)
		return SP_ENOMEM;
	c->strip_identity = strip;
	if ((asserted && !(c->identity[0] = strdup(asserted))) ||
	    (asserted_tel && !(c->identity[1] = strdup(asserted_tel))) ||
	    (consume_realm && !(c->realm = strdup(consume_realm))))
		return SP_ENOMEM;
	return 0;
}

struct sp_proxy_pending *sp_proxy_req_keep(struct sp_proxy_req *r)
{
	struct sp_pcall *c = call_get(r);
	if (!c)
		return NULL;
	c->pending = true;
	r->kept = true;
	return (struct sp_proxy_pending *)c;
}

struct sp_msg *sp_proxy_pending_msg(struct sp_proxy_pending *pp)
{
	struct sp_pcall *c = &pp->call;
	return c->st ? sp_txn_request(c->st) : NULL;
}

void sp_proxy_reply_later(struct sp_proxy_pending *pp, uint16_t status, const char *reason,
			  const struct sp_str *extra, size_t nextra)
{
	struct sp_pcall *c = &pp->call;
	if (c->st && !c->final_sent) {
		c->final_sent = status >= 200;
		reply_txn(c->p, c->st, status, reason, extra, nextra);
	}
	c->pending = false;
	call_maybe_free(c);
}

int sp_proxy_pending_target_add(struct sp_proxy_pending *pp, const struct sp_proxy_target *t)
{
	struct sp_proxy_req r;
	memset(&r, 0, sizeof(r));
	r.p = pp->call.p;
	r.st = pp->call.st;
	r.call = &pp->call;
	return sp_proxy_target_add_ex(&r, t);
}

void sp_proxy_forward_later(struct sp_proxy_pending *pp, uint16_t status, const char *reason)
{
	struct sp_pcall *c = &pp->call;
	c->pending = false;
	if (c->st && !c->final_sent) {
		if (c->ntargets && !c->cancelled) {
			if (!resolve_hops(c))
				call_check_done(c);
			return;
		} else if (c->cancelled) {
			c->final_sent = true;
			reply_txn(c->p, c->st, 487, NULL, NULL, 0);
		} else {
			c->final_sent = true;
			reply_txn(c->p, c->st, status ? status : 500, reason, NULL, 0);
		}
	}
	call_maybe_free(c);
}

static void handle_cancel(struct sp_proxy *p, struct sp_proxy_req *r, struct sp_msg *m)
{
	struct sp_txn *inv = sp_txn_server_find_invite(p->txn, m);
	struct sp_pcall *c = inv ? call_find(p, inv) : NULL;

	if (!inv) {
		sp_proxy_reply(r, 481, NULL, NULL, 0);
		return;
	}
	sp_proxy_reply(r, 200, NULL, NULL, 0);
	if (!c) {
		if (sp_txn_final_status(inv) == 0)
			reply_txn(p, inv, 487, NULL, NULL, 0);
		return;
	}
	c->cancelled = true;
	if (c->final_sent)
		return;
	cancel_pending(c);
	call_check_done(c);
}

/* ---- next hops given by name ---- */

struct hop_wait {
	struct sp_pcall *c;
	struct leg *leg;
};

static void on_hop(void *ctx, const struct sp_dest *dst)
{
	struct hop_wait *hw = ctx;
	struct sp_pcall *c = hw->c;
	struct target *t = &hw->leg->t;
	struct sp_msg *m;
	struct route_prep rp;
	free(hw);
	if (dst) {
		t->dst = *dst;
		t->has_dst = true;
		/* In a dialog, leave by the side our Route entry named. */
		struct sp_uri u;
		bool adjust;
		if (c->st && (m = sp_txn_request(c->st)) && route_prep(c->p, m, &rp) == 0 &&
		    hop_uri(m, &rp, t, &u, &adjust) == 0 && adjust && rp.out_li >= 0 &&
		    rp.out_proto == dst->proto)
			t->dst.listener = rp.out_li;
	}
	if (--c->hops_pending)
		return;
	if (c->st && !c->final_sent)
		call_check_done(c);
	else
		call_maybe_free(c);
}

/* Starts locating the targets whose next hop is a host name; true when
 * some answer is still on its way (on_hop goes on from there). */
static bool resolve_hops(struct sp_pcall *c)
{
	struct sp_proxy *p = c->p;
	if (!p->h.locate || !c->st)
		return false;
	c->hops_pending++; /* answers at once must not finish the count early */
	struct sp_msg *m = NULL;
	struct route_prep rp;
	for (unsigned i = 0; i < c->ntargets && c->st; i++) {
		struct target *t = &c->leg[i]->t;
		struct sp_uri u;
		struct sp_proxy_hop_name hn;
		bool adjust;
		if (t->has_dst)
			continue;
		/* The parsed request is the layer's scratch: parsed once, and
		 * again only after a locate() that may have reused it. */
		if (!m && (!(m = sp_txn_request(c->st)) || route_prep(p, m, &rp) != 0)) {
			m = NULL;
			continue;
		}
		if (hop_uri(m, &rp, t, &u, &adjust) != 0 || !hop_name(&u, &hn))
			continue;
		struct hop_wait *hw = malloc(sizeof(*hw));
		if (!hw)
			continue; /* it fails at forwarding time, with 503 */
		hw->c = c;
		hw->leg = c->leg[i];
		c->hops_pending++;
		p->h.locate(p->arg, &hn, on_hop, hw);
		m = NULL;
	}
	return --c->hops_pending > 0;
}

static void forward_targets(struct sp_proxy *p, struct sp_proxy_req *r)
{
	struct sp_pcall *c = r->call;
	if (!c || c->ntargets == 0) {
		sp_proxy_reply(r, 500, "No target", NULL, 0);
		return;
	}
	if (resolve_hops(c))
		return;
	call_check_done(c);
}

/* The answer of this node to an OPTIONS for itself (RFC 3261 section 11). */
static void reply_options(struct sp_proxy_req *r)
{
	static const struct sp_str extra[] = {
		SP_STR("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, "
		       "PUBLISH, INFO, UPDATE, PRACK, REFER, REGISTER"),
		SP_STR("Accept: application/sdp"),
	};
	sp_proxy_reply(r, 200, NULL, extra, 2);
}

static void handle_new(struct sp_proxy *p, struct sp_txn *st, struct sp_msg *m,
		       const struct sp_rx *rx, uint32_t origin)
{
	struct sp_proxy_req r;
	struct route_prep rp;
	const struct sp_uri *ruri = sp_msg_ruri(m);
	uint32_t mf = 70;
	int err;

	if (sp_log_enabled(SP_LOG_DEBUG)) {
		char src[SP_SOCKADDR_STRLEN];
		sp_sockaddr_fmt(&rx->src.addr, true, false, src, sizeof(src));
		sp_log_cid(SP_LOG_DEBUG, sp_msg_call_id(m), "%.*s %.*s from %s %s",
			   SP_STR_FMT(m->method), (int)(m->ruri_raw.len > 200 ? 200 : m->ruri_raw.len),
			   m->ruri_raw.p, sp_proto_name(rx->src.proto), src);
	}
	memset(&r, 0, sizeof(r));
	r.p = p;
	r.st = st;
	r.msg = m;
	r.src = rx->src;
	r.role = rx->role;
	r.tls = rx->tls;
	r.origin = origin;

	/* 16.3: reasonable syntax (the parser did it), URI scheme,
	 * Max-Forwards, loop, Proxy-Require. */
	if (!ruri) {
		sp_proxy_reply(&r, 400, "Bad Request-URI", NULL, 0);
		return;
	}
	if (ruri->scheme_id == SP_URI_OTHER) {
		sp_proxy_reply(&r, 416, NULL, NULL, 0);
		return;
	}
	err = sp_msg_max_forwards(m, &mf);
	if (err == 0 && mf == 0) {
		/* 16.3 step 3: an OPTIONS that can go no further is answered here,
		 * as its final recipient (a SIP traceroute); anything else is 483. */
		if (m->method_id == SP_METHOD_OPTIONS)
			reply_options(&r);
		else
			sp_proxy_reply(&r, 483, NULL, NULL, 0);
		return;
	}
	const struct sp_hdr *pr = sp_msg_hdr(m, SP_HDR_PROXY_REQUIRE);
	if (pr) {
		/* No extension needs this proxy's support: name them all back. */
		struct sp_str unsup[8];
		char lines[8][160];
		size_t n = 0;
		for (; pr && n < 8; pr = sp_msg_hdr_next(m, pr)) {
			snprintf(lines[n], sizeof(lines[n]), "Unsupported: %.*s",
				 (int)(pr->value.len > 140 ? 140 : pr->value.len), pr->value.p);
			unsup[n] = sp_str_cstr(lines[n]);
			n++;
		}
		sp_proxy_reply(&r, 420, NULL, unsup, n);
		return;
	}
	if (is_loop(p, m, loop_hash(m))) {
		sp_proxy_reply(&r, 482, NULL, NULL, 0);
		return;
	}
	if ((err = route_prep(p, m, &rp)) != 0) {
		sp_proxy_reply(&r, 400, "Bad Route", NULL, 0);
		return;
	}
	if (m->method_id == SP_METHOD_CANCEL) {
		handle_cancel(p, &r, m);
		return;
	}
	/* An in-dialog request follows its route set (loose routing). An
	 * initial request with a pre-loaded route goes through the policy like
	 * any other: following it blindly would make this an open relay. */
	const struct sp_addr *to = sp_msg_to(m);
	r.has_route = rp.has_next || rp.strict;
	if ((rp.skip || rp.strict) && rp.verified && to && to->tag.len) {
		char uri[SP_HIDE_PLAIN_MAX + 1], route[SP_HIDE_PLAIN_MAX + 1];
		hide_open(p, m, &rp, r.role == SP_ROLE_PEERING, uri, route, sizeof(uri));
		if (sp_proxy_target_add(&r, sp_str_cstr(uri), sp_str_cstr(route), NULL, 0) != 0) {
			sp_proxy_reply(&r, 500, NULL, NULL, 0);
			return;
		}
		forward_targets(p, &r);
		return;
	}
	r.for_us = ruri->scheme_id != SP_URI_TEL && sp_proxy_host_is_ours(p, ruri->host);
	r.ruri_user = ruri->user;
	if (m->method_id == SP_METHOD_OPTIONS && r.for_us && ruri->user.len == 0) {
		reply_options(&r); /* the health check: OPTIONS to the node itself */
		return;
	}
	if (!p->h.request) {
		sp_proxy_reply(&r, 404, NULL, NULL, 0);
		return;
	}
	err = p->h.request(p->arg, &r);
	if (r.kept)
		return;
	if (r.answered)
		return;
	if (err == 0 && r.call && r.call->ntargets) {
		forward_targets(p, &r);
		return;
	}
	sp_proxy_reply(&r, err == SP_E2BIG ? 503 : 500, NULL, NULL, 0);
}

/* The next hop of an ACK given by name. Known at once (the cache): it
 * goes on. Otherwise the ACK is copied and goes on when the address is
 * found (a retransmitted 2xx may bring another copy meanwhile, which the
 * receiver absorbs). */
struct ack_wait {
	struct sp_proxy *p;
	bool inside, done, found;
	struct sp_dest dst;
	bool adjust;
	char *buf;           /* the deferred ACK, as received */
	size_t len;
	struct sp_rx rx;
};

static void forward_ack_to(struct sp_proxy *p, struct sp_msg *m, const struct sp_rx *rx,
			   const struct sp_dest *known);

static void on_ack_hop(void *ctx, const struct sp_dest *dst)
{
	struct ack_wait *aw = ctx;
	if (aw->inside) {
		aw->done = true;
		if (dst) {
			aw->found = true;
			aw->dst = *dst;
		}
		return;
	}
	aw->p->acks_waiting--;
	struct sp_msg *m = dst && aw->len ? malloc(sizeof(*m)) : NULL;
	struct sp_sip_error err;
	if (m && sp_msg_parse(m, aw->buf, aw->len,
			      aw->rx.src.proto == SP_PROTO_UDP ? SP_PARSE_DATAGRAM : 0, &err) == 0)
		forward_ack_to(aw->p, m, &aw->rx, dst);
	else
		aw->p->stats.drops_no_route++;
	free(m);
	free(aw->buf);
	free(aw);
}

/* 1: dst is known; 0: the ACK waits for it (or there is none). */
static int ack_hop(struct sp_proxy *p, struct sp_msg *m, const struct sp_rx *rx,
		   const struct route_prep *rp, const struct target *t, struct sp_dest *dst)
{
	struct sp_uri u;
	struct sp_proxy_hop_name hn;
	bool adjust;
	if (hop_uri(m, rp, t->uri || t->route ? t : NULL, &u, &adjust) != 0 || !hop_name(&u, &hn))
		return 0;
	struct ack_wait *aw = calloc(1, sizeof(*aw));
	if (!aw)
		return 0;
	aw->p = p;
	aw->inside = true;
	p->h.locate(p->arg, &hn, on_ack_hop, aw);
	aw->inside = false;
	if (!aw->done) {
		/* On its way: keep the ACK for on_ack_hop (a bounded number of
		 * them: past it the ACK is dropped, and the 2xx brings another). */
		p->acks_waiting++;
		if (p->acks_waiting > SP_PROXY_MAX_ACKS_WAITING || !(aw->buf = malloc(m->len))) {
			aw->len = 0; /* on_ack_hop finds nothing to parse */
			return 0;
		}
		memcpy(aw->buf, m->buf, m->len);
		aw->len = m->len;
		aw->rx = *rx;
		aw->rx.buf = aw->buf;
		aw->rx.len = aw->len;
		aw->rx.tls = NULL;
		return 0;
	}
	int ok = aw->found;
	if (ok) {
		*dst = aw->dst;
		if (adjust && rp->out_li >= 0 && rp->out_proto == dst->proto)
			dst->listener = rp->out_li;
	}
	free(aw);
	return ok;
}

/* The ACK of a 2xx is its own transaction end to end: forward it
 * statelessly along the route set (16.11), with a branch derived from the
 * incoming one so a retransmitted ACK looks the same downstream. */
static void forward_ack_to(struct sp_proxy *p, struct sp_msg *m, const struct sp_rx *rx,
			   const struct sp_dest *known)
{
	struct route_prep rp;
	struct sp_dest dst;
	const struct sp_via *via = sp_msg_via(m);
	const struct sp_uri *ruri = sp_msg_ruri(m);
	char branch[64];

	uint32_t mf = 70;
	if (!via || !ruri || route_prep(p, m, &rp) != 0)
		return;
	/* Only the ACK of a dialog we Record-Routed goes on (nobody relays
	 * through us), never with Max-Forwards spent or in a loop. */
	if (!rp.verified || (sp_msg_max_forwards(m, &mf) == 0 && mf == 0) ||
	    is_loop(p, m, loop_hash(m))) {
		p->stats.drops_no_route++;
		return;
	}
	/* An ACK from a peer may carry sealed inner addresses (hide_open). */
	char ack_uri[SP_HIDE_PLAIN_MAX + 1], ack_route[SP_HIDE_PLAIN_MAX + 1];
	struct target ack_t;
	memset(&ack_t, 0, sizeof(ack_t));
	hide_open(p, m, &rp, rx->role == SP_ROLE_PEERING, ack_uri, ack_route, sizeof(ack_uri));
	ack_t.uri = ack_uri[0] ? ack_uri : NULL;
	ack_t.route = ack_route[0] ? ack_route : NULL;
	int err = known ? 0 : next_hop(m, &rp, ack_t.uri || ack_t.route ? &ack_t : NULL, &dst);
	if (known) {
		/* Found later: leave by the side our Route entry named, as
		 * next_hop would have. */
		struct sp_uri hu;
		bool adjust;
		dst = *known;
		if (hop_uri(m, &rp, ack_t.uri || ack_t.route ? &ack_t : NULL, &hu, &adjust) == 0 &&
		    adjust && rp.out_li >= 0 && rp.out_proto == dst.proto)
			dst.listener = rp.out_li;
	} else if (err == SP_ENOENT && p->h.locate) {
		if (!ack_hop(p, m, rx, &rp, &ack_t, &dst))
			return; /* it goes on from on_ack_hop, or nowhere */
	} else if (err != 0) {
		p->stats.drops_no_route++;
		return;
	}
	snprintf(branch, sizeof(branch), "z9hG4bK%016" PRIx64 ".a",
		 sp_hash_mix(sp_hash_str(via->branch), loop_hash(m)));
	if (build_forward(p, m, &rp, ack_t.uri || ack_t.route ? &ack_t : NULL, &dst,
			  rx->src.listener, branch, true, NULL, rx->role != SP_ROLE_PEERING, NULL) == 0 &&
	    send_buf(p, &dst, &p->out) == 0)
		p->stats.stateless_forwarded++;
}

static void forward_ack(struct sp_proxy *p, struct sp_msg *m, const struct sp_rx *rx)
{
	forward_ack_to(p, m, rx, NULL);
}

/* A response no transaction matches (a 2xx retransmitted after the
 * transaction ended): forward it statelessly to the next Via (16.11). */
static void forward_response_stateless(struct sp_proxy *p, struct sp_msg *m)
{
	const struct sp_via *top = sp_msg_via(m);
	const struct sp_hdr *h;
	struct sp_via next;
	struct sp_dest dst;
	struct sp_edit e;
	bool have_next = false;
	unsigned n = 0;

	const struct sp_cseq *cs = sp_msg_cseq(m);
	/* Only what the transaction layer cannot match by design goes on: a
	 * 2xx to an INVITE retransmitted after the transaction ended. Anything
	 * else would let a forged response aim us at any address. */
	if (!top || !via_is_self(p, top) || m->status < 200 || m->status > 299 || !cs ||
	    cs->method_id != SP_METHOD_INVITE) {
		p->stats.drops_stray_response++;
		return;
	}
	for (h = sp_msg_hdr(m, SP_HDR_VIA); h && !have_next; h = sp_msg_hdr_next(m, h)) {
		struct sp_str cur = h->value;
		while (sp_via_next(&cur, &next) == 0) {
			if (n++ == 1) {
				have_next = true;
				break;
			}
		}
	}
	if (!have_next) {
		p->stats.drops_stray_response++;
		return;
	}
	memset(&dst, 0, sizeof(dst));
	dst.listener = -1;
	if (sp_proto_parse(next.transport, &dst.proto) != 0) {
		p->stats.drops_stray_response++;
		return;
	}
	uint16_t port = next.rport ? next.rport
				   : next.port ? next.port
				   : (dst.proto == SP_PROTO_TLS ? 5061 : 5060);
	if (sp_sockaddr_from_host(next.received.len ? next.received : next.host, port, &dst.addr) != 0) {
		p->stats.drops_stray_response++;
		return;
	}
	sp_edit_init(&e);
	sp_buf_reset(&p->out);
	if (sp_edit_via_pop(&e, m) == 0 && sp_edit_serialize(m, &e, &p->out) == 0 &&
	    send_buf(p, &dst, &p->out) == 0)
		p->stats.stateless_forwarded++;
}


/* RFC 3261 section 18.2.1 and RFC 3581: the top Via of a request learns
 * where it really came from: received= when the sent-by is not the source
 * address (or rport asks for it), rport=<port> when rport is present. The
 * request is rewritten once, before the transaction keeps its copy, so the
 * 100 Trying, every response and every forwarded copy carry them (a phone
 * behind NAT learns its public address from them). Returns 0 when *m now
 * holds the rewritten request (in p->rxcopy), SP_ENOENT when nothing was
 * needed, or an error. */
static int via_fill_source(struct sp_proxy *p, struct sp_msg *m, const struct sp_rx *rx,
			   unsigned flags)
{
	const struct sp_via *via = sp_msg_via(m);
	const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_VIA);
	struct sp_sockaddr sent_by;
	struct sp_edit e;
	struct sp_sip_error err;
	char addr[SP_SOCKADDR_STRLEN];
	bool need_received, need_rport;
	int rc;

	if (!via || !h)
		return SP_ENOENT;
	need_rport = via->has_rport && via->rport == 0;
	need_received = need_rport || sp_sockaddr_from_host(via->host, 0, &sent_by) != 0 ||
			!sp_sockaddr_eq_host(&sent_by, &rx->src.addr);
	if (!need_received && !need_rport)
		return SP_ENOENT;
	sp_edit_init(&e);
	sp_sockaddr_fmt(&rx->src.addr, false, true, addr, sizeof(addr));
	if ((rc = sp_edit_param_set(&e, m, h, SP_STR("received"), sp_str_cstr(addr))) != 0)
		return rc;
	if (need_rport &&
	    (rc = sp_edit_param_set_u32(&e, m, h, SP_STR("rport"),
					sp_sockaddr_port(&rx->src.addr))) != 0)
		return rc;
	sp_buf_reset(&p->rxcopy);
	if ((rc = sp_edit_serialize(m, &e, &p->rxcopy)) != 0)
		return rc;
	return sp_msg_parse(m, p->rxcopy.p, p->rxcopy.len, flags, &err);
}

/* An in-dialog request that follows a Route entry of ours with a valid
 * token: a dialog we Record-Routed (the token is an HMAC of the Call-ID,
 * which nobody else can make). */
static bool in_our_dialog(struct sp_proxy *p, struct sp_msg *m)
{
	const struct sp_addr *to = sp_msg_to(m);
	struct route_prep rp;
	return m->request && to && to->tag.len && route_prep(p, m, &rp) == 0 && rp.skip &&
	       rp.first_verified && listener_is_peering(p, rp.first_li);
}

void sp_proxy_rx(struct sp_proxy *p, const struct sp_rx *rx)
{
	struct sp_msg *m = p->msg;
	struct sp_sip_error err;
	unsigned flags = rx->src.proto == SP_PROTO_UDP ? SP_PARSE_DATAGRAM : 0;
	uint32_t origin = 0;
	int r, verdict = SP_PROXY_ADMIT;

	if (rx->len == 0)
		return;
	/* The peering side answers only whom admit() knows, and decides before
	 * parsing: a stranger's flood costs as little as possible. Responses
	 * pass; they must match a transaction of ours. */
	if (rx->role == SP_ROLE_PEERING && p->h.admit &&
	    !(rx->len >= 8 && memcmp(rx->buf, "SIP/2.0 ", 8) == 0)) {
		verdict = p->h.admit(p->arg, rx, &origin);
		/* Only a request that may belong to one of our dialogs (our
		 * Record-Route token, "sp=") is parsed before it is dropped: a
		 * peer removed by a reload still ends the calls it has. */
		if (verdict == SP_PROXY_DROP && !memmem(rx->buf, rx->len, ";sp=", 4)) {
			p->stats.drops_admission++;
			return;
		}
	}
	if (sp_msg_parse(m, rx->buf, rx->len, flags, &err) != 0 || sp_msg_validate(m, &err) != 0) {
		uint64_t supp = 0;
		if (sp_log_ratelimit(&p->rl_malformed, rx->now_ms, &supp))
			sp_log_cid(SP_LOG_NOTICE, sp_msg_call_id(m),
				   "malformed %s: %u %s (%" PRIu64 " more not logged)",
				   m->request ? "request" : "message", err.status, err.reason, supp);
		if (m->request && m->method_id != SP_METHOD_ACK && verdict == SP_PROXY_ADMIT) {
			struct sp_dest dst;
			const struct sp_via *via = sp_msg_via(m);
			sp_buf_reset(&p->out);
			if (via && sp_txn_response_dest_for(via, &rx->src, &dst) == 0 &&
			    sp_reply_error(m, &err, &p->out) == 0 && send_buf(p, &dst, &p->out) == 0) {
				p->stats.rejected_malformed++;
				count_reply(p, err.status);
				return;
			}
		}
		p->stats.drops_malformed++;
		return;
	}
	if (!m->request) {
		p->stats.responses++;
		if (sp_txn_client_recv(p->txn, m, &rx->src) == SP_ENOENT)
			forward_response_stateless(p, m);
		return;
	}
	p->stats.requests++;
	if (verdict != SP_PROXY_ADMIT && in_our_dialog(p, m)) {
		verdict = SP_PROXY_ADMIT;
		origin = 0;
	}
	if (verdict == SP_PROXY_DROP) {
		p->stats.drops_admission++;
		return;
	}
	if (verdict == SP_PROXY_REJECT) {
		p->stats.drops_admission++;
		if (m->method_id != SP_METHOD_ACK)
			reply_stateless(p, m, &rx->src, 403, "Not a peer", NULL, 0);
		return;
	}
	if (m->method_id != SP_METHOD_ACK && (r = via_fill_source(p, m, rx, flags)) != 0 &&
	    r != SP_ENOENT) {
		/* Only a message at the size cap gets here: answer as is. */
		sp_log_cid(SP_LOG_INFO, sp_msg_call_id(m), "cannot add received/rport: %s",
			   sp_strerror(r));
		if (sp_msg_parse(m, rx->buf, rx->len, flags, &err) != 0)
			return;
	}
	struct sp_txn *st = NULL;
	r = sp_txn_server_recv(p->txn, m, &rx->src, &st);
	if (r == SP_TXN_ACK_STRAY) {
		forward_ack(p, m, rx);
		return;
	}
	if (r == SP_E2BIG) {
		uint64_t supp = 0;
		static const struct sp_str ra[] = { SP_STR("Retry-After: 5") };
		p->stats.overload++;
		if (sp_log_ratelimit(&p->rl_overload, rx->now_ms, &supp))
			sp_log(SP_LOG_WARN, "transaction cap reached: answering 503 (%" PRIu64
			       " more not logged)", supp);
		if (m->method_id != SP_METHOD_ACK)
			reply_stateless(p, m, &rx->src, 503, NULL, ra, 1);
		return;
	}
	if (r != SP_TXN_NEW || !st)
		return;
	handle_new(p, st, m, rx, origin);
}

void sp_proxy_send_error(struct sp_proxy *p, const struct sp_dest *dst, int err)
{
	sp_txn_transport_error(p->txn, dst, err);
}

int sp_proxy_create(const struct sp_proxy_cfg *cfg, struct sp_transport *tp,
		    struct sp_txn_layer *txn, const struct sp_proxy_h *h, void *arg,
		    struct sp_proxy **out)
{
	struct sp_proxy *p = calloc(1, sizeof(*p));
	if (!p)
		return SP_ENOMEM;
	p->msg = malloc(sizeof(*p->msg));
	p->msg2 = malloc(sizeof(*p->msg2));
	if (!p->msg || !p->msg2) {
		free(p->msg);
		free(p->msg2);
		free(p);
		return SP_ENOMEM;
	}
	p->cfg = *cfg;
	if (!p->cfg.timer_c_ms)
		p->cfg.timer_c_ms = 181000;
	p->tp = tp;
	p->txn = txn;
	if (h)
		p->h = *h;
	p->arg = arg;
	sp_htab_init(&p->calls);
	sp_buf_init(&p->out, OUT_MAX);
	sp_buf_init(&p->rxcopy, OUT_MAX);
	p->rl_overload.interval_ms = 10000;
	p->rl_malformed.interval_ms = 10000;
	rr_keys_make(p);
	*out = p;
	return 0;
}

void sp_proxy_destroy(struct sp_proxy *p)
{
	if (!p)
		return;
	/* The transaction layer is destroyed first by the owner, which calls
	 * every destroyed() handler and so frees the contexts. */
	sp_htab_free(&p->calls);
	sp_buf_free(&p->out);
	sp_buf_free(&p->rxcopy);
	rr_keys_free(p);
	free(p->msg);
	free(p->msg2);
	free(p);
}

static bool shutdown_call(struct sp_hnode *n, void *arg)
{
	struct sp_pcall *c = (struct sp_pcall *)n;
	static const struct sp_str ra[] = { SP_STR("Retry-After: 30") };
	if (!c->st || c->final_sent || c->pending)
		return true;
	c->cancelled = true;
	cancel_pending(c);
	c->final_sent = true;
	reply_txn(c->p, c->st, 503, "Shutting down", ra, 1);
	return true;
}

void sp_proxy_shutdown(struct sp_proxy *p)
{
	sp_htab_foreach(&p->calls, shutdown_call, NULL);
}

void sp_proxy_set_secret(struct sp_proxy *p, const char *secret)
{
	p->cfg.secret = secret;
	rr_keys_make(p);
}

void sp_proxy_set_domains(struct sp_proxy *p, const char *const *domains, size_t n)
{
	p->cfg.domains = domains;
	p->cfg.ndomains = n;
}

const struct sp_proxy_stats *sp_proxy_stats(const struct sp_proxy *p)
{
	return &p->stats;
}
