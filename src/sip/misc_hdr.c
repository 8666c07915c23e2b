/* misc_hdr.c: Retry-After, Reason, Identity, Event, Session-Expires and Subject value parsers. */
#include "sip/misc_hdr.h"

#include "core/charset.h"
#include "core/err.h"
#include "sip/lws.h"
#include "sip/param.h"
#include "sip/tokens.h"

/* Length of the UTF8-NONASCII sequence at s.p[i] as RFC 3261 section 25.1
 * spells it (lead byte range and continuation count), or 0. */
static size_t utf8_nonascii(struct sp_str s, size_t i)
{
	unsigned char c = (unsigned char)s.p[i];
	size_t n;

	if (c >= 0xC0 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF7)
		n = 4;
	else if (c >= 0xF8 && c <= 0xFB)
		n = 5;
	else if (c >= 0xFC && c <= 0xFD)
		n = 6;
	else
		return 0;
	if (s.len - i < n)
		return 0;
	for (size_t k = 1; k < n; k++)
		if (((unsigned char)s.p[i + k] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* Reads delta-seconds at s.p[i] and advances *i past the digits. */
static int delta_seconds(struct sp_str s, size_t *i, uint32_t *out)
{
	size_t j = *i;
	while (j < s.len && sp_is_digit(s.p[j]))
		j++;
	int err = sp_str_to_u32(sp_str_make(s.p + *i, j - *i), 0xFFFFFFFFu, out);
	if (err)
		return err;
	*i = j;
	return 0;
}

/* Called for each parameter of a list; returns 0 or an SP_E* code. */
typedef int (*param_check_h)(void *ctx, struct sp_str name, struct sp_str value);

/* Walks the parameters at the start of *cur (SP_PARAM_HEADER grammar),
 * checking each with check, and leaves *cur at the first byte after them
 * (LWS skipped), where the caller expects the end of the value or a comma. */
static int params_walk(struct sp_str *cur, param_check_h check, void *ctx)
{
	struct sp_str c = *cur, name, value;
	int count = 0, err;

	while ((err = sp_param_next(&c, SP_PARAM_HEADER, &name, &value)) == 0) {
		if (++count > SP_PARAM_MAX)
			return SP_E2BIG;
		if (check && (err = check(ctx, name, value)) != 0)
			return err;
	}
	if (err != SP_ENOENT)
		return err;
	*cur = sp_str_from(c, sp_lws_skip(c, 0));
	return 0;
}

/* Like params_walk, but the list must run to the end of the value. Sets
 * *params to the raw list ({NULL, 0} when empty). */
static int params_to_end(struct sp_str s, size_t i, param_check_h check, void *ctx,
			 struct sp_str *params)
{
	i = sp_lws_skip(s, i);
	if (i == s.len) {
		*params = SP_STR_NULL;
		return 0;
	}
	if (s.p[i] != ';')
		return SP_EINVAL;
	struct sp_str cur = sp_str_from(s, i);
	int err = params_walk(&cur, check, ctx);
	if (err)
		return err;
	if (cur.len)
		return SP_EINVAL;
	*params = sp_str_from(s, i);
	return 0;
}

static bool is_quoted(struct sp_str v)
{
	return v.len >= 2 && v.p[0] == '"';
}

static bool is_token(struct sp_str v)
{
	return v.len && sp_token_span(v, 0) == v.len;
}

/* ---- Retry-After ---- */

/* comment = LPAREN *(ctext / quoted-pair / comment) RPAREN, with ctext any
 * printable byte but parentheses and backslash, UTF-8, or LWS. Depth is
 * capped so a hostile value cannot make the scan costly or deep. */
static int comment_scan(struct sp_str s, size_t i, size_t *end)
{
	int depth = 0;

	for (; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '(') {
			if (++depth > SP_COMMENT_MAX_DEPTH)
				return SP_EINVAL;
		} else if (c == ')') {
			if (--depth == 0) {
				*end = i + 1;
				return 0;
			}
		} else if (c == '\\') {
			/* quoted-pair: "\" %x00-09 / %x0B-0C / %x0E-7F */
			if (++i == s.len || s.p[i] == '\r' || s.p[i] == '\n' ||
			    (unsigned char)s.p[i] > 0x7F)
				return SP_EINVAL;
		} else if (c >= 0x80) {
			size_t n = utf8_nonascii(s, i);
			if (n == 0)
				return SP_EINVAL;
			i += n - 1;
		} else if (!(c >= 0x21 && c <= 0x7E) && !sp_is_lws((char)c)) {
			return SP_EINVAL;
		}
	}
	return SP_EINVAL;
}

struct retry_ctx {
	bool has_duration;
	uint32_t duration;
};

static int retry_param(void *ctx, struct sp_str name, struct sp_str value)
{
	struct retry_ctx *r = ctx;

	if (!sp_str_caseeq_c(name, "duration"))
		return 0;
	if (r->has_duration || value.p == NULL)
		return SP_EINVAL;
	size_t i = 0;
	int err = delta_seconds(value, &i, &r->duration);
	if (err)
		return err;
	if (i != value.len)
		return SP_EINVAL;
	r->has_duration = true;
	return 0;
}

int sp_retry_after_parse(struct sp_str value, uint32_t *seconds, struct sp_str *comment,
			 uint32_t *duration)
{
	struct retry_ctx r = { false, 0 };
	struct sp_str cmt = SP_STR_NULL, params;
	uint32_t secs;
	size_t i = 0;
	int err;

	if ((err = delta_seconds(value, &i, &secs)) != 0)
		return err;
	size_t j = sp_lws_skip(value, i);
	if (j < value.len && value.p[j] == '(') {
		size_t end;
		if ((err = comment_scan(value, j, &end)) != 0)
			return err;
		cmt = sp_str_make(value.p + j, end - j);
		i = end;
	}
	if ((err = params_to_end(value, i, retry_param, &r, &params)) != 0)
		return err;

	*seconds = secs;
	if (comment)
		*comment = cmt;
	if (duration)
		*duration = r.duration;
	return 0;
}

/* ---- Reason ---- */

static int reason_param(void *ctx, struct sp_str name, struct sp_str value)
{
	struct sp_reason *r = ctx;

	if (sp_str_caseeq_c(name, "cause")) {
		if (r->has_cause || value.p == NULL)
			return SP_EINVAL;
		int err = sp_str_to_u32(value, 0xFFFFFFFFu, &r->cause);
		if (err)
			return err;
		r->has_cause = true;
	} else if (sp_str_caseeq_c(name, "text")) {
		if (r->text.p != NULL || !is_quoted(value))
			return SP_EINVAL;
		r->text = sp_str_make(value.p + 1, value.len - 2);
	}
	return 0;
}

int sp_reason_next(struct sp_str *cur, struct sp_reason *out)
{
	struct sp_reason r = { SP_STR_NULL, false, 0, SP_STR_NULL, SP_STR_NULL };
	struct sp_str s = *cur;
	size_t i = sp_lws_skip(s, 0);
	int err;

	if (i == s.len)
		return SP_ENOENT;
	size_t n = sp_token_span(s, i);
	if (n == 0)
		return SP_EINVAL;
	r.protocol = sp_str_make(s.p + i, n);
	i = sp_lws_skip(s, i + n);

	struct sp_str rest = sp_str_from(s, i);
	if (i < s.len && s.p[i] == ';') {
		if ((err = params_walk(&rest, reason_param, &r)) != 0)
			return err;
		r.params = sp_str_make(s.p + i, (size_t)(rest.p - (s.p + i)));
		/* params_walk skipped the LWS after the list; keep it out. */
		while (r.params.len && sp_is_lws(r.params.p[r.params.len - 1]))
			r.params.len--;
	}
	if (rest.len) {
		if (rest.p[0] != ',')
			return SP_EINVAL;
		rest = sp_str_from(rest, sp_lws_skip(rest, 1));
		if (rest.len == 0 || !sp_is_token(rest.p[0]))
			return SP_EINVAL;
	}
	*out = r;
	*cur = rest;
	return 0;
}

int sp_reason_check(struct sp_str value)
{
	struct sp_reason r;
	size_t count = 0;
	int err;

	while ((err = sp_reason_next(&value, &r)) == 0)
		count++;
	if (err != SP_ENOENT)
		return err;
	return count ? 0 : SP_EINVAL;
}

/* ---- Identity ---- */

static bool is_b64_char(char c)
{
	return sp_is_alnum(c) || c == '-' || c == '_' || c == '+' || c == '/';
}

/* RFC 2396 absoluteURI: scheme ":" then uric bytes or escapes (brackets of
 * RFC 2732 IPv6 references allowed). Only the shape is checked: the
 * certificate fetcher parses it fully before use. */
static bool is_absolute_uri(struct sp_str u)
{
	size_t i = 0;

	if (u.len == 0 || !sp_is_alpha(u.p[0]))
		return false;
	while (i < u.len && (sp_is_alnum(u.p[i]) || u.p[i] == '+' || u.p[i] == '-' ||
			     u.p[i] == '.'))
		i++;
	if (i == u.len || u.p[i] != ':' || i + 1 == u.len)
		return false;
	for (i++; i < u.len; i++) {
		char c = u.p[i];
		if (c == '%') {
			if (i + 2 >= u.len || !sp_is_hex(u.p[i + 1]) || !sp_is_hex(u.p[i + 2]))
				return false;
			i += 2;
		} else if (!sp_cc(c, SP_CC_URIC) && c != '[' && c != ']') {
			return false;
		}
	}
	return true;
}

/* Splits the compact JWS form header.payload.signature. */
static int jws_split(struct sp_identity *id)
{
	struct sp_str d = id->digest;
	size_t dots[2], ndots = 0;

	for (size_t i = 0; i < d.len; i++) {
		if (d.p[i] == '.') {
			if (ndots == 2)
				return SP_EINVAL;
			dots[ndots++] = i;
		} else if (!is_b64_char(d.p[i])) {
			return SP_EINVAL;
		}
	}
	if (ndots != 2 || dots[0] == 0 || dots[1] + 1 == d.len)
		return SP_EINVAL;
	id->jws_header = sp_str_make(d.p, dots[0]);
	id->jws_payload = sp_str_make(d.p + dots[0] + 1, dots[1] - dots[0] - 1);
	id->jws_signature = sp_str_make(d.p + dots[1] + 1, d.len - dots[1] - 1);
	return 0;
}

/* Reads `info EQUAL LAQUOT absoluteURI RAQUOT` where s.p[i] is the first
 * byte after the name, and sets *end after the '>'. */
static int ident_info(struct sp_str s, size_t i, struct sp_str *uri, size_t *end)
{
	i = sp_lws_skip(s, i);
	if (i == s.len || s.p[i] != '=')
		return SP_EINVAL;
	i = sp_lws_skip(s, i + 1);
	if (i == s.len || s.p[i] != '<')
		return SP_EINVAL;
	ptrdiff_t close = sp_str_chr(sp_str_from(s, i + 1), '>');
	if (close < 0)
		return SP_EINVAL;
	struct sp_str u = sp_str_make(s.p + i + 1, (size_t)close);
	if (!is_absolute_uri(u))
		return SP_EINVAL;
	*uri = u;
	*end = i + 1 + (size_t)close + 1;
	return 0;
}

int sp_identity_parse(struct sp_str value, struct sp_identity *out)
{
	struct sp_identity id = { 0 };
	size_t i = 0, count = 0;
	int err;

	/* RFC 4474 (obsolete, still sent) carries a bare or quoted base64
	 * signature with '=' padding and no dots, its certificate URL in a
	 * separate Identity-Info header; RFC 8224 carries a compact JWS. */
	bool quoted = value.len && value.p[0] == '"';
	size_t start = quoted ? 1 : 0, dots = 0;
	for (i = start; i < value.len && (is_b64_char(value.p[i]) || value.p[i] == '.' ||
					  value.p[i] == '='); i++)
		dots += value.p[i] == '.';
	id.digest = sp_str_make(value.p + start, i - start);
	if (quoted) {
		if (i >= value.len || value.p[i] != '"' || dots)
			return SP_EINVAL;
		i++;
	}
	bool legacy = dots == 0;
	if (legacy) {
		if (id.digest.len == 0)
			return SP_EINVAL;
		for (size_t k = 0; k < id.digest.len; k++) /* padding only at the end */
			if (id.digest.p[k] == '=' && k + 1 < id.digest.len && id.digest.p[k + 1] != '=')
				return SP_EINVAL;
	} else if ((err = jws_split(&id)) != 0) {
		return err;
	}

	/* info=<...> is not a generic-param value, so this list is walked by
	 * hand and only the other parameters go through sp_param_next. */
	i = sp_lws_skip(value, i);
	if (i < value.len)
		id.params = sp_str_from(value, i);
	while (i < value.len) {
		if (value.p[i] != ';')
			return SP_EINVAL;
		if (++count > SP_PARAM_MAX)
			return SP_E2BIG;
		size_t nstart = sp_lws_skip(value, i + 1);
		size_t n = sp_token_span(value, nstart);
		struct sp_str name = sp_str_make(value.p + nstart, n), pv;

		if (sp_str_caseeq_c(name, "info")) {
			size_t end;
			if (id.info.p != NULL)
				return SP_EINVAL;
			if ((err = ident_info(value, nstart + n, &id.info, &end)) != 0)
				return err;
			i = sp_lws_skip(value, end);
			continue;
		}
		struct sp_str cur = sp_str_from(value, i);
		if ((err = sp_param_next(&cur, SP_PARAM_HEADER, &name, &pv)) != 0)
			return err == SP_ENOENT ? SP_EINVAL : err;
		if (sp_str_caseeq_c(name, "alg") || sp_str_caseeq_c(name, "ppt")) {
			struct sp_str *slot = sp_str_caseeq_c(name, "alg") ? &id.alg : &id.ppt;
			if (slot->p != NULL || pv.p == NULL)
				return SP_EINVAL;
			/* RFC 8224 has alg and ppt as tokens; quoted ppt is seen
			 * in the wild and harmless, so it is accepted for ppt. */
			if (is_quoted(pv) && slot == &id.ppt)
				pv = sp_str_make(pv.p + 1, pv.len - 2);
			if (!is_token(pv))
				return SP_EINVAL;
			*slot = pv;
		}
		i = sp_lws_skip(value, (size_t)(cur.p - value.p));
	}
	if (id.info.p == NULL && !legacy)
		return SP_EINVAL; /* RFC 8224 section 4.1: info is mandatory */
	*out = id;
	return 0;
}

/* ---- Event ---- */

static int event_param(void *ctx, struct sp_str name, struct sp_str value)
{
	struct sp_event *e = ctx;

	if (!sp_str_caseeq_c(name, "id"))
		return 0;
	if (e->id.p != NULL || !is_token(value))
		return SP_EINVAL;
	e->id = value;
	return 0;
}

int sp_event_parse(struct sp_str value, struct sp_event *out)
{
	struct sp_event e = { SP_STR_NULL, SP_STR_NULL, SP_STR_NULL };
	size_t n = sp_token_span(value, 0);
	int err;

	/* event-type = token-nodot *("." token-nodot): no empty segment. */
	if (n == 0 || value.p[0] == '.' || value.p[n - 1] == '.')
		return SP_EINVAL;
	for (size_t k = 1; k < n; k++)
		if (value.p[k] == '.' && value.p[k - 1] == '.')
			return SP_EINVAL;
	e.type = sp_str_make(value.p, n);
	if ((err = params_to_end(value, n, event_param, &e, &e.params)) != 0)
		return err;
	*out = e;
	return 0;
}

int sp_event_check(struct sp_str value)
{
	struct sp_event e;
	return sp_event_parse(value, &e);
}

/* ---- Session-Expires ---- */

static int se_param(void *ctx, struct sp_str name, struct sp_str value)
{
	enum sp_refresher *r = ctx;

	if (!sp_str_caseeq_c(name, "refresher"))
		return 0;
	if (*r != SP_REFRESHER_NONE)
		return SP_EINVAL;
	if (sp_str_caseeq_c(value, "uac"))
		*r = SP_REFRESHER_UAC;
	else if (sp_str_caseeq_c(value, "uas"))
		*r = SP_REFRESHER_UAS;
	else
		return SP_EINVAL;
	return 0;
}

int sp_session_expires_parse(struct sp_str value, uint32_t *seconds,
			     enum sp_refresher *refresher)
{
	enum sp_refresher r = SP_REFRESHER_NONE;
	struct sp_str params;
	uint32_t secs;
	size_t i = 0;
	int err;

	if ((err = delta_seconds(value, &i, &secs)) != 0)
		return err;
	if ((err = params_to_end(value, i, se_param, &r, &params)) != 0)
		return err;
	*seconds = secs;
	if (refresher)
		*refresher = r;
	return 0;
}

/* ---- Subject ---- */

int sp_subject_check(struct sp_str value)
{
	for (size_t i = 0; i < value.len; i++) {
		unsigned char c = (unsigned char)value.p[i];
		if (c >= 0x80) {
			size_t n = utf8_nonascii(value, i);
			if (n == 0)
				return SP_EINVAL;
			i += n - 1;
		} else if (!(c >= 0x21 && c <= 0x7E) && !sp_is_lws((char)c)) {
			return SP_EINVAL;
		}
	}
	return 0;
}
