/* registrar.c: REGISTER processing (RFC 3261 section 10.3), the in-memory location table, write-through to the store. */
#include "registrar/registrar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "sip/addr.h"
#include "sip/param.h"
#include "sip/tokens.h"
#include "sip/uri.h"

/* RFC 3261 section 20.19: delta-seconds above 2^32-1 mean 2^32-1. */
#define EXPIRES_CAP 4294967295ull
#define RECEIVED_MAX 80

/* One binding; every string lives in the same allocation, after it. */
struct binding {
	struct binding *next;
	struct sp_uri uri; /* parsed from pub.contact, for RFC 3261 URI comparison */
	bool uri_ok;
	struct sp_registrar_binding pub;
};

struct plan;

/* One AoR: its bindings and the REGISTERs for it, applied one at a time. */
struct aor {
	struct sp_hnode node;
	struct sp_str key; /* bytes after the struct */
	struct binding *list;
	size_t n;
	struct plan *busy;             /* the request whose write is in flight */
	struct plan *q_head, *q_tail;  /* requests waiting for it */
	size_t nq;
};

struct plan_contact {
	struct sp_str uri_text;
	struct sp_uri uri;
	bool uri_ok;
	uint32_t expires;
	uint16_t q;
	struct sp_str instance;
};

/* The next state of an AoR's binding set, kept until the write is durable. */
struct next_entry {
	struct binding *b;
	bool fresh; /* allocated for this request (else an existing binding kept) */
};

/* One REGISTER reduced to what it asks for, owning copies of its strings
 * (the message is gone once sp_registrar_register returns). */
struct plan {
	struct plan *next;
	struct sp_registrar *reg;
	struct aor *aor;
	sp_registrar_done_h done;
	void *arg;
	uint64_t now;
	struct sp_str call_id;
	uint32_t cseq;
	struct sp_str path;
	bool echo_path;
	struct sp_str user_agent;
	struct sp_str received;
	struct sp_dest src;
	bool has_src;
	bool query; /* no Contact: report the bindings */
	bool star;  /* Contact: *, Expires: 0 */
	size_t ncontacts;
	struct plan_contact c[SP_REGISTRAR_MAX_CONTACTS];
	struct next_entry next_set[SP_REGISTRAR_MAX_PER_AOR + SP_REGISTRAR_MAX_CONTACTS];
	size_t nnext;
	char *mem;
};

struct sp_registrar {
	struct sp_registrar_conf conf;
	struct sp_store *store;
	struct sp_htab aors;
	size_t naors;
	size_t nbindings;
	size_t nqueued; /* plans waiting or in flight */
	struct sp_log_ratelimit rl;
};

/* ---- helpers ---- */

static struct sp_str dup_into(char **pos, struct sp_str s)
{
	struct sp_str r = { *pos, s.len };
	if (s.len)
		memcpy(*pos, s.p, s.len);
	*pos += s.len;
	return r;
}

static const char *proto_lc(enum sp_proto p)
{
	switch (p) {
	case SP_PROTO_UDP:
		return "udp";
	case SP_PROTO_TCP:
		return "tcp";
	case SP_PROTO_TLS:
		return "tls";
	}
	return NULL;
}

/* "udp:192.0.2.1:5060", "tcp:[2001:db8::1]:5061": the source of a
 * REGISTER as kept in the store. */
static size_t received_fmt(const struct sp_dest *d, char *out, size_t size)
{
	char addr[SP_SOCKADDR_STRLEN];
	const char *proto = proto_lc(d->proto);
	int n;

	if (!proto || (d->addr.u.sa.sa_family != AF_INET && d->addr.u.sa.sa_family != AF_INET6))
		return 0;
	sp_sockaddr_fmt(&d->addr, true, false, addr, sizeof(addr));
	n = snprintf(out, size, "%s:%s", proto, addr);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static int received_parse(struct sp_str s, struct sp_dest *d)
{
	ptrdiff_t c = sp_str_chr(s, ':');
	uint32_t port;
	struct sp_str h, p;

	if (c <= 0)
		return SP_EINVAL;
	struct sp_str rest = sp_str_make(s.p + c + 1, s.len - (size_t)c - 1);
	memset(d, 0, sizeof(*d));
	if (sp_proto_parse(sp_str_make(s.p, (size_t)c), &d->proto) != 0)
		return SP_EINVAL;
	/* The port follows the last ':' ("[v6]:port" or "v4:port"). */
	size_t e = rest.len;
	while (e > 0 && rest.p[e - 1] != ':')
		e--;
	if (e < 2)
		return SP_EINVAL;
	h = sp_str_make(rest.p, e - 1);
	p = sp_str_make(rest.p + e, rest.len - e);
	if (sp_str_to_u32(p, 65535, &port) < 0 ||
	    sp_sockaddr_from_host(h, (uint16_t)port, &d->addr) != 0)
		return SP_EINVAL;
	d->conn = 0;
	d->listener = -1;
	return 0;
}

/* q-value (RFC 3261 section 25.1): "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]. */
static int qvalue_parse(struct sp_str v, uint16_t *out)
{
	unsigned q = 0;
	if (v.len == 0 || v.len > 5 || (v.p[0] != '0' && v.p[0] != '1'))
		return SP_EINVAL;
	if (v.len > 1 && v.p[1] != '.')
		return SP_EINVAL;
	unsigned scale = 100;
	for (size_t i = 2; i < v.len; i++, scale /= 10) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return SP_EINVAL;
		q += (unsigned)(v.p[i] - '0') * scale;
	}
	if (v.p[0] == '1') {
		if (q)
			return SP_EINVAL;
		q = 1000;
	}
	*out = (uint16_t)q;
	return 0;
}

