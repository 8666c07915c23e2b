/* test_transport.c: UDP, TCP and TLS transports over real loopback sockets, driven by a bounded loop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "io/loop.h"
#include "transport/transport.h"

#define MSG(body) "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: " body "\r\nContent-Length: 4\r\n\r\nbody"
static const char msg1[] = MSG("one");
static const char msg2[] = MSG("two");
static const char msg3[] = MSG("three");

struct rxrec {
	char buf[1024];
	size_t len;
	struct sp_dest src;
	enum sp_role role;
	char san[64];
	size_t nsan;
};

struct ctx {
	struct sp_loop *loop;
	struct sp_transport *t;
	struct rxrec rx[8];
	int nrx;
	struct sp_dest err[8];
	int errcode[8];
	int nerr;
};

/* Large messages are checked in place instead of recorded. */
static struct ctx *srv_big;
static int bigrx;

static void on_rx(void *arg, const struct sp_rx *rx)
{
	struct ctx *c = arg;
	if (c == srv_big && rx->len > 1024) {
		const char *end = memmem(rx->buf, rx->len, "\r\n\r\n", 4);
		assert_non_null(end);
		size_t off = (size_t)(end - rx->buf) + 4;
		assert_int_equal(rx->len - off, 30000);
		for (size_t i = off; i < rx->len; i++)
			assert_int_equal(rx->buf[i], (char)('a' + i % 26));
		bigrx++;
		return;
	}
	if (c->nrx >= 8)
		return;
	struct rxrec *r = &c->rx[c->nrx++];
	assert_true(rx->len <= sizeof(r->buf));
	memcpy(r->buf, rx->buf, rx->len);
	r->len = rx->len;
	r->src = rx->src;
	r->role = rx->role;
	r->nsan = rx->tls ? rx->tls->nsan : 0;
	if (rx->tls && rx->tls->nsan)
		snprintf(r->san, sizeof(r->san), "%s", rx->tls->san[0]);
}

static void on_send_error(void *arg, const struct sp_dest *dst, int err)
{
	struct ctx *c = arg;
	if (c->nerr >= 8)
		return;
	c->err[c->nerr] = *dst;
	c->errcode[c->nerr++] = err;
}

static const struct sp_transport_h handlers = { on_rx, on_send_error };

static void stop_cb(struct sp_timer *t, void *arg)
{
	sp_loop_stop(arg);
}

/* Runs the loop for about ms milliseconds. */
static void run_for(struct sp_loop *loop, uint64_t ms)
{
	struct sp_timer t;
	sp_timer_init(&t);
	assert_int_equal(sp_timer_start(sp_loop_timers(loop), &t, sp_now_ms() + ms, stop_cb, loop), 0);
	assert_int_equal(sp_loop_run(loop), 0);
	sp_timer_stop(sp_loop_timers(loop), &t);
}

static int wait_rx(struct ctx *c, int n, uint64_t max_ms)
{
	uint64_t end = sp_now_ms() + max_ms;
	while (c->nrx < n && sp_now_ms() < end)
		run_for(c->loop, 5);
	return c->nrx;
}

static int wait_err(struct ctx *c, int n, uint64_t max_ms)
{
	uint64_t end = sp_now_ms() + max_ms;
	while (c->nerr < n && sp_now_ms() < end)
		run_for(c->loop, 5);
	return c->nerr;
}

/* Reads from a non-blocking test socket while the loop runs: bytes read,
 * 0 on EOF, -1 on a reset or a timeout with nothing read. */
static ssize_t recv_wait(struct sp_loop *loop, int fd, char *buf, size_t want, uint64_t max_ms)
{
	size_t got = 0;
	uint64_t end = sp_now_ms() + max_ms;
	while (got < want && sp_now_ms() < end) {
		ssize_t n = recv(fd, buf + got, want - got, MSG_DONTWAIT);
		if (n == 0)
			return got ? (ssize_t)got : 0;
		if (n < 0 && errno != EAGAIN)
			return got ? (ssize_t)got : -1;
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		run_for(loop, 5);
	}
	return got ? (ssize_t)got : -1;
}

static struct sp_sockaddr loopback(uint16_t port)
{
	struct sp_sockaddr a;
	assert_int_equal(sp_sockaddr_from_host(SP_STR("127.0.0.1"), port, &a), 0);
	return a;
}

static void ctx_init(struct ctx *c, struct sp_transport_cfg *cfg)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(sp_loop_create(1024, &c->loop), 0);
	assert_int_equal(sp_transport_create(c->loop, cfg, &handlers, c, &c->t), 0);
}

