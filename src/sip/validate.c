/* validate.c: the full well-formedness check of a parsed message and of each known header value. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/charset.h"
#include "core/err.h"
#include "sdp/sdp.h"
#include "sip/auth.h"
#include "sip/ctype.h"
#include "sip/date.h"
#include "sip/host.h"
#include "sip/lws.h"
#include "sip/misc_hdr.h"
#include "sip/param.h"
#include "sip/msg.h"
#include "sip/tokens.h"

/* Runs a list parser over every value of a header line. */
static int each_addr(struct sp_str v, unsigned flags)
{
	struct sp_addr a;
	int e, n = 0;
	while ((e = sp_addr_next(&v, flags, &a)) == 0)
		n++;
	return e == SP_ENOENT && n > 0 ? 0 : (e == SP_ENOENT ? SP_EINVAL : e);
}

static int each_via(struct sp_str v)
{
	struct sp_via via;
	int e, n = 0;
	while ((e = sp_via_next(&v, &via)) == 0)
		n++;
	return e == SP_ENOENT && n > 0 ? 0 : (e == SP_ENOENT ? SP_EINVAL : e);
}

/* callid = word [ "@" word ] */
static int call_id_check(struct sp_str v)
{
	size_t i = 0, at = 0;
	for (; i < v.len; i++) {
		if (v.p[i] == '@' && !at && i > 0)
			at = i;
		else if (!sp_is_word(v.p[i]))
			return SP_EINVAL;
	}
	return v.len && (!at || at + 1 < v.len) ? 0 : SP_EINVAL;
}

static int u32_check(struct sp_str v, uint32_t max)
{
	uint32_t n;
	return sp_str_to_u32(v, max, &n);
}

/* warning-value = warn-code SP warn-agent SP warn-text, comma-separated. */
static int warning_check(struct sp_str v)
{
	size_t i = 0;
	for (;;) {
		i = sp_lws_skip(v, i);
		if (i + 4 > v.len)
			return SP_EINVAL;
		for (int k = 0; k < 3; k++)
			if (!sp_is_digit(v.p[i + k]))
				return SP_EINVAL;
		if (v.p[i + 3] != ' ')
			return SP_EINVAL;
		i += 4;
		size_t a = i;
		while (i < v.len && v.p[i] != ' ' && v.p[i] != ',')
			i++;
		if (i == a || i >= v.len || v.p[i] != ' ')
			return SP_EINVAL;
		i++;
		size_t qlen;
		if (i >= v.len || v.p[i] != '"' || sp_quoted_scan(sp_str_from(v, i), &qlen))
			return SP_EINVAL;
		i = sp_lws_skip(v, i + qlen);
		if (i == v.len)
			return 0;
		if (v.p[i] != ',')
			return SP_EINVAL;
		i++;
	}
}

/* Timestamp = 1*(DIGIT) [ "." *(DIGIT) ] [ LWS delay ] */
static int timestamp_check(struct sp_str v)
{
	size_t i = 0, d;
	for (int part = 0; part < 2; part++) {
		d = i;
		while (i < v.len && sp_is_digit(v.p[i]))
			i++;
		if (i == d)
			return SP_EINVAL;
		if (i < v.len && v.p[i] == '.')
			for (i++; i < v.len && sp_is_digit(v.p[i]); i++)
				;
		if (i == v.len)
			return 0;
		size_t j = sp_lws_skip(v, i);
		if (j == i || part == 1)
			return SP_EINVAL;
		i = j;
	}
	return SP_EINVAL;
}

