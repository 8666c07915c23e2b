/* txn.c: the transaction layer: creation, shared helpers, release, and the response destination of RFC 3261 section 18.2.2. */
#include "txn/txn.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "txn/txn_int.h"

int sp_txn_layer_create(const struct sp_txn_cfg *cfg, struct sp_timers *timers,
			const struct sp_txn_ops *ops, void *ops_arg, struct sp_txn_layer **out)
{
	struct sp_txn_layer *l;
	int err = SP_ENOMEM;

	if (!timers || !ops || !ops->send || !ops->now)
		return SP_EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return SP_ENOMEM;
	if (cfg)
		l->cfg = *cfg;
	if (!l->cfg.t1_ms)
		l->cfg.t1_ms = 500;
	if (!l->cfg.t2_ms)
		l->cfg.t2_ms = 4000;
	if (!l->cfg.t4_ms)
		l->cfg.t4_ms = 5000;
	if (!l->cfg.max_txns)
		l->cfg.max_txns = TXN_DEFAULT_MAX;
	l->timers = timers;
	l->ops = *ops;
	l->ops_arg = ops_arg;
	l->rl.interval_ms = 10000;
	sp_htab_init(&l->server);
	sp_htab_init(&l->client);
	l->req_msg = malloc(sizeof(*l->req_msg));
	l->scratch = malloc(sizeof(*l->scratch));
	if (!l->req_msg || !l->scratch)
		goto out;
	*out = l;
	err = 0;
out:
	if (err) {
		free(l->req_msg);
		free(l->scratch);
		free(l);
	}
	return err;
}

static bool free_visit(struct sp_hnode *node, void *arg)
{
	(void)arg;
	txn_free((struct sp_txn *)node);
	return true;
}

void sp_txn_layer_destroy(struct sp_txn_layer *l)
{
	if (!l)
		return;
	l->destroying = true;
	sp_htab_foreach(&l->client, free_visit, NULL);
	sp_htab_foreach(&l->server, free_visit, NULL);
	sp_htab_free(&l->client);
	sp_htab_free(&l->server);
	free(l->req_msg);
	free(l->scratch);
	free(l);
}

size_t sp_txn_count(const struct sp_txn_layer *l)
{
	return l->count;
}

enum sp_txn_state sp_txn_state(const struct sp_txn *t)
{
	return t->state;
}

uint16_t sp_txn_final_status(const struct sp_txn *t)
{
	return t->final_status;
}

struct sp_msg *sp_txn_request(struct sp_txn *t)
{
	struct sp_txn_layer *l = t->l;
	struct sp_sip_error perr;

	if (l->req_msg_of == t)
		return l->req_msg;
	l->req_msg_of = NULL;
	/* The copy parsed once already, so this cannot fail short of a bug. */
	if (sp_msg_parse(l->req_msg, t->req, t->req_len, SP_PARSE_DATAGRAM, &perr) != 0)
		return NULL;
	l->req_msg_of = t;
	return l->req_msg;
}

bool txn_has_cookie(struct sp_str branch)
{
	return branch.len > TXN_COOKIE_LEN && memcmp(branch.p, TXN_COOKIE, TXN_COOKIE_LEN) == 0;
}

bool txn_method_eq(const struct sp_txn *t, enum sp_method id, struct sp_str name)
{
	if (t->method_id != SP_METHOD_OTHER || id != SP_METHOD_OTHER)
		return t->method_id == id;
	/* Extension methods: the method is case-sensitive (RFC 3261 section 7.1). */
	return sp_str_eq(txn_str(t->req, t->method), name);
}

int txn_alloc(struct sp_txn_layer *l, const char *buf, size_t len, struct sp_txn **out)
{
	struct sp_txn *t;

	if (l->destroying)
		return SP_EINVAL;
	if (len == 0 || len > SP_MSG_MAX_LEN)
		return SP_EINVAL;
	if (l->count >= l->cfg.max_txns) {
		uint64_t suppressed;
		if (sp_log_ratelimit(&l->rl, txn_now(l), &suppressed))
			sp_log(SP_LOG_WARN, "txn: %zu transactions, the cap (%llu more refused)",
			       l->count, (unsigned long long)suppressed);
		return SP_E2BIG;
	}
	t = calloc(1, sizeof(*t) + len);
	if (!t)
		return SP_ENOMEM;
	memcpy(t->req, buf, len);
	t->req_len = len;
	t->l = l;
	sp_timer_init(&t->t_retx);
	sp_timer_init(&t->t_give_up);
	sp_timer_init(&t->t_end);
	l->count++;
	*out = t;
	return 0;
}

