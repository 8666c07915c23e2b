/* stream.c: TCP and TLS connections: accept, connect, framed receive, the write queue. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "io/loop.h"
#include "transport/tpi.h"

/* Reads per wake-up of one connection before other fds get their turn. */
#define SP_STREAM_ROUNDS 8
#define SP_LISTEN_BACKLOG 1024
/* Connections accepted per wake-up of a listener. */
#define SP_ACCEPT_BATCH 64

static void log_limited(struct sp_transport *t, struct sp_log_ratelimit *rl,
			enum sp_log_level lvl, const char *what, const struct sp_sockaddr *a,
			const char *why)
{
	uint64_t supp = 0;
	if (!sp_log_ratelimit(rl, sp_loop_now(t->loop), &supp))
		return;
	char s[SP_SOCKADDR_STRLEN];
	sp_sockaddr_fmt(a, true, false, s, sizeof(s));
	sp_log(lvl, "%s %s: %s (%llu similar suppressed)", what, s, why,
	       (unsigned long long)supp);
}

static ssize_t conn_read(struct sp_conn *c, char *buf, size_t len)
{
	if (c->ssl)
		return sp_tls_read(c, buf, len);
	ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return SP_EAGAIN;
	return SP_ENOENT;
}

static ssize_t conn_write(struct sp_conn *c, const char *buf, size_t len)
{
	if (c->ssl)
		return sp_tls_write(c, buf, len);
	ssize_t n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return SP_EAGAIN;
	return SP_ENOENT;
}

/* Writes what the queue holds until the socket is full. 0 or SP_ENOENT
 * (the caller closes). */
static int flush(struct sp_conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = conn_write(c, c->wbuf + c->woff, c->wlen - c->woff);
		if (n == SP_EAGAIN)
			break;
		if (n <= 0)
			return SP_ENOENT;
		c->woff += (size_t)n;
		c->last_io = sp_loop_now(c->t->loop);
	}
	if (c->woff == c->wlen) {
		c->woff = c->wlen = 0;
		c->wmsgs = 0;
	}
	return 0;
}

/* Appends to the write queue, compacting it first; the queue never holds
 * more than max_pending_out bytes. */
static int enqueue(struct sp_conn *c, const char *buf, size_t len)
{
	size_t pending = c->wlen - c->woff;
	size_t max = c->t->cfg.max_pending_out;
	if (len > max || pending > max - len)
		return SP_E2BIG;
	if (c->woff) {
		memmove(c->wbuf, c->wbuf + c->woff, pending);
		c->woff = 0;
		c->wlen = pending;
	}
	if (c->wlen + len > c->wcap) {
		size_t cap = c->wcap ? c->wcap : SP_STREAM_RCHUNK;
		while (cap < c->wlen + len)
			cap *= 2;
		if (cap > max)
			cap = max;
		char *p = realloc(c->wbuf, cap);
		if (!p)
			return SP_ENOMEM;
		c->wbuf = p;
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, buf, len);
	c->wlen += len;
	c->wmsgs++;
	return 0;
}

/* Sends on c: straight to the socket when nothing is waiting (no copy),
 * the rest into the queue. An immediate write failure closes c without
 * send_error (the caller gets the error); returns 0 or an SP_E*. */
static int conn_send_raw(struct sp_conn *c, const char *buf, size_t len)
{
	struct sp_transport *t = c->t;
	size_t done = 0;
	if (c->state == SP_CONN_OPEN && c->woff == c->wlen) {
		while (done < len) {
			ssize_t n = conn_write(c, buf + done, len - done);
			if (n == SP_EAGAIN)
				break;
			if (n <= 0) {
				sp_conn_close(c, 0, "write failed");
				return SP_ENOENT;
			}
			done += (size_t)n;
		}
		c->last_io = sp_loop_now(t->loop);
	}
	if (done < len) {
		int ret = enqueue(c, buf + done, len - done);
		if (ret < 0) {
			log_limited(t, &t->rl_cap, SP_LOG_WARN, "write queue full for", &c->peer,
				    "send refused");
			/* Part of the message is on the wire: the stream is broken. */
			if (done)
				sp_conn_close(c, SP_E2BIG, "write queue full mid-message");
			return ret;
		}
		sp_conn_update_io(c);
	}
	return 0;
}

