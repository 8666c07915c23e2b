/* tokens.c: comma-separated token lists and the Privacy header. */
#include "sip/tokens.h"

#include "core/charset.h"
#include "core/err.h"
#include "sip/lws.h"

size_t sp_token_span(struct sp_str s, size_t i)
{
	size_t j = i;
	while (j < s.len && sp_is_token(s.p[j]))
		j++;
	return j - i;
}

int sp_token_list_next(struct sp_str *cur, struct sp_str *tok)
{
	struct sp_str s = *cur;
	size_t i = sp_lws_skip(s, 0);
	if (i == s.len)
		return SP_ENOENT;

	size_t n = sp_token_span(s, i);
	if (n == 0)
		return SP_EINVAL;
	struct sp_str t = sp_str_make(s.p + i, n);

	i = sp_lws_skip(s, i + n);
	if (i < s.len) {
		if (s.p[i] != ',')
			return SP_EINVAL;
		i = sp_lws_skip(s, i + 1);
		/* Whatever follows a comma must be another token: catching a
		 * trailing comma here keeps the ENOENT case unambiguous. */
		if (i == s.len || !sp_is_token(s.p[i]))
			return SP_EINVAL;
	}
	*tok = t;
	cur->p = s.p + i;
	cur->len = s.len - i;
	return 0;
}

int sp_token_list_check(struct sp_str value)
{
	struct sp_str tok;
	size_t count = 0;
	int err;

	while ((err = sp_token_list_next(&value, &tok)) == 0)
		count++;
	if (err != SP_ENOENT)
		return err;
	return count ? 0 : SP_EINVAL;
}

static unsigned priv_flag(struct sp_str v)
{
	static const struct {
		const char *name;
		unsigned flag;
	} names[] = {
		{ "header", SP_PRIV_HEADER }, { "session", SP_PRIV_SESSION },
		{ "user", SP_PRIV_USER },     { "none", SP_PRIV_NONE },
		{ "critical", SP_PRIV_CRITICAL }, { "id", SP_PRIV_ID },
	};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (sp_str_caseeq_c(v, names[k].name))
			return names[k].flag;
	return SP_PRIV_OTHER;
}

int sp_privacy_parse(struct sp_str value, unsigned *flags)
{
	unsigned f = 0;
	size_t i = sp_lws_skip(value, 0);

	for (;;) {
		size_t n = sp_token_span(value, i);
		if (n == 0)
			return SP_EINVAL;
		f |= priv_flag(sp_str_make(value.p + i, n));
		i = sp_lws_skip(value, i + n);
		if (i == value.len)
			break;
		if (value.p[i] != ';')
			return SP_EINVAL;
		i = sp_lws_skip(value, i + 1);
	}
	*flags = f;
	return 0;
}