int sp_hdr_check(enum sp_hdr_id id, struct sp_str v)
{
	struct sp_cseq cseq;
	struct sp_addr addr;
	struct sp_ctype ct;
	struct sp_auth auth;
	struct sp_identity ident;
	struct sp_str comment;
	enum sp_refresher refresher;
	int64_t when;
	unsigned flags;
	uint32_t secs, secs2;

	switch (id) {
	case SP_HDR_VIA: return each_via(v);
	case SP_HDR_FROM:
	case SP_HDR_TO: return sp_addr_parse(v, 0, &addr);
	case SP_HDR_REFER_TO:
	case SP_HDR_REFERRED_BY: return sp_addr_parse(v, 0, &addr);
	case SP_HDR_CONTACT: return each_addr(v, SP_ADDR_STAR);
	case SP_HDR_ROUTE:
	case SP_HDR_RECORD_ROUTE:
	case SP_HDR_PATH: return each_addr(v, SP_ADDR_NAMEADDR);
	case SP_HDR_CALL_INFO: return each_addr(v, SP_ADDR_NAMEADDR);
	case SP_HDR_P_ASSERTED_IDENTITY:
	case SP_HDR_P_PREFERRED_IDENTITY: return each_addr(v, 0);
	case SP_HDR_CALL_ID: return call_id_check(v);
	case SP_HDR_CSEQ: return sp_cseq_parse(v, &cseq);
	case SP_HDR_MAX_FORWARDS: return u32_check(v, 255);
	case SP_HDR_CONTENT_LENGTH: return u32_check(v, SP_MSG_MAX_LEN);
	case SP_HDR_EXPIRES:
	case SP_HDR_MIN_EXPIRES: return u32_check(v, UINT32_MAX);
	case SP_HDR_CONTENT_TYPE: return sp_ctype_parse(v, &ct);
	case SP_HDR_AUTHORIZATION:
	case SP_HDR_PROXY_AUTHORIZATION:
	case SP_HDR_WWW_AUTHENTICATE:
	case SP_HDR_PROXY_AUTHENTICATE: return sp_auth_parse(v, &auth);
	case SP_HDR_REQUIRE:
	case SP_HDR_PROXY_REQUIRE:
	case SP_HDR_UNSUPPORTED:
	case SP_HDR_ALLOW_EVENTS:
	case SP_HDR_CONTENT_ENCODING: return sp_token_list_check(v);
	case SP_HDR_SUPPORTED:
	case SP_HDR_ALLOW: return v.len ? sp_token_list_check(v) : 0; /* may be empty */
	case SP_HDR_PRIVACY: return sp_privacy_parse(v, &flags);
	case SP_HDR_DATE: return sp_date_parse(v, &when);
	case SP_HDR_IDENTITY: return sp_identity_parse(v, &ident);
	case SP_HDR_REASON: return sp_reason_check(v);
	case SP_HDR_RETRY_AFTER: return sp_retry_after_parse(v, &secs, &comment, &secs2);
	case SP_HDR_EVENT: return sp_event_check(v);
	case SP_HDR_SESSION_EXPIRES: return sp_session_expires_parse(v, &secs, &refresher);
	case SP_HDR_WARNING: return warning_check(v);
	case SP_HDR_TIMESTAMP: return timestamp_check(v);
	case SP_HDR_SUBJECT: return sp_subject_check(v);
	case SP_HDR_ACCEPT:
	case SP_HDR_OTHER:
	default: return 0;
	}
}

/* Reasons must be static strings: one set per known header, built once at
 * program start (a constructor, like the header-name buckets of hdr.c),
 * before any thread runs, so workers only ever read them. */
enum { WHY_MALFORMED, WHY_RANGE, WHY_MISSING, WHY_MULTIPLE, WHY__COUNT };
static char reasons[SP_HDR__COUNT][WHY__COUNT][48];

__attribute__((constructor)) static void build_reasons(void)
{
	for (int i = 1; i < SP_HDR__COUNT; i++) {
		const char *n = sp_hdr_name((enum sp_hdr_id)i);
		snprintf(reasons[i][WHY_MALFORMED], sizeof(reasons[i][0]), "Malformed %s header", n);
		snprintf(reasons[i][WHY_RANGE], sizeof(reasons[i][0]), "%s value out of range", n);
		snprintf(reasons[i][WHY_MISSING], sizeof(reasons[i][0]), "Missing %s header", n);
		snprintf(reasons[i][WHY_MULTIPLE], sizeof(reasons[i][0]), "Multiple %s headers", n);
	}
}

static const char *bad_header_reason(enum sp_hdr_id id, int e)
{
	return reasons[id][e == SP_ERANGE ? WHY_RANGE : WHY_MALFORMED];
}

#define FAIL(st, why)                 \
	do {                          \
		err->status = (st);   \
		err->reason = (why);  \
		return SP_EINVAL;     \
	} while (0)

/* RFC 2327 tolerated "a=rtpmap:31 LPC" without a clock rate, and RFC 4475
 * counts such messages valid: payload type, one space, an encoding token. */
static bool rtpmap_no_clock(struct sp_str v)
{
	size_t i = 0;
	uint32_t pt;
	while (i < v.len && sp_is_digit(v.p[i]))
		i++;
	if (i == v.len || v.p[i] != ' ' || sp_str_to_u32(sp_str_make(v.p, i), 127, &pt))
		return false;
	if (++i == v.len)
		return false;
	for (; i < v.len; i++)
		if (!sp_is_token(v.p[i]))
			return false;
	return true;
}

/* The attributes whose syntax RFC 8866 and RFC 3605 fix: a linter checks
 * them too (a payload type over 127 or a clock rate of 0 is malformed). */
