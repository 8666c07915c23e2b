/* test_proxy.c: the stateful proxy core over real loopback UDP: section 16 validation, Record-Route, Route processing, responses, CANCEL and serial forking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/err.h"
#include "core/timer.h"
#include "io/loop.h"
#include "proxy/proxy.h"
#include "sip/addr.h"
#include "sip/msg.h"
#include "sip/uri.h"

/* The key of the proxy's Record-Route tokens in these tests. */
#define TEST_SECRET "test-secret-0123456789"
#include "sip/via.h"
#include "transport/transport.h"
#include "txn/txn.h"

#define QLEN 16       /* datagrams queued per test socket */
#define DGRAM 4096    /* every message of these tests fits */
#define NGOT 12       /* parsed messages kept alive at once */
#define WAIT_MS 1000  /* the longest wait for one expected message */
#define TIMER_C_MS 600

/* A plain UDP socket playing a user agent ("caller", "callee"). The loop
 * watches it, so whatever the proxy sends is queued while the loop runs. */
struct peer {
	int fd;
	uint16_t port;
	char q[QLEN][DGRAM];
	size_t qlen[QLEN];
	struct sockaddr_in qfrom[QLEN];
	int head, n;
	int dropped;
};

/* One received message, parsed; it stays valid for NGOT more receptions. */
struct got {
	char buf[DGRAM];
	size_t len;
	struct sockaddr_in from;
	struct sp_msg *m;
};

struct target_spec {
	char uri[128];
	unsigned group;
	bool peer; /* a peer's host: reached by listener 0 (setup_hide) */
};

struct fx {
	struct sp_loop *loop;
	struct sp_transport *tp;
	struct sp_txn_layer *txn;
	struct sp_proxy *proxy;
	struct sp_listen_spec ls[2];
	size_t nls;
	uint16_t pport;  /* the UDP listener on 127.0.0.1 */
	uint16_t pport2; /* the second one, on 127.0.0.2, when there is one */
	struct peer caller, callee, callee2;
	struct sp_timer guard;
	/* The policy the hook applies: targets to add, or 404 when none. */
	struct target_spec tg[4];
	int ntg;
	bool identity;   /* the hook asserts alice's identity (RFC 3325) */
	int nhook;
	/* locate(): "callee.test" is the callee's socket; async keeps the
	 * answer until the test gives it (hop_give). */
	bool hop_async;
	int nlocate;
	sp_proxy_located_h hop_done;
	void *hop_ctx;
	char hop_host[64];
	struct got got[NGOT];
	int ngot;
	char str[8][1024]; /* rotating NUL-terminated copies for assertions */
	int nstr;
};

/* ---- plumbing: the daemon's wiring, minus everything but the proxy -------- */

static void tp_rx(void *arg, const struct sp_rx *rx)
{
	struct fx *f = arg;
	sp_proxy_rx(f->proxy, rx);
}

static void tp_send_error(void *arg, const struct sp_dest *dst, int err)
{
	struct fx *f = arg;
	sp_proxy_send_error(f->proxy, dst, err);
}

static int txn_send(void *arg, const struct sp_dest *dst, const char *buf, size_t len)
{
	struct fx *f = arg;
	return sp_transport_send(f->tp, dst, buf, len);
}

static uint64_t txn_now(void *arg)
{
	struct fx *f = arg;
	return sp_loop_now(f->loop);
}

static int on_request(void *arg, struct sp_proxy_req *r)
{
	struct fx *f = arg;
	f->nhook++;
	if (f->ntg == 0)
		return sp_proxy_reply(r, 404, NULL, NULL, 0);
	if (f->identity &&
	    sp_proxy_req_identity(r, true, "<sip:alice@sipeer.test>", "<tel:+4721000001>",
				  "sipeer.test") != 0)
		return SP_ENOMEM;
	for (int i = 0; i < f->ntg; i++) {
		int err;
		if (f->tg[i].peer) {
			struct sp_uri u;
			struct sp_dest dst;
			if (sp_uri_parse(sp_str_cstr(f->tg[i].uri), &u) != 0 ||
			    sp_proxy_uri_dest(&u, &dst) != 0)
				return SP_EINVAL;
			dst.listener = 0;
			struct sp_proxy_target t = { .uri = sp_str_cstr(f->tg[i].uri), .dst = &dst,
						     .group = f->tg[i].group,
						     .flags = SP_PROXY_T_FAILOVER | SP_PROXY_T_FOREIGN };
			err = sp_proxy_target_add_ex(r, &t);
		} else {
			err = sp_proxy_target_add(r, sp_str_cstr(f->tg[i].uri), SP_STR_NULL, NULL,
						  f->tg[i].group);
		}
		if (err)
			return err;
	}
	return 0;
}

static void hop_answer(struct fx *f, const char *host, sp_proxy_located_h done, void *ctx)
{
	struct sp_dest dst;
	memset(&dst, 0, sizeof(dst));
	dst.proto = SP_PROTO_UDP;
	dst.listener = -1;
	if (strcmp(host, "callee.test") != 0) {
		done(ctx, NULL);
		return;
	}
	assert_int_equal(sp_sockaddr_from_host(sp_str_cstr("127.0.0.1"), f->callee.port, &dst.addr), 0);
	done(ctx, &dst);
}

static void on_locate(void *arg, const struct sp_proxy_hop_name *hop, sp_proxy_located_h done,
		      void *ctx)
{
	struct fx *f = arg;
	f->nlocate++;
	snprintf(f->hop_host, sizeof(f->hop_host), "%.*s", (int)hop->host.len, hop->host.p);
	if (f->hop_async) {
		assert_null(f->hop_done);
		f->hop_done = done;
		f->hop_ctx = ctx;
		return;
	}
	hop_answer(f, f->hop_host, done, ctx);
}

/* The answer the async locate() kept. */
static void hop_give(struct fx *f)
{
	sp_proxy_located_h done = f->hop_done;
	assert_non_null(done);
	f->hop_done = NULL;
	hop_answer(f, f->hop_host, done, f->hop_ctx);
}

static void on_peer(int fd, unsigned events, void *arg)
{
	struct peer *p = arg;
	(void)events;
	for (;;) {
		char buf[DGRAM];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			break;
		if (p->n == QLEN) {
			p->dropped++;
			continue;
		}
		int slot = (p->head + p->n) % QLEN;
		memcpy(p->q[slot], buf, (size_t)n);
		p->qlen[slot] = (size_t)n;
		p->qfrom[slot] = from;
		p->n++;
	}
}

