/* udp.c: UDP listeners: batched receive with recvmmsg, batched send with sendmmsg (else sendto), ICMP errors from the socket error queue. */
#include <errno.h>
#include <time.h> /* before linux/errqueue.h, which uses struct timespec */
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "io/loop.h"
#include "transport/tpi.h"

/* Error-queue entries read per wake-up; the rest wait for the next one. */
#define SP_UDP_ERRQ_BATCH 64
/* recvmmsg calls per wake-up before other fds get their turn. */
#define SP_UDP_ROUNDS 4

static int alloc_batch(struct sp_transport *t)
{
	if (t->ubuf)
		return 0;
	t->ubuf = malloc((size_t)SP_UDP_BATCH * SP_UDP_SLOT);
	t->umsg = calloc(SP_UDP_BATCH, sizeof(*t->umsg));
	t->uiov = calloc(SP_UDP_BATCH, sizeof(*t->uiov));
	t->uaddr = calloc(SP_UDP_BATCH, sizeof(*t->uaddr));
	t->obuf = malloc(SP_UDP_OUT_BYTES);
	t->omsg = calloc(SP_UDP_OUT_BATCH, sizeof(*t->omsg));
	t->oiov = calloc(SP_UDP_OUT_BATCH, sizeof(*t->oiov));
	t->odst = calloc(SP_UDP_OUT_BATCH, sizeof(*t->odst));
	t->oli = calloc(SP_UDP_OUT_BATCH, sizeof(*t->oli));
	if (!t->ubuf || !t->umsg || !t->uiov || !t->uaddr || !t->obuf || !t->omsg || !t->oiov ||
	    !t->odst || !t->oli) {
		sp_udp_free(t);
		return SP_ENOMEM;
	}
	for (size_t i = 0; i < SP_UDP_BATCH; i++) {
		t->uiov[i].iov_base = t->ubuf + i * SP_UDP_SLOT;
		t->uiov[i].iov_len = SP_UDP_SLOT;
		t->umsg[i].msg_hdr.msg_iov = &t->uiov[i];
		t->umsg[i].msg_hdr.msg_iovlen = 1;
		t->umsg[i].msg_hdr.msg_name = &t->uaddr[i].u;
	}
	return 0;
}

void sp_udp_free(struct sp_transport *t)
{
	free(t->ubuf);
	free(t->umsg);
	free(t->uiov);
	free(t->uaddr);
	free(t->obuf);
	free(t->omsg);
	free(t->oiov);
	free(t->odst);
	free(t->oli);
	t->ubuf = NULL;
	t->umsg = NULL;
	t->uiov = NULL;
	t->uaddr = NULL;
	t->obuf = NULL;
	t->omsg = NULL;
	t->oiov = NULL;
	t->odst = NULL;
	t->oli = NULL;
	t->on = 0; /* what was still queued is dropped: the sockets are closing */
	t->oused = 0;
	t->nfail = 0;
}

/* Reads the ICMP errors the kernel queued for datagrams we sent (IP_RECVERR).
 * msg_name is the original destination; when the kernel gives none, the
 * offender (the node that sent the ICMP error) stands in. */