static void ctx_free(struct ctx *c)
{
	sp_transport_destroy(c->t);
	sp_loop_destroy(c->loop);
}

static struct sp_listen_spec std_listen[2];

static struct sp_transport_cfg std_cfg(void)
{
	std_listen[0] = (struct sp_listen_spec){ SP_PROTO_UDP, loopback(0), SP_ROLE_ACCESS };
	std_listen[1] = (struct sp_listen_spec){ SP_PROTO_TCP, loopback(0), SP_ROLE_PEERING };
	struct sp_transport_cfg cfg = {
		.listen = std_listen,
		.nlisten = 2,
		.max_conns = 16,
		.max_conns_per_ip = 8,
		.idle_timeout_ms = 10000,
		.max_stream_msg = 4096,
		.max_pending_out = 65536,
	};
	return cfg;
}

static const struct sp_sockaddr *listener_addr(struct sp_transport *t, size_t i)
{
	const struct sp_listener_info *li;
	size_t n = sp_transport_listeners(t, &li);
	assert_true(i < n);
	assert_int_not_equal(sp_sockaddr_port(&li[i].addr), 0);
	return &li[i].addr;
}

static int udp_sock(struct sp_sockaddr *bound)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	struct sp_sockaddr a = loopback(0);
	assert_int_equal(bind(fd, &a.u.sa, a.len), 0);
	a.len = sizeof(a.u);
	assert_int_equal(getsockname(fd, &a.u.sa, &a.len), 0);
	*bound = a;
	return fd;
}

static int tcp_connect(const struct sp_sockaddr *to)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, &to->u.sa, to->len), 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void test_udp_roundtrip(void **state)
{
	struct ctx c;
	struct sp_transport_cfg cfg = std_cfg();
	ctx_init(&c, &cfg);
	struct sp_sockaddr me;
	int fd = udp_sock(&me);
	const struct sp_sockaddr *ua = listener_addr(c.t, 0);
	assert_int_equal(sendto(fd, msg1, sizeof(msg1) - 1, 0, &ua->u.sa, ua->len),
			 (ssize_t)sizeof(msg1) - 1);
	assert_int_equal(wait_rx(&c, 1, 2000), 1);
	assert_int_equal(c.rx[0].len, sizeof(msg1) - 1);
	assert_memory_equal(c.rx[0].buf, msg1, sizeof(msg1) - 1);
	assert_int_equal(c.rx[0].src.proto, SP_PROTO_UDP);
	assert_true(sp_sockaddr_eq(&c.rx[0].src.addr, &me));
	assert_int_equal(c.rx[0].src.conn, 0);
	assert_int_equal(c.rx[0].src.listener, 0);
	assert_int_equal(c.rx[0].role, SP_ROLE_ACCESS);

	/* The reply goes back from the same listener to the source. */
	struct sp_dest d = c.rx[0].src;
	assert_int_equal(sp_transport_pick_listener(c.t, &d), 0);
	assert_int_equal(sp_transport_send(c.t, &d, msg2, sizeof(msg2) - 1), 0);
	char buf[1024];
	struct sp_sockaddr from;
	from.len = sizeof(from.u);
	ssize_t n = -1;
	for (int i = 0; i < 200 && n < 0; i++) {
		n = recvfrom(fd, buf, sizeof(buf), 0, &from.u.sa, &from.len);
		if (n < 0)
			usleep(5000);
	}
	assert_int_equal(n, sizeof(msg2) - 1);
	assert_memory_equal(buf, msg2, sizeof(msg2) - 1);
	assert_true(sp_sockaddr_eq(&from, ua));
	const struct sp_transport_stats *st = sp_transport_stats(c.t);
	assert_int_equal(st->rx_msgs, 1);
	assert_int_equal(st->tx_msgs, 1);

	/* No UDP listener of the IPv6 family. */
	assert_int_equal(sp_sockaddr_from_host(SP_STR("::1"), 5060, &d.addr), 0);
	d.listener = -1;
	assert_int_equal(sp_transport_send(c.t, &d, msg2, sizeof(msg2) - 1), SP_ENOENT);
	close(fd);
	ctx_free(&c);
}

