/* host.c: scanning hosts: hostnames, IPv4 dotted quads and IPv6 references. */
#include "sip/host.h"

#include "core/charset.h"
#include "core/err.h"

/* IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each <= 255. */
static bool ipv4_check(struct sp_str s)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, nd = 0;
		while (i < s.len && sp_is_digit(s.p[i]) && nd < 4) {
			v = v * 10 + (unsigned)(s.p[i] - '0');
			i++;
			nd++;
		}
		if (nd == 0 || nd > 3 || v > 255)
			return false;
		if (part < 3) {
			if (i >= s.len || s.p[i] != '.')
				return false;
			i++;
		}
	}
	return i == s.len;
}

bool sp_ipv6_check(struct sp_str s)
{
	/* Count hex groups; allow one "::" (or the ABNF bug's ":::"), and a
	 * trailing IPv4 part worth two groups. */
	size_t i = 0, groups = 0;
	bool dbl = false;

	if (s.len < 2 || s.len > 64)
		return false;
	if (s.p[0] == ':') {
		if (s.p[1] != ':')
			return false;
	}
	while (i < s.len) {
		if (s.p[i] == ':') {
			size_t n = 0;
			while (i < s.len && s.p[i] == ':') {
				n++;
				i++;
			}
			if (n >= 2) {
				if (dbl || n > 3)
					return false;
				dbl = true;
				continue;
			}
			if (i == s.len) /* a single trailing colon */
				return false;
			continue;
		}
		size_t start = i, nh = 0;
		while (i < s.len && sp_is_hex(s.p[i])) {
			i++;
			nh++;
		}
		if (i < s.len && s.p[i] == '.') {
			/* The rest must be a dotted quad. */
			if (!ipv4_check(sp_str_make(s.p + start, s.len - start)))
				return false;
			groups += 2;
			i = s.len;
			break;
		}
		if (nh == 0 || nh > 4)
			return false;
		groups++;
		if (i < s.len && s.p[i] != ':')
			return false;
		/* A single colon between groups: must be followed by a group. */
	}
	return dbl ? groups <= 7 : groups == 8;
}

/* hostname = *( domainlabel "." ) toplabel [ "." ]; labels alphanum and '-'.
 * We do not insist that the top label starts with a letter: numeric-looking
 * names that fail as IPv4 are refused below. */
static bool hostname_check(struct sp_str s)
{
	size_t i = 0;
	if (s.len == 0 || s.len > 255)
		return false;
	while (i < s.len) {
		size_t start = i;
		while (i < s.len && (sp_is_alnum(s.p[i]) || s.p[i] == '-'))
			i++;
		if (i == start || s.p[start] == '-' || s.p[i - 1] == '-')
			return false;
		if (i < s.len) {
			if (s.p[i] != '.')
				return false;
			i++;
		}
	}
	return true;
}

int sp_host_scan(struct sp_str s, bool bare_ipv6, size_t *len, enum sp_host_type *type)
{
	size_t i = 0;

	if (s.len == 0)
		return SP_EINVAL;
	if (s.p[0] == '[') {
		while (i < s.len && s.p[i] != ']')
			i++;
		if (i == s.len || !sp_ipv6_check(sp_str_make(s.p + 1, i - 1)))
			return SP_EINVAL;
		*len = i + 1;
		*type = SP_HOST_IPV6;
		return 0;
	}
	while (i < s.len && (sp_is_alnum(s.p[i]) || s.p[i] == '-' || s.p[i] == '.'))
		i++;
	if (bare_ipv6 && i < s.len && s.p[i] == ':') {
		size_t j = 0;
		while (j < s.len && (sp_is_hex(s.p[j]) || s.p[j] == ':' || s.p[j] == '.'))
			j++;
		if (sp_ipv6_check(sp_str_make(s.p, j))) {
			*len = j;
			*type = SP_HOST_IPV6;
			return 0;
		}
	}
	struct sp_str h = sp_str_make(s.p, i);
	bool numeric = true;
	for (size_t k = 0; k < i; k++)
		if (!sp_is_digit(h.p[k]) && h.p[k] != '.')
			numeric = false;
	if (numeric) {
		if (!ipv4_check(h))
			return SP_EINVAL;
		*type = SP_HOST_IPV4;
	} else {
		if (!hostname_check(h))
			return SP_EINVAL;
		*type = SP_HOST_NAME;
	}
	*len = i;
	return 0;
}

int sp_host_check(struct sp_str s, bool bare_ipv6, enum sp_host_type *type)
{
	size_t n;
	enum sp_host_type t;
	int err = sp_host_scan(s, bare_ipv6, &n, &t);
	if (err)
		return err;
	if (n != s.len)
		return SP_EINVAL;
	if (type)
		*type = t;
	return 0;
}