/* delta-seconds; values past 2^32-1 are 2^32-1. */
static int delta_parse(struct sp_str v, uint64_t *out)
{
	uint64_t x;
	int rc = sp_str_to_u64(sp_str_trim(v), EXPIRES_CAP, &x);
	if (rc == SP_ERANGE) {
		/* Still digits only? Then it is just big. */
		struct sp_str t = sp_str_trim(v);
		for (size_t i = 0; i < t.len; i++)
			if (t.p[i] < '0' || t.p[i] > '9')
				return SP_EINVAL;
		x = EXPIRES_CAP;
		rc = 0;
	}
	if (rc < 0)
		return rc;
	*out = x;
	return 0;
}

static bool uri_same(const struct sp_uri *a, bool a_ok, struct sp_str a_text,
		     const struct sp_uri *b, bool b_ok, struct sp_str b_text)
{
	if (a_ok && b_ok)
		return sp_uri_eq(a, b);
	return sp_str_eq(a_text, b_text);
}

/* ---- table ---- */

static struct aor *aor_find(struct sp_registrar *reg, struct sp_str key)
{
	for (struct sp_hnode *n = sp_htab_first(&reg->aors, sp_hash_str(key)); n; n = sp_htab_next(n)) {
		struct aor *a = (struct aor *)n;
		if (sp_str_eq(a->key, key))
			return a;
	}
	return NULL;
}

static struct aor *aor_get(struct sp_registrar *reg, struct sp_str key)
{
	struct aor *a = aor_find(reg, key);
	if (a)
		return a;
	a = calloc(1, sizeof(*a) + key.len);
	if (!a)
		return NULL;
	memcpy(a + 1, key.p, key.len);
	a->key = sp_str_make((const char *)(a + 1), key.len);
	sp_htab_insert(&reg->aors, &a->node, sp_hash_str(key));
	reg->naors++;
	return a;
}

/* Frees the AoR when nothing refers to it any more. */
static void aor_release(struct sp_registrar *reg, struct aor *a)
{
	if (a->list || a->busy || a->q_head)
		return;
	sp_htab_remove(&reg->aors, &a->node);
	reg->naors--;
	free(a);
}

static struct binding *binding_new(const struct sp_registrar_binding *src)
{
	const struct sp_registrar_binding *s = src;
	size_t bytes = s->contact.len + s->path.len + s->received.len + s->instance.len +
		       s->user_agent.len + s->call_id.len;
	struct binding *b = calloc(1, sizeof(*b) + bytes);
	if (!b)
		return NULL;
	char *pos = (char *)(b + 1);
	b->pub = *s;
	b->pub.contact = dup_into(&pos, s->contact);
	b->pub.path = dup_into(&pos, s->path);
	b->pub.received = dup_into(&pos, s->received);
	b->pub.instance = dup_into(&pos, s->instance);
	b->pub.user_agent = dup_into(&pos, s->user_agent);
	b->pub.call_id = dup_into(&pos, s->call_id);
	b->uri_ok = sp_uri_parse(b->pub.contact, &b->uri) == 0;
	return b;
}

/* Look-up order: q descending, then the most recently updated first. */
static size_t collect(const struct aor *a, uint64_t now, struct sp_registrar_binding *out,
		      size_t max, size_t *total)
{
	size_t n = 0, all = 0;
	for (const struct binding *b = a ? a->list : NULL; b; b = b->next) {
		if (b->pub.expires_at <= now)
			continue;
		all++;
		struct sp_registrar_binding x = b->pub;
		x.expires = (uint32_t)(b->pub.expires_at - now > EXPIRES_CAP ? EXPIRES_CAP
									       : b->pub.expires_at - now);
		size_t i = n < max ? n : max;
		while (i > 0 && (out[i - 1].q < x.q ||
				 (out[i - 1].q == x.q && out[i - 1].updated_at < x.updated_at))) {
			if (i < max)
				out[i] = out[i - 1];
			i--;
		}
		if (i < max)
			out[i] = x;
		if (n < max)
			n++;
	}
	if (total)
		*total = all;
	return n;
}