static void test_udp_icmp_error(void **state)
{
	struct ctx c;
	struct sp_transport_cfg cfg = std_cfg();
	ctx_init(&c, &cfg);
	struct sp_sockaddr closed;
	close(udp_sock(&closed)); /* a port nobody listens on any more */
	struct sp_dest d = { .proto = SP_PROTO_UDP, .addr = closed, .conn = 0, .listener = -1 };
	assert_int_equal(sp_transport_send(c.t, &d, msg1, sizeof(msg1) - 1), 0);
	assert_int_equal(wait_err(&c, 1, 2000), 1);
	assert_int_equal(c.err[0].proto, SP_PROTO_UDP);
	assert_true(sp_sockaddr_eq(&c.err[0].addr, &closed));
	assert_int_equal(c.err[0].listener, 0);
	assert_true(c.errcode[0] < 0);
	assert_int_equal(sp_transport_stats(c.t)->send_errors, 1);
	/* The listener still works afterwards. */
	struct sp_sockaddr me;
	int fd = udp_sock(&me);
	const struct sp_sockaddr *ua = listener_addr(c.t, 0);
	assert_int_equal(sendto(fd, msg1, sizeof(msg1) - 1, 0, &ua->u.sa, ua->len),
			 (ssize_t)sizeof(msg1) - 1);
	assert_int_equal(wait_rx(&c, 1, 2000), 1);
	close(fd);
	ctx_free(&c);
}

/* Datagrams sent inside a batch go out at its end, in order, one sendmmsg
 * per listener; what the kernel would refuse for one datagram alone is
 * refused at once to its caller; past the queue's size, order still holds. */