static const char *sdp_attrs_check(const struct sp_sdp_attrs *as)
{
	for (size_t i = 0; i < as->n; i++) {
		const struct sp_sdp_attr *a = &as->a[i];
		struct sp_sdp_rtpmap rm;
		struct sp_sdp_fmtp fm;
		struct sp_sdp_rtcp rc;
		if (sp_str_caseeq_l(a->name, "rtpmap")) {
			if (!a->has_value || (sp_sdp_rtpmap_parse(a->value, &rm) ? !rtpmap_no_clock(a->value)
										   : rm.clock == 0))
				return "SDP: bad a=rtpmap";
		} else if (sp_str_caseeq_l(a->name, "fmtp")) {
			if (!a->has_value || sp_sdp_fmtp_parse(a->value, &fm))
				return "SDP: bad a=fmtp";
		} else if (sp_str_caseeq_l(a->name, "rtcp")) {
			if (!a->has_value || sp_sdp_rtcp_parse(a->value, &rc))
				return "SDP: bad a=rtcp";
		}
	}
	return NULL;
}

/* The SDP description is large (about 60 KiB): off the stack, and one per
 * thread, kept, rather than a malloc and free per INVITE and 200 (which
 * took fresh heap pages each time the heap grew). Freed at thread exit. */
static pthread_key_t sdp_key;
static pthread_once_t sdp_once = PTHREAD_ONCE_INIT;

static void sdp_key_init(void)
{
	if (pthread_key_create(&sdp_key, free) != 0)
		abort(); /* only with PTHREAD_KEYS_MAX keys taken: a bug */
}

static struct sp_sdp *sdp_scratch(void)
{
	pthread_once(&sdp_once, sdp_key_init);
	struct sp_sdp *sdp = pthread_getspecific(sdp_key);
	if (!sdp && (sdp = malloc(sizeof(*sdp))) != NULL && pthread_setspecific(sdp_key, sdp) != 0) {
		free(sdp);
		sdp = NULL;
	}
	return sdp;
}

static int check_body(struct sp_msg *m, struct sp_sip_error *err)
{
	const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_CONTENT_TYPE);
	struct sp_ctype ct;

	if (m->body.len == 0)
		return 0;
	if (!h)
		FAIL(400, "Body without Content-Type");
	if (sp_ctype_parse(h->value, &ct) || !sp_ctype_is(&ct, "application", "sdp"))
		return 0;
	struct sp_sdp *sdp = sdp_scratch();
	const char *why = "Malformed SDP body";
	if (!sdp)
		FAIL(500, "Out of memory");
	int e = sp_sdp_parse(m->body, sdp, &why);
	if (e == 0 && (why = sdp_attrs_check(&sdp->attrs)) != NULL)
		e = SP_EINVAL;
	for (size_t i = 0; e == 0 && i < sdp->nmedia; i++)
		if ((why = sdp_attrs_check(&sdp->media[i].attrs)) != NULL)
			e = SP_EINVAL;
	if (e)
		FAIL(400, why);
	return 0;
}

int sp_msg_validate(struct sp_msg *m, struct sp_sip_error *err)
{
	static const enum sp_hdr_id mandatory[] = { SP_HDR_VIA, SP_HDR_FROM, SP_HDR_TO,
						    SP_HDR_CALL_ID, SP_HDR_CSEQ };
	for (size_t i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++)
		if (m->first[mandatory[i]] < 0)
			FAIL(400, reasons[mandatory[i]][WHY_MISSING]);

	for (unsigned i = 0; i < m->nhdrs; i++) {
		const struct sp_hdr *h = &m->hdr[i];
		enum sp_hdr_id id = h->id;
		if (id == SP_HDR_OTHER)
			continue;
		if (sp_hdr_is_single(id) && m->first[id] != (int16_t)i)
			FAIL(400, reasons[id][WHY_MULTIPLE]);
		int e = sp_hdr_check(id, h->value);
		if (e)
			FAIL(400, bad_header_reason(id, e));
	}

	if (m->request) {
		const struct sp_uri *ruri = sp_msg_ruri(m);
		if (!ruri)
			FAIL(400, "Malformed Request-URI");
		if ((ruri->scheme_id == SP_URI_SIP || ruri->scheme_id == SP_URI_SIPS) &&
		    ruri->headers.p)
			FAIL(400, "Request-URI must not carry headers");
		const struct sp_cseq *cs = sp_msg_cseq(m);
		if (!sp_str_eq(cs->method, m->method))
			FAIL(400, "CSeq method does not match the request method");
	}
	return check_body(m, err);
}
