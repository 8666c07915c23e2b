/* uri.c: parsing and comparison of sip:, sips: (RFC 3261 19.1), tel: (RFC 3966) and opaque URIs. */
#include "sip/uri.h"

#include <string.h>

#include "core/charset.h"
#include "core/err.h"
#include "sip/host.h"
#include "sip/param.h"

/* The most header components (?h=v&...) one URI may carry. */
#define URI_HEADERS_MAX SP_PARAM_MAX

static bool is_escape(struct sp_str s, size_t i)
{
	return i + 2 < s.len && s.p[i] == '%' && sp_is_hex(s.p[i + 1]) && sp_is_hex(s.p[i + 2]);
}

/* Checks that s is made only of bytes of class cls and %HH escapes; a '%'
 * not followed by two hex digits is refused (RFC 3261 25.1 escaped). */
static bool span_ok(struct sp_str s, uint16_t cls)
{
	for (size_t i = 0; i < s.len;) {
		if (sp_cc(s.p[i], cls))
			i++;
		else if (is_escape(s, i))
			i += 3;
		else
			return false;
	}
	return true;
}

/* Reads host [":" port] at the start of s, stopping at ';', '?' or the end. */
static int hostport_parse(struct sp_str s, size_t *used, struct sp_uri *u)
{
	size_t i = 0;
	enum sp_host_type type;
	int e = sp_host_scan(s, false, &i, &type);
	if (e)
		return e;
	u->host_type = type;
	u->host = sp_str_make(s.p, i);
	if (i < s.len && s.p[i] == ':') {
		size_t st = ++i;
		uint32_t port;
		while (i < s.len && sp_is_digit(s.p[i]))
			i++;
		int err = sp_str_to_u32(sp_str_make(s.p + st, i - st), 65535, &port);
		if (err)
			return err;
		u->port_str = sp_str_make(s.p + st, i - st);
		u->port = (uint16_t)port;
	}
	if (i < s.len && s.p[i] != ';' && s.p[i] != '?')
		return SP_EINVAL;
	*used = i;
	return 0;
}

/* headers = "?" header *( "&" header ); header = hname "=" hvalue. */
static int headers_check(struct sp_str s)
{
	size_t i = 0, count = 0;

	for (;;) {
		size_t st = i;
		while (i < s.len && s.p[i] != '&')
			i++;
		struct sp_str h = sp_str_make(s.p + st, i - st);
		ptrdiff_t eq = sp_str_chr(h, '=');
		if (eq <= 0)
			return SP_EINVAL;
		struct sp_str n = sp_str_make(h.p, (size_t)eq);
		struct sp_str v = sp_str_make(h.p + eq + 1, h.len - (size_t)eq - 1);
		if (!span_ok(n, SP_CC_HNV | SP_CC_UNRESERVED) ||
		    !span_ok(v, SP_CC_HNV | SP_CC_UNRESERVED))
			return SP_EINVAL;
		if (++count > URI_HEADERS_MAX)
			return SP_E2BIG;
		if (i == s.len)
			return 0;
		i++; /* '&' */
	}
}

static int sip_parse(struct sp_str s, struct sp_uri *u)
{
	size_t i = 0, used;
	int err;

	/* '@' cannot appear unescaped in host, parameters or headers, so the
	 * first one ends the userinfo. */
	const char *at = s.len ? memchr(s.p, '@', s.len) : NULL;
	if (at) {
		struct sp_str ui = sp_str_make(s.p, (size_t)(at - s.p));
		ptrdiff_t colon = sp_str_chr(ui, ':');
		struct sp_str user = ui, pw = SP_STR_NULL;
		if (colon >= 0) {
			user = sp_str_make(ui.p, (size_t)colon);
			pw = sp_str_make(ui.p + colon + 1, ui.len - (size_t)colon - 1);
			/* An empty password is allowed by the grammar; its slice
			 * stays non-NULL so it differs from an absent one. */
			if (!span_ok(pw, SP_CC_UNRESERVED | SP_CC_PASSWORD))
				return SP_EINVAL;
		}
		if (user.len == 0 || !span_ok(user, SP_CC_UNRESERVED | SP_CC_USER))
			return SP_EINVAL;
		u->user = user;
		u->password = colon >= 0 ? pw : SP_STR_NULL;
		i = ui.len + 1;
	}
	err = hostport_parse(sp_str_make(s.p + i, s.len - i), &used, u);
	if (err)
		return err;
	i += used;
	size_t pstart = i;
	while (i < s.len && s.p[i] != '?')
		i++;
	u->params = sp_str_make(s.p + pstart, i - pstart);
	if (u->params.len == 0)
		u->params = SP_STR_NULL;
	err = sp_param_list_check(u->params, SP_PARAM_URI);
	if (err)
		return err;
	if (i < s.len) {
		i++;
		u->headers = sp_str_make(s.p + i, s.len - i);
		err = headers_check(u->headers);
		if (err)
			return err;
	}
	return 0;
}

