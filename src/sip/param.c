/* param.c: generic ";name=value" parameter lists of SIP headers (generic-param) and URIs (uri-parameter). */
#include "sip/param.h"

#include <string.h>

#include "core/charset.h"
#include "core/err.h"

/* Skips LWS of a header value: SP, HTAB and folds (CRLF or LF followed by
 * SP/HTAB). A CR or LF that is not a fold is left in place so the caller
 * refuses it instead of silently reading past a line end. */
static size_t lws_skip(struct sp_str s, size_t i)
{
	for (;;) {
		if (i < s.len && sp_is_wsp(s.p[i])) {
			i++;
		} else if (i + 2 < s.len && s.p[i] == '\r' && s.p[i + 1] == '\n' &&
			   sp_is_wsp(s.p[i + 2])) {
			i += 3;
		} else if (i + 1 < s.len && s.p[i] == '\n' && sp_is_wsp(s.p[i + 1])) {
			i += 2;
		} else {
			return i;
		}
	}
}

static size_t token_span(struct sp_str s, size_t i)
{
	size_t j = i;
	while (j < s.len && sp_is_token(s.p[j]))
		j++;
	return j - i;
}

/* paramchar = param-unreserved / unreserved / escaped. An escape must be
 * exactly %HH: a lone '%' makes the parameter malformed, so the span stops
 * there and the caller sees an unexpected byte. */
static size_t paramchar_span(struct sp_str s, size_t i)
{
	size_t j = i;
	while (j < s.len) {
		char c = s.p[j];
		if (sp_cc(c, SP_CC_PARAM | SP_CC_UNRESERVED)) {
			j++;
		} else if (c == '%' && j + 2 < s.len && sp_is_hex(s.p[j + 1]) &&
			   sp_is_hex(s.p[j + 2])) {
			j += 3;
		} else {
			break;
		}
	}
	return j - i;
}

/* An IPv6 reference as a generic-param value (RFC 5118 section 4.5,
 * received=[...]): the full address check belongs to the Via parser, which
 * knows the parameter's meaning; here it only has to be delimited. */
static size_t ipv6ref_span(struct sp_str s, size_t i)
{
	size_t j = i + 1;
	while (j < s.len && (sp_is_hex(s.p[j]) || s.p[j] == ':' || s.p[j] == '.'))
		j++;
	if (j < s.len && s.p[j] == ']' && j > i + 1)
		return j + 1 - i;
	return 0;
}

/* A bare IPv6 address as a value: RFC 3261 wrote received = IPv6address
 * without brackets and RFC 5118 section 4.5 asks receivers to accept both
 * spellings. Tokens never hold ':', so a run of hex digits, dots and at
 * least two colons that no token byte follows can only be such an address. */
static size_t ipv6bare_span(struct sp_str s, size_t i)
{
	size_t j = i, colons = 0;
	while (j < s.len && (sp_is_hex(s.p[j]) || s.p[j] == ':' || s.p[j] == '.')) {
		colons += s.p[j] == ':';
		j++;
	}
	if (colons < 2 || (j < s.len && sp_is_token(s.p[j])))
		return 0;
	return j - i;
}

int sp_quoted_scan(struct sp_str s, size_t *len)
{
	size_t i = 1;

	if (s.len == 0 || s.p[0] != '"')
		return SP_EINVAL;
	while (i < s.len) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '"') {
			*len = i + 1;
			return 0;
		}
		if (c == '\\') {
			/* quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F); UTF-8
			 * bytes are let through too since qdtext takes them anyway. */
			if (i + 1 >= s.len || s.p[i + 1] == '\r' || s.p[i + 1] == '\n')
				return SP_EINVAL;
			i += 2;
			continue;
		}
		if (c == '\r') {
			/* Only a fold may break a quoted string across lines. */
			if (i + 2 < s.len && s.p[i + 1] == '\n' && sp_is_wsp(s.p[i + 2])) {
				i += 3;
				continue;
			}
			return SP_EINVAL;
		}
		if (c == '\n') {
			if (i + 1 < s.len && sp_is_wsp(s.p[i + 1])) {
				i += 2;
				continue;
			}
			return SP_EINVAL;
		}
		/* qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII */
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return SP_EINVAL;
		i++;
	}
	return SP_EINVAL;
}

static int next_header(struct sp_str *cur, struct sp_str *name, struct sp_str *value)
{
	struct sp_str s = *cur;
	size_t i = lws_skip(s, 0), n, after;
	struct sp_str v = SP_STR_NULL;

	if (i >= s.len || s.p[i] != ';')
		return SP_ENOENT;
	i = lws_skip(s, i + 1);
	n = token_span(s, i);
	if (n == 0)
		return SP_EINVAL;
	struct sp_str nm = sp_str_make(s.p + i, n);
	i += n;
	after = i;
	/* LWS before '=' belongs to the parameter only when '=' follows; else
	 * it is left for whatever comes next (the next ';', or a ','). */
	size_t j = lws_skip(s, i);
	if (j < s.len && s.p[j] == '=') {
		j = lws_skip(s, j + 1);
		if (j >= s.len)
			return SP_EINVAL;
		if (s.p[j] == '"') {
			size_t q;
			int err = sp_quoted_scan(sp_str_make(s.p + j, s.len - j), &q);
			if (err)
				return err;
			n = q;
		} else if (s.p[j] == '[') {
			n = ipv6ref_span(s, j);
		} else {
			/* host (hostname / IPv4) is a subset of token. */
			n = ipv6bare_span(s, j);
			if (n == 0)
				n = token_span(s, j);
		}
		if (n == 0)
			return SP_EINVAL;
		v = sp_str_make(s.p + j, n);
		after = j + n;
	}
	*name = nm;
	*value = v;
	*cur = sp_str_make(s.p + after, s.len - after);
	return 0;
}

