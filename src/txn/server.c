/* server.c: server transactions (RFC 3261 sections 17.2.1-17.2.3, RFC 6026 Accepted): matching, responses, Timers G, H, I, J, L. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "sip/reply.h"
#include "txn/txn_int.h"

/* What matching needs of a request: its key fields, as slices into its buffer. */
struct req_key {
	struct sp_str branch, sent_by, method, call_id, from_tag, to_tag, ruri, top_via;
	uint16_t port;
	uint32_t cseq;
	enum sp_method method_id;
	bool rfc3261;
};

static int req_key(struct sp_msg *m, struct req_key *k)
{
	const struct sp_via *via = sp_msg_via(m);
	const struct sp_cseq *cseq = sp_msg_cseq(m);
	const struct sp_addr *from = sp_msg_from(m);
	const struct sp_addr *to = sp_msg_to(m);

	if (!m->request || !via || !cseq || !from || !to)
		return SP_EINVAL;
	k->call_id = sp_msg_call_id(m);
	if (!k->call_id.len)
		return SP_EINVAL;
	k->branch = via->branch;
	k->sent_by = via->host;
	k->port = via->port;
	k->method = m->method;
	k->method_id = m->method_id;
	k->from_tag = from->tag;
	k->to_tag = to->tag;
	k->ruri = m->ruri_raw;
	k->top_via = via->raw;
	k->cseq = cseq->num;
	k->rfc3261 = txn_has_cookie(via->branch);
	return 0;
}

static uint64_t key_hash(const struct req_key *k)
{
	if (k->rfc3261)
		return sp_hash_str(k->branch);
	return sp_hash_mix(sp_hash_str(k->call_id), k->cseq);
}

static bool ruri_eq(struct sp_str a, struct sp_str b)
{
	struct sp_uri ua, ub;
	if (sp_str_eq(a, b))
		return true;
	return sp_uri_parse(a, &ua) == 0 && sp_uri_parse(b, &ub) == 0 && sp_uri_eq(&ua, &ub);
}

/* Section 17.2.3 for a request whose method, for matching, is mid/mname
 * (ACK and CANCEL look for the INVITE under INVITE). ack: the To tag is
 * compared with that of the response sent (RFC 2543 only). */
static bool key_match(const struct sp_txn *t, const struct req_key *k, enum sp_method mid,
		      struct sp_str mname, bool ack)
{
	const char *b = t->req;

	if (t->state == SP_TXN_TERMINATED || t->rfc3261 != k->rfc3261 ||
	    !txn_method_eq(t, mid, mname))
		return false;
	if (k->rfc3261)
		return sp_str_eq(txn_str(b, t->branch), k->branch) &&
		       sp_str_caseeq(txn_str(b, t->sent_by), k->sent_by) &&
		       t->sent_by_port == k->port;
	if (t->cseq != k->cseq || !sp_str_eq(txn_str(b, t->call_id), k->call_id) ||
	    !sp_str_eq(txn_str(b, t->from_tag), k->from_tag) ||
	    !sp_str_eq(txn_str(b, t->top_via), k->top_via) ||
	    !ruri_eq(txn_str(b, t->ruri), k->ruri))
		return false;
	if (ack)
		return t->resp && sp_str_eq(txn_str(t->resp, t->resp_to_tag), k->to_tag);
	return sp_str_eq(txn_str(b, t->to_tag), k->to_tag);
}

static struct sp_txn *find(struct sp_txn_layer *l, const struct req_key *k, enum sp_method mid,
			   struct sp_str mname, bool ack)
{
	for (struct sp_hnode *n = sp_htab_first(&l->server, key_hash(k)); n; n = sp_htab_next(n)) {
		struct sp_txn *t = (struct sp_txn *)n;
		if (key_match(t, k, mid, mname, ack))
			return t;
	}
	return NULL;
}

struct sp_txn *sp_txn_server_find_invite(struct sp_txn_layer *l, struct sp_msg *cancel)
{
	struct req_key k;