static void peer_open(struct fx *f, struct peer *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(p->fd >= 0);
	assert_int_equal(bind(p->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(p->fd, (struct sockaddr *)&a, &al), 0);
	p->port = ntohs(a.sin_port);
	assert_int_equal(sp_loop_fd_add(f->loop, p->fd, SP_IO_READ, on_peer, p), 0);
}

static void peer_close(struct fx *f, struct peer *p)
{
	if (p->fd < 0)
		return;
	sp_loop_fd_del(f->loop, p->fd);
	close(p->fd);
	p->fd = -1;
}

static bool setup_peering_first;

static int setup_n(void **state, size_t nls)
{
	static const struct sp_transport_h th = { .rx = tp_rx, .send_error = tp_send_error };
	static const struct sp_txn_ops xo = { .send = txn_send, .now = txn_now };
	static const struct sp_proxy_h ph = { .request = on_request, .locate = on_locate };
	static const char *const hosts[] = { "127.0.0.1", "127.0.0.2" };
	struct fx *f = calloc(1, sizeof(*f));
	bool first_peering = setup_peering_first;
	struct sp_transport_cfg tc;
	struct sp_txn_cfg xc;
	struct sp_proxy_cfg pc;
	const struct sp_listener_info *li;

	assert_non_null(f);
	f->caller.fd = f->callee.fd = f->callee2.fd = -1;
	for (int i = 0; i < NGOT; i++)
		assert_non_null(f->got[i].m = malloc(sizeof(struct sp_msg)));
	sp_timer_init(&f->guard);
	assert_int_equal(sp_loop_create(4096, &f->loop), 0);
	f->nls = nls;
	for (size_t i = 0; i < nls; i++) {
		f->ls[i].proto = SP_PROTO_UDP;
		/* setup_hide: the first listener faces other providers. */
		f->ls[i].role = i == 0 && first_peering ? SP_ROLE_PEERING : SP_ROLE_ACCESS;
		assert_int_equal(sp_sockaddr_from_host(sp_str_cstr(hosts[i]), 0, &f->ls[i].addr), 0);
	}
	memset(&tc, 0, sizeof(tc));
	tc.listen = f->ls;
	tc.nlisten = nls;
	tc.max_conns = 16;
	tc.max_conns_per_ip = 16;
	tc.idle_timeout_ms = 10000;
	tc.max_stream_msg = 65535;
	tc.max_pending_out = 1u << 20;
	assert_int_equal(sp_transport_create(f->loop, &tc, &th, f, &f->tp), 0);
	assert_int_equal(sp_transport_listeners(f->tp, &li), nls);
	f->pport = sp_sockaddr_port(&li[0].addr);
	if (nls > 1)
		f->pport2 = sp_sockaddr_port(&li[1].addr);
	memset(&xc, 0, sizeof(xc));
	assert_int_equal(sp_txn_layer_create(&xc, sp_loop_timers(f->loop), &xo, f, &f->txn), 0);
	memset(&pc, 0, sizeof(pc));
	pc.server_name = "sipeer-test";
	pc.secret = TEST_SECRET;
	/* Timer C short enough for a test, long enough for the others. */
	pc.timers = sp_loop_timers(f->loop);
	pc.timer_c_ms = TIMER_C_MS;
	assert_int_equal(sp_proxy_create(&pc, f->tp, f->txn, &ph, f, &f->proxy), 0);
	peer_open(f, &f->caller);
	peer_open(f, &f->callee);
	peer_open(f, &f->callee2);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_n(state, 1);
}

static int setup2(void **state)
{
	return setup_n(state, 2);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	sp_timer_stop(sp_loop_timers(f->loop), &f->guard);
	/* Same order as the daemon's stop(): the transactions first (their
	 * destroyed() handlers free the proxy's contexts), then the proxy,
	 * the sockets, the loop. */
	sp_txn_layer_destroy(f->txn);
	sp_proxy_destroy(f->proxy);
	peer_close(f, &f->caller);
	peer_close(f, &f->callee);
	peer_close(f, &f->callee2);
	sp_transport_destroy(f->tp);
	sp_loop_destroy(f->loop);
	for (int i = 0; i < NGOT; i++)
		free(f->got[i].m);
	free(f);
	return 0;
}

/* ---- driving the loop: always bounded in time ------------------------------ */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_guard(struct sp_timer *t, void *arg)
{
	struct fx *f = arg;
	(void)t;
	sp_loop_stop(f->loop);
}

/* Runs the loop for one short slice: a guard timer stops it (the loop's
 * own "now" may be stale between runs, so the due time comes from the
 * clock the loop reads). A message for a test socket does not stop it:
 * callers check their queue between slices. */
static void run_slice(struct fx *f, unsigned ms)
{
	struct sp_timers *ts = sp_loop_timers(f->loop);
	sp_timer_stop(ts, &f->guard);
	assert_int_equal(sp_timer_start(ts, &f->guard, sp_now_ms() + ms, on_guard, f), 0);
	assert_int_equal(sp_loop_run(f->loop), 0);
}

/* Runs the loop until p has a datagram queued or ms have passed. */
static bool pump_until(struct fx *f, struct peer *p, unsigned ms)
{
	uint64_t deadline = mono_ms() + ms;
	while (p->n == 0 && mono_ms() < deadline)
		run_slice(f, 10);
	return p->n > 0;
}

/* Runs the loop for ms, so that anything in flight has arrived. */
static void pump(struct fx *f, unsigned ms)
{
	uint64_t deadline = mono_ms() + ms;
	while (mono_ms() < deadline)
		run_slice(f, 10);
}

/* The next datagram p received, parsed and validated. */
static struct got *expect_msg(struct fx *f, struct peer *p)
{
	struct sp_sip_error err;
	assert_true(pump_until(f, p, WAIT_MS));
	struct got *g = &f->got[f->ngot++ % NGOT];
	memcpy(g->buf, p->q[p->head], p->qlen[p->head]);
	g->len = p->qlen[p->head];
	g->from = p->qfrom[p->head];
	p->head = (p->head + 1) % QLEN;
	p->n--;
	if (sp_msg_parse(g->m, g->buf, g->len, SP_PARSE_DATAGRAM, &err) != 0 ||
	    sp_msg_validate(g->m, &err) != 0)
		fail_msg("unparsable message (%s):\n%.*s", err.reason, (int)g->len, g->buf);
	return g;
}

static struct got *expect_req(struct fx *f, struct peer *p, enum sp_method method)
{
	struct got *g = expect_msg(f, p);
	if (!g->m->request || g->m->method_id != method)
		fail_msg("expected request %d, got:\n%.*s", (int)method, (int)g->len, g->buf);
	return g;
}

/* The next response p received, provisional ones below min_status skipped
 * (the transaction layer's 100 Trying comes first on every INVITE). */
static struct got *expect_resp(struct fx *f, struct peer *p, uint16_t status, uint16_t min_status)
{
	for (;;) {
		struct got *g = expect_msg(f, p);
		if (g->m->request)
			fail_msg("expected response %u, got:\n%.*s", status, (int)g->len, g->buf);
		if (g->m->status < min_status)
			continue;
		if (g->m->status != status)
			fail_msg("expected %u, got:\n%.*s", status, (int)g->len, g->buf);
		return g;
	}
}

static void expect_nothing(struct fx *f, struct peer *p, unsigned ms)
{
	pump(f, ms);
	if (p->n)
		fail_msg("unexpected message:\n%.*s", (int)p->qlen[p->head], p->q[p->head]);
}

/* ---- building and reading messages ---------------------------------------- */

/* The Record-Route token the proxy gives the dialog of Call-ID call-1@test
 * (HMAC-SHA256 of the Call-ID keyed with the fixture's secret, 8 bytes in
 * hex), computed here independently of proxy.c. */
static char rr_token_call1[17];

static void compute_token(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	static const char cid[] = "call-1@test";
	HMAC(EVP_sha256(), TEST_SECRET, (int)strlen(TEST_SECRET), (const unsigned char *)cid,
	     strlen(cid), md, &len);
	for (unsigned i = 0; i < 8; i++)
		snprintf(rr_token_call1 + 2 * i, 3, "%02x", md[i]);
}

/* Expands a template: "\n" becomes CRLF and $P (proxy), $Q (the second
 * proxy listener), $U (caller), $C (callee), $D (callee2) become ports, $T
 * the Record-Route token of Call-ID call-1@test, so that the messages below
 * read like what goes on the wire. */
static size_t expand(const struct fx *f, const char *t, char *out, size_t size)
{
	size_t n = 0;
	for (; *t; t++) {
		char tmp[8];
		const char *add = tmp;
		if (*t == '\n') {
			add = "\r\n";
		} else if (*t == '$' && t[1]) {
			uint16_t port = 0;
			switch (*++t) {
			case 'P': port = f->pport; break;
			case 'Q': port = f->pport2; break;
			case 'U': port = f->caller.port; break;
			case 'C': port = f->callee.port; break;
			case 'D': port = f->callee2.port; break;
			case 'T': break;
			default: fail_msg("bad template variable $%c", *t);
			}
			if (*t == 'T')
				add = rr_token_call1;
			else
				snprintf(tmp, sizeof(tmp), "%u", port);
		} else {
			tmp[0] = *t;
			tmp[1] = 0;
		}
		size_t l = strlen(add);
		assert_true(n + l < size);
		memcpy(out + n, add, l);
		n += l;
	}
	out[n] = 0;
	return n;
}

static void send_raw(struct peer *from, const char *host, uint16_t port, const char *buf,
		     size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	assert_int_equal(inet_pton(AF_INET, host, &a.sin_addr), 1);
	assert_int_equal(sendto(from->fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a)),
			 (ssize_t)len);
}

