/* client.c: client transactions (RFC 3261 sections 17.1.1-17.1.3, RFC 6026 Accepted) and CANCEL (section 9.1): Timers A, B, D, E, F, K, M. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "txn/txn_int.h"

static void report_error(struct sp_timer *tm, void *arg)
{
	struct sp_txn *ct = arg;
	(void)tm;
	if (ct->u.c.h && ct->u.c.h->transport_error)
		ct->u.c.h->transport_error(ct->arg, ct, ct->err);
	txn_free(ct);
}

/* A transport error ends the transaction (figures 5 and 6); the TU hears of
 * it from a zero-delay timer, never from inside the call that found it. */
static void fail(struct sp_txn *ct, int err)
{
	ct->state = SP_TXN_TERMINATED;
	ct->err = err;
	sp_timer_stop(ct->l->timers, &ct->t_retx);
	sp_timer_stop(ct->l->timers, &ct->t_give_up);
	txn_arm(ct, &ct->t_end, 0, report_error);
}

static void end_state(struct sp_timer *tm, void *arg)
{
	(void)tm;
	txn_terminate(arg);
}

/* Timers A (doubling without a cap) and E (doubling up to T2, T2 once a
 * provisional has arrived). */
static void timer_retx(struct sp_timer *tm, void *arg)
{
	struct sp_txn *ct = arg;
	uint32_t t2 = ct->l->cfg.t2_ms;
	int err;
	(void)tm;
	if ((err = txn_send(ct, ct->req, ct->req_len)) != 0) {
		fail(ct, err);
		return;
	}
	if (ct->invite)
		ct->retx_ms *= 2;
	else if (ct->state == SP_TXN_PROCEEDING)
		ct->retx_ms = t2;
	else
		ct->retx_ms = ct->retx_ms * 2 < t2 ? ct->retx_ms * 2 : t2;
	txn_arm(ct, &ct->t_retx, ct->retx_ms, timer_retx);
}

/* Timers B and F. */
static void timer_give_up(struct sp_timer *tm, void *arg)
{
	struct sp_txn *ct = arg;
	(void)tm;
	ct->state = SP_TXN_TERMINATED;
	sp_timer_stop(ct->l->timers, &ct->t_retx);
	if (ct->u.c.h && ct->u.c.h->timeout)
		ct->u.c.h->timeout(ct->arg, ct);
	txn_free(ct);
}

int sp_txn_client_start(struct sp_txn_layer *l, const char *buf, size_t len,
			const struct sp_dest *dst, const struct sp_txn_client_h *h, void *arg,
			struct sp_txn **out)
{
	struct sp_txn *ct;
	struct sp_msg *m;
	const struct sp_via *via;
	const struct sp_cseq *cseq;
	int err;

	if (!buf || !dst)
		return SP_EINVAL;
	if ((err = txn_alloc(l, buf, len, &ct)) != 0)
		return err;
	if ((err = txn_parse_scratch(l, ct->req, ct->req_len, &m)) != 0)
		goto out;
	via = sp_msg_via(m);
	cseq = sp_msg_cseq(m);
	err = SP_EINVAL;
	if (!m->request || m->method_id == SP_METHOD_ACK || !via || !cseq ||
	    !txn_has_cookie(via->branch))
		goto out;
	err = 0;
	ct->invite = m->method_id == SP_METHOD_INVITE;
	ct->method_id = m->method_id;
	ct->method = txn_slice_of(ct->req, m->method);
	ct->branch = txn_slice_of(ct->req, via->branch);
	ct->call_id = txn_slice_of(ct->req, sp_msg_call_id(m));
	ct->cseq = cseq->num;
	ct->state = ct->invite ? SP_TXN_CALLING : SP_TXN_TRYING;
	ct->dest = *dst;
	ct->u.c.h = h;
	ct->arg = arg;
	sp_htab_insert(&l->client, &ct->node, sp_hash_str(via->branch));
	if ((err = txn_send(ct, ct->req, ct->req_len)) != 0) {
		fail(ct, err);
		err = 0;
	} else {
		if (!sp_proto_reliable(dst->proto)) {
			ct->retx_ms = l->cfg.t1_ms;
			txn_arm(ct, &ct->t_retx, ct->retx_ms, timer_retx);
		}
		txn_arm(ct, &ct->t_give_up, 64ull * l->cfg.t1_ms, timer_give_up);
	}
	*out = ct;
out:
	if (err)
		txn_discard(ct);
	return err;
}

static int put_line(struct sp_buf *b, const struct sp_msg *m, const struct sp_hdr *h)
{
	return sp_buf_append(b, m->buf + h->line_off, h->line_len);
}

/* The part of ACK (section 17.1.1.3) and CANCEL (section 9.1) that both
 * take from the request: start line, the top Via only, Route headers,
 * Max-Forwards, From and Call-ID. The caller adds To, CSeq and the end. */