/* ---- replies ---- */

/* retry: the refusal is for load, so a Retry-After goes with it. */
static void reply_simple(struct plan *p, uint16_t status, const char *reason, bool retry)
{
	struct sp_registrar_reply r = { .status = status, .reason = reason, .now_s = p->now };
	if (status == 423)
		r.min_expires = p->reg->conf.min_expires;
	if (retry)
		r.retry_after = p->reg->conf.retry_after;
	p->done(&r, p->arg);
}

static void reply_ok(struct plan *p)
{
	struct sp_registrar_binding list[SP_REGISTRAR_MAX_PER_AOR];
	struct sp_registrar_reply r = { .status = 200, .reason = "OK", .now_s = p->now };
	r.ncontacts = collect(p->aor, p->now, list, SP_REGISTRAR_MAX_PER_AOR, NULL);
	r.contacts = list;
	if (p->echo_path)
		r.path = p->path;
	p->done(&r, p->arg);
}

/* ---- plans ---- */

static void plan_free(struct plan *p)
{
	free(p->mem);
	free(p);
}

static void next_discard(struct plan *p)
{
	for (size_t i = 0; i < p->nnext; i++)
		if (p->next_set[i].fresh)
			free(p->next_set[i].b);
	p->nnext = 0;
}

static bool in_next(const struct plan *p, const struct binding *b)
{
	for (size_t i = 0; i < p->nnext; i++)
		if (p->next_set[i].b == b)
			return true;
	return false;
}

static bool replaced_same_text(const struct plan *p, const struct binding *b)
{
	for (size_t i = 0; i < p->nnext; i++)
		if (p->next_set[i].fresh && sp_str_eq(p->next_set[i].b->pub.contact, b->pub.contact))
			return true;
	return false;
}

/* Makes the next state current: the write is durable. */
static void next_install(struct plan *p)
{
	struct sp_registrar *reg = p->reg;
	struct aor *a = p->aor;
	struct binding *b = a->list, *list = NULL, **tail = &list;

	while (b) {
		struct binding *nb = b->next;
		if (!in_next(p, b))
			free(b);
		b = nb;
	}
	for (size_t i = 0; i < p->nnext; i++) {
		*tail = p->next_set[i].b;
		tail = &(*tail)->next;
	}
	*tail = NULL;
	reg->nbindings = reg->nbindings - a->n + p->nnext;
	a->list = list;
	a->n = p->nnext;
	p->nnext = 0;
}

static void plan_start(struct plan *p);

/* The AoR's in-flight request is finished: start the next ones waiting. */
static void aor_advance(struct sp_registrar *reg, struct aor *a)
{
	while (!a->busy && a->q_head) {
		struct plan *p = a->q_head;
		a->q_head = p->next;
		if (!a->q_head)
			a->q_tail = NULL;
		a->nq--;
		plan_start(p);
	}
	aor_release(reg, a);
}

static void plan_written(int result, void *arg)
{
	struct plan *p = arg;
	struct sp_registrar *reg = p->reg;
	struct aor *a = p->aor;

	if (result == 0) {
		next_install(p);
		reply_ok(p);
	} else {
		/* RFC 3261 section 10.3 step 7: the updates are committed all or
		 * none; a back-end failure is a 500. */
		sp_log(SP_LOG_ERR, "registrar: store write for %.*s failed: %s", SP_STR_FMT(a->key),
		       sp_strerror(result));
		next_discard(p);
		reply_simple(p, 500, "Server Internal Error", false);
	}
	a->busy = NULL;
	reg->nqueued--;
	plan_free(p);
	aor_advance(reg, a);
}

/* Adds a freshly built binding for contact c of p to the next state,
 * replacing entry at (or appending when at == nnext). */
static int next_put(struct plan *p, size_t at, const struct plan_contact *c)
{
	struct sp_registrar_binding nb = {
		.contact = c->uri_text,
		.path = p->path,
		.received = p->received,
		.instance = c->instance,
		.user_agent = p->user_agent,
		.call_id = p->call_id,
		.cseq = p->cseq,
		.source = p->src,
		.has_source = p->has_src,
		.q = c->q,
		.expires_at = p->now + c->expires,
		.updated_at = p->now,
	};
	struct binding *b = binding_new(&nb);
	if (!b)
		return SP_ENOMEM;
	if (at < p->nnext && p->next_set[at].fresh)
		free(p->next_set[at].b);
	p->next_set[at] = (struct next_entry){ b, true };
	if (at == p->nnext)
		p->nnext++;
	return 0;
}