/* Sends a templated message from a peer to the proxy's first listener. */
static void send_tmpl(struct fx *f, struct peer *from, const char *tmpl)
{
	char buf[DGRAM];
	size_t n = expand(f, tmpl, buf, sizeof(buf));
	send_raw(from, "127.0.0.1", f->pport, buf, n);
}

/* A NUL-terminated copy of a slice, for assert_string_equal. */
static const char *cs(struct fx *f, struct sp_str s)
{
	char *b = f->str[f->nstr++ % 8];
	snprintf(b, sizeof(f->str[0]), "%.*s", (int)s.len, s.p ? s.p : "");
	return b;
}

/* Every line of a header, values as written, lines joined by " | ": the
 * line structure of Route and Record-Route matters to the tests. "" when
 * absent. */
static const char *lines(struct fx *f, struct got *g, enum sp_hdr_id id)
{
	char *b = f->str[f->nstr++ % 8];
	size_t n = 0;
	b[0] = 0;
	for (const struct sp_hdr *h = sp_msg_hdr(g->m, id); h; h = sp_msg_hdr_next(g->m, h)) {
		n += (size_t)snprintf(b + n, sizeof(f->str[0]) - n, "%s%.*s", n ? " | " : "",
				      (int)h->value.len, h->value.p);
		assert_true(n < sizeof(f->str[0]));
	}
	return b;
}

static const char *expanded(struct fx *f, const char *tmpl)
{
	char *b = f->str[f->nstr++ % 8];
	expand(f, tmpl, b, sizeof(f->str[0]));
	return b;
}

static unsigned via_count(struct got *g)
{
	unsigned n = 0;
	for (const struct sp_hdr *h = sp_msg_hdr(g->m, SP_HDR_VIA); h; h = sp_msg_hdr_next(g->m, h)) {
		struct sp_str cur = h->value;
		struct sp_via v;
		while (sp_via_next(&cur, &v) == 0)
			n++;
	}
	return n;
}

/* The request as a user agent server answers it (section 8.2.6): Via,
 * From, To (with our tag), Call-ID, CSeq and Record-Route copied, sent back
 * to where the request came from. */
static void respond_with(struct fx *f, struct peer *p, struct got *req, uint16_t status,
			 const char *reason, const char *extra);

static void respond(struct fx *f, struct peer *p, struct got *req, uint16_t status,
		    const char *reason)
{
	respond_with(f, p, req, status, reason, "");
}

/* A response to req from peer p, with extra header lines (CRLF-ended). */
static void respond_with(struct fx *f, struct peer *p, struct got *req, uint16_t status,
			 const char *reason, const char *extra)
{
	char out[DGRAM];
	size_t n = 0;
	struct sp_msg *m = req->m;
	const struct sp_addr *to = sp_msg_to(m);

	n += (size_t)snprintf(out + n, sizeof(out) - n, "SIP/2.0 %u %s\r\n", status, reason);
	for (uint16_t i = 0; i < m->nhdrs; i++) {
		const struct sp_hdr *h = &m->hdr[i];
		switch (h->id) {
		case SP_HDR_VIA:
		case SP_HDR_FROM:
		case SP_HDR_CALL_ID:
		case SP_HDR_CSEQ:
		case SP_HDR_RECORD_ROUTE:
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%.*s: %.*s\r\n",
					      (int)h->name.len, h->name.p, (int)h->value.len,
					      h->value.p);
			break;
		case SP_HDR_TO:
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%.*s: %.*s%s\r\n",
					      (int)h->name.len, h->name.p, (int)h->value.len,
					      h->value.p,
					      status > 100 && to && !to->tag.len ? ";tag=callee1" : "");
			break;
		default:
			break;
		}
	}
	n += (size_t)snprintf(out + n, sizeof(out) - n, "%sContent-Length: 0\r\n\r\n", extra);
	assert_true(n < sizeof(out));
	assert_int_equal(sendto(p->fd, out, n, 0, (struct sockaddr *)&req->from, sizeof(req->from)),
			 (ssize_t)n);
}

static void add_target(struct fx *f, const char *uri_tmpl, unsigned group)
{
	assert_true(f->ntg < 4);
	expand(f, uri_tmpl, f->tg[f->ntg].uri, sizeof(f->tg[0].uri));
	f->tg[f->ntg].group = group;
	f->ntg++;
}

/* ---- the messages ------------------------------------------------------ */

#define INVITE_TO_BOB(extra)                                                  \
	"INVITE sip:bob@127.0.0.1:$P SIP/2.0\n"                               \
	"Via: SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKcaller1;rport\n"        \
	"From: <sip:alice@127.0.0.1>;tag=alice1\n"                            \
	"To: <sip:bob@127.0.0.1>\n"                                           \
	"Call-ID: call-1@test\n"                                              \
	"CSeq: 1 INVITE\n"                                                    \
	"Contact: <sip:alice@127.0.0.1:$U>\n"                                 \
	extra                                                                 \
	"Content-Length: 0\n\n"

/* An in-dialog BYE from the caller: Request-URI and Route lines given. */
#define BYE(ruri, route)                                                      \
	"BYE " ruri " SIP/2.0\n"                                              \
	"Via: SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKbye1;rport\n"           \
	"Max-Forwards: 70\n"                                                  \
	route                                                                 \
	"From: <sip:alice@127.0.0.1>;tag=alice1\n"                            \
	"To: <sip:bob@127.0.0.1>;tag=bob1\n"                                  \
	"Call-ID: call-1@test\n"                                              \
	"CSeq: 2 BYE\n"                                                       \
	"Content-Length: 0\n\n"

/* Checks what every forwarded request carries: our Via on top (our
 * listener as sent-by, a fresh RFC 3261 branch) above the caller's. */
static void check_our_via(struct fx *f, struct got *g, uint16_t port)
{
	const struct sp_via *v = sp_msg_via(g->m);
	assert_non_null(v);
	assert_string_equal(cs(f, v->transport), "UDP");
	assert_string_equal(cs(f, v->host), "127.0.0.1");
	assert_int_equal(v->port, port);
	assert_true(v->branch.len > 7);
	assert_memory_equal(v->branch.p, "z9hG4bK", 7);
	assert_int_equal(via_count(g), 2);
}

/* ---- 1: an initial INVITE --------------------------------------------------- */

static void test_invite_forwarded(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\n"));

	struct got *tr = expect_resp(f, &f->caller, 100, 100);
	/* Only the caller's Via, matching its INVITE, with rport= and
	 * received= filled in (RFC 3581 section 4). */
	assert_int_equal(via_count(tr), 1);
	assert_string_equal(cs(f, sp_msg_via(tr->m)->branch), "z9hG4bKcaller1");
	assert_int_equal(sp_msg_via(tr->m)->port, f->caller.port);
	assert_int_equal(sp_msg_via(tr->m)->rport, f->caller.port);
	assert_string_equal(cs(f, sp_msg_via(tr->m)->received), "127.0.0.1");
	struct got *g = expect_req(f, &f->callee, SP_METHOD_INVITE);
	assert_int_equal(f->nhook, 1);
	/* The target's URI is the new Request-URI. */
	assert_string_equal(cs(f, g->m->ruri_raw), expanded(f, "sip:bob@127.0.0.1:$C"));
	assert_string_equal(lines(f, g, SP_HDR_RECORD_ROUTE), expanded(f, "<sip:127.0.0.1:$P;lr;sp=$T>"));
	check_our_via(f, g, f->pport);
	assert_string_equal(lines(f, g, SP_HDR_MAX_FORWARDS), "69");
	assert_string_equal(lines(f, g, SP_HDR_ROUTE), "");
	/* The caller's Via stays below ours with RFC 3581's rport= and
	 * received= filled in (the caller asked with a bare rport). */
	const struct sp_hdr *vh = sp_msg_hdr(g->m, SP_HDR_VIA);
	assert_non_null(vh = sp_msg_hdr_next(g->m, vh));
	assert_string_equal(cs(f, vh->value),
			    expanded(f, "SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKcaller1;rport=$U;"
					"received=127.0.0.1"));
	/* Record-Route lines come before the Via lines: the order build_forward
	 * promises (our RR and Via at the very top of the header block). */
	assert_true(sp_msg_hdr(g->m, SP_HDR_RECORD_ROUTE)->line_off <
		    sp_msg_hdr(g->m, SP_HDR_VIA)->line_off);
	assert_int_equal(sp_proxy_stats(f->proxy)->forwarded, 1);
}