void txn_discard(struct sp_txn *t)
{
	struct sp_txn_layer *l = t->l;

	sp_timer_stop(l->timers, &t->t_retx);
	sp_timer_stop(l->timers, &t->t_give_up);
	sp_timer_stop(l->timers, &t->t_end);
	if (l->req_msg_of == t)
		l->req_msg_of = NULL;
	l->count--;
	free(t->resp);
	free(t);
}

void txn_free(struct sp_txn *t)
{
	struct sp_txn_layer *l = t->l;

	/* The handler may still read the transaction (sp_txn_request...). */
	if (t->server) {
		if (t->u.s.h && t->u.s.h->destroyed)
			t->u.s.h->destroyed(t->arg, t);
	} else if (t->u.c.h && t->u.c.h->destroyed) {
		t->u.c.h->destroyed(t->arg, t);
	}
	if (t->cancel)
		t->cancel->cancelled = NULL;
	if (t->cancelled)
		t->cancelled->cancel = NULL;
	sp_htab_remove(t->server ? &l->server : &l->client, &t->node);
	txn_discard(t);
}

static void end_fire(struct sp_timer *tm, void *arg)
{
	(void)tm;
	txn_free(arg);
}

void txn_arm(struct sp_txn *t, struct sp_timer *tm, uint64_t ms, sp_timer_h cb)
{
	int err = sp_timer_start(t->l->timers, tm, txn_now(t->l) + ms, cb, t);
	if (err)
		sp_log(SP_LOG_ERR, "txn: cannot start a timer: %s", sp_strerror(err));
}

void txn_terminate(struct sp_txn *t)
{
	t->state = SP_TXN_TERMINATED;
	sp_timer_stop(t->l->timers, &t->t_retx);
	sp_timer_stop(t->l->timers, &t->t_give_up);
	txn_arm(t, &t->t_end, 0, end_fire);
}

int txn_send(struct sp_txn *t, const char *buf, size_t len)
{
	return t->l->ops.send(t->l->ops_arg, &t->dest, buf, len);
}

int txn_store_resp(struct sp_txn *t, const char *buf, size_t len)
{
	char *p;

	if (len > SP_MSG_MAX_LEN)
		return SP_E2BIG;
	p = realloc(t->resp, len ? len : 1);
	if (!p)
		return SP_ENOMEM;
	memcpy(p, buf, len);
	t->resp = p;
	t->resp_len = len;
	t->resp_to_tag = (struct txn_slice){ 0, 0 };
	return 0;
}

int txn_parse_scratch(struct sp_txn_layer *l, const char *buf, size_t len, struct sp_msg **out)
{
	struct sp_sip_error perr;
	int err = sp_msg_parse(l->scratch, buf, len, SP_PARSE_DATAGRAM, &perr);
	if (err)
		return err;
	*out = l->scratch;
	return 0;
}

/* ---- Response destination (section 18.2.2, RFC 3581) ------------------- */

int sp_txn_response_dest_for(const struct sp_via *via, const struct sp_dest *src,
			     struct sp_dest *out)
{
	struct sp_dest d = *src;
	uint16_t port = via->port;

	if (!port)
		port = sp_str_caseeq_l(via->transport, "TLS") ? 5061 : 5060;
	if (sp_proto_reliable(src->proto)) {
		/* The same connection; the address lets the transport open a new
		 * one to the source when that connection is gone. */
		*out = d;
		return 0;
	}
	d.conn = 0;
	if (via->maddr.len) {
		/* The transport cannot resolve names: a maddr that is not an
		 * address is refused and the caller falls back. */
		int err = sp_sockaddr_from_host(via->maddr, port, &d.addr);
		if (err)
			return err;
	} else if (via->has_rport) {
		/* RFC 3581: back to the source address and port as they are. */
	} else {
		sp_sockaddr_set_port(&d.addr, port);
	}
	*out = d;
	return 0;
}

const struct sp_dest *sp_txn_response_dest(const struct sp_txn *st)
{
	return &st->dest;
}

const struct sp_dest *sp_txn_client_dest(const struct sp_txn *ct)
{
	return &ct->dest;
}
