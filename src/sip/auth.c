/* auth.c: parses Authorization/Authenticate values and extracts the Digest fields. */
#include "sip/auth.h"

#include <stddef.h>

#include "core/charset.h"
#include "core/err.h"
#include "sip/lws.h"
#include "sip/param.h"
#include "sip/tokens.h"

/* Reads one auth-param at the start of *cur (no leading LWS) and advances
 * *cur past it and the comma that follows it, so *cur is empty after the
 * last one. value keeps its quotes. */
static int auth_param_next(struct sp_str *cur, struct sp_str *name, struct sp_str *value)
{
	struct sp_str s = *cur;
	size_t n = sp_token_span(s, 0);
	if (n == 0)
		return SP_EINVAL;

	size_t i = sp_lws_skip(s, n);
	if (i == s.len || s.p[i] != '=')
		return SP_EINVAL;
	i = sp_lws_skip(s, i + 1);
	size_t vlen;
	if (i < s.len && s.p[i] == '"') {
		if (sp_quoted_scan(sp_str_from(s, i), &vlen))
			return SP_EINVAL;
	} else {
		vlen = sp_token_span(s, i);
		if (vlen == 0)
			return SP_EINVAL;
	}
	struct sp_str v = sp_str_make(s.p + i, vlen);

	i = sp_lws_skip(s, i + vlen);
	if (i < s.len) {
		if (s.p[i] != ',')
			return SP_EINVAL;
		/* A trailing comma or an empty element is malformed. */
		i = sp_lws_skip(s, i + 1);
		if (i == s.len || s.p[i] == ',')
			return SP_EINVAL;
	}
	*name = sp_str_make(s.p, n);
	*value = v;
	*cur = sp_str_from(s, i);
	return 0;
}

static bool is_quoted(struct sp_str v)
{
	return v.len >= 2 && v.p[0] == '"';
}

static struct sp_str unquote(struct sp_str v)
{
	return is_quoted(v) ? sp_str_make(v.p + 1, v.len - 2) : v;
}

static bool all_hex(struct sp_str v)
{
	if (v.len == 0)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!sp_is_hex(v.p[i]))
			return false;
	return true;
}

/* token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool is_token68(struct sp_str v)
{
	size_t i = 0;
	while (i < v.len && (sp_is_alnum(v.p[i]) || v.p[i] == '-' || v.p[i] == '.' ||
			     v.p[i] == '_' || v.p[i] == '~' || v.p[i] == '+' || v.p[i] == '/'))
		i++;
	if (i == 0)
		return false;
	while (i < v.len && v.p[i] == '=')
		i++;
	return i == v.len;
}

static const struct {
	const char *name;
	unsigned bit;
	bool quoted; /* the grammar demands a quoted-string */
	size_t off;
} digest_fields[] = {
	{ "username", SP_AUTH_USERNAME, true, offsetof(struct sp_auth, username) },
	{ "realm", SP_AUTH_REALM, true, offsetof(struct sp_auth, realm) },
	{ "nonce", SP_AUTH_NONCE, true, offsetof(struct sp_auth, nonce) },
	{ "uri", SP_AUTH_URI, true, offsetof(struct sp_auth, uri) },
	{ "response", SP_AUTH_RESPONSE, true, offsetof(struct sp_auth, response) },
	{ "algorithm", SP_AUTH_ALGORITHM, false, offsetof(struct sp_auth, algorithm) },
	{ "cnonce", SP_AUTH_CNONCE, true, offsetof(struct sp_auth, cnonce) },
	{ "opaque", SP_AUTH_OPAQUE, true, offsetof(struct sp_auth, opaque) },
	{ "qop", SP_AUTH_QOP, false, offsetof(struct sp_auth, qop) },
	{ "nc", SP_AUTH_NC, false, offsetof(struct sp_auth, nc) },
	{ "stale", SP_AUTH_STALE, false, offsetof(struct sp_auth, stale) },
	{ "domain", SP_AUTH_DOMAIN, true, offsetof(struct sp_auth, domain) },
};

/* Checks one Digest parameter and stores it in a; unknown names pass. */
static int digest_field(struct sp_auth *a, struct sp_str name, struct sp_str value)
{
	for (size_t k = 0; k < sizeof(digest_fields) / sizeof(digest_fields[0]); k++) {
		if (!sp_str_caseeq_c(name, digest_fields[k].name))
			continue;
		unsigned bit = digest_fields[k].bit;
		if (a->present & bit)
			return SP_EINVAL;
		if (digest_fields[k].quoted && !is_quoted(value))
			return SP_EINVAL;
		struct sp_str v = unquote(value);

		if (bit == SP_AUTH_RESPONSE && !all_hex(v))
			return SP_EINVAL;
		if (bit == SP_AUTH_NC) {
			/* nc-value = 8LHEX, unquoted in the grammar. */
			if (is_quoted(value) || v.len != 8 || !all_hex(v))
				return SP_EINVAL;
			uint32_t nc = 0;
			for (size_t i = 0; i < 8; i++)
				nc = nc << 4 | (uint32_t)sp_hexval(v.p[i]);
			a->nc_value = nc;
		}
		if (bit == SP_AUTH_STALE) {
			if (is_quoted(value))
				return SP_EINVAL;
			if (sp_str_caseeq_c(v, "true"))
				a->stale = true;
			else if (!sp_str_caseeq_c(v, "false"))
				return SP_EINVAL;
		} else {
			*(struct sp_str *)((char *)a + digest_fields[k].off) = v;
		}
		a->present |= bit;
		return 0;
	}
	return 0;
}

int sp_auth_parse(struct sp_str value, struct sp_auth *out)
{
	struct sp_auth a = { 0 };
	size_t n = sp_token_span(value, 0);

	if (n == 0)
		return SP_EINVAL;
	a.scheme = sp_str_make(value.p, n);
	a.digest = sp_str_caseeq_c(a.scheme, "Digest");

	/* The grammar puts mandatory LWS between the scheme and what follows. */
	size_t i = sp_lws_skip(value, n);
	if (i == n || i == value.len)
		return SP_EINVAL;
	struct sp_str rest = sp_str_from(value, i);

	/* A token68 ends in nothing but '=' padding, so it can never also be
	 * a valid auth-param list (whose values are never empty). Digest
	 * always takes auth-params. */
	if (!a.digest && is_token68(rest)) {
		a.token68 = rest;
		*out = a;
		return 0;
	}

	a.params = rest;
	struct sp_str cur = rest, name, val;
	int count = 0, err;
	while (cur.len) {
		err = auth_param_next(&cur, &name, &val);
		if (err)
			return err;
		if (++count > SP_PARAM_MAX)
			return SP_E2BIG;
		if (a.digest && (err = digest_field(&a, name, val)) != 0)
			return err;
	}
	*out = a;
	return 0;
}

int sp_auth_param(const struct sp_auth *auth, const char *name, struct sp_str *value)
{
	struct sp_str cur = auth->params, n, v;

	while (cur.len && auth_param_next(&cur, &n, &v) == 0)
		if (sp_str_caseeq_c(n, name)) {
			*value = v;
			return 0;
		}
	return SP_ENOENT;
}