static void next_remove(struct plan *p, size_t at)
{
	if (p->next_set[at].fresh)
		free(p->next_set[at].b);
	memmove(&p->next_set[at], &p->next_set[at + 1], (p->nnext - at - 1) * sizeof(p->next_set[0]));
	p->nnext--;
}

/* Steps 6 and 7 against the AoR's current bindings (nothing in flight for
 * it). Returns 0 with the next state in p->next_set, or a SIP status. */
static int plan_eval(struct plan *p, const char **reason)
{
	struct sp_registrar *reg = p->reg;
	struct aor *a = p->aor;

	p->nnext = 0;
	for (struct binding *b = a->list; b; b = b->next) {
		/* Expired bindings are gone (the sweep only lags behind). */
		if (b->pub.expires_at > p->now)
			p->next_set[p->nnext++] = (struct next_entry){ b, false };
	}
	if (p->star) {
		/* Step 6: every binding goes, unless this request is older than
		 * the one that made it (same Call-ID, CSeq not higher). */
		for (size_t i = 0; i < p->nnext; i++) {
			const struct sp_registrar_binding *b = &p->next_set[i].b->pub;
			if (sp_str_eq(b->call_id, p->call_id) && p->cseq <= b->cseq) {
				*reason = "Out Of Order Request";
				p->nnext = 0;
				return 500;
			}
		}
		p->nnext = 0;
		return 0;
	}
	size_t before = p->nnext;
	for (size_t k = 0; k < p->ncontacts; k++) {
		const struct plan_contact *c = &p->c[k];
		size_t j;
		for (j = 0; j < p->nnext; j++) {
			const struct binding *b = p->next_set[j].b;
			if (uri_same(&b->uri, b->uri_ok, b->pub.contact, &c->uri, c->uri_ok, c->uri_text))
				break;
		}
		if (j < p->nnext && !p->next_set[j].fresh) {
			/* Step 7: an existing binding from the same Call-ID is
			 * updated only by a higher CSeq; otherwise the whole
			 * request fails and nothing changes. */
			const struct sp_registrar_binding *b = &p->next_set[j].b->pub;
			if (sp_str_eq(b->call_id, p->call_id) && p->cseq <= b->cseq) {
				*reason = "Out Of Order Request";
				next_discard(p);
				return 500;
			}
		}
		int rc = 0;
		if (c->expires == 0) {
			if (j < p->nnext)
				next_remove(p, j);
		} else {
			rc = next_put(p, j, c);
		}
		if (rc < 0) {
			*reason = "Server Internal Error";
			next_discard(p);
			return 500;
		}
	}
	if (p->nnext > before && p->nnext > reg->conf.max_per_aor) {
		/* As Kamailio does: retrying will not help, so no Retry-After. */
		*reason = "Too Many Registered Contacts";
		next_discard(p);
		return 503;
	}
	if (p->nnext > before && reg->nbindings - a->n + p->nnext > reg->conf.max_bindings) {
		if (sp_log_ratelimit(&reg->rl, p->now * 1000, NULL))
			sp_log(SP_LOG_WARN, "registrar: the cap of %zu bindings is reached",
			       reg->conf.max_bindings);
		*reason = "Service Unavailable";
		next_discard(p);
		return 503;
	}
	return 0;
}

/* Evaluates p and writes its changes, or answers it at once. The AoR has
 * nothing in flight. Takes ownership of p. */
static void plan_start(struct plan *p)
{
	struct sp_registrar *reg = p->reg;
	struct aor *a = p->aor;
	struct sp_store_op ops[SP_REGISTRAR_MAX_PER_AOR + SP_REGISTRAR_MAX_CONTACTS];
	const char *reason = NULL;
	size_t nops = 0;
	int status;

	if (p->query) {
		reply_ok(p);
		goto done;
	}
	status = plan_eval(p, &reason);
	if (status) {
		reply_simple(p, (uint16_t)status, reason,
			     status == 503 && strcmp(reason, "Service Unavailable") == 0);
		goto done;
	}
	/* Deletes for what leaves the set, upserts for what is new or changed;
	 * a binding replaced under the same URI text needs only the upsert. */
	for (struct binding *b = a->list; b; b = b->next) {
		if (in_next(p, b) || replaced_same_text(p, b))
			continue;
		ops[nops++] = (struct sp_store_op){
			.kind = SP_STORE_DEL,
			.b = { .aor = a->key, .contact = b->pub.contact },
		};
	}
	for (size_t i = 0; i < p->nnext; i++) {
		const struct sp_registrar_binding *b = &p->next_set[i].b->pub;
		if (!p->next_set[i].fresh)
			continue;
		ops[nops++] = (struct sp_store_op){
			.kind = SP_STORE_PUT,
			.b = {
				.aor = a->key,
				.contact = b->contact,
				.path = b->path,
				.call_id = b->call_id,
				.cseq = b->cseq,
				.expires_at = b->expires_at,
				.q = b->q,
				.received = b->received,
				.instance = b->instance,
				.user_agent = b->user_agent,
				.updated_at = b->updated_at,
			},
		};
	}
	if (nops == 0) {
		/* Nothing to make durable (only removals of unknown contacts). */
		next_install(p);
		reply_ok(p);
		goto done;
	}
	int rc = sp_store_write(reg->store, ops, nops, plan_written, p);
	if (rc < 0) {
		next_discard(p);
		if (rc == SP_E2BIG)
			reply_simple(p, 503, "Service Unavailable", true);
		else
			reply_simple(p, 500, "Server Internal Error", false);
		goto done;
	}
	a->busy = p;
	return;
done:
	reg->nqueued--;
	plan_free(p);
}