static void test_invite_max_forwards_added(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB(""));
	expect_resp(f, &f->caller, 100, 100);
	struct got *g = expect_req(f, &f->callee, SP_METHOD_INVITE);
	assert_string_equal(lines(f, g, SP_HDR_MAX_FORWARDS), "70");
	assert_string_equal(lines(f, g, SP_HDR_RECORD_ROUTE), expanded(f, "<sip:127.0.0.1:$P;lr;sp=$T>"));
	check_our_via(f, g, f->pport);
}

/* An upstream Record-Route is kept below ours. */
static void test_invite_record_route_stacked(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller,
		  INVITE_TO_BOB("Max-Forwards: 10\nRecord-Route: <sip:192.0.2.9;lr>\n"));
	struct got *g = expect_req(f, &f->callee, SP_METHOD_INVITE);
	assert_string_equal(lines(f, g, SP_HDR_RECORD_ROUTE),
			    expanded(f, "<sip:127.0.0.1:$P;lr;sp=$T> | <sip:192.0.2.9;lr>"));
	assert_string_equal(lines(f, g, SP_HDR_MAX_FORWARDS), "9");
}

/* A request that comes in on one listener and leaves by another is
 * Record-Routed twice (RFC 5658): the callee's side first, since the
 * callee uses the route set in order and the caller reversed. */
static void test_invite_double_record_route(void **state)
{
	struct fx *f = *state;
	char buf[DGRAM];
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	size_t n = expand(f, INVITE_TO_BOB("Max-Forwards: 70\n"), buf, sizeof(buf));
	/* In by 127.0.0.2; the callee is reached from the first UDP listener
	 * of the family, 127.0.0.1 (sp_transport_pick_listener). */
	send_raw(&f->caller, "127.0.0.2", f->pport2, buf, n);
	struct got *g = expect_req(f, &f->callee, SP_METHOD_INVITE);
	assert_string_equal(lines(f, g, SP_HDR_RECORD_ROUTE),
			    expanded(f, "<sip:127.0.0.1:$P;lr;sp=$T> | <sip:127.0.0.2:$Q;lr;sp=$T>"));
	check_our_via(f, g, f->pport);
	/* The callee's 200 reaches the caller from the listener it used. */
	respond(f, &f->callee, g, 200, "OK");
	struct got *ok = expect_resp(f, &f->caller, 200, 101);
	assert_int_equal(ntohl(ok->from.sin_addr.s_addr), 0x7f000002); /* 127.0.0.2 */
	assert_string_equal(lines(f, ok, SP_HDR_RECORD_ROUTE),
			    expanded(f, "<sip:127.0.0.1:$P;lr;sp=$T> | <sip:127.0.0.2:$Q;lr;sp=$T>"));

	/* The callee's BYE along its route set: both our entries are ours and
	 * are removed; it goes to the caller's contact. */
	n = expand(f,
		   "BYE sip:alice@127.0.0.1:$U SIP/2.0\n"
		   "Via: SIP/2.0/UDP 127.0.0.1:$C;branch=z9hG4bKbye2;rport\n"
		   "Max-Forwards: 70\n"
		   "Route: <sip:127.0.0.1:$P;lr;sp=$T>, <sip:127.0.0.2:$Q;lr;sp=$T>\n"
		   "From: <sip:bob@127.0.0.1>;tag=callee1\n"
		   "To: <sip:alice@127.0.0.1>;tag=alice1\n"
		   "Call-ID: call-1@test\n"
		   "CSeq: 1 BYE\n"
		   "Content-Length: 0\n\n",
		   buf, sizeof(buf));
	send_raw(&f->callee, "127.0.0.1", f->pport, buf, n);
	struct got *bye = expect_req(f, &f->caller, SP_METHOD_BYE);
	assert_string_equal(lines(f, bye, SP_HDR_ROUTE), "");
	assert_string_equal(cs(f, bye->m->ruri_raw), expanded(f, "sip:alice@127.0.0.1:$U"));
	assert_int_equal(f->nhook, 1);
}

/* ---- 2-4: Route processing (16.4) ------------------------------------------- */

/* The Request-URI names callee2, so arriving at the callee proves that the
 * Route was followed, not the Request-URI. */
static void test_loose_route_one_line(void **state)
{
	struct fx *f = *state;
	send_tmpl(f, &f->caller,
		  BYE("sip:bob@127.0.0.1:$D",
		      "Route: <sip:127.0.0.1:$P;lr;sp=$T>, <sip:127.0.0.1:$C;lr>\n"));
	struct got *g = expect_req(f, &f->callee, SP_METHOD_BYE);
	assert_string_equal(lines(f, g, SP_HDR_ROUTE), expanded(f, "<sip:127.0.0.1:$C;lr>"));
	assert_string_equal(cs(f, g->m->ruri_raw), expanded(f, "sip:bob@127.0.0.1:$D"));
	assert_string_equal(lines(f, g, SP_HDR_MAX_FORWARDS), "69");
	/* No Record-Route on an in-dialog request. */
	assert_string_equal(lines(f, g, SP_HDR_RECORD_ROUTE), "");
	check_our_via(f, g, f->pport);
	assert_int_equal(f->nhook, 0);
	assert_int_equal(f->callee2.n, 0);

	/* And the callee's 200 comes back to the caller. */
	respond(f, &f->callee, g, 200, "OK");
	struct got *ok = expect_resp(f, &f->caller, 200, 100);
	assert_int_equal(via_count(ok), 1);
	assert_string_equal(cs(f, sp_msg_via(ok->m)->branch), "z9hG4bKbye1");
}

/* Next hops given by name (RFC 3263 through the locate hook): a target
 * waits for its address, in parallel with the 100 Trying; an in-dialog
 * request's remote target too; an ACK goes on only when the address is
 * known at once, and otherwise warms the cache for the next one. */
