/* tp.h: the transport types the layers above share: protocols, socket addresses, destinations. */
#ifndef SP_TRANSPORT_TP_H
#define SP_TRANSPORT_TP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/str.h"

enum sp_proto {
	SP_PROTO_UDP = 1,
	SP_PROTO_TCP = 2,
	SP_PROTO_TLS = 3,
};

/* "UDP", "TCP", "TLS" (as in a Via's sent-protocol). */
const char *sp_proto_name(enum sp_proto p);
/* Case-insensitive "udp", "tcp", "tls"; SP_EINVAL otherwise. */
int sp_proto_parse(struct sp_str s, enum sp_proto *out);
static inline bool sp_proto_reliable(enum sp_proto p)
{
	return p != SP_PROTO_UDP;
}

/* An IPv4 or IPv6 socket address with its length. */
struct sp_sockaddr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t len;
};

/* Parses a numeric host (IPv4, IPv6 with or without brackets) and sets the
 * port; SP_EINVAL for names or junk. */
int sp_sockaddr_from_host(struct sp_str host, uint16_t port, struct sp_sockaddr *out);
uint16_t sp_sockaddr_port(const struct sp_sockaddr *a);
void sp_sockaddr_set_port(struct sp_sockaddr *a, uint16_t port);
bool sp_sockaddr_eq(const struct sp_sockaddr *a, const struct sp_sockaddr *b);
/* Address only (port ignored). */
bool sp_sockaddr_eq_host(const struct sp_sockaddr *a, const struct sp_sockaddr *b);
uint64_t sp_sockaddr_hash(const struct sp_sockaddr *a);
/* Formats into buf (NUL-terminated, returns the length): the host as a SIP
 * host ("192.0.2.1", "[2001:db8::1]"), followed by ":port" when with_port.
 * bare_v6 writes an IPv6 address without brackets (Via received=, RFC 5118).
 * SP_SOCKADDR_STRLEN is always enough. */
#define SP_SOCKADDR_STRLEN 64
size_t sp_sockaddr_fmt(const struct sp_sockaddr *a, bool with_port, bool bare_v6, char *buf,
		       size_t size);

/* Does a certificate's DNS name match pattern (a configured SAN)? Case-
 * insensitive; a pattern "*.example.net" matches exactly one more label
 * ("sbe.example.net", not "a.b.example.net" nor "example.net"). */
bool sp_tls_name_match(const char *pattern, const char *name);

/* The side of the node a listener faces (DESIGN.md section 3). */
enum sp_role {
	SP_ROLE_ACCESS = 0,  /* this provider's users and elements */
	SP_ROLE_PEERING = 1, /* other providers */
};

/* Where a message came from, or where one goes.
 * - conn: the stream connection it arrived on, or to send on; 0 for UDP and
 *   for "any connection to addr, or a new one".
 * - listener: index of the local listener it arrived on, or to send from;
 *   -1 lets the transport choose (the first listener of proto and family). */
struct sp_dest {
	enum sp_proto proto;
	struct sp_sockaddr addr;
	uint64_t conn;
	int listener;
};

#endif