static int conn_send(struct sp_conn *c, const char *buf, size_t len)
{
	struct sp_transport *t = c->t;
	int ret = conn_send_raw(c, buf, len);
	if (ret == 0) {
		t->st.tx_msgs++;
		t->st.tx_bytes += len;
	}
	return ret;
}

static void deliver(struct sp_conn *c, const char *buf, size_t len)
{
	struct sp_transport *t = c->t;
	struct sp_rx rx = {
		.buf = buf,
		.len = len,
		.role = c->role,
		.tls = c->tls_verified && c->tls.nsan ? &c->tls : NULL,
		.now_ms = sp_loop_now(t->loop),
	};
	sp_conn_dest(c, &rx.src);
	t->st.rx_msgs++;
	t->st.rx_bytes += len;
	t->h.rx(t->arg, &rx);
}

/* Hands every complete frame in rbuf to the layer above and keeps the
 * partial one at the front. Returns false when c was closed. */
static bool frames(struct sp_conn *c)
{
	struct sp_transport *t = c->t;
	size_t off = 0;
	while (off < c->rlen) {
		enum sp_frame_kind kind;
		size_t flen;
		int r = sp_framer_feed(&c->fr, c->rbuf + off, c->rlen - off, &kind, &flen);
		if (r == SP_EAGAIN)
			break;
		if (r < 0) {
			t->st.frame_errors++;
			log_limited(t, &t->rl_frame, SP_LOG_NOTICE, "framing error from", &c->peer,
				    sp_framer_error(&c->fr));
			sp_conn_close(c, 0, "framing error");
			return false;
		}
		if (kind == SP_FRAME_MESSAGE) {
			deliver(c, c->rbuf + off, flen);
			if (c->dead)
				return false;
		} else if (kind == SP_FRAME_KEEPALIVE_PING) {
			/* RFC 5626 section 3.5.1: a CRLF pong answers the ping. */
			t->st.keepalives++;
			if (conn_send_raw(c, "\r\n", 2) < 0 && c->dead)
				return false;
		}
		off += flen;
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	return true;
}

static void do_read(struct sp_conn *c)
{
	struct sp_transport *t = c->t;
	size_t max = c->fr.max_msg;
	c->read_wants_write = false;
	for (int round = 0; round < SP_STREAM_ROUNDS || (c->ssl && SSL_pending(c->ssl)); round++) {
		if (round > SP_STREAM_ROUNDS + 64)
			break; /* SSL_pending cannot keep us here forever */
		if (c->rcap - c->rlen < SP_STREAM_RCHUNK && c->rcap < max) {
			size_t cap = c->rcap ? c->rcap * 2 : SP_STREAM_RCHUNK * 2;
			if (cap > max)
				cap = max;
			char *p = realloc(c->rbuf, cap);
			if (!p) {
				sp_conn_close(c, 0, "out of memory");
				return;
			}
			c->rbuf = p;
			c->rcap = cap;
		}
		if (c->rlen == c->rcap) {
			/* The framer decides within max_msg bytes; this is defence in depth. */
			t->st.frame_errors++;
			sp_conn_close(c, 0, "message too large");
			return;
		}
		size_t room = c->rcap - c->rlen;
		ssize_t n = conn_read(c, c->rbuf + c->rlen, room);
		if (n == SP_EAGAIN)
			return;
		if (n == 0) {
			sp_conn_close(c, SP_ENOENT, "closed by peer");
			return;
		}
		if (n < 0) {
			sp_conn_close(c, SP_ENOENT, "reset");
			return;
		}
		c->rlen += (size_t)n;
		c->last_io = sp_loop_now(t->loop);
		if (!frames(c))
			return;
		if ((size_t)n < room && !(c->ssl && SSL_pending(c->ssl)))
			return;
	}
}

static void conn_fail(struct sp_conn *c, int err, const char *why)
{
	log_limited(c->t, &c->t->rl_io, SP_LOG_NOTICE,
		    c->incoming ? "connection from" : "connection to", &c->peer, why);
	sp_conn_close(c, err, why);
}

/* The connection's one handler: connect completion, TLS handshake, then
 * reading and writing. c is marked busy so nothing it calls frees it. */
static void conn_io(int fd, unsigned events, void *arg)
{
	struct sp_conn *c = arg;
	c->busy = true;
	if (c->state == SP_CONN_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err) {
			conn_fail(c, SP_ENOENT, strerror(err));
			goto out;
		}
		if (!(events & (SP_IO_WRITE | SP_IO_ERROR)))
			goto out;
		c->last_io = sp_loop_now(c->t->loop);
		c->state = c->ssl ? SP_CONN_HANDSHAKE : SP_CONN_OPEN;
	}
	if (c->state == SP_CONN_HANDSHAKE) {
		int r = sp_tls_handshake(c);
		if (r == SP_EAGAIN)
			goto out;
		if (r < 0) {
			sp_conn_close(c, SP_EINVAL, "TLS handshake failed");
			goto out;
		}
		c->state = SP_CONN_OPEN;
		c->last_io = sp_loop_now(c->t->loop);
		events |= SP_IO_READ | SP_IO_WRITE; /* data may wait on either side */
	}
	if ((events & SP_IO_WRITE) && c->read_wants_write)
		events |= SP_IO_READ;
	if ((events & SP_IO_WRITE) && c->woff < c->wlen && flush(c) < 0) {
		sp_conn_close(c, SP_ENOENT, "write failed");
		goto out;
	}
	if (events & (SP_IO_READ | SP_IO_ERROR))
		do_read(c);
	if (!c->dead && c->woff < c->wlen && flush(c) < 0)
		sp_conn_close(c, SP_ENOENT, "write failed");
out:
	c->busy = false;
	if (c->dead)
		sp_conn_release(c);
	else
		sp_conn_update_io(c);
}

