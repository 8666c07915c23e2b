/* addr.c: parses name-addr / addr-spec values with their header parameters. */
#include "sip/addr.h"

#include <string.h>

#include "core/err.h"
#include "sip/lws.h"
#include "sip/param.h"

/* Skips LWS and the comma before a list value; SP_ENOENT at the end. */
static int list_start(struct sp_str s, size_t *i)
{
	size_t j = sp_lws_skip(s, *i);
	if (j < s.len && s.p[j] == ',') {
		j = sp_lws_skip(s, j + 1);
		if (j >= s.len)
			return SP_EINVAL;
	}
	if (j >= s.len)
		return SP_ENOENT;
	*i = j;
	return 0;
}

/* display-name = *(token LWS) / quoted-string, directly followed (after
 * optional LWS) by '<'. Returns the index of '<', or 0 when the value
 * is not in name-addr form (then it is an addr-spec). */
static int name_addr_start(struct sp_str s, size_t i, struct sp_str *display, size_t *laquot)
{
	size_t start = i, n;

	if (s.p[i] == '"') {
		if (sp_quoted_scan(sp_str_from(s, i), &n))
			return SP_EINVAL;
		*display = sp_str_make(s.p + i, n);
		i = sp_lws_skip(s, i + n);
		if (i >= s.len || s.p[i] != '<')
			return SP_EINVAL;
		*laquot = i;
		return 0;
	}
	while (i < s.len && (sp_is_token(s.p[i]) || sp_is_lws(s.p[i])))
		i++;
	if (i < s.len && s.p[i] == '<') {
		struct sp_str d = sp_str_trim(sp_str_make(s.p + start, i - start));
		*display = d;
		*laquot = i;
		return 0;
	}
	*laquot = (size_t)-1;
	return 0;
}

int sp_addr_next(struct sp_str *cur, unsigned flags, struct sp_addr *out)
{
	struct sp_str s = *cur;
	struct sp_addr a;
	size_t i = 0, start, laquot, uend;
	int err;

	memset(&a, 0, sizeof(a));
	if ((err = list_start(s, &i)) != 0)
		return err;
	start = i;

	if ((flags & SP_ADDR_STAR) && s.p[i] == '*') {
		size_t j = sp_lws_skip(s, i + 1);
		if (j != s.len)
			return SP_EINVAL; /* "*" stands alone */
		a.star = true;
		a.raw = sp_str_make(s.p + i, 1);
		*cur = sp_str_from(s, s.len);
		*out = a;
		return 0;
	}

	if ((err = name_addr_start(s, i, &a.display, &laquot)) != 0)
		return err;
	if (laquot != (size_t)-1) {
		const char *raq = memchr(s.p + laquot + 1, '>', s.len - laquot - 1);
		if (!raq)
			return SP_EINVAL;
		size_t j = (size_t)(raq - s.p);
		if ((err = sp_uri_parse(sp_str_make(s.p + laquot + 1, j - laquot - 1), &a.uri)) != 0)
			return err;
		a.angle = true;
		uend = j + 1;
	} else {
		if (flags & SP_ADDR_NAMEADDR)
			return SP_EINVAL;
		/* addr-spec: the URI cannot hold ',', ';' or '?' (RFC 3261
		 * section 20.10), so it ends at the first of them or at LWS. */
		size_t j = i;
		while (j < s.len && s.p[j] != ',' && s.p[j] != ';' && !sp_is_lws(s.p[j])) {
			if (s.p[j] == '?')
				return SP_EINVAL;
			j++;
		}
		if ((err = sp_uri_parse(sp_str_make(s.p + i, j - i), &a.uri)) != 0)
			return err;
		uend = j;
	}

	/* *( SEMI generic-param ) up to the next comma. */
	struct sp_str rest = sp_str_from(s, uend), pname, pval;
	size_t pstart = sp_lws_skip(s, uend);
	int np = 0;
	while ((err = sp_param_next(&rest, SP_PARAM_HEADER, &pname, &pval)) == 0) {
		if (++np > SP_PARAM_MAX)
			return SP_E2BIG;
		if (sp_str_caseeq_l(pname, "tag")) {
			if (!pval.p || pval.p[0] == '"' || a.tag.p)
				return SP_EINVAL;
			a.tag = pval;
		} else if (sp_str_caseeq_l(pname, "expires")) {
			uint32_t e;
			if (!pval.p)
				return SP_EINVAL;
			if ((err = sp_str_to_u32(pval, UINT32_MAX, &e)) != 0)
				return err;
		} else if (sp_str_caseeq_l(pname, "q")) {
			/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
			if (!pval.p || pval.len > 5 || (pval.p[0] != '0' && pval.p[0] != '1'))
				return SP_EINVAL;
			if (pval.len > 1 && pval.p[1] != '.')
				return SP_EINVAL;
			for (size_t k = 2; k < pval.len; k++)
				if (!sp_is_digit(pval.p[k]) || (pval.p[0] == '1' && pval.p[k] != '0'))
					return SP_EINVAL;
		}
	}
	if (err != SP_ENOENT)
		return err;
	size_t pend = (size_t)(rest.p - s.p);
	if (pend > pstart)
		a.params = sp_str_make(s.p + pstart, pend - pstart);
	i = sp_lws_skip(s, pend);
	if (i < s.len && s.p[i] != ',')
		return SP_EINVAL;
	a.raw = sp_str_make(s.p + start, pend - start);
	while (a.raw.len && sp_is_lws(a.raw.p[a.raw.len - 1]))
		a.raw.len--;
	*cur = sp_str_from(s, i);
	*out = a;
	return 0;
}

int sp_addr_parse(struct sp_str value, unsigned flags, struct sp_addr *addr)
{
	struct sp_str cur = value;
	struct sp_addr a;
	int err = sp_addr_next(&cur, flags, &a);
	if (err)
		return err == SP_ENOENT ? SP_EINVAL : err;
	if (sp_lws_skip(cur, 0) != cur.len)
		return SP_EINVAL; /* a second value where only one is allowed */
	*addr = a;
	return 0;
}
