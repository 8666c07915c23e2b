/* values.c: syntax of configuration values: numeric addresses, host:port, CIDRs, hostnames, E.164 prefixes. */
#include <arpa/inet.h>
#include <string.h>

#include "config/config.h"
#include "config/values.h"
#include "core/err.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

const char *sp_cfg_parse_ip(struct sp_str host, struct sp_sockaddr *out)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct sp_sockaddr a;

	if (host.len == 0)
		return "missing address";
	if (host.len >= sizeof(buf))
		return "not a numeric IP address";
	memcpy(buf, host.p, host.len);
	buf[host.len] = '\0';
	memset(&a, 0, sizeof(a));
	if (memchr(buf, ':', host.len)) {
		if (inet_pton(AF_INET6, buf, &a.u.in6.sin6_addr) != 1)
			return "not a numeric IPv6 address";
		a.u.in6.sin6_family = AF_INET6;
		a.len = sizeof(a.u.in6);
	} else {
		if (inet_pton(AF_INET, buf, &a.u.in.sin_addr) != 1)
			return "not a numeric IPv4 address (host names are not allowed here)";
		a.u.in.sin_family = AF_INET;
		a.len = sizeof(a.u.in);
	}
	*out = a;
	return NULL;
}

void sp_cfg_set_port(struct sp_sockaddr *a, uint16_t port)
{
	if (a->u.sa.sa_family == AF_INET6)
		a->u.in6.sin6_port = htons(port);
	else
		a->u.in.sin_port = htons(port);
}

const char *sp_cfg_parse_port(struct sp_str s, uint16_t *out)
{
	uint32_t v;

	if (s.len == 0)
		return "missing port";
	if (sp_str_to_u32(s, 65535, &v) != 0 || v == 0)
		return "port must be a number 1..65535";
	*out = (uint16_t)v;
	return NULL;
}

const char *sp_cfg_parse_hostport(struct sp_str s, struct sp_sockaddr *out)
{
	struct sp_str host, port;
	struct sp_sockaddr a;
	const char *why;
	uint16_t p;

	if (s.len && s.p[0] == '[') {
		const char *close = memchr(s.p, ']', s.len);
		size_t hl;

		if (!close)
			return "missing ']' after the IPv6 address";
		hl = (size_t)(close - s.p) - 1;
		host = sp_str_make(s.p + 1, hl);
		if (!memchr(host.p, ':', host.len))
			return "brackets hold IPv6 addresses only";
		if (hl + 2 == s.len)
			return "missing :port";
		if (s.p[hl + 2] != ':')
			return "expected ':' and a port after ']'";
		port = sp_str_make(s.p + hl + 3, s.len - hl - 3);
	} else {
		ptrdiff_t colon = sp_str_chr(s, ':');

		if (colon < 0)
			return "missing :port";
		host = sp_str_make(s.p, (size_t)colon);
		port = sp_str_make(s.p + colon + 1, s.len - (size_t)colon - 1);
		if (sp_str_chr(port, ':') >= 0)
			return "an IPv6 address must be written in brackets, [addr]:port";
	}
	why = sp_cfg_parse_ip(host, &a);
	if (why)
		return why;
	why = sp_cfg_parse_port(port, &p);
	if (why)
		return why;
	sp_cfg_set_port(&a, p);
	*out = a;
	return NULL;
}

const char *sp_cfg_parse_cidr(struct sp_str s, struct sp_cidr *out)
{
	ptrdiff_t slash = sp_str_chr(s, '/');
	struct sp_str host = slash < 0 ? s : sp_str_make(s.p, (size_t)slash);
	struct sp_cidr c;
	const char *why;
	unsigned max, i;
	uint8_t *bytes;

	memset(&c, 0, sizeof(c));
	why = sp_cfg_parse_ip(host, &c.addr);
	if (why)
		return why;
	if (c.addr.u.sa.sa_family == AF_INET6) {
		max = 128;
		bytes = c.addr.u.in6.sin6_addr.s6_addr;
	} else {
		max = 32;
		bytes = (uint8_t *)&c.addr.u.in.sin_addr.s_addr;
	}
	c.prefix_len = max;
	if (slash >= 0) {
		uint32_t v;
		struct sp_str len = sp_str_make(s.p + slash + 1, s.len - (size_t)slash - 1);

		if (sp_str_to_u32(len, max, &v) != 0)
			return max == 32 ? "prefix length must be 0..32" : "prefix length must be 0..128";
		c.prefix_len = v;
	}
	/* Bits set beyond the prefix are almost always a typo for another
	 * network; refusing them beats admitting the wrong block. */
	for (i = c.prefix_len; i < max; i++)
		if (bytes[i / 8] & (0x80u >> (i % 8)))
			return "address has bits set beyond the prefix length";
	*out = c;
	return NULL;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xffu << (8 - rest))) == 0;
}