static void test_name_next_hop(void **state)
{
	struct fx *f = *state;
	f->hop_async = true;
	add_target(f, "sip:bob@callee.test", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\n"));
	expect_resp(f, &f->caller, 100, 100);
	assert_int_equal(f->nlocate, 1);
	assert_string_equal(f->hop_host, "callee.test");
	expect_nothing(f, &f->callee, 100);
	hop_give(f);
	struct got *g = expect_req(f, &f->callee, SP_METHOD_INVITE);
	assert_string_equal(cs(f, g->m->ruri_raw), "sip:bob@callee.test");
	respond(f, &f->callee, g, 486, "Busy Here");
	expect_resp(f, &f->caller, 486, 200);

	/* A name nobody knows: 503 upstream ("not found" turns into 500
	 * like any 503, RFC 3261 16.7 step 6). */
	f->hop_async = false;
	f->ntg = 0;
	add_target(f, "sip:bob@nowhere.test", 0);
	send_tmpl(f, &f->caller, "INVITE sip:bob@127.0.0.1:$P SIP/2.0\n"
				 "Via: SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKcaller2;rport\n"
				 "From: <sip:alice@127.0.0.1>;tag=alice2\n"
				 "To: <sip:bob@127.0.0.1>\n"
				 "Call-ID: call-2@test\n"
				 "CSeq: 1 INVITE\n"
				 "Max-Forwards: 70\n"
				 "Content-Length: 0\n\n");
	struct got *r = expect_resp(f, &f->caller, 500, 200);
	assert_int_equal(r->m->status, 500);
}

static void test_name_in_dialog(void **state)
{
	struct fx *f = *state;
	f->hop_async = true;
	send_tmpl(f, &f->caller, BYE("sip:bob@callee.test", "Route: <sip:127.0.0.1:$P;lr;sp=$T>\n"));
	pump(f, 100);
	assert_int_equal(f->nlocate, 1);
	hop_give(f);
	struct got *g = expect_req(f, &f->callee, SP_METHOD_BYE);
	assert_string_equal(cs(f, g->m->ruri_raw), "sip:bob@callee.test");
	assert_int_equal(f->nhook, 0);

	/* The ACK of a 2xx waits (copied) while its look-up runs; known at
	 * once, it goes on at once. */
	static const char ack[] = "ACK sip:bob@callee.test SIP/2.0\n"
				  "Via: SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKack1;rport\n"
				  "Max-Forwards: 70\n"
				  "Route: <sip:127.0.0.1:$P;lr;sp=$T>\n"
				  "From: <sip:alice@127.0.0.1>;tag=alice1\n"
				  "To: <sip:bob@127.0.0.1>;tag=bob1\n"
				  "Call-ID: call-1@test\n"
				  "CSeq: 1 ACK\n"
				  "Content-Length: 0\n\n";
	send_tmpl(f, &f->caller, ack);
	expect_nothing(f, &f->callee, 150);
	assert_int_equal(f->nlocate, 2);
	hop_give(f);
	g = expect_req(f, &f->callee, SP_METHOD_ACK);
	assert_string_equal(cs(f, g->m->ruri_raw), "sip:bob@callee.test");
	f->hop_async = false;
	send_tmpl(f, &f->caller, ack);
	g = expect_req(f, &f->callee, SP_METHOD_ACK);
	assert_string_equal(cs(f, g->m->ruri_raw), "sip:bob@callee.test");
	assert_int_equal(f->nlocate, 3);
}

/* Trust domain: the identity the caller claimed is replaced by the one the
 * decision step asserts, and the credentials of our realm stop here while
 * another realm's go on. */
static void test_identity_asserted(void **state)
{
	struct fx *f = *state;
	f->identity = true;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller,
		  INVITE_TO_BOB("Max-Forwards: 70\n"
				"P-Asserted-Identity: <sip:president@example.com>\n"
				"P-Preferred-Identity: <sip:ceo@example.com>\n"
				"Proxy-Authorization: Digest username=\"alice\", realm=\"sipeer.test\", "
				"nonce=\"abc\", uri=\"sip:bob@127.0.0.1\", response=\"6629fae49393a05397450978507c4ef1\"\n"
				"Proxy-Authorization: Digest username=\"a\", realm=\"other.test\", "
				"nonce=\"abc\", uri=\"sip:bob@127.0.0.1\", response=\"6629fae49393a05397450978507c4ef1\"\n"));
	struct got *g = expect_req(f, &f->callee, SP_METHOD_INVITE);
	assert_string_equal(lines(f, g, SP_HDR_P_ASSERTED_IDENTITY),
			    "<sip:alice@sipeer.test> | <tel:+4721000001>");
	assert_string_equal(lines(f, g, SP_HDR_P_PREFERRED_IDENTITY), "");
	assert_int_equal(sp_msg_hdr_count(g->m, SP_HDR_PROXY_AUTHORIZATION), 1);
	assert_non_null(strstr(lines(f, g, SP_HDR_PROXY_AUTHORIZATION), "other.test"));
}

/* A To tag and a Route naming the proxy are not enough to be relayed: the
 * entry must carry the token of a dialog the proxy Record-Routed, else the
 * request goes through the admission step like a new one (here: 404). */
static void test_in_dialog_without_token(void **state)
{
	struct fx *f = *state;
	send_tmpl(f, &f->caller,
		  BYE("sip:bob@127.0.0.1:$D",
		      "Route: <sip:127.0.0.1:$P;lr>, <sip:127.0.0.1:$C;lr>\n"));
	expect_resp(f, &f->caller, 404, 200);
	assert_int_equal(f->nhook, 1);
	assert_int_equal(f->callee.n, 0);
	assert_int_equal(f->callee2.n, 0);
}

static void test_in_dialog_wrong_token(void **state)
{
	struct fx *f = *state;
	send_tmpl(f, &f->caller,
		  BYE("sip:bob@127.0.0.1:$D",
		      "Route: <sip:127.0.0.1:$P;lr;sp=0123456789abcdef>, <sip:127.0.0.1:$C;lr>\n"));
	expect_resp(f, &f->caller, 404, 200);
	assert_int_equal(f->nhook, 1);
	assert_int_equal(f->callee.n, 0);
	assert_int_equal(f->callee2.n, 0);
}

static void test_loose_route_two_lines(void **state)
{
	struct fx *f = *state;
	send_tmpl(f, &f->caller,
		  BYE("sip:bob@127.0.0.1:$D",
		      "Route: <sip:127.0.0.1:$P;lr;sp=$T>\nRoute: <sip:127.0.0.1:$C;lr>, <sip:192.0.2.7;lr>\n"));
	struct got *g = expect_req(f, &f->callee, SP_METHOD_BYE);
	assert_string_equal(lines(f, g, SP_HDR_ROUTE),
			    expanded(f, "<sip:127.0.0.1:$C;lr>, <sip:192.0.2.7;lr>"));
	assert_string_equal(cs(f, g->m->ruri_raw), expanded(f, "sip:bob@127.0.0.1:$D"));
	check_our_via(f, g, f->pport);
	assert_int_equal(f->nhook, 0);
}

static void test_route_only_self(void **state)
{
	struct fx *f = *state;
	send_tmpl(f, &f->caller, BYE("sip:bob@127.0.0.1:$C", "Route: <sip:127.0.0.1:$P;lr;sp=$T>\n"));
	struct got *g = expect_req(f, &f->callee, SP_METHOD_BYE);
	assert_null(sp_msg_hdr(g->m, SP_HDR_ROUTE));
	assert_string_equal(cs(f, g->m->ruri_raw), expanded(f, "sip:bob@127.0.0.1:$C"));
	check_our_via(f, g, f->pport);
	assert_int_equal(f->nhook, 0);
}

/* 16.4: a strict router before us put our Record-Route URI in the
 * Request-URI and the real target at the end of the Route list. */
static void test_strict_router(void **state)
{
	struct fx *f = *state;
	send_tmpl(f, &f->caller, BYE("sip:127.0.0.1:$P;lr;sp=$T", "Route: <sip:bob@127.0.0.1:$C>\n"));
	struct got *g = expect_req(f, &f->callee, SP_METHOD_BYE);
	assert_string_equal(cs(f, g->m->ruri_raw), expanded(f, "sip:bob@127.0.0.1:$C"));
	assert_null(sp_msg_hdr(g->m, SP_HDR_ROUTE));
	check_our_via(f, g, f->pport);
	assert_int_equal(f->nhook, 0);
}

/* Strict router with more route left: the last value becomes the
 * Request-URI, and the first remaining one (a loose router) is the next
 * hop. */
static void test_strict_router_then_loose(void **state)
{
	struct fx *f = *state;
	send_tmpl(f, &f->caller,
		  BYE("sip:127.0.0.1:$P;lr;sp=$T",
		      "Route: <sip:127.0.0.1:$C;lr>\nRoute: <sip:bob@127.0.0.1:$D>\n"));
	struct got *g = expect_req(f, &f->callee, SP_METHOD_BYE);
	assert_string_equal(cs(f, g->m->ruri_raw), expanded(f, "sip:bob@127.0.0.1:$D"));
	assert_string_equal(lines(f, g, SP_HDR_ROUTE), expanded(f, "<sip:127.0.0.1:$C;lr>"));
	assert_int_equal(f->callee2.n, 0);
}

/* ---- 5: responses ------------------------------------------------------------ */