static int conn_watch(struct sp_conn *c)
{
	unsigned io = c->state == SP_CONN_CONNECTING ? SP_IO_WRITE : SP_IO_READ;
	int ret = sp_loop_fd_add(c->t->loop, c->fd, io, conn_io, c);
	if (ret == 0)
		c->io = io;
	return ret;
}

static void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void accept_io(int fd, unsigned events, void *arg)
{
	struct sp_listener *l = arg;
	struct sp_transport *t = l->t;

	for (int k = 0; k < SP_ACCEPT_BATCH; k++) {
		struct sp_sockaddr peer;
		socklen_t len = sizeof(peer.u);
		memset(&peer, 0, sizeof(peer));
		int cfd = accept4(fd, &peer.u.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_limited(t, &t->rl_cap, SP_LOG_WARN, "accept on",
					    &l->info->addr, strerror(errno));
			return;
		}
		peer.len = len;
		if (t->nconns >= t->cfg.max_conns ||
		    sp_conn_count_ip(t, &peer) >= t->cfg.max_conns_per_ip) {
			t->st.conns_refused_cap++;
			log_limited(t, &t->rl_cap, SP_LOG_WARN, "connection refused (cap) from",
				    &peer, t->nconns >= t->cfg.max_conns ? "max_conns" :
				    "max_conns_per_ip");
			close(cfd);
			continue;
		}
		set_nodelay(cfd);
		struct sp_conn *c;
		if (sp_conn_new(t, cfd, l->info->proto, &peer, true, l->index, &c) < 0) {
			close(cfd);
			continue;
		}
		t->st.conns_accepted++;
		if (l->info->proto == SP_PROTO_TLS) {
			c->state = SP_CONN_HANDSHAKE;
			if (sp_tls_conn_start(c) < 0) {
				sp_conn_close(c, 0, "TLS setup failed");
				continue;
			}
		}
		if (conn_watch(c) < 0) {
			sp_conn_close(c, 0, "cannot watch");
			continue;
		}
		char a[SP_SOCKADDR_STRLEN];
		sp_sockaddr_fmt(&peer, true, false, a, sizeof(a));
		sp_log(SP_LOG_DEBUG, "%s connection %llu accepted from %s",
		       sp_proto_name(c->proto), (unsigned long long)c->id, a);
	}
}