static void test_udp_batch(void **state)
{
	struct ctx c;
	struct sp_transport_cfg cfg = std_cfg();
	ctx_init(&c, &cfg);
	struct sp_sockaddr a, b;
	int fa = udp_sock(&a), fb = udp_sock(&b);
	struct sp_dest da = { .proto = SP_PROTO_UDP, .addr = a, .conn = 0, .listener = -1 };
	struct sp_dest db = { .proto = SP_PROTO_UDP, .addr = b, .conn = 0, .listener = -1 };
	struct sp_dest port0 = { .proto = SP_PROTO_UDP, .addr = loopback(0), .conn = 0,
				 .listener = -1 };
	char buf[1024];

	sp_transport_batch_begin(c.t);
	sp_transport_batch_begin(c.t); /* nested: only the outer end sends */
	assert_int_equal(sp_transport_send(c.t, &da, msg1, sizeof(msg1) - 1), 0);
	assert_int_equal(sp_transport_send(c.t, &port0, msg2, sizeof(msg2) - 1), SP_EINVAL);
	assert_int_equal(sp_transport_send(c.t, &db, msg2, sizeof(msg2) - 1), 0);
	assert_int_equal(sp_transport_send(c.t, &da, msg3, sizeof(msg3) - 1), 0);
	sp_transport_batch_end(c.t);
	assert_int_equal(recv(fa, buf, sizeof(buf), MSG_DONTWAIT), -1); /* not yet */
	assert_int_equal(sp_transport_stats(c.t)->tx_msgs, 0);
	sp_transport_batch_end(c.t);

	assert_int_equal(recv(fa, buf, sizeof(buf), MSG_DONTWAIT), (ssize_t)sizeof(msg1) - 1);
	assert_memory_equal(buf, msg1, sizeof(msg1) - 1);
	assert_int_equal(recv(fa, buf, sizeof(buf), MSG_DONTWAIT), (ssize_t)sizeof(msg3) - 1);
	assert_memory_equal(buf, msg3, sizeof(msg3) - 1);
	assert_int_equal(recv(fb, buf, sizeof(buf), MSG_DONTWAIT), (ssize_t)sizeof(msg2) - 1);
	assert_memory_equal(buf, msg2, sizeof(msg2) - 1);
	assert_int_equal(sp_transport_stats(c.t)->tx_msgs, 3);
	assert_int_equal(c.nerr, 0);

	/* More than the queue holds (32 datagrams; and 64 KiB: the fourth of the
	 * 20,000-byte ones), to one destination: they arrive in the order sent. */
	static char big[20000];
	int rb = 1 << 20; /* room for all of them in fb's receive buffer */
	if (setsockopt(fb, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) != 0)
		setsockopt(fb, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	sp_transport_batch_begin(c.t);
	for (int i = 0; i < 45; i++) {
		size_t n = i % 9 == 3 ? sizeof(big) : 16;
		snprintf(big, sizeof(big), "datagram %03d", i);
		assert_int_equal(sp_transport_send(c.t, &db, big, n), 0);
	}
	sp_transport_batch_end(c.t);
	for (int i = 0; i < 45; i++) {
		char want[16];
		snprintf(want, sizeof(want), "datagram %03d", i);
		ssize_t n = recv(fb, big, sizeof(big), MSG_DONTWAIT);
		assert_int_equal(n, i % 9 == 3 ? (ssize_t)sizeof(big) : 16);
		assert_memory_equal(big, want, 12);
	}
	assert_int_equal(c.nerr, 0);
	close(fa);
	close(fb);
	ctx_free(&c);
}

static void test_tcp_in(void **state)
{
	struct ctx c;
	struct sp_transport_cfg cfg = std_cfg();
	ctx_init(&c, &cfg);
	int fd = tcp_connect(listener_addr(c.t, 1));
	char two[sizeof(msg1) + sizeof(msg2)];
	memcpy(two, msg1, sizeof(msg1) - 1);
	memcpy(two + sizeof(msg1) - 1, msg2, sizeof(msg2) - 1);
	size_t twolen = sizeof(msg1) + sizeof(msg2) - 2;
	assert_int_equal(write(fd, two, twolen), (ssize_t)twolen);
	assert_int_equal(wait_rx(&c, 2, 2000), 2);
	/* The third message byte by byte, with the loop reading in between. */
	for (size_t i = 0; i < sizeof(msg3) - 1; i++) {
		assert_int_equal(write(fd, msg3 + i, 1), 1);
		if (i % 16 == 0)
			run_for(c.loop, 1);
	}
	assert_int_equal(wait_rx(&c, 3, 2000), 3);
	const char *want[3] = { msg1, msg2, msg3 };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c.rx[i].len, strlen(want[i]));
		assert_memory_equal(c.rx[i].buf, want[i], c.rx[i].len);
		assert_int_equal(c.rx[i].src.proto, SP_PROTO_TCP);
		assert_int_equal(c.rx[i].src.listener, 1);
		assert_int_equal(c.rx[i].role, SP_ROLE_PEERING);
		assert_true(c.rx[i].src.conn != 0);
		assert_true(c.rx[i].src.conn == c.rx[0].src.conn);
	}

	/* A reply on the connection it came on. */
	char buf[1024];
	assert_int_equal(sp_transport_send(c.t, &c.rx[0].src, msg2, sizeof(msg2) - 1), 0);
	assert_int_equal(recv_wait(c.loop, fd, buf, sizeof(msg2) - 1, 2000), sizeof(msg2) - 1);
	assert_memory_equal(buf, msg2, sizeof(msg2) - 1);
	/* By address only: the accepted connection is reused. */
	struct sp_dest d = { SP_PROTO_TCP, c.rx[0].src.addr, 0, -1 };
	assert_int_equal(sp_transport_send(c.t, &d, msg3, sizeof(msg3) - 1), 0);
	assert_int_equal(recv_wait(c.loop, fd, buf, sizeof(msg3) - 1, 2000), sizeof(msg3) - 1);
	assert_memory_equal(buf, msg3, sizeof(msg3) - 1);
	assert_int_equal(sp_transport_stats(c.t)->conns_open, 1);

	/* RFC 5626 keep-alive: CRLF CRLF is answered with CRLF. */
	assert_int_equal(write(fd, "\r\n\r\n", 4), 4);
	assert_int_equal(recv_wait(c.loop, fd, buf, 2, 2000), 2);
	assert_memory_equal(buf, "\r\n", 2);
	assert_int_equal(sp_transport_stats(c.t)->keepalives, 1);
	assert_int_equal(c.nrx, 3);

	/* No Content-Length on a stream: framing is lost, the connection closes. */
	static const char bad[] = "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n";
	assert_int_equal(write(fd, bad, sizeof(bad) - 1), (ssize_t)sizeof(bad) - 1);
	assert_true(recv_wait(c.loop, fd, buf, sizeof(buf), 2000) <= 0);
	assert_int_equal(sp_transport_stats(c.t)->frame_errors, 1);
	assert_int_equal(sp_transport_stats(c.t)->conns_open, 0);
	assert_int_equal(c.nrx, 3);
	close(fd);
	ctx_free(&c);
}

/* A stream message above max_stream_msg (4096 here) closes the connection
 * as soon as its headers show the size. */
static void test_tcp_too_big(void **state)
{
	struct ctx c;
	struct sp_transport_cfg cfg = std_cfg();
	ctx_init(&c, &cfg);
	int fd = tcp_connect(listener_addr(c.t, 1));
	static const char hdr[] = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n";
	assert_int_equal(write(fd, hdr, sizeof(hdr) - 1), (ssize_t)sizeof(hdr) - 1);
	char buf[16];
	assert_true(recv_wait(c.loop, fd, buf, sizeof(buf), 2000) <= 0);
	assert_int_equal(sp_transport_stats(c.t)->frame_errors, 1);
	assert_int_equal(sp_transport_stats(c.t)->conns_open, 0);
	assert_int_equal(c.nrx, 0);
	close(fd);
	ctx_free(&c);
}