static void test_responses_relayed(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\n"));
	struct got *inv = expect_req(f, &f->callee, SP_METHOD_INVITE);

	respond(f, &f->callee, inv, 180, "Ringing");
	struct got *ring = expect_resp(f, &f->caller, 180, 101);
	assert_int_equal(via_count(ring), 1);
	assert_string_equal(cs(f, sp_msg_via(ring->m)->branch), "z9hG4bKcaller1");
	assert_string_equal(cs(f, sp_msg_to(ring->m)->tag), "callee1");
	/* The callee's copy of our Record-Route comes back unchanged. */
	assert_string_equal(lines(f, ring, SP_HDR_RECORD_ROUTE),
			    expanded(f, "<sip:127.0.0.1:$P;lr;sp=$T>"));

	respond(f, &f->callee, inv, 200, "OK");
	struct got *ok = expect_resp(f, &f->caller, 200, 101);
	assert_int_equal(via_count(ok), 1);
	assert_string_equal(cs(f, sp_msg_via(ok->m)->branch), "z9hG4bKcaller1");
	assert_string_equal(cs(f, sp_msg_cseq(ok->m)->method), "INVITE");
	/* A 2xx is not ACKed by the proxy (the caller's ACK is end to end). */
	expect_nothing(f, &f->callee, 50);

	/* The caller's ACK follows the route set statelessly (16.11): our
	 * Route entry removed, our Via on top, no Record-Route. */
	send_tmpl(f, &f->caller,
		  "ACK sip:bob@127.0.0.1:$C SIP/2.0\n"
		  "Via: SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKack1;rport\n"
		  "Max-Forwards: 70\n"
		  "Route: <sip:127.0.0.1:$P;lr;sp=$T>\n"
		  "From: <sip:alice@127.0.0.1>;tag=alice1\n"
		  "To: <sip:bob@127.0.0.1>;tag=callee1\n"
		  "Call-ID: call-1@test\n"
		  "CSeq: 1 ACK\n"
		  "Content-Length: 0\n\n");
	struct got *ack = expect_req(f, &f->callee, SP_METHOD_ACK);
	assert_null(sp_msg_hdr(ack->m, SP_HDR_ROUTE));
	assert_null(sp_msg_hdr(ack->m, SP_HDR_RECORD_ROUTE));
	assert_string_equal(lines(f, ack, SP_HDR_MAX_FORWARDS), "69");
	check_our_via(f, ack, f->pport);
	assert_int_equal(sp_proxy_stats(f->proxy)->stateless_forwarded, 1);
	assert_int_equal(f->nhook, 1);
}

static void test_error_response_acked(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\n"));
	struct got *inv = expect_req(f, &f->callee, SP_METHOD_INVITE);
	char branch[128];
	snprintf(branch, sizeof(branch), "%s", cs(f, sp_msg_via(inv->m)->branch));

	respond(f, &f->callee, inv, 486, "Busy Here");
	/* Section 17.1.1.3: the ACK of a non-2xx is hop by hop, same branch
	 * and Request-URI as the INVITE, To with the response's tag. */
	struct got *ack = expect_req(f, &f->callee, SP_METHOD_ACK);
	assert_string_equal(cs(f, sp_msg_via(ack->m)->branch), branch);
	assert_int_equal(via_count(ack), 1);
	assert_string_equal(cs(f, ack->m->ruri_raw), expanded(f, "sip:bob@127.0.0.1:$C"));
	assert_string_equal(cs(f, sp_msg_to(ack->m)->tag), "callee1");
	assert_int_equal(sp_msg_cseq(ack->m)->num, 1);

	struct got *busy = expect_resp(f, &f->caller, 486, 101);
	assert_int_equal(via_count(busy), 1);
	assert_string_equal(cs(f, sp_msg_via(busy->m)->branch), "z9hG4bKcaller1");
	assert_string_equal(cs(f, sp_msg_to(busy->m)->tag), "callee1");
}

/* ---- 6: request validation (16.3) -------------------------------------------- */

static void test_max_forwards_zero(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 0\n"));
	struct got *g = expect_resp(f, &f->caller, 483, 101);
	assert_string_equal(cs(f, sp_msg_via(g->m)->branch), "z9hG4bKcaller1");
	assert_int_equal(sp_msg_to(g->m)->tag.len > 0, 1);
	assert_int_equal(f->nhook, 0);
	expect_nothing(f, &f->callee, 50);
}

static void test_proxy_require(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\nProxy-Require: foo, bar\n"));
	struct got *g = expect_resp(f, &f->caller, 420, 101);
	assert_string_equal(lines(f, g, SP_HDR_UNSUPPORTED), "foo, bar");
	assert_int_equal(f->nhook, 0);
	expect_nothing(f, &f->callee, 50);
}

static void test_unknown_scheme(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller,
		  "MESSAGE mailto:bob@example.com SIP/2.0\n"
		  "Via: SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKmail1;rport\n"
		  "Max-Forwards: 70\n"
		  "From: <sip:alice@127.0.0.1>;tag=alice1\n"
		  "To: <mailto:bob@example.com>\n"
		  "Call-ID: call-mail@test\n"
		  "CSeq: 1 MESSAGE\n"
		  "Content-Length: 0\n\n");
	struct got *g = expect_resp(f, &f->caller, 416, 100);
	assert_string_equal(cs(f, sp_msg_cseq(g->m)->method), "MESSAGE");
	assert_int_equal(f->nhook, 0);
	expect_nothing(f, &f->callee, 50);
}

/* The hook's own answer goes back on the server transaction. */
static void test_hook_answers(void **state)
{
	struct fx *f = *state;
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\n"));
	struct got *g = expect_resp(f, &f->caller, 404, 101);
	assert_string_equal(cs(f, sp_msg_via(g->m)->branch), "z9hG4bKcaller1");
	assert_int_equal(f->nhook, 1);
}

/* ---- 7: malformed requests ------------------------------------------------------ */

static void test_malformed_400(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller,
		  "INVITE sip:bob@127.0.0.1:$P SIP/2.0\n"
		  "Via: SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKbad1;rport\n"
		  "Max-Forwards: 70\n"
		  "From: <sip:alice@127.0.0.1>;tag=alice1\n"
		  "To: <sip:bob@127.0.0.1>\n"
		  "Call-ID: call-bad@test\n"
		  "CSeq: 1 BYE\n"
		  "Content-Length: 0\n\n");
	/* Stateless: no transaction, so no 100 Trying first. */
	struct got *g = expect_resp(f, &f->caller, 400, 100);
	assert_string_equal(cs(f, g->m->reason), "CSeq method does not match the request method");
	assert_string_equal(cs(f, sp_msg_via(g->m)->branch), "z9hG4bKbad1");
	assert_int_equal(f->nhook, 0);
	assert_int_equal(sp_proxy_stats(f->proxy)->rejected_malformed, 1);
	assert_int_equal(sp_txn_count(f->txn), 0);
	expect_nothing(f, &f->callee, 50);
}

/* ---- 8: CANCEL (16.10) ------------------------------------------------------------ */

static void test_cancel(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\n"));
	struct got *inv = expect_req(f, &f->callee, SP_METHOD_INVITE);
	char branch[128];
	snprintf(branch, sizeof(branch), "%s", cs(f, sp_msg_via(inv->m)->branch));
	respond(f, &f->callee, inv, 180, "Ringing");
	expect_resp(f, &f->caller, 180, 101);

	send_tmpl(f, &f->caller,
		  "CANCEL sip:bob@127.0.0.1:$P SIP/2.0\n"
		  "Via: SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKcaller1;rport\n"
		  "Max-Forwards: 70\n"
		  "From: <sip:alice@127.0.0.1>;tag=alice1\n"
		  "To: <sip:bob@127.0.0.1>\n"
		  "Call-ID: call-1@test\n"
		  "CSeq: 1 CANCEL\n"
		  "Content-Length: 0\n\n");
	struct got *cok = expect_resp(f, &f->caller, 200, 100);
	assert_string_equal(cs(f, sp_msg_cseq(cok->m)->method), "CANCEL");

	/* Section 9.1: the CANCEL downstream matches the INVITE it cancels. */
	struct got *can = expect_req(f, &f->callee, SP_METHOD_CANCEL);
	assert_string_equal(cs(f, sp_msg_via(can->m)->branch), branch);
	assert_string_equal(cs(f, can->m->ruri_raw), expanded(f, "sip:bob@127.0.0.1:$C"));
	assert_int_equal(sp_msg_cseq(can->m)->num, 1);
	assert_int_equal(f->nhook, 1);

	respond(f, &f->callee, can, 200, "OK");
	respond(f, &f->callee, inv, 487, "Request Terminated");
	struct got *ack = expect_req(f, &f->callee, SP_METHOD_ACK);
	assert_string_equal(cs(f, sp_msg_via(ack->m)->branch), branch);
	struct got *term = expect_resp(f, &f->caller, 487, 101);
	assert_string_equal(cs(f, sp_msg_cseq(term->m)->method), "INVITE");
	assert_int_equal(via_count(term), 1);
	assert_string_equal(cs(f, sp_msg_via(term->m)->branch), "z9hG4bKcaller1");
}