bool sp_config_cidr_match(const struct sp_cidr *c, const struct sp_sockaddr *a)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	int cf = c->addr.u.sa.sa_family, af = a->u.sa.sa_family;

	if (cf == AF_INET && af == AF_INET)
		return prefix_eq((const uint8_t *)&c->addr.u.in.sin_addr.s_addr,
				 (const uint8_t *)&a->u.in.sin_addr.s_addr, c->prefix_len);
	if (cf == AF_INET6 && af == AF_INET6)
		return prefix_eq(c->addr.u.in6.sin6_addr.s6_addr, a->u.in6.sin6_addr.s6_addr,
				 c->prefix_len);
	if (cf == AF_INET && af == AF_INET6 &&
	    memcmp(a->u.in6.sin6_addr.s6_addr, v4mapped, sizeof(v4mapped)) == 0)
		return prefix_eq((const uint8_t *)&c->addr.u.in.sin_addr.s_addr,
				 a->u.in6.sin6_addr.s6_addr + 12, c->prefix_len);
	return false;
}

bool sp_config_cidr_match_any(const struct sp_cidr *c, size_t n, const struct sp_sockaddr *a)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (sp_config_cidr_match(&c[i], a))
			return true;
	return false;
}

const char *sp_cfg_check_hostname(struct sp_str s, bool wildcard)
{
	size_t i, label = 0;

	if (wildcard && s.len > 2 && s.p[0] == '*' && s.p[1] == '.')
		s = sp_str_make(s.p + 2, s.len - 2);
	if (s.len == 0 || s.len > 253)
		return "not a host name (1..253 characters)";
	for (i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (c == '.') {
			if (label == 0)
				return "not a host name (empty label)";
			if (s.p[i - 1] == '-')
				return "not a host name (a label ends with '-')";
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return "not a host name (letters, digits, '-' and '.' only)";
		if (label == 0 && c == '-')
			return "not a host name (a label starts with '-')";
		if (++label > 63)
			return "not a host name (a label is longer than 63)";
	}
	if (label == 0)
		return "not a host name (empty label)";
	if (s.p[s.len - 1] == '-')
		return "not a host name (a label ends with '-')";
	/* RFC 3261 toplabel starts with a letter: "192.0.2.1" is an address,
	 * and an address is never a domain here. */
	if (is_digit(s.p[s.len - label]))
		return "not a host name (the last label starts with a digit: an address?)";
	return NULL;
}

const char *sp_cfg_check_e164(struct sp_str s, size_t min_digits)
{
	size_t i;

	if (s.len == 0 || s.p[0] != '+')
		return "must be '+' followed by digits (E.164)";
	for (i = 1; i < s.len; i++)
		if (!is_digit(s.p[i]))
			return "must be '+' followed by digits (E.164)";
	if (s.len - 1 < min_digits)
		return "needs at least one digit after '+'";
	if (s.len - 1 > 15)
		return "more than 15 digits (E.164 maximum)";
	return NULL;
}

const char *sp_cfg_check_digits(struct sp_str s, size_t min, size_t max)
{
	size_t i;

	for (i = 0; i < s.len; i++)
		if (!is_digit(s.p[i]))
			return "digits only";
	if (s.len < min || s.len > max)
		return "wrong number of digits";
	return NULL;
}

const char *sp_cfg_check_user(struct sp_str s)
{
	/* RFC 3261 user = 1*( unreserved / escaped / user-unreserved ), without
	 * escapes, so the name in the file is the name on the wire. */
	static const char extra[] = "-_.!~*'()&=+$,;?/";
	size_t i;

	if (s.len == 0 || s.len > 128)
		return "must be 1..128 characters";
	for (i = 0; i < s.len; i++)
		if (!is_alnum(s.p[i]) && !memchr(extra, s.p[i], sizeof(extra) - 1))
			return "not a SIP user name (letters, digits and -_.!~*'()&=+$,;?/)";
	return NULL;
}

const char *sp_cfg_check_name(struct sp_str s)
{
	size_t i;

	if (s.len == 0 || s.len > 64)
		return "must be 1..64 characters";
	for (i = 0; i < s.len; i++)
		if (!is_alnum(s.p[i]) && s.p[i] != '-' && s.p[i] != '_' && s.p[i] != '.')
			return "letters, digits, '-', '_' and '.' only";
	return NULL;
}