static void test_tcp_out(void **state)
{
	struct ctx c;
	struct sp_transport_cfg cfg = std_cfg();
	ctx_init(&c, &cfg);
	/* A peer listening with a plain socket. */
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sp_sockaddr la = loopback(0);
	assert_int_equal(bind(lfd, &la.u.sa, la.len), 0);
	assert_int_equal(listen(lfd, 4), 0);
	la.len = sizeof(la.u);
	assert_int_equal(getsockname(lfd, &la.u.sa, &la.len), 0);

	struct sp_dest d = { SP_PROTO_TCP, la, 0, -1 };
	assert_int_equal(sp_transport_send(c.t, &d, msg1, sizeof(msg1) - 1), 0);
	/* Queued while connecting: a second message goes on the same connection. */
	assert_int_equal(sp_transport_send(c.t, &d, msg2, sizeof(msg2) - 1), 0);
	int afd = -1;
	for (int i = 0; i < 400 && afd < 0; i++) {
		afd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (afd < 0)
			run_for(c.loop, 5);
	}
	assert_true(afd >= 0);
	char buf[1024];
	size_t both = sizeof(msg1) + sizeof(msg2) - 2;
	assert_int_equal(recv_wait(c.loop, afd, buf, both, 2000), (ssize_t)both);
	assert_memory_equal(buf, msg1, sizeof(msg1) - 1);
	assert_memory_equal(buf + sizeof(msg1) - 1, msg2, sizeof(msg2) - 1);
	assert_int_equal(sp_transport_stats(c.t)->conns_open, 1);
	/* An answer from the peer arrives on that connection. */
	assert_int_equal(write(afd, msg3, sizeof(msg3) - 1), (ssize_t)sizeof(msg3) - 1);
	assert_int_equal(wait_rx(&c, 1, 2000), 1);
	assert_true(c.rx[0].src.conn != 0);
	assert_true(sp_sockaddr_eq(&c.rx[0].src.addr, &la));
	/* The connection left from the TCP listener's address. */
	struct sp_sockaddr local;
	local.len = sizeof(local.u);
	assert_int_equal(getpeername(afd, &local.u.sa, &local.len), 0);
	assert_true(sp_sockaddr_eq_host(&local, listener_addr(c.t, 1)));
	assert_int_equal(accept4(lfd, NULL, NULL, SOCK_NONBLOCK), -1);
	close(afd);
	close(lfd);
	ctx_free(&c);
}

static void test_tcp_refused(void **state)
{
	struct ctx c;
	struct sp_transport_cfg cfg = std_cfg();
	ctx_init(&c, &cfg);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sp_sockaddr a = loopback(0);
	assert_int_equal(bind(fd, &a.u.sa, a.len), 0);
	a.len = sizeof(a.u);
	assert_int_equal(getsockname(fd, &a.u.sa, &a.len), 0);
	close(fd); /* bound, never listened: refused */
	struct sp_dest d = { SP_PROTO_TCP, a, 0, -1 };
	assert_int_equal(sp_transport_send(c.t, &d, msg1, sizeof(msg1) - 1), 0);
	assert_int_equal(sp_transport_send(c.t, &d, msg2, sizeof(msg2) - 1), 0);
	assert_int_equal(wait_err(&c, 2, 2000), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(c.err[i].proto, SP_PROTO_TCP);
		assert_true(sp_sockaddr_eq(&c.err[i].addr, &a));
		assert_true(c.errcode[i] < 0);
	}
	assert_int_equal(sp_transport_stats(c.t)->conns_open, 0);
	ctx_free(&c);
}

static int plain_listener(struct sp_sockaddr *la)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	*la = loopback(0);
	assert_int_equal(bind(lfd, &la->u.sa, la->len), 0);
	assert_int_equal(listen(lfd, 4), 0);
	la->len = sizeof(la->u);
	assert_int_equal(getsockname(lfd, &la->u.sa, &la->len), 0);
	return lfd;
}