	if (req_key(cancel, &k) != 0)
		return NULL;
	return find(l, &k, SP_METHOD_INVITE, SP_STR("INVITE"), false);
}

static int resend(struct sp_txn *st)
{
	if (!st->resp)
		return 0;
	return txn_send(st, st->resp, st->resp_len);
}

/* Timer G: the final response again, the interval doubling up to T2. */
static void timer_g(struct sp_timer *tm, void *arg)
{
	struct sp_txn *st = arg;
	uint32_t t2 = st->l->cfg.t2_ms;
	(void)tm;
	(void)resend(st);
	st->retx_ms = st->retx_ms * 2 < t2 ? st->retx_ms * 2 : t2;
	txn_arm(st, &st->t_retx, st->retx_ms, timer_g);
}

/* Timers I, J and L: the transaction ends. */
static void timer_end(struct sp_timer *tm, void *arg)
{
	(void)tm;
	txn_terminate(arg);
}

/* Timer H: the ACK never came; the TU hears of it, then the release. */
static void timer_h(struct sp_timer *tm, void *arg)
{
	struct sp_txn *st = arg;
	(void)tm;
	st->state = SP_TXN_TERMINATED;
	sp_timer_stop(st->l->timers, &st->t_retx);
	if (st->u.s.h && st->u.s.h->timeout)
		st->u.s.h->timeout(st->arg, st);
	txn_free(st);
}

static int create(struct sp_txn_layer *l, struct sp_msg *req, const struct req_key *k,
		  const struct sp_dest *src, struct sp_txn **out)
{
	struct sp_txn *st;
	struct sp_buf trying;
	int err;

	if ((err = txn_alloc(l, req->buf, req->len, &st)) != 0)
		return err;
	sp_buf_init(&trying, SP_MSG_MAX_LEN);
	st->server = true;
	st->invite = req->method_id == SP_METHOD_INVITE;
	st->rfc3261 = k->rfc3261;
	st->method_id = req->method_id;
	st->state = st->invite ? SP_TXN_PROCEEDING : SP_TXN_TRYING;
	st->cseq = k->cseq;
	st->sent_by_port = k->port;
	st->branch = txn_slice_of(req->buf, k->branch);
	st->sent_by = txn_slice_of(req->buf, k->sent_by);
	st->method = txn_slice_of(req->buf, k->method);
	st->call_id = txn_slice_of(req->buf, k->call_id);
	st->from_tag = txn_slice_of(req->buf, k->from_tag);
	st->to_tag = txn_slice_of(req->buf, k->to_tag);
	st->ruri = txn_slice_of(req->buf, k->ruri);
	st->top_via = txn_slice_of(req->buf, k->top_via);
	if (sp_txn_response_dest_for(sp_msg_via(req), src, &st->dest) != 0) {
		/* A maddr that is a name: the source is the best address known. */
		st->dest = *src;
		st->dest.conn = 0;
	}
	if (st->invite) {
		/* 100 Trying at once, so that the client stops retransmitting
		 * the INVITE (section 17.2.1). */
		if ((err = sp_reply_build(req, 100, NULL, SP_STR_NULL, NULL, 0, &trying)) != 0 ||
		    (err = txn_store_resp(st, trying.p, trying.len)) != 0)
			goto out;
	}
	sp_htab_insert(&l->server, &st->node, key_hash(k));
	if (st->invite)
		(void)resend(st);
	*out = st;
out:
	sp_buf_free(&trying);
	if (err)
		txn_discard(st);
	return err;
}

int sp_txn_server_recv(struct sp_txn_layer *l, struct sp_msg *req, const struct sp_dest *src,
		       struct sp_txn **out)
{
	struct req_key k;
	struct sp_txn *st;
	int err;

