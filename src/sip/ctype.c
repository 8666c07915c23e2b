/* ctype.c: parses the Content-Type media-type and compares it with a known type. */
#include "sip/ctype.h"

#include "core/charset.h"
#include "core/err.h"
#include "sip/lws.h"
#include "sip/param.h"
#include "sip/tokens.h"

/* m-value is narrower than the generic-param value sp_param_next accepts
 * (which also allows a host such as an IPv6 reference): token or quoted. */
static bool is_m_value(struct sp_str v)
{
	if (v.p == NULL || v.len == 0)
		return false;
	if (v.p[0] == '"')
		return true; /* sp_param_next already scanned the quoted-string */
	return sp_token_span(v, 0) == v.len;
}

int sp_ctype_parse(struct sp_str value, struct sp_ctype *out)
{
	struct sp_ctype ct = { SP_STR_NULL, SP_STR_NULL, SP_STR_NULL };
	size_t i = sp_lws_skip(value, 0);
	size_t n = sp_token_span(value, i);

	if (n == 0)
		return SP_EINVAL;
	ct.type = sp_str_make(value.p + i, n);
	i = sp_lws_skip(value, i + n);
	if (i == value.len || value.p[i] != '/')
		return SP_EINVAL;
	i = sp_lws_skip(value, i + 1);
	n = sp_token_span(value, i);
	if (n == 0)
		return SP_EINVAL;
	ct.subtype = sp_str_make(value.p + i, n);
	i = sp_lws_skip(value, i + n);

	if (i < value.len) {
		struct sp_str cur = sp_str_make(value.p + i, value.len - i);
		struct sp_str name, val;
		int count = 0, err;

		if (value.p[i] != ';')
			return SP_EINVAL;
		ct.params = cur;
		while ((err = sp_param_next(&cur, SP_PARAM_HEADER, &name, &val)) == 0) {
			if (!is_m_value(val))
				return SP_EINVAL;
			if (++count > SP_PARAM_MAX)
				return SP_E2BIG;
		}
		if (err != SP_ENOENT)
			return err;
		if (sp_lws_skip(cur, 0) != cur.len)
			return SP_EINVAL;
	}
	*out = ct;
	return 0;
}

bool sp_ctype_is(const struct sp_ctype *ct, const char *type, const char *subtype)
{
	if (!sp_str_caseeq_c(ct->type, type))
		return false;
	return subtype == NULL || sp_str_caseeq_c(ct->subtype, subtype);
}
