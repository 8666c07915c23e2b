/* test_txn.c: the transaction layer on a fake clock: every state, timer, match rule, CANCEL, re-entrancy and response destination. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/timer.h"
#include "sip/msg.h"
#include "sip/via.h"
#include "txn/txn.h"

#define MAX_SENT 64
#define MAX_MSGS 32
#define MAX_RESP 16

struct sent {
	char buf[2048];
	size_t len;
	struct sp_dest dst;
	uint64_t at;
};

struct fx {
	struct sp_timers ts;
	uint64_t now;
	struct sp_txn_layer *l;
	struct sent sent[MAX_SENT];
	int nsent;
	int fail_sends; /* the next n sends fail */

	/* What the client handler saw. */
	int nresp;
	uint16_t resp_status[MAX_RESP];
	int ntimeout;
	int nterr;
	int terr;
	int ndestroyed;
	struct sp_txn *destroyed_last;
	/* Re-entrancy: what the handler does on a response. */
	bool cancel_on_1xx;
	bool start_on_final;
	struct sp_txn *started;

	struct sp_msg *msgs[MAX_MSGS];
	char *bufs[MAX_MSGS];
	int nmsgs;
};

static int fx_send(void *arg, const struct sp_dest *dst, const char *buf, size_t len)
{
	struct fx *f = arg;
	if (f->fail_sends > 0) {
		f->fail_sends--;
		return SP_ENOENT;
	}
	if (f->nsent < MAX_SENT) {
		struct sent *s = &f->sent[f->nsent];
		assert_true(len < sizeof(s->buf));
		memcpy(s->buf, buf, len);
		s->buf[len] = '\0';
		s->len = len;
		s->dst = *dst;
		s->at = f->now;
	}
	f->nsent++;
	return 0;
}

static uint64_t fx_now(void *arg)
{
	return ((struct fx *)arg)->now;
}

static const struct sp_txn_ops ops = { fx_send, fx_now };

static int make_layer(struct fx *f, size_t max)
{
	struct sp_txn_cfg cfg = { 0, 0, 0, max };
	return sp_txn_layer_create(&cfg, &f->ts, &ops, f, &f->l);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	sp_timers_init(&f->ts, 10000);
	assert_int_equal(make_layer(f, 0), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sp_txn_layer_destroy(f->l);
	sp_timers_free(&f->ts);
	for (int i = 0; i < f->nmsgs; i++) {
		free(f->msgs[i]);
		free(f->bufs[i]);
	}
	free(f);
	return 0;
}

/* Parses a printf-formatted message; the fixture keeps it until teardown. */
__attribute__((format(printf, 2, 3))) static struct sp_msg *msg(struct fx *f, const char *fmt,
								 ...)
{
	struct sp_sip_error err;
	va_list ap;
	char *buf = malloc(4096);
	struct sp_msg *m = malloc(sizeof(*m));
	int n;

	assert_non_null(buf);
	assert_non_null(m);
	assert_true(f->nmsgs < MAX_MSGS);
	va_start(ap, fmt);
	n = vsnprintf(buf, 4096, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && n < 4096);
	f->msgs[f->nmsgs] = m;
	f->bufs[f->nmsgs++] = buf;
	assert_int_equal(sp_msg_parse(m, buf, (size_t)n, SP_PARSE_DATAGRAM, &err), 0);
	return m;
}

/* Runs every timer due up to t, one due time after another, as a loop would. */
static void run_until(struct fx *f, uint64_t t)
{
	for (int i = 0; i < 10000; i++) {
		uint64_t next = sp_timers_next(&f->ts);
		if (next > t)
			break;
		if (next > f->now)
			f->now = next;
		sp_timers_run(&f->ts, f->now);
	}
	f->now = t;
	sp_timers_run(&f->ts, f->now);
}

static struct sp_dest udp_src(const char *ip, uint16_t port)
{
	struct sp_dest d;
	memset(&d, 0, sizeof(d));
	d.proto = SP_PROTO_UDP;
	d.listener = 0;
	if (strchr(ip, ':')) {
		d.addr.u.in6.sin6_family = AF_INET6;
		d.addr.u.in6.sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &d.addr.u.in6.sin6_addr), 1);
		d.addr.len = sizeof(d.addr.u.in6);
	} else {
		d.addr.u.in.sin_family = AF_INET;
		d.addr.u.in.sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, ip, &d.addr.u.in.sin_addr), 1);
		d.addr.len = sizeof(d.addr.u.in);
	}
	return d;
}

static struct sp_dest tcp_src(uint64_t conn)
{
	struct sp_dest d = udp_src("127.0.0.1", 40000);
	d.proto = SP_PROTO_TCP;
	d.conn = conn;
	return d;
}

static uint16_t dport(const struct sp_dest *d)
{
	return ntohs(d->addr.u.sa.sa_family == AF_INET6 ? d->addr.u.in6.sin6_port
							 : d->addr.u.in.sin_port);
}

static int status_of(const struct sent *s)
{
	if (strncmp(s->buf, "SIP/2.0 ", 8) != 0)
		return -1;
	return (s->buf[8] - '0') * 100 + (s->buf[9] - '0') * 10 + (s->buf[10] - '0');
}

/* ---- Messages ------------------------------------------------------------ */

#define INVITE_FMT                                                 \
	"%s sip:bob@127.0.0.1 SIP/2.0\r\n"                         \
	"Via: SIP/2.0/%s %s%s\r\n"                                 \
	"Route: <sip:p1.example;lr>\r\n"                           \
	"Route: <sip:p2.example;lr>\r\n"                           \
	"Max-Forwards: 69\r\n"                                     \
	"From: <sip:alice@a.example>;tag=fa\r\n"                   \
	"To: <sip:bob@b.example>%s\r\n"                            \
	"Call-ID: c1@a.example\r\n"                                \
	"CSeq: %u %s\r\n"                                          \
	"Content-Length: 0\r\n\r\n"

/* A request: method, Via transport, sent-by, Via params, To params, CSeq. */
static struct sp_msg *req(struct fx *f, const char *method, const char *tp, const char *sent_by,
			  const char *via_params, const char *to_params, unsigned cseq,
			  const char *cseq_method)
{
	return msg(f, INVITE_FMT, method, tp, sent_by, via_params, to_params, cseq, cseq_method);
}

static struct sp_msg *invite(struct fx *f, const char *branch)
{
	char p[128];
	snprintf(p, sizeof(p), ";branch=%s", branch);
	return req(f, "INVITE", "UDP", "127.0.0.1:5070", p, "", 1, "INVITE");
}

static char *request_bytes(const char *method, const char *branch, char *buf, size_t size)
{
	char p[128];
	snprintf(p, sizeof(p), ";branch=%s", branch);
	snprintf(buf, size, INVITE_FMT, method, "UDP", "127.0.0.1:5070", p, "", 1, method);
	return buf;
}