/* A CANCEL that matches nothing is answered 481 and goes nowhere. */
/* Timer C (16.6 step 11): a callee that rings and never answers is
 * cancelled and the caller gets 408, instead of ringing forever. */
static void test_timer_c(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\n"));
	struct got *inv = expect_req(f, &f->callee, SP_METHOD_INVITE);
	respond(f, &f->callee, inv, 180, "Ringing");
	expect_resp(f, &f->caller, 180, 101);
	/* Nothing more from the callee: after Timer C the CANCEL goes down and
	 * the 408 goes up. */
	struct got *can = expect_req(f, &f->callee, SP_METHOD_CANCEL);
	assert_string_equal(cs(f, sp_msg_cseq(can->m)->method), "CANCEL");
	expect_resp(f, &f->caller, 408, 200);
}

static void test_cancel_unknown(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	send_tmpl(f, &f->caller,
		  "CANCEL sip:bob@127.0.0.1:$P SIP/2.0\n"
		  "Via: SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKnone;rport\n"
		  "Max-Forwards: 70\n"
		  "From: <sip:alice@127.0.0.1>;tag=alice1\n"
		  "To: <sip:bob@127.0.0.1>\n"
		  "Call-ID: call-none@test\n"
		  "CSeq: 1 CANCEL\n"
		  "Content-Length: 0\n\n");
	expect_resp(f, &f->caller, 481, 100);
	expect_nothing(f, &f->callee, 50);
	assert_int_equal(f->nhook, 0);
}

/* ---- 9: serial forking ------------------------------------------------------------ */

/* 16.7 step 7: two callees in parallel both ask for credentials; the one
 * 407 that goes upstream carries both challenges. */