/* ---- parsing the request into a plan ---- */

static bool supports_path(struct sp_msg *m)
{
	for (const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_SUPPORTED); h; h = sp_msg_hdr_next(m, h)) {
		struct sp_str cur = h->value, tok;
		while (sp_token_list_next(&cur, &tok) == 0)
			if (sp_str_caseeq_l(tok, "path"))
				return true;
	}
	return false;
}

struct parsed {
	struct sp_str call_id;
	uint32_t cseq;
	bool query, star;
	size_t n;
	struct {
		struct sp_str uri_text;
		struct sp_str instance;
		uint32_t expires;
		uint16_t q;
	} c[SP_REGISTRAR_MAX_CONTACTS];
	struct sp_str ua;
	size_t path_len;
};

/* Steps 6 and the parts of 7 that need no binding: returns 0 or a status. */
static int parse_request(const struct sp_registrar_conf *conf, struct sp_msg *m, struct parsed *pr,
			 const char **reason)
{
	const struct sp_hdr *h;
	const struct sp_cseq *cseq = sp_msg_cseq(m);
	bool have_expires = false;
	uint64_t hdr_expires = 0;

	*reason = "Bad Request";
	pr->call_id = sp_msg_call_id(m);
	if (!pr->call_id.len || !cseq || pr->call_id.len > SP_STORE_MAX_FIELD)
		return 400;
	pr->cseq = cseq->num;
	h = sp_msg_hdr(m, SP_HDR_EXPIRES);
	if (h) {
		if (delta_parse(h->value, &hdr_expires) < 0) {
			*reason = "Bad Expires";
			return 400;
		}
		have_expires = true;
	}
	h = sp_msg_hdr_by_name(m, SP_STR("User-Agent"));
	if (h)
		pr->ua = h->value.len > SP_STORE_MAX_FIELD ? sp_str_make(h->value.p, SP_STORE_MAX_FIELD)
							  : h->value;
	for (h = sp_msg_hdr(m, SP_HDR_PATH); h; h = sp_msg_hdr_next(m, h))
		pr->path_len += h->value.len + 2;
	if (pr->path_len > SP_STORE_MAX_PATH) {
		*reason = "Path Too Long";
		return 400;
	}

	pr->query = !sp_msg_hdr(m, SP_HDR_CONTACT);
	bool star = false;
	for (h = sp_msg_hdr(m, SP_HDR_CONTACT); h; h = sp_msg_hdr_next(m, h)) {
		struct sp_str cur = h->value;
		struct sp_addr a;
		int rc;
		while ((rc = sp_addr_next(&cur, SP_ADDR_STAR, &a)) == 0) {
			if (a.star) {
				star = true;
				continue;
			}
			if (pr->n >= SP_REGISTRAR_MAX_CONTACTS) {
				*reason = "Too Many Contacts";
				return 400;
			}
			if (a.uri.raw.len > SP_STORE_MAX_CONTACT) {
				*reason = "Contact Too Long";
				return 400;
			}
			struct sp_str v;
			uint64_t e = have_expires ? hdr_expires : conf->default_expires;
			if (sp_param_find(a.params, SP_PARAM_HEADER, "expires", &v) == 0 &&
			    (!v.p || delta_parse(v, &e) < 0)) {
				*reason = "Bad Contact Expires";
				return 400;
			}
			uint16_t q = 1000;
			if (sp_param_find(a.params, SP_PARAM_HEADER, "q", &v) == 0 &&
			    (!v.p || qvalue_parse(v, &q) < 0)) {
				*reason = "Bad Contact q";
				return 400;
			}
			struct sp_str inst = SP_STR_NULL;
			if (sp_param_find(a.params, SP_PARAM_HEADER, "+sip.instance", &v) == 0 && v.p)
				inst = v.len > SP_STORE_MAX_FIELD ? SP_STR_NULL : v;
			if (e > 0 && e < conf->min_expires) {
				*reason = "Interval Too Brief";
				return 423;
			}
			if (e > conf->max_expires)
				e = conf->max_expires;
			pr->c[pr->n].uri_text = a.uri.raw;
			pr->c[pr->n].instance = inst;
			pr->c[pr->n].expires = (uint32_t)e;
			pr->c[pr->n].q = q;
			pr->n++;
		}
		if (rc != SP_ENOENT) {
			*reason = "Bad Contact";
			return 400;
		}
	}
	if (star) {
		/* Step 6: "*" only alone and with Expires: 0. */
		if (pr->n || sp_msg_hdr_count(m, SP_HDR_CONTACT) != 1 || !have_expires || hdr_expires) {
			*reason = "Invalid Wildcard Contact";
			return 400;
		}
		pr->star = true;
	}
	return 0;
}