static int next_uri(struct sp_str *cur, struct sp_str *name, struct sp_str *value)
{
	struct sp_str s = *cur;
	size_t i = 0, n;
	struct sp_str v = SP_STR_NULL;

	if (s.len == 0 || s.p[0] != ';')
		return SP_ENOENT;
	i = 1;
	n = paramchar_span(s, i);
	if (n == 0)
		return SP_EINVAL;
	struct sp_str nm = sp_str_make(s.p + i, n);
	i += n;
	if (i < s.len && s.p[i] == '=') {
		i++;
		n = paramchar_span(s, i);
		if (n == 0)
			return SP_EINVAL;
		v = sp_str_make(s.p + i, n);
		i += n;
	}
	/* The parameter must end at the next ';', '?' (headers) or the end;
	 * anything else is a byte the grammar does not allow here. */
	if (i < s.len && s.p[i] != ';' && s.p[i] != '?')
		return SP_EINVAL;
	*name = nm;
	*value = v;
	*cur = sp_str_make(s.p + i, s.len - i);
	return 0;
}

int sp_param_next(struct sp_str *cur, enum sp_param_kind kind, struct sp_str *name,
		  struct sp_str *value)
{
	if (kind == SP_PARAM_URI)
		return next_uri(cur, name, value);
	return next_header(cur, name, value);
}

/* Reads one byte of an escaped slice at *i, decoding %HH. Slices reaching
 * here were checked, but a stray '%' is still read as itself rather than
 * running past the end. */
static unsigned char esc_get(struct sp_str s, size_t *i)
{
	unsigned char c = (unsigned char)s.p[*i];
	if (c == '%' && *i + 2 < s.len && sp_is_hex(s.p[*i + 1]) && sp_is_hex(s.p[*i + 2])) {
		c = (unsigned char)(sp_hexval(s.p[*i + 1]) * 16 + sp_hexval(s.p[*i + 2]));
		*i += 3;
		return c;
	}
	(*i)++;
	return c;
}

bool sp_param_escaped_eq(struct sp_str a, struct sp_str b, bool icase)
{
	size_t i = 0, j = 0;

	while (i < a.len && j < b.len) {
		unsigned char x = esc_get(a, &i), y = esc_get(b, &j);
		if (icase) {
			x = (unsigned char)sp_lower((char)x);
			y = (unsigned char)sp_lower((char)y);
		}
		if (x != y)
			return false;
	}
	return i == a.len && j == b.len;
}

int sp_param_find_s(struct sp_str params, enum sp_param_kind kind, struct sp_str name,
		    struct sp_str *value)
{
	struct sp_str cur = params, n, v;

	/* Only URI parameters may be escaped; header names are plain tokens. */
	while (sp_param_next(&cur, kind, &n, &v) == 0) {
		bool eq = kind == SP_PARAM_URI ? sp_param_escaped_eq(n, name, true)
					       : sp_str_caseeq(n, name);
		if (eq) {
			if (value)
				*value = v;
			return 0;
		}
	}
	return SP_ENOENT;
}

int sp_param_find(struct sp_str params, enum sp_param_kind kind, const char *name,
		  struct sp_str *value)
{
	return sp_param_find_s(params, kind, sp_str_cstr(name), value);
}

int sp_param_list_check(struct sp_str params, enum sp_param_kind kind)
{
	struct sp_str names[SP_PARAM_MAX];
	struct sp_str cur = params, n, v;
	size_t count = 0;
	int err;

	for (;;) {
		err = sp_param_next(&cur, kind, &n, &v);
		if (err == SP_ENOENT)
			break;
		if (err)
			return err;
		if (count == SP_PARAM_MAX)
			return SP_E2BIG;
		if (kind == SP_PARAM_URI) {
			/* RFC 3261 19.1.4 compares URIs parameter by parameter; a
			 * duplicate would make that comparison ambiguous. */
			for (size_t k = 0; k < count; k++)
				if (sp_param_escaped_eq(names[k], n, true))
					return SP_EINVAL;
		}
		names[count++] = n;
	}
	/* Whatever stopped the loop must be the end of the list. */
	if (kind == SP_PARAM_HEADER) {
		if (lws_skip(cur, 0) != cur.len)
			return SP_EINVAL;
	} else if (cur.len != 0) {
		return SP_EINVAL;
	}
	return 0;
}