static int put_common(struct sp_buf *b, struct sp_msg *req, const char *method)
{
	const struct sp_via *via = sp_msg_via(req);
	const struct sp_hdr *from = sp_msg_hdr(req, SP_HDR_FROM);
	const struct sp_hdr *cid = sp_msg_hdr(req, SP_HDR_CALL_ID);
	uint32_t mf;
	int err;

	if (!via || !from || !cid)
		return SP_EINVAL;
	if ((err = sp_buf_append_c(b, method)) || (err = sp_buf_append_c(b, " ")) ||
	    (err = sp_buf_append_str(b, req->ruri_raw)) ||
	    (err = sp_buf_append_c(b, " SIP/2.0\r\nVia: ")) ||
	    (err = sp_buf_append_str(b, via->raw)) || (err = sp_buf_append_c(b, "\r\n")))
		return err;
	for (const struct sp_hdr *r = sp_msg_hdr(req, SP_HDR_ROUTE); r; r = sp_msg_hdr_next(req, r))
		if ((err = put_line(b, req, r)) != 0)
			return err;
	if (sp_msg_max_forwards(req, &mf) != 0)
		mf = 70;
	if ((err = sp_buf_append_c(b, "Max-Forwards: ")) ||
	    (err = sp_buf_append_u64(b, mf)) || (err = sp_buf_append_c(b, "\r\n")) ||
	    (err = put_line(b, req, from)) || (err = put_line(b, req, cid)))
		return err;
	return 0;
}

static int put_cseq(struct sp_buf *b, uint32_t num, const char *method)
{
	int err;
	if ((err = sp_buf_append_c(b, "CSeq: ")) || (err = sp_buf_append_u64(b, num)) ||
	    (err = sp_buf_append_c(b, " ")) || (err = sp_buf_append_c(b, method)) ||
	    (err = sp_buf_append_c(b, "\r\nContent-Length: 0\r\n\r\n")))
		return err;
	return 0;
}

/* The ACK of a non-2xx final (section 17.1.1.3): the To of the response. */
static int build_ack(struct sp_txn *ct, struct sp_msg *resp)
{
	struct sp_buf b;
	struct sp_msg *req;
	const struct sp_hdr *to = sp_msg_hdr(resp, SP_HDR_TO);
	int err;

	if (!to)
		return SP_EINVAL;
	sp_buf_init(&b, SP_MSG_MAX_LEN);
	if ((err = txn_parse_scratch(ct->l, ct->req, ct->req_len, &req)) ||
	    (err = put_common(&b, req, "ACK")) || (err = sp_buf_append_c(&b, "To: ")) ||
	    (err = sp_buf_append_str(&b, to->value)) || (err = sp_buf_append_c(&b, "\r\n")) ||
	    (err = put_cseq(&b, ct->cseq, "ACK")) || (err = txn_store_resp(ct, b.p, b.len)))
		goto out;
out:
	sp_buf_free(&b);
	return err;
}

static const struct sp_txn_client_h cancel_h = { 0 };

/* Section 9.1: the CANCEL in its own transaction, with the INVITE's To. */
static int send_cancel(struct sp_txn *ct)
{
	struct sp_buf b;
	struct sp_msg *req;
	const struct sp_hdr *to;
	struct sp_txn *cancel;
	int err;

	ct->cancel_wanted = false;
	sp_buf_init(&b, SP_MSG_MAX_LEN);
	if ((err = txn_parse_scratch(ct->l, ct->req, ct->req_len, &req)) != 0)
		goto out;
	to = sp_msg_hdr(req, SP_HDR_TO);
	if (!to) {
		err = SP_EINVAL;
		goto out;
	}
	if ((err = put_common(&b, req, "CANCEL")) || (err = put_line(&b, req, to)) ||
	    (err = put_cseq(&b, ct->cseq, "CANCEL")))
		goto out;
	if ((err = sp_txn_client_start(ct->l, b.p, b.len, &ct->dest, &cancel_h, NULL, &cancel)))
		goto out;
	cancel->cancelled = ct;
	ct->cancel = cancel;
out:
	if (err)
		sp_log_cid(SP_LOG_WARN, txn_str(ct->req, ct->call_id), "txn: CANCEL not sent: %s",
			   sp_strerror(err));
	sp_buf_free(&b);
	return err;
}

int sp_txn_client_cancel(struct sp_txn *ct)
{
	if (ct->server || !ct->invite)
		return SP_EINVAL;
	if (ct->cancel || ct->cancel_wanted || ct->final_status ||
	    (ct->state != SP_TXN_CALLING && ct->state != SP_TXN_PROCEEDING))
		return 0;
	if (!ct->got_provisional) {
		/* Section 9.1: a CANCEL before a provisional could overtake the
		 * INVITE; it waits. */
		ct->cancel_wanted = true;
		return 0;
	}
	return send_cancel(ct);
}

static struct sp_txn *client_find(struct sp_txn_layer *l, struct sp_msg *resp)
{
	const struct sp_via *via = sp_msg_via(resp);
	const struct sp_cseq *cseq = sp_msg_cseq(resp);