static void test_caps(void **state)
{
	struct ctx c;
	struct sp_transport_cfg cfg = std_cfg();
	cfg.max_conns = 3;
	cfg.max_conns_per_ip = 2;
	cfg.max_pending_out = 256;
	ctx_init(&c, &cfg);
	int fd[3];
	for (int i = 0; i < 3; i++) {
		fd[i] = tcp_connect(listener_addr(c.t, 1));
		run_for(c.loop, 10);
	}
	char buf[16];
	/* The third was accepted and closed at once (max_conns_per_ip). */
	assert_true(recv_wait(c.loop, fd[2], buf, sizeof(buf), 2000) <= 0);
	const struct sp_transport_stats *st = sp_transport_stats(c.t);
	assert_int_equal(st->conns_refused_cap, 1);
	assert_int_equal(st->conns_open, 2);
	assert_int_equal(recv(fd[0], buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	/* The first two still carry messages. */
	assert_int_equal(write(fd[1], msg1, sizeof(msg1) - 1), (ssize_t)sizeof(msg1) - 1);
	assert_int_equal(wait_rx(&c, 1, 2000), 1);

	/* Outgoing: the third connection is allowed (max_conns 3); while it
	 * connects its queue holds at most max_pending_out bytes. */
	struct sp_sockaddr la, lb;
	int lfd = plain_listener(&la), lfd2 = plain_listener(&lb);
	struct sp_dest d = { SP_PROTO_TCP, la, 0, -1 };
	char big[200];
	memset(big, 'x', sizeof(big));
	assert_int_equal(sp_transport_send(c.t, &d, big, sizeof(big)), 0);
	assert_int_equal(sp_transport_send(c.t, &d, big, sizeof(big)), SP_E2BIG);
	assert_int_equal(st->conns_open, 3);
	/* A fourth connection would pass max_conns. */
	d.addr = lb;
	assert_int_equal(sp_transport_send(c.t, &d, msg1, sizeof(msg1) - 1), SP_E2BIG);
	assert_int_equal(st->conns_open, 3);
	/* Only the first 200 bytes reach the peer. */
	int afd = -1;
	for (int i = 0; i < 400 && afd < 0; i++) {
		afd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (afd < 0)
			run_for(c.loop, 5);
	}
	assert_true(afd >= 0);
	char rbuf[512];
	assert_int_equal(recv_wait(c.loop, afd, rbuf, sizeof(rbuf), 300), sizeof(big));
	close(afd);
	close(lfd);
	close(lfd2);
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	ctx_free(&c);
}

static void test_udp_v6(void **state)
{
	struct sp_listen_spec ls[1];
	struct sp_sockaddr any6;
	assert_int_equal(sp_sockaddr_from_host(SP_STR("[::1]"), 0, &any6), 0);
	int probe = socket(AF_INET6, SOCK_DGRAM, 0);
	if (probe < 0 || bind(probe, &any6.u.sa, any6.len) < 0) {
		if (probe >= 0)
			close(probe);
		skip(); /* no IPv6 loopback here */
	}
	any6.len = sizeof(any6.u);
	assert_int_equal(getsockname(probe, &any6.u.sa, &any6.len), 0);
	ls[0] = (struct sp_listen_spec){ SP_PROTO_UDP, any6, SP_ROLE_ACCESS };
	sp_sockaddr_set_port(&ls[0].addr, 0);
	struct sp_transport_cfg cfg = std_cfg();
	cfg.listen = ls;
	cfg.nlisten = 1;
	struct ctx c;
	ctx_init(&c, &cfg);
	const struct sp_sockaddr *ua = listener_addr(c.t, 0);
	assert_int_equal(ua->u.sa.sa_family, AF_INET6);
	assert_int_equal(sendto(probe, msg1, sizeof(msg1) - 1, 0, &ua->u.sa, ua->len),
			 (ssize_t)sizeof(msg1) - 1);
	assert_int_equal(wait_rx(&c, 1, 2000), 1);
	assert_true(sp_sockaddr_eq(&c.rx[0].src.addr, &any6));
	char s[SP_SOCKADDR_STRLEN];
	sp_sockaddr_fmt(&c.rx[0].src.addr, false, true, s, sizeof(s));
	assert_string_equal(s, "::1");
	assert_int_equal(sp_transport_send(c.t, &c.rx[0].src, msg2, sizeof(msg2) - 1), 0);
	char buf[512];
	ssize_t n = -1;
	for (int i = 0; i < 200 && n < 0; i++) {
		n = recv(probe, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			usleep(5000);
	}
	assert_int_equal(n, sizeof(msg2) - 1);
	/* An IPv4 destination has no listener here. */
	struct sp_dest d = { SP_PROTO_UDP, loopback(5060), 0, -1 };
	assert_int_equal(sp_transport_send(c.t, &d, msg2, sizeof(msg2) - 1), SP_ENOENT);
	/* ICMP errors come back on IPv6 too. */
	struct sp_sockaddr closed = any6;
	close(probe);
	d = (struct sp_dest){ SP_PROTO_UDP, closed, 0, -1 };
	assert_int_equal(sp_transport_send(c.t, &d, msg1, sizeof(msg1) - 1), 0);
	assert_int_equal(wait_err(&c, 1, 2000), 1);
	assert_true(sp_sockaddr_eq(&c.err[0].addr, &closed));
	ctx_free(&c);
}

static void test_idle_timeout(void **state)
{
	struct ctx c;
	struct sp_transport_cfg cfg = std_cfg();
	cfg.idle_timeout_ms = 200;
	ctx_init(&c, &cfg);
	int fd = tcp_connect(listener_addr(c.t, 1));
	uint64_t start = sp_now_ms();
	assert_int_equal(write(fd, msg1, sizeof(msg1) - 1), (ssize_t)sizeof(msg1) - 1);
	assert_int_equal(wait_rx(&c, 1, 2000), 1);
	char buf[16];
	assert_true(recv_wait(c.loop, fd, buf, sizeof(buf), 3000) <= 0);
	assert_true(sp_now_ms() - start >= 190);
	const struct sp_transport_stats *st = sp_transport_stats(c.t);
	assert_int_equal(st->conns_closed_idle, 1);
	assert_int_equal(st->conns_open, 0);
	close(fd);
	ctx_free(&c);
}

/* TLS: a throwaway CA, server and client certificates made by the openssl
 * command line in a temporary directory, removed afterwards. */
static char tlsdir[64];

static int make_certs(void)
{
	snprintf(tlsdir, sizeof(tlsdir), "/tmp/sipeer-tls-XXXXXX");
	if (!mkdtemp(tlsdir))
		return -1;
	char cmd[4096];
	int n = snprintf(cmd, sizeof(cmd),
		"(cd %s && "
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		"-keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca "
		"-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign && "
		"for n in server client; do "
		"openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key "
		"-out $n.csr -subj /CN=$n-cn -addext subjectAltName=DNS:$n.test && "
		"openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		"-out $n.pem -days 2 -copy_extensions copy || exit 1; done)",
		tlsdir);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	return system(cmd) == 0 ? 0 : -1;
}

static void remove_certs(void)
{
	static const char *const files[] = { "ca.key", "ca.pem", "ca.srl", "server.key",
					     "server.csr", "server.pem", "client.key",
					     "client.csr", "client.pem" };
	char p[128];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", tlsdir, files[i]);
		unlink(p);
	}
	rmdir(tlsdir);
}

static int tls_setup(void **state)
{
	return make_certs();
}

static int tls_teardown(void **state)
{
	remove_certs();
	return 0;
}

static char *path(const char *name)
{
	static char bufs[6][128];
	static int i;
	char *p = bufs[i++ % 6];
	snprintf(p, 128, "%s/%s", tlsdir, name);
	return p;
}

static struct sp_listen_spec tls_listen[1];

static void tls_server(struct ctx *c, struct sp_loop *loop)
{
	tls_listen[0] = (struct sp_listen_spec){ SP_PROTO_TLS, loopback(0), SP_ROLE_PEERING };
	struct sp_transport_cfg cfg = std_cfg();
	cfg.listen = tls_listen;
	cfg.nlisten = 1;
	cfg.tls_cert = path("server.pem");
	cfg.tls_key = path("server.key");
	cfg.tls_ca = path("ca.pem");
	cfg.max_stream_msg = 65536;
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	assert_int_equal(sp_transport_create(loop, &cfg, &handlers, c, &c->t), 0);
}

/* Both transports share one loop; wait on either's counters. */
static void run_until(struct sp_loop *loop, int *counter, int n, uint64_t max_ms)
{
	uint64_t end = sp_now_ms() + max_ms;
	while (*counter < n && sp_now_ms() < end)
		run_for(loop, 5);
}

static void test_tls_mutual(void **state)
{
	struct sp_loop *loop;
	struct ctx srv, cli;
	assert_int_equal(sp_loop_create(1024, &loop), 0);
	tls_server(&srv, loop);
	struct sp_transport_cfg cfg = std_cfg();
	cfg.nlisten = 0;
	cfg.tls_cert = path("client.pem");
	cfg.tls_key = path("client.key");
	cfg.tls_ca = path("ca.pem");
	memset(&cli, 0, sizeof(cli));
	cli.loop = loop;
	assert_int_equal(sp_transport_create(loop, &cfg, &handlers, &cli, &cli.t), 0);

	struct sp_dest d = { SP_PROTO_TLS, *listener_addr(srv.t, 0), 0, -1 };
	assert_int_equal(sp_transport_send(cli.t, &d, msg1, sizeof(msg1) - 1), 0);
	run_until(loop, &srv.nrx, 1, 3000);
	assert_int_equal(srv.nrx, 1);
	assert_int_equal(srv.rx[0].len, sizeof(msg1) - 1);
	assert_memory_equal(srv.rx[0].buf, msg1, sizeof(msg1) - 1);
	assert_int_equal(srv.rx[0].src.proto, SP_PROTO_TLS);
	assert_int_equal(srv.rx[0].role, SP_ROLE_PEERING);
	assert_int_equal(srv.rx[0].nsan, 1);
	assert_string_equal(srv.rx[0].san, "client.test");

	/* The answer comes back on the same connection, with the server's name. */
	assert_int_equal(sp_transport_send(srv.t, &srv.rx[0].src, msg2, sizeof(msg2) - 1), 0);
	run_until(loop, &cli.nrx, 1, 3000);
	assert_int_equal(cli.nrx, 1);
	assert_memory_equal(cli.rx[0].buf, msg2, sizeof(msg2) - 1);
	assert_string_equal(cli.rx[0].san, "server.test");
	assert_int_equal(sp_transport_stats(cli.t)->conns_open, 1);
	assert_int_equal(sp_transport_stats(srv.t)->conns_accepted, 1);

	/* A message spanning several TLS records, twice in a row, on the
	 * same connection. */
	static char big[40000];
	static const char head[] = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 30000\r\n\r\n";
	size_t blen = sizeof(head) - 1 + 30000;
	memcpy(big, head, sizeof(head) - 1);
	for (size_t i = sizeof(head) - 1; i < blen; i++)
		big[i] = (char)('a' + i % 26);
	struct sp_dest again = { SP_PROTO_TLS, *listener_addr(srv.t, 0), 0, -1 };
	assert_int_equal(sp_transport_send(cli.t, &again, big, blen), 0);
	assert_int_equal(sp_transport_send(cli.t, &again, big, blen), 0);
	srv.nrx = 0;
	bigrx = 0;
	srv_big = &srv;
	run_until(loop, &bigrx, 2, 3000);
	assert_int_equal(bigrx, 2);
	assert_int_equal(sp_transport_stats(cli.t)->conns_open, 1);
	assert_int_equal(sp_transport_stats(srv.t)->conns_accepted, 1);

	srv_big = NULL;
	sp_transport_destroy(cli.t);
	sp_transport_destroy(srv.t);
	sp_loop_destroy(loop);
}

static void test_tls_no_client_cert(void **state)
{
	struct sp_loop *loop;
	struct ctx srv, cli;
	assert_int_equal(sp_loop_create(1024, &loop), 0);
	tls_server(&srv, loop);
	struct sp_transport_cfg cfg = std_cfg();
	cfg.nlisten = 0;
	cfg.tls_ca = path("ca.pem");
	memset(&cli, 0, sizeof(cli));
	cli.loop = loop;
	assert_int_equal(sp_transport_create(loop, &cfg, &handlers, &cli, &cli.t), 0);

	struct sp_dest d = { SP_PROTO_TLS, *listener_addr(srv.t, 0), 0, -1 };
	assert_int_equal(sp_transport_send(cli.t, &d, msg1, sizeof(msg1) - 1), 0);
	/* The server refuses the handshake: nothing is delivered and both ends
	 * close. (With TLS 1.3 the client learns it only after sending.) */
	uint64_t end = sp_now_ms() + 3000;
	while (sp_now_ms() < end && (sp_transport_stats(cli.t)->conns_open ||
				     sp_transport_stats(srv.t)->conns_open))
		run_for(loop, 5);
	assert_int_equal(srv.nrx, 0);
	assert_int_equal(sp_transport_stats(srv.t)->conns_accepted, 1);
	assert_int_equal(sp_transport_stats(srv.t)->conns_open, 0);
	assert_int_equal(sp_transport_stats(cli.t)->conns_open, 0);

	sp_transport_destroy(cli.t);
	sp_transport_destroy(srv.t);
	sp_loop_destroy(loop);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_roundtrip),
		cmocka_unit_test(test_udp_icmp_error),
		cmocka_unit_test(test_udp_batch),
		cmocka_unit_test(test_udp_v6),
		cmocka_unit_test(test_tcp_in),
		cmocka_unit_test(test_tcp_too_big),
		cmocka_unit_test(test_tcp_out),
		cmocka_unit_test(test_tcp_refused),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_idle_timeout),
	};
	const struct CMUnitTest tls_tests[] = {
		cmocka_unit_test(test_tls_mutual),
		cmocka_unit_test(test_tls_no_client_cert),
	};
	int fails = cmocka_run_group_tests(tests, NULL, NULL);
	fails += cmocka_run_group_tests_name("tls", tls_tests, tls_setup, tls_teardown);
	return fails;
}