static struct sp_msg *response(struct fx *f, int status, const char *branch, const char *method,
			       const char *to_tag)
{
	return msg(f,
		   "SIP/2.0 %d Whatever\r\n"
		   "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=%s\r\n"
		   "From: <sip:alice@a.example>;tag=fa\r\n"
		   "To: <sip:bob@b.example>%s%s\r\n"
		   "Call-ID: c1@a.example\r\n"
		   "CSeq: 1 %s\r\n"
		   "Content-Length: 0\r\n\r\n",
		   status, branch, to_tag ? ";tag=" : "", to_tag ? to_tag : "", method);
}

static const char *reply_text(int status)
{
	static char buf[256];
	snprintf(buf, sizeof(buf),
		 "SIP/2.0 %d X\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
		 "From: <sip:alice@a.example>;tag=fa\r\nTo: <sip:bob@b.example>;tag=srv\r\n"
		 "Call-ID: c1@a.example\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		 status);
	return buf;
}

static int reply(struct sp_txn *st, int status)
{
	const char *r = reply_text(status);
	return sp_txn_server_reply(st, (uint16_t)status, r, strlen(r));
}

/* ---- Handlers ------------------------------------------------------------ */

static void s_destroyed(void *arg, struct sp_txn *st)
{
	struct fx *f = arg;
	f->ndestroyed++;
	f->destroyed_last = st;
}

static void s_timeout(void *arg, struct sp_txn *st)
{
	struct fx *f = arg;
	f->ntimeout++;
	/* Told before the release. */
	assert_int_equal(sp_txn_state(st), SP_TXN_TERMINATED);
	assert_ptr_not_equal(f->destroyed_last, st);
}

static const struct sp_txn_server_h server_h = { s_destroyed, s_timeout };

static void c_response(void *arg, struct sp_txn *ct, struct sp_msg *resp);

static void c_timeout(void *arg, struct sp_txn *ct)
{
	struct fx *f = arg;
	f->ntimeout++;
	assert_int_equal(sp_txn_final_status(ct), 0);
}

static void c_terr(void *arg, struct sp_txn *ct, int err)
{
	struct fx *f = arg;
	(void)ct;
	f->nterr++;
	f->terr = err;
}

static const struct sp_txn_client_h client_h = { c_response, c_timeout, c_terr, s_destroyed };

static void c_response(void *arg, struct sp_txn *ct, struct sp_msg *resp)
{
	struct fx *f = arg;
	if (f->nresp < MAX_RESP)
		f->resp_status[f->nresp] = resp->status;
	f->nresp++;
	if (f->cancel_on_1xx && resp->status < 200)
		assert_int_equal(sp_txn_client_cancel(ct), 0);
	if (f->start_on_final && resp->status >= 200) {
		char b[1024];
		struct sp_dest d = udp_src("127.0.0.1", 5080);
		f->start_on_final = false;
		request_bytes("INVITE", "z9hG4bK-next", b, sizeof(b));
		assert_int_equal(sp_txn_client_start(f->l, b, strlen(b), &d, &client_h, f,
						     &f->started),
				 0);
	}
}

static struct sp_txn *server_new(struct fx *f, struct sp_msg *m, const struct sp_dest *src)
{
	struct sp_txn *st = NULL;
	assert_int_equal(sp_txn_server_recv(f->l, m, src, &st), SP_TXN_NEW);
	assert_non_null(st);
	sp_txn_server_set_handler(st, &server_h, f);
	return st;
}

static struct sp_txn *client_new(struct fx *f, const char *method, const char *branch,
				 const struct sp_dest *dst)
{
	char b[1024];
	struct sp_txn *ct = NULL;
	request_bytes(method, branch, b, sizeof(b));
	assert_int_equal(sp_txn_client_start(f->l, b, strlen(b), dst, &client_h, f, &ct), 0);
	assert_non_null(ct);
	return ct;
}

/* ---- Server INVITE ------------------------------------------------------- */

static void test_server_invite_proceeding(void **state)
{
	struct fx *f = *state;
	struct sp_dest src = udp_src("127.0.0.1", 40000);
	struct sp_txn *st = server_new(f, invite(f, "z9hG4bK-1"), &src), *again = NULL;

	assert_int_equal(sp_txn_state(st), SP_TXN_PROCEEDING);
	assert_int_equal(f->nsent, 1);
	assert_int_equal(status_of(&f->sent[0]), 100);
	/* 100 Trying carries no To tag and goes to the sent-by port. */
	assert_non_null(strstr(f->sent[0].buf, "\r\nTo: <sip:bob@b.example>\r\n"));
	assert_non_null(strstr(f->sent[0].buf, "CSeq: 1 INVITE\r\n"));
	assert_int_equal(dport(&f->sent[0].dst), 5070);
	assert_int_equal(sp_txn_count(f->l), 1);

	/* The retransmission gets the 100 again. */
	assert_int_equal(sp_txn_server_recv(f->l, invite(f, "z9hG4bK-1"), &src, &again),
			 SP_TXN_ABSORBED);
	assert_ptr_equal(again, st);
	assert_int_equal(f->nsent, 2);
	assert_int_equal(status_of(&f->sent[1]), 100);

	assert_int_equal(reply(st, 180), 0);
	assert_int_equal(f->nsent, 3);
	assert_int_equal(status_of(&f->sent[2]), 180);
	assert_int_equal(sp_txn_server_recv(f->l, invite(f, "z9hG4bK-1"), &src, &again),
			 SP_TXN_ABSORBED);
	assert_int_equal(f->nsent, 4);
	assert_int_equal(status_of(&f->sent[3]), 180);
	assert_int_equal(sp_txn_state(st), SP_TXN_PROCEEDING);
	assert_int_equal(sp_txn_final_status(st), 0);

	/* Nothing runs in Proceeding: an INVITE may ring for long. */
	run_until(f, 200000);
	assert_int_equal(f->nsent, 4);
	assert_int_equal(f->ndestroyed, 0);

	/* The parsed copy. */
	struct sp_msg *r = sp_txn_request(st);
	assert_non_null(r);
	assert_int_equal(r->method_id, SP_METHOD_INVITE);
	assert_true(sp_str_eq_c(sp_msg_call_id(r), "c1@a.example"));
	assert_ptr_equal(sp_txn_request(st), r);
}

static void test_server_invite_completed_g_h(void **state)
{
	struct fx *f = *state;
	struct sp_dest src = udp_src("127.0.0.1", 40000);
	struct sp_txn *st = server_new(f, invite(f, "z9hG4bK-1"), &src), *again;
	static const uint64_t want[] = { 500,  1500,  3500,  7500,  11500,
					 15500, 19500, 23500, 27500, 31500 };

	assert_int_equal(reply(st, 486), 0);
	assert_int_equal(sp_txn_state(st), SP_TXN_COMPLETED);
	assert_int_equal(sp_txn_final_status(st), 486);
	assert_int_equal(f->nsent, 2);
	/* A second final is refused. */
	assert_int_equal(reply(st, 500), SP_EINVAL);
	assert_int_equal(reply(st, 180), SP_EINVAL);

	/* Timer G: T1, 2*T1, 4*T1, then T2 until Timer H at 64*T1. */
	run_until(f, 31999);
	assert_int_equal(f->nsent, 2 + 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(status_of(&f->sent[2 + i]), 486);
		assert_int_equal(f->sent[2 + i].at, want[i]);
	}
	/* A retransmitted INVITE gets the final again. */
	assert_int_equal(sp_txn_server_recv(f->l, invite(f, "z9hG4bK-1"), &src, &again),
			 SP_TXN_ABSORBED);
	assert_int_equal(f->nsent, 13);
	assert_int_equal(status_of(&f->sent[12]), 486);
	assert_int_equal(f->ndestroyed, 0);
	/* Timer H: a transaction failure, then the release. */
	assert_int_equal(f->ntimeout, 0);
	run_until(f, 32000);
	assert_int_equal(f->ntimeout, 1);
	assert_int_equal(f->ndestroyed, 1);
	assert_int_equal(sp_txn_count(f->l), 0);
	run_until(f, 100000);
	assert_int_equal(f->nsent, 13);
}

static void test_server_invite_ack_confirmed(void **state)
{
	struct fx *f = *state;
	struct sp_dest src = udp_src("127.0.0.1", 40000);
	struct sp_txn *st = server_new(f, invite(f, "z9hG4bK-1"), &src), *m = NULL;
	struct sp_msg *ack = req(f, "ACK", "UDP", "127.0.0.1:5070", ";branch=z9hG4bK-1",
				 ";tag=srv", 1, "ACK");

	assert_int_equal(reply(st, 404), 0);
	run_until(f, 600); /* one G */
	assert_int_equal(f->nsent, 3);
	assert_int_equal(sp_txn_server_recv(f->l, ack, &src, &m), SP_TXN_ABSORBED);
	assert_ptr_equal(m, st);
	assert_int_equal(sp_txn_state(st), SP_TXN_CONFIRMED);
	/* Further ACKs and INVITEs are absorbed silently. */
	assert_int_equal(sp_txn_server_recv(f->l, ack, &src, &m), SP_TXN_ABSORBED);
	assert_int_equal(sp_txn_server_recv(f->l, invite(f, "z9hG4bK-1"), &src, &m),
			 SP_TXN_ABSORBED);
	/* Timer I = T4; no more G. */
	run_until(f, 600 + 4999);
	assert_int_equal(f->ndestroyed, 0);
	run_until(f, 600 + 5000);
	assert_int_equal(f->ndestroyed, 1);
	assert_int_equal(f->ntimeout, 0);
	assert_int_equal(f->nsent, 3);
	/* Once gone, the ACK matches nothing. */
	assert_int_equal(sp_txn_server_recv(f->l, ack, &src, &m), SP_TXN_ACK_STRAY);
}

static void test_server_invite_accepted(void **state)
{
	struct fx *f = *state;
	struct sp_dest src = udp_src("127.0.0.1", 40000);
	struct sp_txn *st = server_new(f, invite(f, "z9hG4bK-1"), &src), *m = NULL;
	struct sp_msg *ack2xx = req(f, "ACK", "UDP", "127.0.0.1:5070", ";branch=z9hG4bK-ack",
				    ";tag=srv", 1, "ACK");

	assert_int_equal(reply(st, 200), 0);
	assert_int_equal(sp_txn_state(st), SP_TXN_ACCEPTED);
	assert_int_equal(f->nsent, 2);
	/* RFC 6026: the INVITE retransmission is absorbed without a response. */
	assert_int_equal(sp_txn_server_recv(f->l, invite(f, "z9hG4bK-1"), &src, &m),
			 SP_TXN_ABSORBED);
	assert_int_equal(f->nsent, 2);
	/* Further 2xx (the TU's or a proxied retransmission) are sent. */
	assert_int_equal(reply(st, 200), 0);
	assert_int_equal(f->nsent, 3);
	assert_int_equal(reply(st, 486), SP_EINVAL);
	assert_int_equal(reply(st, 180), SP_EINVAL);
	/* The ACK of a 2xx is the TU's, even with the INVITE's branch. */
	assert_int_equal(sp_txn_server_recv(f->l, ack2xx, &src, &m), SP_TXN_ACK_STRAY);
	struct sp_msg *ack_same = req(f, "ACK", "UDP", "127.0.0.1:5070", ";branch=z9hG4bK-1",
				      ";tag=srv", 1, "ACK");
	assert_int_equal(sp_txn_server_recv(f->l, ack_same, &src, &m), SP_TXN_ACK_STRAY);
	assert_int_equal(sp_txn_count(f->l), 1);
	/* No retransmissions of the 2xx by the transaction; Timer L ends it. */
	run_until(f, 31999);
	assert_int_equal(f->nsent, 3);
	assert_int_equal(f->ndestroyed, 0);
	run_until(f, 32000);
	assert_int_equal(f->ndestroyed, 1);
}

/* ---- Server non-INVITE --------------------------------------------------- */

static struct sp_msg *options(struct fx *f, const char *branch)
{
	char p[128];
	snprintf(p, sizeof(p), ";branch=%s", branch);
	return req(f, "OPTIONS", "UDP", "127.0.0.1:5070", p, "", 1, "OPTIONS");
}

static void test_server_non_invite(void **state)
{
	struct fx *f = *state;
	struct sp_dest src = udp_src("127.0.0.1", 40000);
	struct sp_txn *st = server_new(f, options(f, "z9hG4bK-o"), &src), *m = NULL;

	assert_int_equal(sp_txn_state(st), SP_TXN_TRYING);
	assert_int_equal(f->nsent, 0); /* no 100 for non-INVITE */
	assert_int_equal(sp_txn_server_recv(f->l, options(f, "z9hG4bK-o"), &src, &m),
			 SP_TXN_ABSORBED);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(reply(st, 100), 0);
	assert_int_equal(sp_txn_state(st), SP_TXN_PROCEEDING);
	assert_int_equal(sp_txn_server_recv(f->l, options(f, "z9hG4bK-o"), &src, &m),
			 SP_TXN_ABSORBED);
	assert_int_equal(f->nsent, 2);
	assert_int_equal(status_of(&f->sent[1]), 100);
	assert_int_equal(reply(st, 200), 0);
	assert_int_equal(sp_txn_state(st), SP_TXN_COMPLETED);
	assert_int_equal(reply(st, 200), SP_EINVAL);
	assert_int_equal(sp_txn_server_recv(f->l, options(f, "z9hG4bK-o"), &src, &m),
			 SP_TXN_ABSORBED);
	assert_int_equal(f->nsent, 4);
	assert_int_equal(status_of(&f->sent[3]), 200);
	/* No retransmission timer; Timer J = 64*T1. */
	run_until(f, 31999);
	assert_int_equal(f->nsent, 4);
	assert_int_equal(f->ndestroyed, 0);
	run_until(f, 32000);
	assert_int_equal(f->ndestroyed, 1);
	assert_int_equal(sp_txn_count(f->l), 0);
}

static void test_server_reliable(void **state)
{
	struct fx *f = *state;
	struct sp_dest src = tcp_src(7);
	struct sp_msg *inv = req(f, "INVITE", "TCP", "127.0.0.1:5070", ";branch=z9hG4bK-t", "", 1,
				 "INVITE");
	struct sp_msg *ack = req(f, "ACK", "TCP", "127.0.0.1:5070", ";branch=z9hG4bK-t",
				 ";tag=srv", 1, "ACK");
	struct sp_msg *opt = req(f, "OPTIONS", "TCP", "127.0.0.1:5070", ";branch=z9hG4bK-to", "",
				 1, "OPTIONS");
	struct sp_txn *st = server_new(f, inv, &src), *m;

	assert_int_equal(f->sent[0].dst.conn, 7);
	assert_int_equal(f->sent[0].dst.proto, SP_PROTO_TCP);
	assert_int_equal(reply(st, 486), 0);
	run_until(f, 20000);
	assert_int_equal(f->nsent, 2); /* no Timer G over TCP */
	assert_int_equal(sp_txn_server_recv(f->l, ack, &src, &m), SP_TXN_ABSORBED);
	assert_int_equal(sp_txn_state(st), SP_TXN_CONFIRMED);
	sp_timers_run(&f->ts, f->now); /* Timer I = 0 */
	assert_int_equal(f->ndestroyed, 1);

	st = server_new(f, opt, &src);
	assert_int_equal(reply(st, 200), 0);
	sp_timers_run(&f->ts, f->now); /* Timer J = 0 */
	assert_int_equal(f->ndestroyed, 2);
	assert_int_equal(sp_txn_count(f->l), 0);

	/* Timer H still bounds a Completed INVITE over TCP. */
	inv = req(f, "INVITE", "TCP", "127.0.0.1:5070", ";branch=z9hG4bK-t2", "", 1, "INVITE");
	st = server_new(f, inv, &src);
	assert_int_equal(reply(st, 486), 0);
	uint64_t t0 = f->now;
	run_until(f, t0 + 31999);
	assert_int_equal(f->ndestroyed, 2);
	run_until(f, t0 + 32000);
	assert_int_equal(f->ndestroyed, 3);
	assert_int_equal(f->ntimeout, 1);
}

/* ---- Server matching ----------------------------------------------------- */

static void test_server_cancel_and_sent_by(void **state)
{
	struct fx *f = *state;
	struct sp_dest src = udp_src("127.0.0.1", 40000);
	struct sp_txn *inv = server_new(f, invite(f, "z9hG4bK-1"), &src), *m = NULL, *cst;
	struct sp_msg *cancel = req(f, "CANCEL", "UDP", "127.0.0.1:5070", ";branch=z9hG4bK-1", "",
				    1, "CANCEL");
	struct sp_msg *other = req(f, "CANCEL", "UDP", "127.0.0.1:5070", ";branch=z9hG4bK-2", "",
				   1, "CANCEL");

	/* CANCEL is a transaction of its own, and finds the INVITE. */
	cst = server_new(f, cancel, &src);
	assert_ptr_not_equal(cst, inv);
	assert_int_equal(sp_txn_count(f->l), 2);
	assert_ptr_equal(sp_txn_server_find_invite(f->l, cancel), inv);
	assert_null(sp_txn_server_find_invite(f->l, other));
	assert_int_equal(sp_txn_server_recv(f->l, cancel, &src, &m), SP_TXN_ABSORBED);
	assert_ptr_equal(m, cst);

	/* sent-by: the host is case-insensitive, the port counts. */
	struct sp_msg *upper = req(f, "INVITE", "UDP", "127.0.0.1:5070", ";branch=z9hG4bK-h", "",
				   1, "INVITE");
	struct sp_txn *h = server_new(f, upper, &src);
	struct sp_msg *u1 = msg(f,
				"INVITE sip:bob@127.0.0.1 SIP/2.0\r\n"
				"Via: SIP/2.0/UDP HOST.example:5070;branch=z9hG4bK-n\r\n"
				"From: <sip:a@a>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: x\r\n"
				"CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
	struct sp_msg *u2 = msg(f,
				"INVITE sip:bob@127.0.0.1 SIP/2.0\r\n"
				"Via: SIP/2.0/UDP host.EXAMPLE:5070;branch=z9hG4bK-n\r\n"
				"From: <sip:a@a>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: x\r\n"
				"CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
	struct sp_msg *u3 = msg(f,
				"INVITE sip:bob@127.0.0.1 SIP/2.0\r\n"
				"Via: SIP/2.0/UDP host.example:5071;branch=z9hG4bK-n\r\n"
				"From: <sip:a@a>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: x\r\n"
				"CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
	struct sp_txn *n1 = server_new(f, u1, &src);
	assert_int_equal(sp_txn_server_recv(f->l, u2, &src, &m), SP_TXN_ABSORBED);
	assert_ptr_equal(m, n1);
	assert_int_equal(sp_txn_server_recv(f->l, u3, &src, &m), SP_TXN_NEW);
	assert_ptr_not_equal(m, n1);
	/* The same branch with another method is another transaction. */
	assert_int_equal(sp_txn_server_recv(f->l, options(f, "z9hG4bK-h"), &src, &m), SP_TXN_NEW);
	assert_ptr_not_equal(m, h);
	assert_int_equal(sp_txn_count(f->l), 6);

	/* What matching needs is missing: no Via branch is fine (RFC 2543),
	 * no CSeq is not. */
	struct sp_msg *bad = msg(f, "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
				    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-b\r\n"
				    "From: <sip:a@a>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: y\r\n"
				    "Content-Length: 0\r\n\r\n");
	assert_int_equal(sp_txn_server_recv(f->l, bad, &src, &m), SP_EINVAL);
}

static void test_server_rfc2543(void **state)
{
	struct fx *f = *state;
	struct sp_dest src = udp_src("127.0.0.1", 40000);
	struct sp_msg *inv = req(f, "INVITE", "UDP", "127.0.0.1:5070", ";branch=old1", "", 1,
				 "INVITE");
	struct sp_msg *inv_nb = req(f, "INVITE", "UDP", "127.0.0.1:5070", "", "", 1, "INVITE");
	struct sp_msg *inv_cseq2 = req(f, "INVITE", "UDP", "127.0.0.1:5070", ";branch=old1", "", 2,
				       "INVITE");
	struct sp_msg *ack_ok = req(f, "ACK", "UDP", "127.0.0.1:5070", ";branch=old1", ";tag=srv",
				    1, "ACK");
	struct sp_msg *ack_bad = req(f, "ACK", "UDP", "127.0.0.1:5070", ";branch=old1",
				     ";tag=other", 1, "ACK");
	struct sp_msg *cancel = req(f, "CANCEL", "UDP", "127.0.0.1:5070", ";branch=old1", "", 1,
				    "CANCEL");
	struct sp_txn *st = server_new(f, inv, &src), *m = NULL, *st2;

	/* The same request again: Request-URI, tags, Call-ID, CSeq, top Via. */
	assert_int_equal(sp_txn_server_recv(f->l, inv, &src, &m), SP_TXN_ABSORBED);
	assert_ptr_equal(m, st);
	assert_int_equal(f->nsent, 2);
	/* Another CSeq, or another top Via: new transactions. */
	assert_int_equal(sp_txn_server_recv(f->l, inv_cseq2, &src, &m), SP_TXN_NEW);
	st2 = m;
	sp_txn_server_set_handler(st2, &server_h, f);
	assert_int_equal(sp_txn_server_recv(f->l, inv_nb, &src, &m), SP_TXN_NEW);
	sp_txn_server_set_handler(m, &server_h, f);
	assert_int_equal(sp_txn_count(f->l), 3);
	/* CANCEL finds the INVITE by the same rules. */
	assert_ptr_equal(sp_txn_server_find_invite(f->l, cancel), st);

	/* The ACK matches when its To tag is the one of the response sent. */
	assert_int_equal(reply(st, 404), 0);
	assert_int_equal(sp_txn_server_recv(f->l, ack_bad, &src, &m), SP_TXN_ACK_STRAY);
	assert_int_equal(sp_txn_state(st), SP_TXN_COMPLETED);
	assert_int_equal(sp_txn_server_recv(f->l, ack_ok, &src, &m), SP_TXN_ABSORBED);
	assert_ptr_equal(m, st);
	assert_int_equal(sp_txn_state(st), SP_TXN_CONFIRMED);
	assert_int_equal(sp_txn_state(st2), SP_TXN_PROCEEDING);
}

static void test_server_cap(void **state)
{
	struct fx *f = *state;
	struct sp_dest src = udp_src("127.0.0.1", 40000);
	struct sp_txn *m = NULL, *ct = NULL;
	char b[1024];

	sp_txn_layer_destroy(f->l);
	assert_int_equal(make_layer(f, 2), 0);
	server_new(f, invite(f, "z9hG4bK-1"), &src);
	server_new(f, invite(f, "z9hG4bK-2"), &src);
	assert_int_equal(sp_txn_server_recv(f->l, invite(f, "z9hG4bK-3"), &src, &m), SP_E2BIG);
	/* Retransmissions still match. */
	assert_int_equal(sp_txn_server_recv(f->l, invite(f, "z9hG4bK-1"), &src, &m),
			 SP_TXN_ABSORBED);
	request_bytes("OPTIONS", "z9hG4bK-c", b, sizeof(b));
	assert_int_equal(sp_txn_client_start(f->l, b, strlen(b), &src, &client_h, f, &ct), SP_E2BIG);
	assert_null(ct);
	assert_int_equal(sp_txn_count(f->l), 2);
}

/* ---- Client INVITE ------------------------------------------------------- */

static void test_client_invite_timer_a_b(void **state)
{
	struct fx *f = *state;
	struct sp_dest dst = udp_src("127.0.0.1", 5080);
	struct sp_txn *ct = client_new(f, "INVITE", "z9hG4bK-c1", &dst);
	static const uint64_t want[] = { 0, 500, 1500, 3500, 7500, 15500, 31500 };

	assert_int_equal(sp_txn_state(ct), SP_TXN_CALLING);
	assert_int_equal(f->nsent, 1);
	assert_int_equal(dport(&f->sent[0].dst), 5080);
	assert_ptr_equal(sp_txn_client_dest(ct), &*sp_txn_client_dest(ct));
	/* Timer A doubles without a cap; Timer B at 64*T1. */
	run_until(f, 31999);
	assert_int_equal(f->nsent, 7);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(f->sent[i].at, want[i]);
		assert_int_equal(strncmp(f->sent[i].buf, "INVITE ", 7), 0);
	}
	assert_int_equal(f->ntimeout, 0);
	run_until(f, 32000);
	assert_int_equal(f->ntimeout, 1);
	assert_int_equal(f->ndestroyed, 1);
	run_until(f, 200000);
	assert_int_equal(f->ntimeout, 1);
	assert_int_equal(f->nsent, 7);
	assert_int_equal(sp_txn_count(f->l), 0);
}

static void test_client_invite_completed_ack(void **state)
{
	struct fx *f = *state;
	struct sp_dest dst = udp_src("127.0.0.1", 5080);
	struct sp_txn *ct = client_new(f, "INVITE", "z9hG4bK-c1", &dst);
	struct sp_dest src = dst;

	run_until(f, 600);
	assert_int_equal(f->nsent, 2);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 180, "z9hG4bK-c1", "INVITE", "u1"),
					    &src),
			 0);
	assert_int_equal(sp_txn_state(ct), SP_TXN_PROCEEDING);
	assert_int_equal(f->nresp, 1);
	/* No more Timer A, and Timer B does not run in Proceeding. */
	run_until(f, 100000);
	assert_int_equal(f->nsent, 2);
	assert_int_equal(f->ntimeout, 0);

	assert_int_equal(sp_txn_client_recv(f->l, response(f, 486, "z9hG4bK-c1", "INVITE", "u1"),
					    &src),
			 0);
	assert_int_equal(sp_txn_state(ct), SP_TXN_COMPLETED);
	assert_int_equal(sp_txn_final_status(ct), 486);
	assert_int_equal(f->nresp, 2);
	assert_int_equal(f->resp_status[1], 486);
	assert_int_equal(f->nsent, 3);
	/* The ACK, byte for byte (section 17.1.1.3). */
	assert_string_equal(f->sent[2].buf, "ACK sip:bob@127.0.0.1 SIP/2.0\r\n"
					    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-c1\r\n"
					    "Route: <sip:p1.example;lr>\r\n"
					    "Route: <sip:p2.example;lr>\r\n"
					    "Max-Forwards: 69\r\n"
					    "From: <sip:alice@a.example>;tag=fa\r\n"
					    "Call-ID: c1@a.example\r\n"
					    "To: <sip:bob@b.example>;tag=u1\r\n"
					    "CSeq: 1 ACK\r\n"
					    "Content-Length: 0\r\n\r\n");
	assert_int_equal(dport(&f->sent[2].dst), 5080);
	/* A retransmitted final: the ACK again, the TU is not told. */
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 486, "z9hG4bK-c1", "INVITE", "u1"),
					    &src),
			 0);
	assert_int_equal(f->nresp, 2);
	assert_int_equal(f->nsent, 4);
	assert_string_equal(f->sent[3].buf, f->sent[2].buf);
	/* Timer D = 32 s over UDP. */
	uint64_t t0 = f->now;
	run_until(f, t0 + 31999);
	assert_int_equal(f->ndestroyed, 0);
	run_until(f, t0 + 32000);
	assert_int_equal(f->ndestroyed, 1);
	/* Gone: the response matches nothing. */
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 486, "z9hG4bK-c1", "INVITE", "u1"),
					    &src),
			 SP_ENOENT);
}