	if (!via || !cseq || !via->branch.len)
		return NULL;
	for (struct sp_hnode *n = sp_htab_first(&l->client, sp_hash_str(via->branch)); n;
	     n = sp_htab_next(n)) {
		struct sp_txn *ct = (struct sp_txn *)n;
		if (sp_str_eq(txn_str(ct->req, ct->branch), via->branch) &&
		    txn_method_eq(ct, cseq->method_id, cseq->method))
			return ct;
	}
	return NULL;
}

static void deliver(struct sp_txn *ct, struct sp_msg *resp)
{
	/* The handler may start transactions or cancel this one; nothing
	 * frees ct before the next timer run, and nothing here reads ct after. */
	if (ct->u.c.h && ct->u.c.h->response)
		ct->u.c.h->response(ct->arg, ct, resp);
}

static void recv_invite(struct sp_txn *ct, struct sp_msg *resp)
{
	struct sp_txn_layer *l = ct->l;
	uint16_t status = resp->status;

	switch (ct->state) {
	case SP_TXN_CALLING:
	case SP_TXN_PROCEEDING:
		break;
	case SP_TXN_COMPLETED:
		/* The final again: our ACK got lost. */
		if (status >= 300 && ct->resp)
			(void)txn_send(ct, ct->resp, ct->resp_len);
		return;
	case SP_TXN_ACCEPTED:
		/* RFC 6026: every 2xx goes up (forked or retransmitted). */
		if (status >= 200 && status < 300)
			deliver(ct, resp);
		return;
	default:
		return;
	}
	if (status < 200) {
		/* Timer B only bounds Calling: a call may ring for minutes. */
		ct->state = SP_TXN_PROCEEDING;
		ct->got_provisional = true;
		sp_timer_stop(l->timers, &ct->t_retx);
		sp_timer_stop(l->timers, &ct->t_give_up);
		if (ct->cancel_wanted)
			(void)send_cancel(ct);
		deliver(ct, resp);
		return;
	}
	sp_timer_stop(l->timers, &ct->t_retx);
	sp_timer_stop(l->timers, &ct->t_give_up);
	ct->final_status = status;
	ct->cancel_wanted = false;
	if (status < 300) {
		ct->state = SP_TXN_ACCEPTED;
		txn_arm(ct, &ct->t_end, 64ull * l->cfg.t1_ms, end_state);
		deliver(ct, resp);
		return;
	}
	ct->state = SP_TXN_COMPLETED;
	if (build_ack(ct, resp) == 0)
		(void)txn_send(ct, ct->resp, ct->resp_len);
	else
		sp_log_cid(SP_LOG_WARN, txn_str(ct->req, ct->call_id), "txn: cannot build the ACK");
	txn_arm(ct, &ct->t_end, sp_proto_reliable(ct->dest.proto) ? 0 : TXN_TIMER_D_MS, end_state);
	deliver(ct, resp);
}

static void recv_non_invite(struct sp_txn *ct, struct sp_msg *resp)
{
	struct sp_txn_layer *l = ct->l;
	uint16_t status = resp->status;

	if (ct->state != SP_TXN_TRYING && ct->state != SP_TXN_PROCEEDING)
		return;
	if (status < 200) {
		/* Timer E goes on; it switches to T2 when it next fires. */
		ct->state = SP_TXN_PROCEEDING;
		ct->got_provisional = true;
		deliver(ct, resp);
		return;
	}
	ct->final_status = status;
	ct->state = SP_TXN_COMPLETED;
	sp_timer_stop(l->timers, &ct->t_retx);
	sp_timer_stop(l->timers, &ct->t_give_up);
	/* Timer K absorbs retransmitted finals over UDP. */
	txn_arm(ct, &ct->t_end, sp_proto_reliable(ct->dest.proto) ? 0 : l->cfg.t4_ms, end_state);
	deliver(ct, resp);
}

int sp_txn_client_recv(struct sp_txn_layer *l, struct sp_msg *resp, const struct sp_dest *src)
{
	struct sp_txn *ct;
	(void)src;

	if (resp->request || resp->status < 100 || resp->status > 699)
		return SP_EINVAL;
	ct = client_find(l, resp);
	if (!ct)
		return SP_ENOENT;
	if (ct->invite)
		recv_invite(ct, resp);
	else
		recv_non_invite(ct, resp);
	return 0;
}

static bool dest_eq(const struct sp_dest *a, const struct sp_dest *b)
{
	if (a->conn && b->conn)
		return a->conn == b->conn;
	return a->proto == b->proto && sp_sockaddr_eq(&a->addr, &b->addr);
}

struct err_sweep {
	const struct sp_dest *dst;
	int err;
};

static bool err_visit(struct sp_hnode *n, void *arg)
{
	struct sp_txn *ct = (struct sp_txn *)n;
	struct err_sweep *s = arg;

	/* fail() only arms a timer, so the table does not change under us. */
	if (!ct->final_status && ct->state != SP_TXN_TERMINATED && dest_eq(&ct->dest, s->dst))
		fail(ct, s->err);
	return true;
}

void sp_txn_transport_error(struct sp_txn_layer *l, const struct sp_dest *dst, int err)
{
	struct err_sweep s = { dst, err };
	sp_htab_foreach(&l->client, err_visit, &s);
}