static bool visual_sep(char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

/* global-number-digits = "+" *phonedigit DIGIT *phonedigit */
static bool global_digits_ok(struct sp_str s)
{
	bool digit = false;

	if (s.len < 2 || s.p[0] != '+')
		return false;
	for (size_t i = 1; i < s.len; i++) {
		if (sp_is_digit(s.p[i]))
			digit = true;
		else if (!visual_sep(s.p[i]))
			return false;
	}
	return digit;
}

/* local-number-digits = *phonedigit-hex (HEXDIG / "*" / "#") *phonedigit-hex */
static bool local_digits_ok(struct sp_str s)
{
	bool digit = false;

	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (sp_is_hex(c) || c == '*' || c == '#')
			digit = true;
		else if (!visual_sep(c))
			return false;
	}
	return digit;
}

static int tel_parse(struct sp_str s, struct sp_uri *u)
{
	size_t i = 0;
	struct sp_str cur, n, v, ctx = SP_STR_NULL;
	bool have_ctx = false;
	int err;

	while (i < s.len && s.p[i] != ';')
		i++;
	struct sp_str num = sp_str_make(s.p, i);
	bool global = num.len && num.p[0] == '+';
	if (global ? !global_digits_ok(num) : !local_digits_ok(num))
		return SP_EINVAL;
	u->user = num;
	u->params = i < s.len ? sp_str_make(s.p + i, s.len - i) : SP_STR_NULL;
	err = sp_param_list_check(u->params, SP_PARAM_URI);
	if (err)
		return err;
	/* tel parameters are a subset of uri-parameters: pname = 1*(alphanum / "-"). */
	cur = u->params;
	while (sp_param_next(&cur, SP_PARAM_URI, &n, &v) == 0) {
		for (size_t k = 0; k < n.len; k++)
			if (!sp_is_alnum(n.p[k]) && n.p[k] != '-')
				return SP_EINVAL;
		if (sp_str_caseeq_c(n, "phone-context")) {
			have_ctx = true;
			ctx = v;
		}
	}
	if (have_ctx) {
		/* descriptor = domainname / global-number-digits */
		if (ctx.len == 0)
			return SP_EINVAL;
		if (ctx.p[0] == '+' ? !global_digits_ok(ctx) : !sp_hostname_check(ctx))
			return SP_EINVAL;
	}
	/* RFC 3966 5.1.5: a local number is meaningless without its context. */
	if (!global && !have_ctx)
		return SP_EINVAL;
	return 0;
}

/* An opaque absoluteURI: uric / escaped, and '[' ']' as RFC 2732 added
 * them to reserved for IPv6 literals. */
static int other_parse(struct sp_str s)
{
	if (s.len == 0)
		return SP_EINVAL;
	for (size_t i = 0; i < s.len;) {
		char c = s.p[i];
		if (sp_cc(c, SP_CC_URIC) || c == '[' || c == ']')
			i++;
		else if (is_escape(s, i))
			i += 3;
		else
			return SP_EINVAL;
	}
	return 0;
}

