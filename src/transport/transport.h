/* transport.h: UDP, TCP and TLS listeners and connections of one worker, and sending. */
#ifndef SP_TRANSPORT_TRANSPORT_H
#define SP_TRANSPORT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "io/loop.h"
#include "transport/tp.h"

struct sp_transport;

/* One local socket to listen on (from the configuration's `listen`). */
struct sp_listen_spec {
	enum sp_proto proto;
	struct sp_sockaddr addr;
	enum sp_role role;
};

struct sp_transport_cfg {
	const struct sp_listen_spec *listen;
	size_t nlisten;
	/* TLS (needed when a listener is tls:// or a TLS destination is used):
	 * PEM file paths; ca may be NULL. With a CA, incoming TLS connections
	 * must present a client certificate that verifies against it, and
	 * outgoing ones verify the server's. */
	const char *tls_cert;
	const char *tls_key;
	const char *tls_ca;
	/* More trust anchors (the federations' CAs), read at create time only.
	 * A certificate that chains to extra CA i carries ca = i in
	 * sp_tls_peer. On peering listeners every incoming TLS connection must
	 * present a certificate that verifies against tls_ca or these. */
	const char *const *tls_extra_ca;
	size_t ntls_extra_ca;
	size_t max_conns;          /* stream connections in total (in and out) */
	size_t max_conns_per_ip;   /* incoming connections from one address */
	uint64_t idle_timeout_ms;  /* a stream connection idle this long is closed */
	size_t max_stream_msg;     /* largest message on a stream (framer cap) */
	size_t max_pending_out;    /* bytes queued on one connection before sends fail */
};

/* The peer's verified TLS identity: the certificate's DNS SANs (or the CN when
 * it has none). Valid only during the rx callback. */
struct sp_tls_peer {
	const char *const *san;
	size_t nsan;
	int ca; /* the extra CA (tls_extra_ca index) it chains to, or -1 */
};

/* One received message (or datagram). buf holds exactly one framed message on
 * streams; for UDP it is the whole datagram. buf is valid only during the
 * callback: whoever keeps a message copies it. src.conn is the connection it
 * came on (0 for UDP) and src.listener the listener it came through. */
struct sp_rx {
	const char *buf;
	size_t len;
	struct sp_dest src;
	enum sp_role role;
	const struct sp_tls_peer *tls; /* NULL unless TLS with a client certificate */
	uint64_t now_ms;
};

struct sp_transport_h {
	/* A message arrived. */
	void (*rx)(void *arg, const struct sp_rx *rx);
	/* Sending to dst failed after sp_transport_send returned 0: connection
	 * refused or reset, TLS handshake failed, an ICMP error for a UDP
	 * datagram (IP_RECVERR). err is a negative SP_E* code. May be NULL. */
	void (*send_error)(void *arg, const struct sp_dest *dst, int err);
};

/* Binds every listener (SO_REUSEADDR; IPv6 sockets IPV6_V6ONLY) and watches
 * them on loop. Fails, with a log line naming the listener, when one cannot
 * be bound or the TLS files cannot be loaded. */
int sp_transport_create(struct sp_loop *loop, const struct sp_transport_cfg *cfg,
			const struct sp_transport_h *h, void *arg, struct sp_transport **out);
/* Closes every socket and connection. */
void sp_transport_destroy(struct sp_transport *t);

/* Sends one message. UDP: one datagram from dst->listener (or the first UDP
 * listener of dst's family). TCP/TLS: on connection dst->conn when it is
 * still open, else on any open connection to dst->addr of that protocol,
 * else on a new connection (the bytes wait until it is connected; a failure
 * then is reported through send_error). Returns 0 when handed to the kernel
 * or queued; SP_ENOENT when no listener or connection fits (e.g. no UDP
 * listener of that family), SP_E2BIG when a cap is reached, or another
 * SP_E* on an immediate failure. */
int sp_transport_send(struct sp_transport *t, const struct sp_dest *dst, const char *buf,
		      size_t len);

/* Between sp_transport_batch_begin and the matching _end (they nest), UDP
 * datagrams are copied into a queue and sent together by sendmmsg at the
 * end, one system call per listener instead of one per datagram: on the
 * machines we measured a system call costs about a microsecond, and a
 * datagram sent wakes its receiver, which may preempt us mid-batch. A send
 * then returns 0 at once and a failure is reported through send_error, as
 * an ICMP error is. udp_io brackets each received batch itself; other
 * callers (the store's completions) may bracket theirs. Call _end only at a
 * point where send_error may run. */
void sp_transport_batch_begin(struct sp_transport *t);
void sp_transport_batch_end(struct sp_transport *t);

/* Outgoing TLS connections to addr (address and port) must present a
 * certificate that verifies and names one of names (DNS SANs, see
 * sp_tls_name_match): otherwise the handshake fails and what waited for it
 * is reported through send_error. Replaces what was expected of addr; n 0
 * removes it. Names are copied. */
int sp_transport_tls_expect(struct sp_transport *t, const struct sp_sockaddr *addr,
			    const char *const *names, size_t n);
/* Forgets every expectation (a reload sets them again). */
void sp_transport_tls_expect_clear(struct sp_transport *t);

/* The listeners, in configuration order: their index is sp_dest.listener. */
struct sp_listener_info {
	enum sp_proto proto;
	enum sp_role role;
	struct sp_sockaddr addr; /* as bound (the real port when 0 was asked) */
};
size_t sp_transport_listeners(const struct sp_transport *t, const struct sp_listener_info **out);
/* The listener a message to dst goes out from: dst->listener when set, else
 * the first access listener of dst->proto and dst's address family, else the
 * first peering one; -1 if none.
 * Its address is what goes into Via sent-by and Record-Route. */
int sp_transport_pick_listener(const struct sp_transport *t, const struct sp_dest *dst);

struct sp_transport_stats {
	uint64_t rx_msgs, tx_msgs;
	uint64_t rx_bytes, tx_bytes;
	uint64_t conns_open, conns_accepted, conns_refused_cap, conns_closed_idle;
	uint64_t frame_errors, send_errors, keepalives;
	uint64_t rx_too_big; /* UDP datagrams above 65535 bytes, dropped */
};
const struct sp_transport_stats *sp_transport_stats(const struct sp_transport *t);

#endif