static void test_client_invite_accepted(void **state)
{
	struct fx *f = *state;
	struct sp_dest dst = udp_src("127.0.0.1", 5080);
	struct sp_txn *ct = client_new(f, "INVITE", "z9hG4bK-c1", &dst);

	assert_int_equal(sp_txn_client_recv(f->l, response(f, 200, "z9hG4bK-c1", "INVITE", "u1"),
					    &dst),
			 0);
	assert_int_equal(sp_txn_state(ct), SP_TXN_ACCEPTED);
	assert_int_equal(f->nsent, 1); /* the ACK of a 2xx is the TU's */
	/* RFC 6026: every 2xx goes up (a retransmission, another fork). */
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 200, "z9hG4bK-c1", "INVITE", "u1"),
					    &dst),
			 0);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 200, "z9hG4bK-c1", "INVITE", "u2"),
					    &dst),
			 0);
	assert_int_equal(f->nresp, 3);
	/* Anything else is absorbed. */
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 486, "z9hG4bK-c1", "INVITE", "u3"),
					    &dst),
			 0);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 180, "z9hG4bK-c1", "INVITE", "u3"),
					    &dst),
			 0);
	assert_int_equal(f->nresp, 3);
	assert_int_equal(f->nsent, 1);
	/* Timer M = 64*T1. */
	run_until(f, 31999);
	assert_int_equal(f->ndestroyed, 0);
	assert_int_equal(f->nsent, 1);
	run_until(f, 32000);
	assert_int_equal(f->ndestroyed, 1);
	assert_int_equal(f->ntimeout, 0);
}