int sp_stream_listen(struct sp_transport *t, struct sp_listener *l)
{
	int one = 1, ret = SP_EINVAL;
	int fam = l->info->addr.u.sa.sa_family;
	int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return SP_EINVAL;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, &l->info->addr.u.sa, l->info->addr.len) < 0 ||
	    listen(fd, SP_LISTEN_BACKLOG) < 0)
		goto out;
	socklen_t len = sizeof(l->info->addr.u);
	if (getsockname(fd, &l->info->addr.u.sa, &len) < 0)
		goto out;
	l->info->addr.len = len;
	ret = sp_loop_fd_add(t->loop, fd, SP_IO_READ, accept_io, l);
	if (ret < 0)
		goto out;
	l->fd = fd;
	return 0;
out:
	close(fd);
	return ret;
}

static bool is_any(const struct sp_sockaddr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return a->u.in.sin_addr.s_addr == htonl(INADDR_ANY);
	return memcmp(&a->u.in6.sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
}

/* Opens a connection to dst; the message waits in its queue until the
 * connect (and TLS handshake) completes. */
static int connect_new(struct sp_transport *t, const struct sp_dest *dst, struct sp_conn **out)
{
	int ret = SP_ENOENT;
	if (t->nconns >= t->cfg.max_conns) {
		log_limited(t, &t->rl_cap, SP_LOG_WARN, "no connection (max_conns) to", &dst->addr,
			    "send refused");
		return SP_E2BIG;
	}
	if (dst->proto == SP_PROTO_TLS && !t->cli_ctx)
		return SP_ENOENT;
	int fam = dst->addr.u.sa.sa_family;
	if (fam != AF_INET && fam != AF_INET6)
		return SP_EINVAL;
	int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return SP_ENOENT;
	set_nodelay(fd);
	struct sp_dest pick = *dst;
	int li = sp_transport_pick_listener(t, &pick);
	if (li >= 0 && (t->infos[li].proto != dst->proto ||
			t->infos[li].addr.u.sa.sa_family != fam))
		li = -1;
	/* Leave from the listener's address, so the peer sees the source it
	 * knows us by (the port stays ephemeral). */
	if (li >= 0 && !is_any(&t->infos[li].addr)) {
		struct sp_sockaddr src = t->infos[li].addr;
		int one = 1;
		sp_sockaddr_set_port(&src, 0);
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, &src.u.sa, src.len) < 0)
			goto out;
	}
	if (connect(fd, &dst->addr.u.sa, dst->addr.len) < 0 && errno != EINPROGRESS)
		goto out;
	struct sp_conn *c;
	ret = sp_conn_new(t, fd, dst->proto, &dst->addr, false, li, &c);
	if (ret < 0)
		goto out;
	c->state = SP_CONN_CONNECTING;
	if (dst->proto == SP_PROTO_TLS && sp_tls_conn_start(c) < 0) {
		sp_conn_close(c, 0, "TLS setup failed");
		return SP_ENOENT;
	}
	if (conn_watch(c) < 0) {
		sp_conn_close(c, 0, "cannot watch");
		return SP_ENOENT;
	}
	char a[SP_SOCKADDR_STRLEN];
	sp_sockaddr_fmt(&dst->addr, true, false, a, sizeof(a));
	sp_log(SP_LOG_DEBUG, "%s connection %llu to %s opening", sp_proto_name(c->proto),
	       (unsigned long long)c->id, a);
	*out = c;
	return 0;
out:
	log_limited(t, &t->rl_io, SP_LOG_NOTICE, "connect to", &dst->addr, strerror(errno));
	close(fd);
	return ret;
}

int sp_stream_send(struct sp_transport *t, const struct sp_dest *dst, const char *buf,
		   size_t len)
{
	struct sp_conn *c = NULL;
	if (dst->conn) {
		c = sp_conn_by_id(t, dst->conn);
		if (c && c->proto != dst->proto)
			c = NULL;
	}
	if (!c)
		c = sp_conn_by_addr(t, dst->proto, &dst->addr);
	if (!c) {
		int ret = connect_new(t, dst, &c);
		if (ret < 0)
			return ret;
	}
	return conn_send(c, buf, len);
}
