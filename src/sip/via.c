/* via.c: parses via-parm values (RFC 3261 section 20.42 and 25, RFC 3581). */
#include "sip/via.h"

#include <string.h>

#include "core/err.h"
#include "sip/host.h"
#include "sip/lws.h"
#include "sip/param.h"

/* Reads a token at s[i..] into *tok, returns the index after it. */
static size_t token_at(struct sp_str s, size_t i, struct sp_str *tok)
{
	size_t start = i;
	while (i < s.len && sp_is_token(s.p[i]))
		i++;
	*tok = sp_str_make(s.p + start, i - start);
	return i;
}

/* SLASH and COLON are SWS-delimited: LWS may surround them. */
static int expect_sep(struct sp_str s, size_t *i, char sep)
{
	size_t j = sp_lws_skip(s, *i);
	if (j >= s.len || s.p[j] != sep)
		return SP_EINVAL;
	*i = sp_lws_skip(s, j + 1);
	return 0;
}

static int check_params(struct sp_via *v)
{
	struct sp_str cur = v->params, name, value;
	int err, n = 0;

	while ((err = sp_param_next(&cur, SP_PARAM_HEADER, &name, &value)) == 0) {
		if (++n > SP_PARAM_MAX)
			return SP_E2BIG;
		if (sp_str_caseeq_l(name, "branch")) {
			if (!value.p || value.p[0] == '"' || v->branch.p)
				return SP_EINVAL;
			v->branch = value;
		} else if (sp_str_caseeq_l(name, "received")) {
			enum sp_host_type t;
			if (!value.p || v->received.p)
				return SP_EINVAL;
			if (sp_host_check(value, true, &t) || t == SP_HOST_NAME)
				return SP_EINVAL;
			v->received = value;
		} else if (sp_str_caseeq_l(name, "maddr")) {
			if (!value.p || sp_host_check(value, false, NULL))
				return SP_EINVAL;
			v->maddr = value;
		} else if (sp_str_caseeq_l(name, "ttl")) {
			uint32_t ttl;
			if (!value.p)
				return SP_EINVAL;
			if ((err = sp_str_to_u32(value, 255, &ttl)) != 0)
				return err;
			v->has_ttl = true;
			v->ttl = (uint8_t)ttl;
		} else if (sp_str_caseeq_l(name, "rport")) {
			uint32_t port = 0;
			if (value.p && (err = sp_str_to_u32(value, 65535, &port)) != 0)
				return err;
			v->has_rport = true;
			v->rport = (uint16_t)port;
		}
	}
	return err == SP_ENOENT ? 0 : err;
}

int sp_via_next(struct sp_str *cur, struct sp_via *out)
{
	struct sp_str s = *cur, name, ver;
	struct sp_via v;
	size_t i, n;
	int err;

	memset(&v, 0, sizeof(v));
	/* Skip LWS and the comma that separates this value from the last. */
	i = sp_lws_skip(s, 0);
	if (i < s.len && s.p[i] == ',') {
		i = sp_lws_skip(s, i + 1);
		if (i >= s.len)
			return SP_EINVAL; /* a trailing comma */
	}
	if (i >= s.len)
		return SP_ENOENT;
	size_t start = i;

	/* sent-protocol = protocol-name SLASH protocol-version SLASH transport */
	i = token_at(s, i, &name);
	if (!name.len || expect_sep(s, &i, '/'))
		return SP_EINVAL;
	i = token_at(s, i, &ver);
	if (!ver.len || expect_sep(s, &i, '/'))
		return SP_EINVAL;
	/* Only SIP/2.0 is spoken here: any other protocol or version in a Via
	 * is a message this element cannot process (RFC 3261 section 8.1.3.3). */
	if (!sp_str_caseeq_l(name, "SIP") || !sp_str_eq_c(ver, "2.0"))
		return SP_EINVAL;
	i = token_at(s, i, &v.transport);
	if (!v.transport.len)
		return SP_EINVAL;
	v.protocol = sp_str_make(s.p + start, (size_t)(v.transport.p - (s.p + start)));

	/* LWS sent-by */
	size_t j = sp_lws_skip(s, i);
	if (j == i)
		return SP_EINVAL;
	i = j;
	if ((err = sp_host_scan(sp_str_from(s, i), false, &n, &v.host_type)) != 0)
		return err;
	v.host = sp_str_make(s.p + i, n);
	i += n;
	j = sp_lws_skip(s, i);
	if (j < s.len && s.p[j] == ':') {
		struct sp_str port;
		uint32_t p;
		i = sp_lws_skip(s, j + 1);
		j = i;
		while (j < s.len && sp_is_digit(s.p[j]))
			j++;
		port = sp_str_make(s.p + i, j - i);
		if ((err = sp_str_to_u32(port, 65535, &p)) != 0)
			return err;
		v.port = (uint16_t)p;
		i = j;
	}

	/* *( SEMI via-params ): the list runs to the next top-level comma. */
	j = sp_lws_skip(s, i);
	size_t pstart = j;
	struct sp_str rest = sp_str_from(s, j), pname, pval;
	while ((err = sp_param_next(&rest, SP_PARAM_HEADER, &pname, &pval)) == 0)
		;
	if (err != SP_ENOENT)
		return err;
	j = (size_t)(rest.p - s.p);
	v.params = sp_str_make(s.p + pstart, j - pstart);
	if ((err = check_params(&v)) != 0)
		return err;
	i = sp_lws_skip(s, j);
	if (i < s.len && s.p[i] != ',')
		return SP_EINVAL;
	/* raw ends where the parameters (or sent-by) end, before any LWS. */
	v.raw = sp_str_make(s.p + start, j - start);
	while (v.raw.len && sp_is_lws(v.raw.p[v.raw.len - 1]))
		v.raw.len--;
	*cur = sp_str_from(s, i);
	*out = v;
	return 0;
}