/* ---- Client non-INVITE --------------------------------------------------- */

static void test_client_non_invite_timer_e_f(void **state)
{
	struct fx *f = *state;
	struct sp_dest dst = udp_src("127.0.0.1", 5080);
	struct sp_txn *ct = client_new(f, "OPTIONS", "z9hG4bK-o1", &dst);
	static const uint64_t want[] = { 0,     500,   1500,  3500,  7500, 11500,
					 15500, 19500, 23500, 27500, 31500 };

	assert_int_equal(sp_txn_state(ct), SP_TXN_TRYING);
	run_until(f, 31999);
	assert_int_equal(f->nsent, 11);
	for (int i = 0; i < 11; i++)
		assert_int_equal(f->sent[i].at, want[i]);
	assert_int_equal(f->ntimeout, 0);
	run_until(f, 32000);
	assert_int_equal(f->ntimeout, 1);
	assert_int_equal(f->ndestroyed, 1);
	run_until(f, 100000);
	assert_int_equal(f->ntimeout, 1);
	assert_int_equal(f->nsent, 11);
}

static void test_client_non_invite_proceeding_completed(void **state)
{
	struct fx *f = *state;
	struct sp_dest dst = udp_src("127.0.0.1", 5080);
	struct sp_txn *ct = client_new(f, "OPTIONS", "z9hG4bK-o1", &dst);

	run_until(f, 600); /* E at 500; next at 1500 */
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 100, "z9hG4bK-o1", "OPTIONS", NULL),
					    &dst),
			 0);
	assert_int_equal(sp_txn_state(ct), SP_TXN_PROCEEDING);
	assert_int_equal(f->nresp, 1);
	/* E goes on, at T2 from its next firing. */
	run_until(f, 9600);
	assert_int_equal(f->nsent, 5);
	assert_int_equal(f->sent[2].at, 1500);
	assert_int_equal(f->sent[3].at, 5500);
	assert_int_equal(f->sent[4].at, 9500);
	/* A response to another method with the same branch is not this one's. */
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 200, "z9hG4bK-o1", "INVITE", "x"),
					    &dst),
			 SP_ENOENT);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 200, "z9hG4bK-o1", "OPTIONS", "x"),
					    &dst),
			 0);
	assert_int_equal(sp_txn_state(ct), SP_TXN_COMPLETED);
	assert_int_equal(f->nresp, 2);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 200, "z9hG4bK-o1", "OPTIONS", "x"),
					    &dst),
			 0);
	assert_int_equal(f->nresp, 2);
	/* Timer K = T4, no more E. */
	run_until(f, 9600 + 4999);
	assert_int_equal(f->ndestroyed, 0);
	assert_int_equal(f->nsent, 5);
	run_until(f, 9600 + 5000);
	assert_int_equal(f->ndestroyed, 1);
}