int sp_registrar_register(struct sp_registrar *reg, struct sp_str aor, struct sp_msg *req,
			  const struct sp_dest *src, uint64_t now_s, sp_registrar_done_h done,
			  void *arg)
{
	struct parsed *pr = NULL;
	struct plan *p = NULL;
	const char *reason = NULL;
	char received[RECEIVED_MAX];
	size_t received_len = 0;
	int status = 0, rc = 0;

	if (!reg || !req || !done || !aor.len || aor.len > SP_STORE_MAX_AOR)
		return SP_EINVAL;
	/* Answers that need no plan still go through one, so that done always
	 * gets the same shape of reply. */
	p = calloc(1, sizeof(*p));
	pr = calloc(1, sizeof(*pr));
	if (!p || !pr) {
		struct sp_registrar_reply r = { .status = 500, .reason = "Server Internal Error",
						.now_s = now_s };
		done(&r, arg);
		goto out;
	}
	p->reg = reg;
	p->done = done;
	p->arg = arg;
	p->now = now_s;
	status = parse_request(&reg->conf, req, pr, &reason);
	if (src)
		received_len = received_fmt(src, received, sizeof(received));

	size_t bytes = pr->call_id.len + pr->ua.len + pr->path_len + received_len;
	for (size_t i = 0; i < pr->n; i++)
		bytes += pr->c[i].uri_text.len + pr->c[i].instance.len;
	p->mem = malloc(bytes ? bytes : 1);
	if (!p->mem) {
		status = 500;
		reason = "Server Internal Error";
	}
	if (status) {
		reply_simple(p, (uint16_t)status, reason,
			     status == 503 && strcmp(reason, "Service Unavailable") == 0);
		goto out;
	}
	char *pos = p->mem;
	p->call_id = dup_into(&pos, pr->call_id);
	p->cseq = pr->cseq;
	p->user_agent = dup_into(&pos, pr->ua);
	p->received = dup_into(&pos, sp_str_make(received, received_len));
	if (src) {
		p->src = *src;
		p->has_src = true;
	}
	/* Path values joined in order, as one Route set to prepend. */
	p->path.p = pos;
	for (const struct sp_hdr *h = sp_msg_hdr(req, SP_HDR_PATH); h; h = sp_msg_hdr_next(req, h)) {
		if (p->path.len)
			dup_into(&pos, SP_STR(", "));
		dup_into(&pos, h->value);
		p->path.len = (size_t)(pos - p->path.p);
	}
	p->echo_path = p->path.len && supports_path(req);
	p->query = pr->query;
	p->star = pr->star;
	p->ncontacts = pr->n;
	for (size_t i = 0; i < pr->n; i++) {
		struct plan_contact *c = &p->c[i];
		c->uri_text = dup_into(&pos, pr->c[i].uri_text);
		c->instance = dup_into(&pos, pr->c[i].instance);
		c->expires = pr->c[i].expires;
		c->q = pr->c[i].q;
		c->uri_ok = sp_uri_parse(c->uri_text, &c->uri) == 0;
	}

	if (reg->nqueued >= reg->conf.max_queued) {
		reply_simple(p, 503, "Service Unavailable", true);
		goto out;
	}
	p->aor = aor_get(reg, aor);
	if (!p->aor) {
		reply_simple(p, 500, "Server Internal Error", false);
		goto out;
	}
	reg->nqueued++;
	if (p->aor->busy) {
		if (p->aor->nq >= SP_REGISTRAR_MAX_AOR_QUEUE) {
			reg->nqueued--;
			reply_simple(p, 503, "Service Unavailable", true);
			goto out;
		}
		p->next = NULL;
		if (p->aor->q_tail)
			p->aor->q_tail->next = p;
		else
			p->aor->q_head = p;
		p->aor->q_tail = p;
		p->aor->nq++;
		p = NULL;
		goto out;
	}
	struct aor *a = p->aor;
	plan_start(p);
	p = NULL;
	aor_release(reg, a);
out:
	if (p) {
		if (p->aor)
			aor_release(reg, p->aor);
		plan_free(p);
	}
	free(pr);
	return rc;
}

