/* tpi.h: private to src/transport/: the transport object, listeners and connections shared by its files. */
#ifndef SP_TRANSPORT_TPI_H
#define SP_TRANSPORT_TPI_H

#include <sys/socket.h>

#include <openssl/ssl.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/timer.h"
#include "sip/framer.h"
#include "transport/transport.h"

/* Datagrams taken per recvmmsg, and the size of each receive slot: one byte
 * more than the largest accepted datagram, so a larger one shows up as
 * MSG_TRUNC or as 65536 bytes and is dropped. */
#define SP_UDP_BATCH 32
#define SP_UDP_MAX 65535u
#define SP_UDP_SLOT (SP_UDP_MAX + 1)
/* Datagrams queued between sp_transport_batch_begin and _end, and the bytes
 * they may take (more goes out at once, unbatched). */
#define SP_UDP_OUT_BATCH 32
#define SP_UDP_OUT_BYTES (64u * 1024u)
/* A stream connection reads in chunks of at least this much. */
#define SP_STREAM_RCHUNK 4096u
/* TLS peer names kept per connection, and the length of one. */
#define SP_TLS_MAX_SAN 16
#define SP_TLS_MAX_NAME 255

struct sp_listener {
	struct sp_listener_info *info; /* in t->infos */
	struct sp_transport *t;
	int fd;
	int index;
};

enum sp_conn_state {
	SP_CONN_CONNECTING, /* outgoing TCP connect in progress */
	SP_CONN_HANDSHAKE,  /* TLS handshake in progress */
	SP_CONN_OPEN,
};

/* Incoming connections per remote address (port ignored), for max_conns_per_ip. */
struct sp_ipcount {
	struct sp_hnode node;
	struct sp_sockaddr host;
	size_t n;
};

/* One TCP or TLS connection. It lives in the id and address tables while
 * open; once closed (fd gone, tables left) it is "dead" and freed as soon as
 * no handler of it is running (busy), so a callback that makes its own
 * connection close never sees freed memory. */
struct sp_conn {
	struct sp_hnode by_id;
	struct sp_hnode by_addr;
	struct sp_transport *t;
	uint64_t id;
	int fd;
	enum sp_proto proto;
	enum sp_conn_state state;
	int listener;
	enum sp_role role;
	struct sp_sockaddr peer;
	struct sp_ipcount *ipc; /* incoming only */
	bool incoming;
	bool busy;
	bool dead;
	bool read_wants_write; /* TLS: SSL_read asked for writability */
	unsigned io;           /* interest registered with the loop */
	/* Receive: unconsumed stream bytes [0, rlen); capped at max_stream_msg. */
	char *rbuf;
	size_t rlen, rcap;
	struct sp_framer fr;
	/* Send: pending bytes [woff, wlen); capped at max_pending_out. */
	char *wbuf;
	size_t woff, wlen, wcap;
	size_t wmsgs; /* messages with bytes pending, reported on failure */
	struct sp_timer idle;
	uint64_t last_io;
	SSL *ssl;
	char *san[SP_TLS_MAX_SAN];
	struct sp_tls_peer tls;
	bool tls_verified;
};

/* What an outgoing TLS connection to addr must present (sp_transport_tls_expect). */
struct sp_tls_expect {
	struct sp_sockaddr addr;
	char **names;
	size_t n;
};

/* One extra trust anchor file's certificates, to tell which one a chain ends at. */
struct sp_tls_anchor {
	X509 *cert;
	int ca; /* index in cfg.tls_extra_ca */
};