static void read_errqueue(struct sp_transport *t, struct sp_listener *l)
{
	for (int k = 0; k < SP_UDP_ERRQ_BATCH; k++) {
		char payload[64];
		union {
			char buf[512];
			struct cmsghdr align;
		} ctl;
		struct sp_sockaddr dst;
		struct iovec iov = { payload, sizeof(payload) };
		struct msghdr mh = { .msg_name = &dst.u, .msg_namelen = sizeof(dst.u),
				     .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		memset(&dst, 0, sizeof(dst));
		if (recvmsg(l->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		dst.len = mh.msg_namelen;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			bool v4 = cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR;
			bool v6 = cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR;
			if (!v4 && !v6)
				continue;
			const struct sock_extended_err *ee = (const void *)CMSG_DATA(cm);
			if (dst.len == 0) {
				const struct sockaddr *off = SO_EE_OFFENDER(ee);
				if (off->sa_family == AF_INET) {
					memcpy(&dst.u.in, off, sizeof(dst.u.in));
					dst.len = sizeof(dst.u.in);
				} else if (off->sa_family == AF_INET6) {
					memcpy(&dst.u.in6, off, sizeof(dst.u.in6));
					dst.len = sizeof(dst.u.in6);
				}
			}
			if (dst.len == 0)
				continue;
			t->st.send_errors++;
			uint64_t supp = 0;
			if (sp_log_ratelimit(&t->rl_icmp, sp_loop_now(t->loop), &supp)) {
				char a[SP_SOCKADDR_STRLEN];
				sp_sockaddr_fmt(&dst, true, false, a, sizeof(a));
				sp_log(SP_LOG_INFO, "UDP to %s failed: %s (%llu similar suppressed)", a,
				       strerror((int)ee->ee_errno), (unsigned long long)supp);
			}
			if (t->h.send_error) {
				struct sp_dest d = { .proto = SP_PROTO_UDP, .addr = dst, .conn = 0,
						     .listener = l->index };
				t->h.send_error(t->arg, &d, SP_ENOENT);
			}
		}
	}
}

static void udp_io(int fd, unsigned events, void *arg)
{
	struct sp_listener *l = arg;
	struct sp_transport *t = l->t;

	if (events & SP_IO_ERROR)
		read_errqueue(t, l);
	if (!(events & SP_IO_READ))
		return;
	for (int round = 0; round < SP_UDP_ROUNDS; round++) {
		for (size_t i = 0; i < SP_UDP_BATCH; i++) {
			t->umsg[i].msg_hdr.msg_namelen = sizeof(t->uaddr[i].u);
			t->umsg[i].msg_hdr.msg_flags = 0;
		}
		int n = recvmmsg(fd, t->umsg, SP_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			/* An ICMP error can surface here as the socket's pending
			 * error; the error queue above reports it. */
			if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
			    errno == ENETUNREACH)
				continue;
			return;
		}
		sp_transport_batch_begin(t);
		for (int i = 0; i < n; i++) {
			struct mmsghdr *m = &t->umsg[i];
			if ((m->msg_hdr.msg_flags & MSG_TRUNC) || m->msg_len > SP_UDP_MAX) {
				t->st.rx_too_big++;
				continue;
			}
			struct sp_rx rx = {
				.buf = t->uiov[i].iov_base,
				.len = m->msg_len,
				.src = { .proto = SP_PROTO_UDP, .conn = 0, .listener = l->index },
				.role = l->info->role,
				.tls = NULL,
				.now_ms = sp_loop_now(t->loop),
			};
			rx.src.addr = t->uaddr[i];
			rx.src.addr.len = m->msg_hdr.msg_namelen;
			t->st.rx_msgs++;
			t->st.rx_bytes += m->msg_len;
			t->h.rx(t->arg, &rx);
		}
		/* What the handlers sent goes out now, one sendmmsg per listener. */
		sp_transport_batch_end(t);
		if (n < SP_UDP_BATCH)
			return;
	}
}

int sp_udp_open(struct sp_transport *t, struct sp_listener *l)
{
	int one = 1, ret = SP_EINVAL;
	int fam = l->info->addr.u.sa.sa_family;
	int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return SP_EINVAL;
	/* No SO_REUSEADDR: on UDP it lets a second process bind the same
	 * address and port and silently take its datagrams; a port in use must
	 * be an error at start. */
	if (fam == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	}
	/* A burst (a peer's failover, a registration storm) must wait in the
	 * socket, not be dropped by the kernel: ask for 4 MiB (as root past
	 * net.core.rmem_max; else the kernel caps it there). Kamailio probes
	 * its way up to the maximum the same way. */
	int rcvbuf = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, &l->info->addr.u.sa, l->info->addr.len) < 0)
		goto out;
	socklen_t len = sizeof(l->info->addr.u);
	if (getsockname(fd, &l->info->addr.u.sa, &len) < 0)
		goto out;
	l->info->addr.len = len;
	ret = alloc_batch(t);
	if (ret < 0)
		goto out;
	ret = sp_loop_fd_add(t->loop, fd, SP_IO_READ, udp_io, l);
	if (ret < 0)
		goto out;
	l->fd = fd;
	return 0;
out:
	close(fd);
	return ret;
}

/* Logs a failed send (rate-limited) and maps errno to an SP_E* code:
 * SP_E2BIG for a full socket buffer (the caller's overload). */
static int send_failed(struct sp_transport *t, const struct sp_dest *dst, int e)
{
	uint64_t supp = 0;
	if (sp_log_ratelimit(&t->rl_io, sp_loop_now(t->loop), &supp)) {
		char a[SP_SOCKADDR_STRLEN];
		sp_sockaddr_fmt(&dst->addr, true, false, a, sizeof(a));
		sp_log(SP_LOG_NOTICE, "UDP sendto %s: %s (%llu similar suppressed)", a, strerror(e),
		       (unsigned long long)supp);
	}
	if (e == EAGAIN || e == ENOBUFS)
		return SP_E2BIG;
	if (e == EINVAL || e == EAFNOSUPPORT || e == EMSGSIZE)
		return SP_EINVAL;
	return SP_ENOENT;
}