/* ---- the 200's extra headers ---- */

static int append_q(struct sp_buf *out, uint16_t q)
{
	char d[8];
	int n = snprintf(d, sizeof(d), "%03u", q);
	if (n != 3)
		return SP_EINVAL;
	size_t len = 3;
	while (len > 1 && d[len - 1] == '0')
		len--;
	if (sp_buf_append_c(out, ";q=0.") < 0)
		return SP_E2BIG;
	return sp_buf_append(out, d, len);
}

/* RFC 1123 date in GMT (RFC 3261 section 20.17); locale-independent. */
static int append_date(struct sp_buf *out, uint64_t now)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)now;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return 0;
	return sp_buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", wd[tm.tm_wday],
			     tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			     tm.tm_sec);
}

int sp_registrar_reply_headers(const struct sp_registrar_reply *r, struct sp_buf *out)
{
	size_t mark = out->len;
	int rc = 0;

	if (r->status == 200) {
		for (size_t i = 0; i < r->ncontacts && rc == 0; i++) {
			const struct sp_registrar_binding *b = &r->contacts[i];
			rc = sp_buf_append_c(out, "Contact: <");
			if (rc == 0)
				rc = sp_buf_append_str(out, b->contact);
			if (rc == 0)
				rc = sp_buf_printf(out, ">;expires=%u", b->expires);
			if (rc == 0 && b->q < 1000)
				rc = append_q(out, b->q);
			if (rc == 0 && b->instance.len) {
				rc = sp_buf_append_c(out, ";+sip.instance=");
				if (rc == 0)
					rc = sp_buf_append_str(out, b->instance);
			}
			if (rc == 0)
				rc = sp_buf_append_c(out, "\r\n");
		}
		if (rc == 0 && r->path.len) {
			rc = sp_buf_append_c(out, "Path: ");
			if (rc == 0)
				rc = sp_buf_append_str(out, r->path);
			if (rc == 0)
				rc = sp_buf_append_c(out, "\r\n");
		}
		if (rc == 0)
			rc = append_date(out, r->now_s);
	}
	if (rc == 0 && r->status == 423)
		rc = sp_buf_printf(out, "Min-Expires: %u\r\n", r->min_expires);
	if (rc == 0 && r->retry_after)
		rc = sp_buf_printf(out, "Retry-After: %u\r\n", r->retry_after);
	if (rc < 0) {
		out->len = mark;
		return SP_E2BIG;
	}
	return 0;
}

/* ---- look-up, sweep, load ---- */

int sp_registrar_lookup(struct sp_registrar *reg, struct sp_str aor, uint64_t now_s,
			struct sp_registrar_binding *out, size_t max, size_t *n)
{
	size_t total = 0;
	*n = collect(aor_find(reg, aor), now_s, out, max, &total);
	return total > max ? SP_E2BIG : 0;
}

static void sweep_written(int result, void *arg)
{
	if (result < 0)
		sp_log(SP_LOG_WARN, "registrar: deleting expired bindings failed: %s (they stay "
				    "in the store, expired)", sp_strerror(result));
}

struct sweep_ctx {
	struct sp_registrar *reg;
	uint64_t now;
	size_t removed;
};

static bool sweep_aor(struct sp_hnode *node, void *arg)
{
	struct sweep_ctx *c = arg;
	struct aor *a = (struct aor *)node;
	struct sp_store_op ops[SP_REGISTRAR_MAX_PER_AOR];
	struct binding *dead = NULL, **pp = &a->list;
	size_t nops = 0;

	if (a->busy)
		return true;
	while (*pp) {
		struct binding *b = *pp;
		if (b->pub.expires_at > c->now || nops == SP_REGISTRAR_MAX_PER_AOR) {
			pp = &b->next;
			continue;
		}
		*pp = b->next;
		b->next = dead;
		dead = b;
		ops[nops++] = (struct sp_store_op){
			.kind = SP_STORE_DEL,
			.b = { .aor = a->key, .contact = b->pub.contact },
		};
	}
	if (nops) {
		/* A full queue loses nothing: a binding left expired in the
		 * store is skipped at load. */
		if (sp_store_write(c->reg->store, ops, nops, sweep_written, NULL) < 0)
			sp_log(SP_LOG_WARN, "registrar: store busy, expired bindings of %.*s "
					    "stay in it", SP_STR_FMT(a->key));
		a->n -= nops;
		c->reg->nbindings -= nops;
		c->removed += nops;
	}
	while (dead) {
		struct binding *nb = dead->next;
		free(dead);
		dead = nb;
	}
	aor_release(c->reg, a);
	return true;
}