int sp_uri_parse(struct sp_str s, struct sp_uri *uri)
{
	struct sp_uri u;
	size_t i = 0;
	int err;

	if (s.len > SP_URI_MAX_LEN)
		return SP_E2BIG;
	if (s.len == 0 || !s.p)
		return SP_EINVAL;
	memset(&u, 0, sizeof(u));
	u.raw = s;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (!sp_is_alpha(s.p[0]))
		return SP_EINVAL;
	while (i < s.len && (sp_is_alnum(s.p[i]) || s.p[i] == '+' || s.p[i] == '-' ||
			     s.p[i] == '.'))
		i++;
	if (i >= s.len || s.p[i] != ':')
		return SP_EINVAL;
	u.scheme = sp_str_make(s.p, i);
	struct sp_str rest = sp_str_make(s.p + i + 1, s.len - i - 1);

	if (sp_str_caseeq_c(u.scheme, "sip")) {
		u.scheme_id = SP_URI_SIP;
		err = sip_parse(rest, &u);
	} else if (sp_str_caseeq_c(u.scheme, "sips")) {
		u.scheme_id = SP_URI_SIPS;
		err = sip_parse(rest, &u);
	} else if (sp_str_caseeq_c(u.scheme, "tel")) {
		u.scheme_id = SP_URI_TEL;
		err = tel_parse(rest, &u);
	} else {
		u.scheme_id = SP_URI_OTHER;
		err = other_parse(rest);
	}
	if (err)
		return err;
	*uri = u;
	return 0;
}

int sp_uri_param(const struct sp_uri *uri, const char *name, struct sp_str *value)
{
	return sp_param_find(uri->params, SP_PARAM_URI, name, value);
}

int sp_uri_unescape(struct sp_str s, char *out, size_t cap, size_t *outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < s.len;) {
		char c = s.p[i];
		if (c == '%') {
			if (!is_escape(s, i))
				return SP_EINVAL;
			c = (char)(sp_hexval(s.p[i + 1]) * 16 + sp_hexval(s.p[i + 2]));
			i += 3;
		} else {
			i++;
		}
		if (n == cap)
			return SP_E2BIG;
		out[n++] = c;
	}
	*outlen = n;
	return 0;
}

/* Both absent, or both present and equal after unescaping. */
static bool opt_eq(struct sp_str a, struct sp_str b, bool icase)
{
	if ((a.p == NULL) != (b.p == NULL))
		return false;
	return sp_param_escaped_eq(a, b, icase);
}

static bool host_eq(const struct sp_uri *a, const struct sp_uri *b)
{
	if (a->host_type != b->host_type)
		return false;
	if (a->host_type == SP_HOST_IPV6) {
		/* RFC 5118 4.7/4.8: different spellings of one address
		 * (leading zeros, "::", embedded IPv4) are the same host. */
		uint8_t x[16], y[16];
		if (a->host.len < 2 || b->host.len < 2 ||
		    !sp_ipv6_parse(sp_str_make(a->host.p + 1, a->host.len - 2), x) ||
		    !sp_ipv6_parse(sp_str_make(b->host.p + 1, b->host.len - 2), y))
			return sp_str_caseeq(a->host, b->host);
		return memcmp(x, y, 16) == 0;
	}
	if (a->host_type == SP_HOST_NAME) {
		/* A trailing dot names the same (fully qualified) host. */
		struct sp_str x = a->host, y = b->host;
		if (x.len && x.p[x.len - 1] == '.')
			x.len--;
		if (y.len && y.p[y.len - 1] == '.')
			y.len--;
		return sp_str_caseeq(x, y);
	}
	return sp_str_caseeq(a->host, b->host);
}

/* RFC 3261 19.1.4: these parameters, present in only one URI, make the
 * URIs differ; any other parameter counts only when both carry it. */
static const char *const must_match[] = { "user", "ttl", "method", "maddr", "transport" };

static bool sip_params_eq(struct sp_str pa, struct sp_str pb)
{
	struct sp_str cur, n, v, w;

	for (size_t k = 0; k < sizeof(must_match) / sizeof(must_match[0]); k++) {
		bool ina = sp_param_find(pa, SP_PARAM_URI, must_match[k], NULL) == 0;
		bool inb = sp_param_find(pb, SP_PARAM_URI, must_match[k], NULL) == 0;
		if (ina != inb)
			return false;
	}
	cur = pa;
	while (sp_param_next(&cur, SP_PARAM_URI, &n, &v) == 0) {
		if (sp_param_find_s(pb, SP_PARAM_URI, n, &w) != 0)
			continue;
		if (!opt_eq(v, w, true))
			return false;
	}
	return true;
}