/* Sends the queue, in order, one sendmmsg per run of the same listener, and
 * empties it. A datagram the kernel refused is remembered for sp_udp_flush
 * to report; one refused for want of buffer space (EAGAIN, ENOBUFS) is lost
 * like a datagram dropped on the way, for the retransmission timers to
 * cover, not reported: that would fail every transaction to its address. */
static void send_queue(struct sp_transport *t)
{
	unsigned n = t->on;

	for (unsigned i = 0; i < n;) {
		unsigned end = i + 1;
		while (end < n && t->oli[end] == t->oli[i])
			end++;
		int fd = t->ls[t->oli[i]].fd;
		int tries = 0;
		while (i < end) {
			int r = sendmmsg(fd, &t->omsg[i], end - i, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r > 0) {
				for (unsigned k = i; k < i + (unsigned)r; k++) {
					t->st.tx_msgs++;
					t->st.tx_bytes += t->omsg[k].msg_len;
				}
				i += (unsigned)r;
				tries = 0;
				continue;
			}
			int e = r < 0 ? errno : EAGAIN;
			/* As in sp_udp_send: a pending ICMP error of an earlier
			 * datagram, or a signal; this one is not sent yet. */
			if ((e == ECONNREFUSED || e == EINTR) && tries++ == 0)
				continue;
			int err = send_failed(t, &t->odst[i], e);
			if (e != EAGAIN && e != ENOBUFS && t->nfail < SP_UDP_OUT_BATCH) {
				t->ofail[t->nfail].dst = t->odst[i];
				t->ofail[t->nfail++].err = err;
			}
			i++;
			tries = 0;
		}
	}
	t->on = 0;
	t->oused = 0;
}

int sp_udp_send(struct sp_transport *t, int li, const struct sp_dest *dst, const char *buf,
		size_t len)
{
	if (len > SP_UDP_MAX)
		return SP_E2BIG;
	if (t->batch_depth && t->obuf) {
		/* What the kernel would refuse for this datagram alone is
		 * refused here, to its caller, as sendto did: a failure
		 * reported later through send_error fails every transaction
		 * to that address. */
		size_t max = dst->addr.u.sa.sa_family == AF_INET6 ? 65527u : 65507u;
		if (len > max || sp_sockaddr_port(&dst->addr) == 0)
			return SP_EINVAL;
		/* Full: what is queued goes first, so that datagrams to one
		 * destination keep their order. */
		if (t->on == SP_UDP_OUT_BATCH || len > SP_UDP_OUT_BYTES - t->oused)
			send_queue(t);
		unsigned k = t->on++;
		memcpy(t->obuf + t->oused, buf, len);
		t->odst[k] = *dst;
		t->oli[k] = li;
		t->oiov[k] = (struct iovec){ .iov_base = t->obuf + t->oused, .iov_len = len };
		t->omsg[k].msg_hdr = (struct msghdr){ .msg_name = &t->odst[k].addr.u.sa,
						      .msg_namelen = t->odst[k].addr.len,
						      .msg_iov = &t->oiov[k],
						      .msg_iovlen = 1 };
		t->oused += len;
		return 0;
	}
	for (int tries = 0; tries < 2; tries++) {
		ssize_t n = sendto(t->ls[li].fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
				   &dst->addr.u.sa, dst->addr.len);
		if (n >= 0) {
			t->st.tx_msgs++;
			t->st.tx_bytes += (uint64_t)n;
			return 0;
		}
		/* A pending ICMP error of an earlier datagram; this one is not sent yet. */
		if (errno == ECONNREFUSED || errno == EINTR)
			continue;
		break;
	}
	return send_failed(t, dst, errno);
}

void sp_udp_flush(struct sp_transport *t)
{
	struct sp_udp_fail failed[SP_UDP_OUT_BATCH];

	send_queue(t);
	/* Copied out first: a handler may send (and fail) again. */
	unsigned n = t->nfail;
	memcpy(failed, t->ofail, n * sizeof(failed[0]));
	t->nfail = 0;
	for (unsigned k = 0; k < n; k++)
		if (t->h.send_error)
			t->h.send_error(t->arg, &failed[k].dst, failed[k].err);
}