struct sp_transport {
	struct sp_loop *loop;
	struct sp_transport_cfg cfg; /* copied; cfg.listen is not kept */
	struct sp_transport_h h;
	void *arg;
	struct sp_listener *ls;
	struct sp_listener_info *infos;
	size_t nls;
	/* UDP receive batch, allocated once when there is a UDP listener. */
	char *ubuf;
	struct mmsghdr *umsg;
	struct iovec *uiov;
	struct sp_sockaddr *uaddr;
	/* UDP send queue (sp_transport_batch_begin): copies of the datagrams,
	 * their listeners and destinations, sent by sendmmsg at the end. */
	unsigned batch_depth;
	unsigned on;            /* datagrams queued */
	size_t oused;           /* bytes of obuf used */
	char *obuf;
	struct mmsghdr *omsg;
	struct iovec *oiov;
	struct sp_dest *odst;
	int *oli;
	/* Datagrams of the queue the kernel refused, reported by
	 * sp_udp_flush (at most SP_UDP_OUT_BATCH; more are only logged). */
	struct sp_udp_fail {
		struct sp_dest dst;
		int err;
	} ofail[SP_UDP_OUT_BATCH];
	unsigned nfail;
	/* Connections. */
	struct sp_htab by_id, by_addr, by_ip;
	size_t nconns;
	uint64_t next_id;
	SSL_CTX *srv_ctx, *cli_ctx;
	bool any_ca;                  /* some trust anchor is loaded */
	struct sp_tls_anchor *anchors; /* the extra CAs' certificates */
	size_t nanchors;
	struct sp_tls_expect *expect;
	size_t nexpect;
	struct sp_transport_stats st;
	struct sp_log_ratelimit rl_cap, rl_frame, rl_icmp, rl_tls, rl_io;
};

/* udp.c */
int sp_udp_open(struct sp_transport *t, struct sp_listener *l);
int sp_udp_send(struct sp_transport *t, int li, const struct sp_dest *dst, const char *buf,
		size_t len);
void sp_udp_free(struct sp_transport *t);
/* Sends what sp_udp_send queued since the batch began. */
void sp_udp_flush(struct sp_transport *t);

/* stream.c */
int sp_stream_listen(struct sp_transport *t, struct sp_listener *l);
int sp_stream_send(struct sp_transport *t, const struct sp_dest *dst, const char *buf,
		   size_t len);

/* conn.c */
int sp_conn_new(struct sp_transport *t, int fd, enum sp_proto proto, const struct sp_sockaddr *peer,
		bool incoming, int listener, struct sp_conn **out);
struct sp_conn *sp_conn_by_id(struct sp_transport *t, uint64_t id);
struct sp_conn *sp_conn_by_addr(struct sp_transport *t, enum sp_proto proto,
				const struct sp_sockaddr *addr);
/* Incoming connections from addr's host now open. */
size_t sp_conn_count_ip(struct sp_transport *t, const struct sp_sockaddr *addr);
/* Closes c (idempotent). err < 0 reports it through send_error once per
 * message still pending. why goes into the log line. Frees c unless busy. */
void sp_conn_close(struct sp_conn *c, int err, const char *why);
/* Frees a dead connection once its handler has returned. */
void sp_conn_release(struct sp_conn *c);
void sp_conn_close_all(struct sp_transport *t);
/* Re-registers the loop interest the connection's state calls for. */
void sp_conn_update_io(struct sp_conn *c);
void sp_conn_dest(const struct sp_conn *c, struct sp_dest *out);

/* tls.c */
int sp_tls_init(struct sp_transport *t, bool server);
void sp_tls_fini(struct sp_transport *t);
int sp_tls_conn_start(struct sp_conn *c);
/* 0 when done, SP_EAGAIN while in progress, SP_EINVAL on failure (logged),
 * also when an outgoing connection's certificate does not name what
 * sp_transport_tls_expect asked for. */
int sp_tls_handshake(struct sp_conn *c);
/* Bytes moved (> 0), 0 on orderly close, SP_EAGAIN when it would block,
 * SP_ENOENT when the connection failed. */
ssize_t sp_tls_read(struct sp_conn *c, char *buf, size_t len);
ssize_t sp_tls_write(struct sp_conn *c, const char *buf, size_t len);
void sp_tls_conn_free(struct sp_conn *c);

#endif