/* Reads one "hname=hvalue" of a checked header list and advances *cur past
 * it and its '&'. */
static void headers_next(struct sp_str *cur, struct sp_str *name, struct sp_str *value)
{
	struct sp_str s = *cur;
	size_t i = 0;
	while (i < s.len && s.p[i] != '&')
		i++;
	struct sp_str h = sp_str_make(s.p, i);
	ptrdiff_t eq = sp_str_chr(h, '=');
	if (eq < 0)
		eq = (ptrdiff_t)h.len;
	*name = sp_str_make(h.p, (size_t)eq);
	*value = (size_t)eq < h.len ? sp_str_make(h.p + eq + 1, h.len - (size_t)eq - 1)
				    : sp_str_make(h.p + h.len, 0);
	if (i < s.len)
		i++;
	*cur = sp_str_make(s.p + i, s.len - i);
}

/* Every header component of a must appear in b (any order): names
 * case-insensitive, values exact, both after unescaping. */
static bool headers_sub(struct sp_str a, struct sp_str b, size_t *count)
{
	struct sp_str ca = a, n, v, n2, v2;
	size_t c = 0;

	while (ca.len) {
		headers_next(&ca, &n, &v);
		c++;
		struct sp_str cb = b;
		bool found = false;
		while (cb.len && !found) {
			headers_next(&cb, &n2, &v2);
			found = sp_param_escaped_eq(n, n2, true) && sp_param_escaped_eq(v, v2, false);
		}
		if (!found)
			return false;
	}
	*count = c;
	return true;
}

static bool headers_eq(struct sp_str a, struct sp_str b)
{
	size_t ca = 0, cb = 0;
	return headers_sub(a, b, &ca) && headers_sub(b, a, &cb) && ca == cb;
}

/* Compares two telephone numbers digit by digit, skipping visual separators
 * (RFC 3966 section 4); hex digits of local numbers are case-insensitive. */
static bool tel_number_eq(struct sp_str a, struct sp_str b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a.len && visual_sep(a.p[i]))
			i++;
		while (j < b.len && visual_sep(b.p[j]))
			j++;
		if (i == a.len || j == b.len)
			return i == a.len && j == b.len;
		if (sp_lower(a.p[i]) != sp_lower(b.p[j]))
			return false;
		i++;
		j++;
	}
}

/* tel parameters: the same set in any order, compared case-insensitively. */
static bool tel_params_eq(struct sp_str pa, struct sp_str pb)
{
	struct sp_str cur, n, v, w;
	size_t ca = 0, cb = 0;

	cur = pa;
	while (sp_param_next(&cur, SP_PARAM_URI, &n, &v) == 0) {
		ca++;
		if (sp_param_find_s(pb, SP_PARAM_URI, n, &w) != 0 || !opt_eq(v, w, true))
			return false;
	}
	cur = pb;
	while (sp_param_next(&cur, SP_PARAM_URI, &n, &v) == 0)
		cb++;
	return ca == cb;
}

bool sp_uri_eq(const struct sp_uri *a, const struct sp_uri *b)
{
	if (a->scheme_id != b->scheme_id)
		return false;
	switch (a->scheme_id) {
	case SP_URI_SIP:
	case SP_URI_SIPS:
		if (!opt_eq(a->user, b->user, false) || !opt_eq(a->password, b->password, false))
			return false;
		if (!host_eq(a, b))
			return false;
		/* An absent port is not 5060: the two may resolve differently. */
		if ((a->port_str.p == NULL) != (b->port_str.p == NULL) || a->port != b->port)
			return false;
		return sip_params_eq(a->params, b->params) &&
		       headers_eq(a->headers, b->headers);
	case SP_URI_TEL:
		return tel_number_eq(a->user, b->user) && tel_params_eq(a->params, b->params);
	default: {
		size_t sa = a->scheme.len + 1, sb = b->scheme.len + 1;
		return sp_str_caseeq(a->scheme, b->scheme) &&
		       sp_str_eq(sp_str_make(a->raw.p + sa, a->raw.len - sa),
				 sp_str_make(b->raw.p + sb, b->raw.len - sb));
	}
	}
}