size_t sp_registrar_sweep(struct sp_registrar *reg, uint64_t now_s)
{
	struct sweep_ctx c = { reg, now_s, 0 };
	sp_htab_foreach(&reg->aors, sweep_aor, &c);
	return c.removed;
}

struct load_ctx {
	struct sp_registrar *reg;
	size_t loaded, skipped;
};

static int load_one(const struct sp_store_binding *sb, void *arg)
{
	struct load_ctx *c = arg;
	struct sp_registrar *reg = c->reg;
	struct sp_registrar_binding pub = {
		.contact = sb->contact,
		.path = sb->path,
		.received = sb->received,
		.instance = sb->instance,
		.user_agent = sb->user_agent,
		.call_id = sb->call_id,
		.cseq = sb->cseq,
		.q = sb->q,
		.expires_at = sb->expires_at,
		.updated_at = sb->updated_at,
	};
	struct aor *a;
	struct binding *b;

	if (sb->received.len && received_parse(sb->received, &pub.source) == 0)
		pub.has_source = true;
	if (reg->nbindings >= reg->conf.max_bindings || !sb->aor.len)
		goto skip;
	a = aor_get(reg, sb->aor);
	if (!a)
		return SP_ENOMEM;
	if (a->n >= reg->conf.max_per_aor) {
		aor_release(reg, a);
		goto skip;
	}
	b = binding_new(&pub);
	if (!b) {
		aor_release(reg, a);
		return SP_ENOMEM;
	}
	/* A binding loaded twice (two stores, or a reload) replaces the first. */
	for (struct binding **pp = &a->list; *pp; pp = &(*pp)->next) {
		if (sp_str_eq((*pp)->pub.contact, b->pub.contact)) {
			struct binding *old = *pp;
			b->next = old->next;
			*pp = b;
			free(old);
			c->loaded++;
			return 0;
		}
	}
	b->next = a->list;
	a->list = b;
	a->n++;
	reg->nbindings++;
	c->loaded++;
	return 0;
skip:
	c->skipped++;
	return 0;
}

int sp_registrar_load(struct sp_registrar *reg, struct sp_store *store, uint64_t now_s)
{
	struct load_ctx c = { reg, 0, 0 };
	int rc = sp_store_load(store, now_s, load_one, &c);
	if (c.skipped)
		sp_log(SP_LOG_WARN, "registrar: %zu stored bindings over the caps were not loaded",
		       c.skipped);
	sp_log(SP_LOG_INFO, "registrar: loaded %zu bindings", c.loaded);
	return rc;
}

/* ---- life cycle ---- */

int sp_registrar_create(const struct sp_registrar_conf *conf, struct sp_store *store,
			struct sp_registrar **out)
{
	struct sp_registrar *reg;
	if (!store || !out)
		return SP_EINVAL;
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return SP_ENOMEM;
	if (conf)
		reg->conf = *conf;
	struct sp_registrar_conf *c = &reg->conf;
	if (!c->default_expires)
		c->default_expires = 3600;
	if (!c->min_expires)
		c->min_expires = 60;
	if (!c->max_expires)
		c->max_expires = 86400;
	if (c->max_expires < c->min_expires)
		c->max_expires = c->min_expires;
	if (!c->max_per_aor)
		c->max_per_aor = 10;
	if (c->max_per_aor > SP_REGISTRAR_MAX_PER_AOR)
		c->max_per_aor = SP_REGISTRAR_MAX_PER_AOR;
	if (!c->max_bindings)
		c->max_bindings = 100000;
	if (!c->max_queued)
		c->max_queued = 4096;
	if (!c->retry_after)
		c->retry_after = 5;
	reg->rl.interval_ms = 10000;
	reg->store = store;
	sp_htab_init(&reg->aors);
	*out = reg;
	return 0;
}

static bool free_aor(struct sp_hnode *node, void *arg)
{
	struct sp_registrar *reg = arg;
	struct aor *a = (struct aor *)node;
	while (a->list) {
		struct binding *b = a->list;
		a->list = b->next;
		free(b);
	}
	while (a->q_head) {
		struct plan *p = a->q_head;
		a->q_head = p->next;
		plan_free(p);
	}
	if (a->busy) {
		next_discard(a->busy);
		plan_free(a->busy);
	}
	sp_htab_remove(&reg->aors, node);
	free(a);
	return true;
}

void sp_registrar_destroy(struct sp_registrar *reg)
{
	if (!reg)
		return;
	sp_htab_foreach(&reg->aors, free_aor, reg);
	sp_htab_free(&reg->aors);
	free(reg);
}

size_t sp_registrar_count(const struct sp_registrar *reg)
{
	return reg->nbindings;
}

size_t sp_registrar_aor_count(const struct sp_registrar *reg)
{
	return reg->naors;
}