static void test_client_reliable(void **state)
{
	struct fx *f = *state;
	struct sp_dest dst = tcp_src(0);
	struct sp_txn *inv = client_new(f, "INVITE", "z9hG4bK-r1", &dst);
	struct sp_txn *opt = client_new(f, "OPTIONS", "z9hG4bK-r2", &dst);

	(void)inv;
	(void)opt;
	/* No retransmissions over TCP; B and F still time out. */
	run_until(f, 31999);
	assert_int_equal(f->nsent, 2);
	run_until(f, 32000);
	assert_int_equal(f->ntimeout, 2);
	assert_int_equal(f->ndestroyed, 2);

	/* Timer D and K are zero. */
	inv = client_new(f, "INVITE", "z9hG4bK-r3", &dst);
	opt = client_new(f, "OPTIONS", "z9hG4bK-r4", &dst);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 404, "z9hG4bK-r3", "INVITE", "t"),
					    &dst),
			 0);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 404, "z9hG4bK-r4", "OPTIONS", "t"),
					    &dst),
			 0);
	assert_int_equal(f->nsent, 5); /* the two requests and the ACK */
	assert_int_equal(strncmp(f->sent[4].buf, "ACK ", 4), 0);
	assert_int_equal(sp_txn_state(inv), SP_TXN_COMPLETED);
	sp_timers_run(&f->ts, f->now);
	assert_int_equal(f->ndestroyed, 4);
	assert_int_equal(sp_txn_count(f->l), 0);
}

