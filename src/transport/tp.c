/* tp.c: protocol names and socket-address helpers (parse, compare, hash, format). */
#include "transport/tp.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/hash.h"

const char *sp_proto_name(enum sp_proto p)
{
	switch (p) {
	case SP_PROTO_UDP: return "UDP";
	case SP_PROTO_TCP: return "TCP";
	case SP_PROTO_TLS: return "TLS";
	}
	return "?";
}

int sp_proto_parse(struct sp_str s, enum sp_proto *out)
{
	if (sp_str_caseeq_l(s, "udp"))
		*out = SP_PROTO_UDP;
	else if (sp_str_caseeq_l(s, "tcp"))
		*out = SP_PROTO_TCP;
	else if (sp_str_caseeq_l(s, "tls"))
		*out = SP_PROTO_TLS;
	else
		return SP_EINVAL;
	return 0;
}

int sp_sockaddr_from_host(struct sp_str host, uint16_t port, struct sp_sockaddr *out)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	bool bracket = false;

	if (host.len >= 2 && host.p[0] == '[' && host.p[host.len - 1] == ']') {
		host.p++;
		host.len -= 2;
		bracket = true;
	}
	if (host.len == 0 || host.len >= sizeof(tmp))
		return SP_EINVAL;
	memcpy(tmp, host.p, host.len);
	tmp[host.len] = '\0';

	struct sp_sockaddr a;
	memset(&a, 0, sizeof(a));
	if (memchr(tmp, ':', host.len)) {
		if (inet_pton(AF_INET6, tmp, &a.u.in6.sin6_addr) != 1)
			return SP_EINVAL;
		a.u.in6.sin6_family = AF_INET6;
		a.u.in6.sin6_port = htons(port);
		a.len = sizeof(a.u.in6);
	} else {
		if (bracket || inet_pton(AF_INET, tmp, &a.u.in.sin_addr) != 1)
			return SP_EINVAL;
		a.u.in.sin_family = AF_INET;
		a.u.in.sin_port = htons(port);
		a.len = sizeof(a.u.in);
	}
	*out = a;
	return 0;
}

uint16_t sp_sockaddr_port(const struct sp_sockaddr *a)
{
	switch (a->u.sa.sa_family) {
	case AF_INET: return ntohs(a->u.in.sin_port);
	case AF_INET6: return ntohs(a->u.in6.sin6_port);
	}
	return 0;
}

void sp_sockaddr_set_port(struct sp_sockaddr *a, uint16_t port)
{
	if (a->u.sa.sa_family == AF_INET)
		a->u.in.sin_port = htons(port);
	else if (a->u.sa.sa_family == AF_INET6)
		a->u.in6.sin6_port = htons(port);
}

bool sp_sockaddr_eq_host(const struct sp_sockaddr *a, const struct sp_sockaddr *b)
{
	if (a->u.sa.sa_family != b->u.sa.sa_family)
		return false;
	if (a->u.sa.sa_family == AF_INET)
		return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
	if (a->u.sa.sa_family == AF_INET6)
		return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0 &&
		       a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id;
	return false;
}

bool sp_sockaddr_eq(const struct sp_sockaddr *a, const struct sp_sockaddr *b)
{
	return sp_sockaddr_eq_host(a, b) && sp_sockaddr_port(a) == sp_sockaddr_port(b);
}

uint64_t sp_sockaddr_hash(const struct sp_sockaddr *a)
{
	uint64_t h;
	if (a->u.sa.sa_family == AF_INET)
		h = sp_hash(&a->u.in.sin_addr, 4);
	else if (a->u.sa.sa_family == AF_INET6)
		h = sp_hash(&a->u.in6.sin6_addr, 16);
	else
		h = 0;
	return sp_hash_mix(h, sp_sockaddr_port(a));
}

size_t sp_sockaddr_fmt(const struct sp_sockaddr *a, bool with_port, bool bare_v6, char *buf,
		       size_t size)
{
	char host[INET6_ADDRSTRLEN];
	int n;

	if (size == 0)
		return 0;
	if (a->u.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->u.in.sin_addr, host, sizeof(host));
		n = with_port ? snprintf(buf, size, "%s:%u", host, (unsigned)sp_sockaddr_port(a))
			      : snprintf(buf, size, "%s", host);
	} else if (a->u.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->u.in6.sin6_addr, host, sizeof(host));
		/* A port always needs the brackets, whatever bare_v6 says. */
		if (with_port)
			n = snprintf(buf, size, "[%s]:%u", host, (unsigned)sp_sockaddr_port(a));
		else if (bare_v6)
			n = snprintf(buf, size, "%s", host);
		else
			n = snprintf(buf, size, "[%s]", host);
	} else {
		n = snprintf(buf, size, "?");
	}
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n < size ? (size_t)n : size - 1;
}

bool sp_tls_name_match(const char *pattern, const char *name)
{
	if (pattern[0] == '*' && pattern[1] == '.') {
		/* One whole label in front of the rest, never an empty one. */
		const char *dot = strchr(name, '.');
		return dot && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
	}
	return strcasecmp(pattern, name) == 0;
}