static void test_challenges_merged(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	add_target(f, "sip:bob@127.0.0.1:$D", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\n"));
	struct got *a = expect_req(f, &f->callee, SP_METHOD_INVITE);
	struct got *b = expect_req(f, &f->callee2, SP_METHOD_INVITE);
	respond_with(f, &f->callee, a, 407, "Proxy Authentication Required",
		     "Proxy-Authenticate: Digest realm=\"one.test\", nonce=\"n1\"\r\n");
	expect_req(f, &f->callee, SP_METHOD_ACK);
	respond_with(f, &f->callee2, b, 407, "Proxy Authentication Required",
		     "Proxy-Authenticate: Digest realm=\"two.test\", nonce=\"n2\"\r\n");
	expect_req(f, &f->callee2, SP_METHOD_ACK);
	struct got *r = expect_resp(f, &f->caller, 407, 200);
	assert_int_equal(sp_msg_hdr_count(r->m, SP_HDR_PROXY_AUTHENTICATE), 2);
	const char *all = lines(f, r, SP_HDR_PROXY_AUTHENTICATE);
	assert_non_null(strstr(all, "realm=\"one.test\""));
	assert_non_null(strstr(all, "realm=\"two.test\""));
	assert_int_equal(via_count(r), 1);
}

static void test_serial_failover(void **state)
{
	struct fx *f = *state;
	/* Added out of order: groups sort them, lowest first. */
	add_target(f, "sip:bob@127.0.0.1:$C", 1);
	add_target(f, "sip:bob@127.0.0.1:$D", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\n"));

	struct got *first = expect_req(f, &f->callee2, SP_METHOD_INVITE);
	assert_string_equal(cs(f, first->m->ruri_raw), expanded(f, "sip:bob@127.0.0.1:$D"));
	assert_int_equal(f->callee.n, 0); /* serial: the second waits */
	char b1[128];
	snprintf(b1, sizeof(b1), "%s", cs(f, sp_msg_via(first->m)->branch));
	respond(f, &f->callee2, first, 503, "Service Unavailable");
	struct got *ack = expect_req(f, &f->callee2, SP_METHOD_ACK);
	assert_string_equal(cs(f, sp_msg_via(ack->m)->branch), b1);

	struct got *second = expect_req(f, &f->callee, SP_METHOD_INVITE);
	assert_string_equal(cs(f, second->m->ruri_raw), expanded(f, "sip:bob@127.0.0.1:$C"));
	assert_string_not_equal(cs(f, sp_msg_via(second->m)->branch), b1);
	check_our_via(f, second, f->pport);
	assert_string_equal(lines(f, second, SP_HDR_MAX_FORWARDS), "69");
	assert_string_equal(lines(f, second, SP_HDR_RECORD_ROUTE),
			    expanded(f, "<sip:127.0.0.1:$P;lr;sp=$T>"));
	respond(f, &f->callee, second, 200, "OK");

	/* Only the 200 reaches the caller: the 503 was never relayed. */
	struct got *ok = expect_resp(f, &f->caller, 200, 101);
	assert_int_equal(via_count(ok), 1);
	assert_int_equal(f->nhook, 1);
	expect_nothing(f, &f->caller, 50);
}

/* Every target fails: the best answer goes up, a 503 turned into 500
 * (16.7 step 6: a downstream 503 must not read as "this proxy is down"). */
static void test_all_targets_fail(void **state)
{
	struct fx *f = *state;
	add_target(f, "sip:bob@127.0.0.1:$D", 0);
	add_target(f, "sip:bob@127.0.0.1:$C", 1);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\n"));
	struct got *first = expect_req(f, &f->callee2, SP_METHOD_INVITE);
	respond(f, &f->callee2, first, 503, "Service Unavailable");
	struct got *second = expect_req(f, &f->callee, SP_METHOD_INVITE);
	respond(f, &f->callee, second, 503, "Service Unavailable");
	struct got *g = expect_resp(f, &f->caller, 500, 101);
	assert_string_equal(cs(f, sp_msg_via(g->m)->branch), "z9hG4bKcaller1");
}

/* Topology hiding: 127.0.0.1 is a peering listener (the peer is "callee",
 * reached there), 127.0.0.2 the access side. */
static int setup_hide(void **state)
{
	setup_peering_first = true;
	int r = setup_n(state, 2);
	setup_peering_first = false;
	return r;
}

/* Splits a comma-separated Record-Route into its entries. */
static size_t rr_entries(const char *rr, char out[][1024], size_t max)
{
	size_t n = 0;
	while (rr && *rr && n < max) {
		const char *end = strstr(rr, ">, <");
		size_t len = end ? (size_t)(end + 1 - rr) : strlen(rr);
		snprintf(out[n++], 1024, "%.*s", (int)len, rr);
		rr = end ? end + 3 : NULL;
	}
	return n;
}

/* The caller comes in on the access side through an inner proxy (callee2
 * plays it: its Record-Route names $D); the call goes to a peer. */
static void test_hidden_towards_peer(void **state)
{
	struct fx *f = *state;
	char buf[DGRAM], tmpl[DGRAM], e[4][1024];
	add_target(f, "sip:bob@127.0.0.1:$C", 0);
	f->tg[0].peer = true;
	size_t n = expand(f, INVITE_TO_BOB("Max-Forwards: 70\nRecord-Route: <sip:127.0.0.1:$D;lr>\n"
					   "P-Preferred-Identity: <sip:alice@inner.test>\n"),
			  buf, sizeof(buf));
	send_raw(&f->caller, "127.0.0.2", f->pport2, buf, n);
	struct got *g = expect_req(f, &f->callee, SP_METHOD_INVITE);
	/* The peer sees this node only: one Via, one Record-Route (the inner
	 * hop sealed in it), a Contact of ours. */
	assert_int_equal(via_count(g), 1);
	const char *rr = lines(f, g, SP_HDR_RECORD_ROUTE);
	assert_int_equal(rr_entries(rr, e, 4), 1);
	assert_non_null(strstr(e[0], ";sph="));
	assert_null(strstr(rr, expanded(f, "127.0.0.1:$D")));
	const char *contact = lines(f, g, SP_HDR_CONTACT);
	assert_non_null(strstr(contact, "sip:sp@127.0.0.1:"));
	assert_null(strstr(contact, expanded(f, "127.0.0.1:$U")));
	respond(f, &f->callee, g, 200, "OK");
	/* The caller's side gets the whole route set back (ours, our twin on
	 * the access listener, the inner proxy) and its own Via. */
	struct got *ok = expect_resp(f, &f->caller, 200, 101);
	assert_string_equal(cs(f, sp_msg_via(ok->m)->branch), "z9hG4bKcaller1");
	rr = lines(f, ok, SP_HDR_RECORD_ROUTE);
	assert_int_equal(rr_entries(rr, e, 4), 3);
	assert_non_null(strstr(e[2], expanded(f, "127.0.0.1:$D")));
	/* The caller's BYE through the inner proxy (which took its own entry
	 * off): Route twin, ours. It reaches the peer, hidden, not the inner
	 * hop again. */
	snprintf(tmpl, sizeof(tmpl),
		 "BYE sip:bob@127.0.0.1:$C SIP/2.0\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:$D;branch=z9hG4bKinner;rport\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKbye1;rport\n"
		 "Max-Forwards: 70\n"
		 "Route: %s, %s\n"
		 "From: <sip:alice@127.0.0.1>;tag=alice1\n"
		 "To: <sip:bob@127.0.0.1>;tag=callee1\n"
		 "P-Asserted-Identity: <sip:alice@inner.test>\n"
		 "Call-ID: call-1@test\n"
		 "CSeq: 2 BYE\n"
		 "Content-Length: 0\n\n",
		 e[1], e[0]);
	n = expand(f, tmpl, buf, sizeof(buf));
	send_raw(&f->callee2, "127.0.0.2", f->pport2, buf, n);
	struct got *bye = expect_req(f, &f->callee, SP_METHOD_BYE);
	assert_int_equal(via_count(bye), 1);
	assert_null(sp_msg_hdr(bye->m, SP_HDR_ROUTE));
	assert_null(sp_msg_hdr(bye->m, SP_HDR_P_ASSERTED_IDENTITY)); /* in-dialog, to a peer */
	expect_nothing(f, &f->callee2, 100);
}

/* A peer calls in on the peering listener; the callee sits behind two
 * inner proxies: Q1 (callee2, $D, next to us) and Q2 (192.0.2.9, next to
 * the callee). */
static void test_hidden_from_peer(void **state)
{
	struct fx *f = *state;
	char buf[DGRAM], tmpl[DGRAM], resp[DGRAM], vias[DGRAM], ours[1024], e[4][1024], *bar;
	size_t vn = 0;
	add_target(f, "sip:bob@127.0.0.1:$D", 0);
	send_tmpl(f, &f->caller, INVITE_TO_BOB("Max-Forwards: 70\n"));
	struct got *g = expect_req(f, &f->callee2, SP_METHOD_INVITE);
	/* Q1 answers with the callee's 180: Record-Route Q2, Q1, then ours. */
	snprintf(ours, sizeof(ours), "%s", lines(f, g, SP_HDR_RECORD_ROUTE));
	while ((bar = strstr(ours, " | ")) != NULL) { /* lines() joins lines with " | " */
		bar[0] = ',';
		memmove(bar + 1, bar + 2, strlen(bar + 2) + 1);
	}
	for (const struct sp_hdr *h = sp_msg_hdr(g->m, SP_HDR_VIA); h; h = sp_msg_hdr_next(g->m, h))
		vn += (size_t)snprintf(vias + vn, sizeof(vias) - vn, "Via: %.*s\r\n",
				       (int)h->value.len, h->value.p);
	int rn = snprintf(resp, sizeof(resp),
			  "SIP/2.0 180 Ringing\r\n%s"
			  "Record-Route: <sip:192.0.2.9:5060;lr>, <sip:127.0.0.1:%u;lr>, %s\r\n"
			  "From: <sip:alice@127.0.0.1>;tag=alice1\r\n"
			  "To: <sip:bob@127.0.0.1>;tag=callee1\r\n"
			  "Call-ID: call-1@test\r\n"
			  "CSeq: 1 INVITE\r\n"
			  "Contact: <sip:bob@192.0.2.77:5090>\r\n"
			  "Content-Length: 0\r\n\r\n",
			  vias, (unsigned)f->callee2.port, ours);
	assert_true(rn > 0 && (size_t)rn < sizeof(resp));
	assert_int_equal(sendto(f->callee2.fd, resp, (size_t)rn, 0, (struct sockaddr *)&g->from,
				sizeof(g->from)),
			 (ssize_t)rn);
	struct got *ring = expect_resp(f, &f->caller, 180, 101);
	const char *rr = lines(f, ring, SP_HDR_RECORD_ROUTE);
	const char *contact = lines(f, ring, SP_HDR_CONTACT);
	/* The peer sees one entry of ours and no inner address. */
	assert_null(strstr(rr, "192.0.2.9"));
	assert_null(strstr(rr, expanded(f, "127.0.0.1:$D")));
	assert_null(strstr(contact, "192.0.2.77"));
	assert_non_null(strstr(contact, "sip:sp@127.0.0.1:"));
	assert_int_equal(rr_entries(rr, e, 4), 1);
	assert_non_null(strstr(e[0], ";sph="));
	/* The peer's in-dialog request along that entry goes to Q1 first, with
	 * Q2 next in its Route, and the callee's real Contact as target. */
	char target[1024];
	const char *lt = strchr(contact, '<'), *gt = strchr(contact, '>');
	assert_non_null(lt);
	assert_non_null(gt);
	snprintf(target, sizeof(target), "%.*s", (int)(gt - lt - 1), lt + 1);
	snprintf(tmpl, sizeof(tmpl),
		 "INFO %s SIP/2.0\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:$U;branch=z9hG4bKinfo1;rport\n"
		 "Max-Forwards: 70\n"
		 "Route: %s\n"
		 "From: <sip:alice@127.0.0.1>;tag=alice1\n"
		 "To: <sip:bob@127.0.0.1>;tag=callee1\n"
		 "Call-ID: call-1@test\n"
		 "CSeq: 2 INFO\n"
		 "Content-Length: 0\n\n",
		 target, e[0]);
	size_t n = expand(f, tmpl, buf, sizeof(buf));
	send_raw(&f->caller, "127.0.0.1", f->pport, buf, n);
	struct got *info = expect_req(f, &f->callee2, SP_METHOD_INFO);
	assert_string_equal(cs(f, info->m->ruri_raw), "sip:bob@192.0.2.77:5090");
	/* Loose routing: Q1's own entry on top (it takes it off), then Q2. */
	const char *route = lines(f, info, SP_HDR_ROUTE);
	const char *q1 = strstr(route, expanded(f, "127.0.0.1:$D")), *q2 = strstr(route, "192.0.2.9");
	assert_non_null(q1);
	assert_non_null(q2);
	assert_true(q1 < q2);
	assert_null(strstr(route, ";sph="));
}

int main(void)
{
	compute_token();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hidden_towards_peer, setup_hide, teardown),
		cmocka_unit_test_setup_teardown(test_hidden_from_peer, setup_hide, teardown),
		cmocka_unit_test_setup_teardown(test_invite_forwarded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_dialog_without_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_c, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_asserted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_challenges_merged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_dialog_wrong_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_max_forwards_added, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_record_route_stacked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_double_record_route, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_loose_route_one_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_next_hop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_in_dialog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loose_route_two_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_only_self, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strict_router, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strict_router_then_loose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_responses_relayed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_response_acked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_forwards_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_require, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_scheme, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hook_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_400, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_failover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_targets_fail, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