static void test_client_bad_start(void **state)
{
	struct fx *f = *state;
	struct sp_dest dst = udp_src("127.0.0.1", 5080);
	struct sp_txn *ct = NULL;
	char b[1024];

	request_bytes("OPTIONS", "no-cookie", b, sizeof(b));
	assert_int_equal(sp_txn_client_start(f->l, b, strlen(b), &dst, &client_h, f, &ct),
			 SP_EINVAL);
	request_bytes("ACK", "z9hG4bK-a", b, sizeof(b));
	assert_int_equal(sp_txn_client_start(f->l, b, strlen(b), &dst, &client_h, f, &ct),
			 SP_EINVAL);
	assert_int_equal(sp_txn_client_start(f->l, "junk", 4, &dst, &client_h, f, &ct), SP_EINVAL);
	assert_null(ct);
	assert_int_equal(sp_txn_count(f->l), 0);
	assert_int_equal(f->nsent, 0);
}

/* ---- Transport errors ---------------------------------------------------- */

static void test_transport_error(void **state)
{
	struct fx *f = *state;
	struct sp_dest a = udp_src("127.0.0.1", 5080), b = udp_src("127.0.0.1", 5090);
	struct sp_txn *ca = client_new(f, "INVITE", "z9hG4bK-a", &a);
	struct sp_txn *cb = client_new(f, "OPTIONS", "z9hG4bK-b", &b);
	struct sp_txn *done = client_new(f, "OPTIONS", "z9hG4bK-d", &a);

	assert_int_equal(sp_txn_client_recv(f->l, response(f, 200, "z9hG4bK-d", "OPTIONS", "x"), &a),
			 0);
	sp_txn_transport_error(f->l, &a, SP_ENOENT);
	/* Reported from a zero-delay timer, never from inside the call. */
	assert_int_equal(f->nterr, 0);
	assert_int_equal(sp_txn_state(ca), SP_TXN_TERMINATED);
	sp_timers_run(&f->ts, f->now);
	assert_int_equal(f->nterr, 1);
	assert_int_equal(f->terr, SP_ENOENT);
	assert_int_equal(f->ndestroyed, 1);
	assert_ptr_equal(f->destroyed_last, ca);
	/* The other destination and the finished transaction are untouched. */
	assert_int_equal(sp_txn_state(cb), SP_TXN_TRYING);
	assert_int_equal(sp_txn_state(done), SP_TXN_COMPLETED);

	/* A failing first send. */
	struct sp_txn *ct;
	f->fail_sends = 1;
	ct = client_new(f, "INVITE", "z9hG4bK-f", &a);
	assert_int_equal(f->nterr, 1);
	assert_int_equal(sp_txn_state(ct), SP_TXN_TERMINATED);
	sp_timers_run(&f->ts, f->now);
	assert_int_equal(f->nterr, 2);
	/* A failing retransmission (alone, once the others are over). */
	run_until(f, f->now + 40000);
	assert_int_equal(f->ntimeout, 1); /* cb */
	assert_int_equal(sp_txn_count(f->l), 0);
	ct = client_new(f, "INVITE", "z9hG4bK-g", &a);
	f->fail_sends = 1;
	run_until(f, f->now + 500);
	assert_int_equal(f->nterr, 3);
	assert_int_equal(sp_txn_count(f->l), 0);
	run_until(f, f->now + 10000);
	int g = 0;
	for (int i = 0; i < f->nsent && i < MAX_SENT; i++)
		g += strstr(f->sent[i].buf, "branch=z9hG4bK-g") != NULL;
	assert_int_equal(g, 1);
	assert_int_equal(f->ntimeout, 1);
}

