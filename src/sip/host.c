/* host.c: hosts of SIP URIs and Via sent-by: hostnames, IPv4 dotted quads, IPv6 references. */
#include "sip/host.h"

#include <string.h>

#include "core/charset.h"
#include "core/err.h"

/* dec-octet "." x4; RFC 3261 says 1*3DIGIT, but a value over 255 cannot be
 * an address, and RFC 5954 corrects the ABNF to dec-octet. */
bool sp_ipv4_parse(struct sp_str s, uint8_t out[4])
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		unsigned v = 0, nd = 0;
		while (i < s.len && sp_is_digit(s.p[i]) && nd < 4) {
			v = v * 10 + (unsigned)(s.p[i] - '0');
			i++;
			nd++;
		}
		if (nd == 0 || nd > 3 || v > 255)
			return false;
		out[k] = (uint8_t)v;
		if (k < 3) {
			if (i >= s.len || s.p[i] != '.')
				return false;
			i++;
		}
	}
	return i == s.len;
}

/* Parses an IPv6 address without brackets into 16 bytes. The RFC 3261
 * ABNF (hexpart ":" IPv4address) also admits "::" directly followed by
 * ":" and a dotted IPv4 part, e.g. 2001:db8:::192.0.2.1; RFC 5118 4.10
 * asks that such a form be tolerated, so it reads as if the third colon
 * were absent. */
bool sp_ipv6_parse(struct sp_str s, uint8_t out[16])
{
	uint16_t head[8], tail[8];
	size_t nh = 0, nt = 0, i = 0;
	bool dc = false, need_v4 = false;
	uint8_t v4[4];
	bool has_v4 = false;

	if (s.len >= 2 && s.p[0] == ':' && s.p[1] == ':') {
		dc = true;
		i = 2;
		if (i < s.len && s.p[i] == ':') {
			need_v4 = true;
			i++;
		}
	} else if (s.len == 0 || s.p[0] == ':') {
		return false;
	}
	while (i < s.len) {
		size_t j = i;
		unsigned v = 0;
		while (j < s.len && sp_is_hex(s.p[j]) && j - i < 5) {
			v = v * 16 + (unsigned)sp_hexval(s.p[j]);
			j++;
		}
		if (j < s.len && s.p[j] == '.') {
			/* The dotted quad must be the last part. */
			if (!sp_ipv4_parse(sp_str_make(s.p + i, s.len - i), v4))
				return false;
			has_v4 = true;
			i = s.len;
			break;
		}
		if (need_v4 || j == i || j - i > 4)
			return false;
		if (nh + nt >= 8)
			return false;
		if (dc)
			tail[nt++] = (uint16_t)v;
		else
			head[nh++] = (uint16_t)v;
		i = j;
		if (i == s.len)
			break;
		if (s.p[i] != ':')
			return false;
		i++;
		if (i < s.len && s.p[i] == ':') {
			if (dc)
				return false;
			dc = true;
			i++;
			if (i < s.len && s.p[i] == ':') {
				need_v4 = true;
				i++;
			}
		} else if (i == s.len) {
			return false;
		}
	}
	if (need_v4 && !has_v4)
		return false;
	size_t groups = nh + nt + (has_v4 ? 2 : 0);
	if (dc ? groups > 7 : groups != 8)
		return false;

	memset(out, 0, 16);
	for (size_t k = 0; k < nh; k++) {
		out[2 * k] = (uint8_t)(head[k] >> 8);
		out[2 * k + 1] = (uint8_t)head[k];
	}
	size_t end = has_v4 ? 12 : 16;
	size_t start = end - 2 * nt;
	for (size_t k = 0; k < nt; k++) {
		out[start + 2 * k] = (uint8_t)(tail[k] >> 8);
		out[start + 2 * k + 1] = (uint8_t)tail[k];
	}
	if (has_v4)
		memcpy(out + 12, v4, 4);
	return true;
}

/* hostname = *( domainlabel "." ) toplabel [ "." ]; labels are alphanum
 * and inner '-', the top label starts with a letter (which is what tells
 * a hostname from a malformed IPv4 address). */
bool sp_hostname_check(struct sp_str s)
{
	size_t i = 0, last_start = 0;

	if (s.len && s.p[s.len - 1] == '.')
		s.len--;
	if (s.len == 0)
		return false;
	while (i < s.len) {
		size_t st = i;
		while (i < s.len && (sp_is_alnum(s.p[i]) || s.p[i] == '-'))
			i++;
		if (i == st || s.p[st] == '-' || s.p[i - 1] == '-')
			return false;
		last_start = st;
		if (i < s.len) {
			if (s.p[i] != '.')
				return false;
			i++;
			if (i == s.len)
				return false;
		}
	}
	return sp_is_alpha(s.p[last_start]);
}

bool sp_ipv6_check(struct sp_str s)
{
	uint8_t tmp[16];
	return sp_ipv6_parse(s, tmp);
}

int sp_host_scan(struct sp_str s, bool bare_ipv6, size_t *len, enum sp_host_type *type)
{
	uint8_t tmp[16];
	size_t i = 0;

	if (s.len == 0)
		return SP_EINVAL;
	if (s.p[0] == '[') {
		const char *rb = memchr(s.p, ']', s.len);
		if (!rb || !sp_ipv6_parse(sp_str_make(s.p + 1, (size_t)(rb - s.p) - 1), tmp))
			return SP_EINVAL;
		*len = (size_t)(rb - s.p) + 1;
		*type = SP_HOST_IPV6;
		return 0;
	}
	while (i < s.len && (sp_is_alnum(s.p[i]) || s.p[i] == '-' || s.p[i] == '.'))
		i++;
	if (bare_ipv6 && i < s.len && s.p[i] == ':') {
		size_t j = 0;
		while (j < s.len && (sp_is_hex(s.p[j]) || s.p[j] == ':' || s.p[j] == '.'))
			j++;
		if (sp_ipv6_parse(sp_str_make(s.p, j), tmp)) {
			*len = j;
			*type = SP_HOST_IPV6;
			return 0;
		}
	}
	struct sp_str h = sp_str_make(s.p, i);
	if (sp_ipv4_parse(h, tmp))
		*type = SP_HOST_IPV4;
	else if (sp_hostname_check(h))
		*type = SP_HOST_NAME;
	else
		return SP_EINVAL;
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