	if ((err = req_key(req, &k)) != 0)
		return err;
	if (req->method_id == SP_METHOD_ACK) {
		st = find(l, &k, SP_METHOD_INVITE, SP_STR("INVITE"), true);
		if (!st)
			return SP_TXN_ACK_STRAY;
		*out = st;
		switch (st->state) {
		case SP_TXN_COMPLETED:
			sp_timer_stop(l->timers, &st->t_retx);
			sp_timer_stop(l->timers, &st->t_give_up);
			st->state = SP_TXN_CONFIRMED;
			/* Timer I absorbs ACK retransmissions over UDP. */
			txn_arm(st, &st->t_end,
				sp_proto_reliable(st->dest.proto) ? 0 : st->l->cfg.t4_ms, timer_end);
			return SP_TXN_ABSORBED;
		case SP_TXN_ACCEPTED:
			/* RFC 6026 section 8.7: the ACK of a 2xx goes to the TU. */
			return SP_TXN_ACK_STRAY;
		default:
			return SP_TXN_ABSORBED;
		}
	}
	st = find(l, &k, req->method_id, req->method, false);
	if (st) {
		/* A retransmission: the last response again, except in states
		 * where none is due (Trying: none yet; Confirmed: the ACK came;
		 * Accepted: RFC 6026 has the TU retransmit its 2xx itself). */
		if (st->state == SP_TXN_PROCEEDING || st->state == SP_TXN_COMPLETED)
			(void)resend(st);
		*out = st;
		return SP_TXN_ABSORBED;
	}
	if ((err = create(l, req, &k, src, &st)) != 0)
		return err;
	*out = st;
	return SP_TXN_NEW;
}

void sp_txn_server_set_handler(struct sp_txn *st, const struct sp_txn_server_h *h, void *arg)
{
	st->u.s.h = h;
	st->arg = arg;
}

/* For RFC 2543 ACK matching: the To tag of the final response just stored. */
static void note_resp_to_tag(struct sp_txn *st)
{
	struct sp_msg *m;
	const struct sp_addr *to;

	if (txn_parse_scratch(st->l, st->resp, st->resp_len, &m) == 0 && (to = sp_msg_to(m)))
		st->resp_to_tag = txn_slice_of(st->resp, to->tag);
}

int sp_txn_server_reply(struct sp_txn *st, uint16_t status, const char *buf, size_t len)
{
	struct sp_txn_layer *l = st->l;
	bool reliable = sp_proto_reliable(st->dest.proto);
	int err;

	if (!st->server || status < 100 || status > 699 || !buf || !len)
		return SP_EINVAL;
	switch (st->state) {
	case SP_TXN_TRYING:
	case SP_TXN_PROCEEDING:
		break;
	case SP_TXN_ACCEPTED:
		if (status >= 200 && status < 300)
			return txn_send(st, buf, len);
		return SP_EINVAL;
	default:
		return SP_EINVAL;
	}
	if (st->invite && status >= 200 && status < 300) {
		/* RFC 6026: the 2xx is not kept; later 2xx pass through as sent. */
		free(st->resp);
		st->resp = NULL;
		st->resp_len = 0;
		st->final_status = status;
		st->state = SP_TXN_ACCEPTED;
		txn_arm(st, &st->t_end, 64ull * l->cfg.t1_ms, timer_end);
		return txn_send(st, buf, len);
	}
	if ((err = txn_store_resp(st, buf, len)) != 0)
		return err;
	if (status < 200) {
		st->state = SP_TXN_PROCEEDING;
		return resend(st);
	}
	st->final_status = status;
	st->state = SP_TXN_COMPLETED;
	if (st->invite) {
		if (!st->rfc3261)
			note_resp_to_tag(st);
		if (!reliable) {
			st->retx_ms = l->cfg.t1_ms;
			txn_arm(st, &st->t_retx, st->retx_ms, timer_g);
		}
		txn_arm(st, &st->t_give_up, 64ull * l->cfg.t1_ms, timer_h);
	} else {
		txn_arm(st, &st->t_end, reliable ? 0 : 64ull * l->cfg.t1_ms, timer_end);
	}
	return resend(st);
}