/* ---- CANCEL and re-entrancy ---------------------------------------------- */

static void test_cancel_after_provisional(void **state)
{
	struct fx *f = *state;
	struct sp_dest dst = udp_src("127.0.0.1", 5080);
	struct sp_txn *ct = client_new(f, "INVITE", "z9hG4bK-c1", &dst);

	/* Before any provisional the CANCEL waits. */
	assert_int_equal(sp_txn_client_cancel(ct), 0);
	assert_int_equal(sp_txn_client_cancel(ct), 0);
	assert_int_equal(f->nsent, 1);
	assert_int_equal(sp_txn_count(f->l), 1);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 180, "z9hG4bK-c1", "INVITE", "u1"),
					    &dst),
			 0);
	assert_int_equal(f->nsent, 2);
	assert_int_equal(sp_txn_count(f->l), 2);
	assert_string_equal(f->sent[1].buf, "CANCEL sip:bob@127.0.0.1 SIP/2.0\r\n"
					    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-c1\r\n"
					    "Route: <sip:p1.example;lr>\r\n"
					    "Route: <sip:p2.example;lr>\r\n"
					    "Max-Forwards: 69\r\n"
					    "From: <sip:alice@a.example>;tag=fa\r\n"
					    "Call-ID: c1@a.example\r\n"
					    "To: <sip:bob@b.example>\r\n"
					    "CSeq: 1 CANCEL\r\n"
					    "Content-Length: 0\r\n\r\n");
	/* Idempotent once sent. */
	assert_int_equal(sp_txn_client_cancel(ct), 0);
	assert_int_equal(f->nsent, 2);
	/* The CANCEL's own transaction retransmits (Timer E) ... */
	run_until(f, 500);
	assert_int_equal(f->nsent, 3);
	assert_int_equal(strncmp(f->sent[2].buf, "CANCEL ", 7), 0);
	/* ... and absorbs its 200 without telling the INVITE's handler. */
	assert_int_equal(f->nresp, 1);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 200, "z9hG4bK-c1", "CANCEL", "u1"),
					    &dst),
			 0);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 487, "z9hG4bK-c1", "INVITE", "u1"),
					    &dst),
			 0);
	assert_int_equal(f->nresp, 2);
	assert_int_equal(f->resp_status[1], 487);
	assert_int_equal(strncmp(f->sent[3].buf, "ACK ", 4), 0);
	/* Both end (K = T4, D = 32 s); only the INVITE has a handler. */
	run_until(f, 40000);
	assert_int_equal(sp_txn_count(f->l), 0);
	assert_int_equal(f->ndestroyed, 1);
	assert_int_equal(f->nsent, 4);
}

static void test_cancel_never_provisional_and_after_final(void **state)
{
	struct fx *f = *state;
	struct sp_dest dst = udp_src("127.0.0.1", 5080);
	struct sp_txn *ct = client_new(f, "INVITE", "z9hG4bK-c1", &dst);

	assert_int_equal(sp_txn_client_cancel(ct), 0);
	/* No provisional: the INVITE times out, no CANCEL ever goes. */
	run_until(f, 40000);
	assert_int_equal(f->ntimeout, 1);
	for (int i = 0; i < f->nsent && i < MAX_SENT; i++)
		assert_int_equal(strncmp(f->sent[i].buf, "INVITE ", 7), 0);

	/* After a final, cancelling does nothing. */
	ct = client_new(f, "INVITE", "z9hG4bK-c2", &dst);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 180, "z9hG4bK-c2", "INVITE", "u1"),
					    &dst),
			 0);
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 200, "z9hG4bK-c2", "INVITE", "u1"),
					    &dst),
			 0);
	int before = f->nsent;
	assert_int_equal(sp_txn_client_cancel(ct), 0);
	assert_int_equal(f->nsent, before);
	/* Not for a non-INVITE. */
	struct sp_txn *opt = client_new(f, "OPTIONS", "z9hG4bK-o", &dst);
	assert_int_equal(sp_txn_client_cancel(opt), SP_EINVAL);
}

static void test_reentrant_handlers(void **state)
{
	struct fx *f = *state;
	struct sp_dest dst = udp_src("127.0.0.1", 5080);
	struct sp_txn *ct = client_new(f, "INVITE", "z9hG4bK-c1", &dst);

	/* Cancelling from inside response(). */
	f->cancel_on_1xx = true;
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 183, "z9hG4bK-c1", "INVITE", "u1"),
					    &dst),
			 0);
	assert_int_equal(f->nsent, 2);
	assert_int_equal(strncmp(f->sent[1].buf, "CANCEL ", 7), 0);
	assert_int_equal(sp_txn_count(f->l), 2);

	/* Starting a new transaction from inside response() to a final. */
	f->start_on_final = true;
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 486, "z9hG4bK-c1", "INVITE", "u1"),
					    &dst),
			 0);
	assert_non_null(f->started);
	assert_ptr_not_equal(f->started, ct);
	assert_int_equal(sp_txn_count(f->l), 3);
	assert_int_equal(sp_txn_state(ct), SP_TXN_COMPLETED);
	assert_int_equal(sp_txn_state(f->started), SP_TXN_CALLING);
	/* The ACK went, then the new INVITE. */
	assert_int_equal(strncmp(f->sent[2].buf, "ACK ", 4), 0);
	assert_int_equal(strncmp(f->sent[3].buf, "INVITE ", 7), 0);
	assert_non_null(strstr(f->sent[3].buf, "branch=z9hG4bK-next"));
	/* The new one answers on its own. */
	assert_int_equal(sp_txn_client_recv(f->l, response(f, 100, "z9hG4bK-next", "INVITE", NULL),
					    &dst),
			 0);
	assert_int_equal(sp_txn_state(f->started), SP_TXN_PROCEEDING);
}

/* ---- Response destination ------------------------------------------------ */

static void via_of(const char *value, struct sp_via *via)
{
	struct sp_str cur = sp_str_cstr(value);
	assert_int_equal(sp_via_next(&cur, via), 0);
}

static void test_response_dest(void **state)
{
	struct sp_via via;
	struct sp_dest src = udp_src("192.0.2.10", 40000), out;
	char host[INET6_ADDRSTRLEN];
	(void)state;

	/* received: the source address at the sent-by port. */
	via_of("SIP/2.0/UDP client.example:5070;branch=z9hG4bK-1", &via);
	assert_int_equal(sp_txn_response_dest_for(&via, &src, &out), 0);
	assert_int_equal(out.proto, SP_PROTO_UDP);
	assert_int_equal(out.addr.u.in.sin_addr.s_addr, src.addr.u.in.sin_addr.s_addr);
	assert_int_equal(dport(&out), 5070);
	/* No port: 5060. */
	via_of("SIP/2.0/UDP client.example;branch=z9hG4bK-1", &via);
	assert_int_equal(sp_txn_response_dest_for(&via, &src, &out), 0);
	assert_int_equal(dport(&out), 5060);
	/* rport: the source port. */
	via_of("SIP/2.0/UDP client.example:5070;rport;branch=z9hG4bK-1", &via);
	assert_int_equal(sp_txn_response_dest_for(&via, &src, &out), 0);
	assert_int_equal(dport(&out), 40000);
	assert_int_equal(out.addr.u.in.sin_addr.s_addr, src.addr.u.in.sin_addr.s_addr);
	/* maddr: that address at the sent-by port. */
	via_of("SIP/2.0/UDP client.example:5072;maddr=198.51.100.7;branch=z9hG4bK-1", &via);
	assert_int_equal(sp_txn_response_dest_for(&via, &src, &out), 0);
	assert_non_null(inet_ntop(AF_INET, &out.addr.u.in.sin_addr, host, sizeof(host)));
	assert_string_equal(host, "198.51.100.7");
	assert_int_equal(dport(&out), 5072);
	via_of("SIP/2.0/UDP client.example;maddr=name.example;branch=z9hG4bK-1", &via);
	assert_int_equal(sp_txn_response_dest_for(&via, &src, &out), SP_EINVAL);
	/* Reliable: the same connection, and the source address for a new one. */
	struct sp_dest t = tcp_src(42);
	via_of("SIP/2.0/TCP client.example:5070;branch=z9hG4bK-1", &via);
	assert_int_equal(sp_txn_response_dest_for(&via, &t, &out), 0);
	assert_int_equal(out.proto, SP_PROTO_TCP);
	assert_int_equal(out.conn, 42);
	assert_int_equal(dport(&out), 40000);
	/* IPv6. */
	struct sp_dest s6 = udp_src("::1", 40001);
	via_of("SIP/2.0/UDP [::1]:5070;branch=z9hG4bK-1", &via);
	assert_int_equal(sp_txn_response_dest_for(&via, &s6, &out), 0);
	assert_int_equal(out.addr.u.sa.sa_family, AF_INET6);
	assert_int_equal(dport(&out), 5070);
	assert_memory_equal(&out.addr.u.in6.sin6_addr, &s6.addr.u.in6.sin6_addr, 16);
	via_of("SIP/2.0/UDP [::1]:5070;rport;branch=z9hG4bK-1", &via);
	assert_int_equal(sp_txn_response_dest_for(&via, &s6, &out), 0);
	assert_int_equal(dport(&out), 40001);
	via_of("SIP/2.0/UDP [::1];maddr=[2001:db8::9];branch=z9hG4bK-1", &via);
	assert_int_equal(sp_txn_response_dest_for(&via, &s6, &out), 0);
	assert_non_null(inet_ntop(AF_INET6, &out.addr.u.in6.sin6_addr, host, sizeof(host)));
	assert_string_equal(host, "2001:db8::9");
	assert_int_equal(dport(&out), 5060);
	/* TLS sent-by without a port: 5061. */
	via_of("SIP/2.0/TLS client.example;branch=z9hG4bK-1", &via);
	assert_int_equal(sp_txn_response_dest_for(&via, &src, &out), 0);
	assert_int_equal(dport(&out), 5061);
}

static void test_server_dest_used(void **state)
{
	struct fx *f = *state;
	struct sp_dest src = udp_src("127.0.0.2", 40000);
	struct sp_msg *inv = req(f, "INVITE", "UDP", "127.0.0.1:5070", ";rport;branch=z9hG4bK-r",
				 "", 1, "INVITE");
	struct sp_txn *st = server_new(f, inv, &src);

	assert_int_equal(dport(sp_txn_response_dest(st)), 40000);
	assert_int_equal(dport(&f->sent[0].dst), 40000);
	assert_int_equal(f->sent[0].dst.addr.u.in.sin_addr.s_addr, src.addr.u.in.sin_addr.s_addr);
}

static void test_destroy_and_request(void **state)
{
	struct fx *f = *state;
	struct sp_dest src = udp_src("127.0.0.1", 40000);
	struct sp_txn *a = server_new(f, invite(f, "z9hG4bK-1"), &src);
	struct sp_txn *b = server_new(f, options(f, "z9hG4bK-2"), &src);
	struct sp_txn *c = client_new(f, "INVITE", "z9hG4bK-3", &src);
	struct sp_msg *m;

	/* One parse at a time, switching as asked. */
	m = sp_txn_request(a);
	assert_int_equal(m->method_id, SP_METHOD_INVITE);
	m = sp_txn_request(b);
	assert_int_equal(m->method_id, SP_METHOD_OPTIONS);
	assert_non_null(sp_msg_via(m));
	assert_true(sp_str_eq_c(sp_msg_via(m)->branch, "z9hG4bK-2"));
	m = sp_txn_request(c);
	assert_int_equal(m->method_id, SP_METHOD_INVITE);
	assert_true(sp_str_eq_c(sp_msg_via(m)->branch, "z9hG4bK-3"));

	/* Destroying the layer releases every transaction through destroyed(). */
	sp_txn_layer_destroy(f->l);
	assert_int_equal(f->ndestroyed, 3);
	assert_int_equal(sp_timers_next(&f->ts), UINT64_MAX);
	assert_int_equal(make_layer(f, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_server_invite_proceeding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_invite_completed_g_h, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_invite_ack_confirmed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_invite_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_non_invite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_reliable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_cancel_and_sent_by, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_rfc2543, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_dest_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_invite_timer_a_b, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_invite_completed_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_invite_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_non_invite_timer_e_f, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_non_invite_proceeding_completed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_client_reliable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_bad_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transport_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_after_provisional, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_never_provisional_and_after_final, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reentrant_handlers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_and_request, setup, teardown),
		cmocka_unit_test(test_response_dest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
