/* reply.c: responses built from a request's Via, From, To, Call-ID and CSeq lines (RFC 3261 section 8.2.6). */
#include "sip/reply.h"

#include <string.h>

#include "core/charset.h"
#include "core/err.h"

static const struct {
	uint16_t status;
	const char *phrase;
} phrases[] = {
	{ 100, "Trying" }, { 180, "Ringing" }, { 181, "Call Is Being Forwarded" },
	{ 182, "Queued" }, { 183, "Session Progress" }, { 200, "OK" }, { 202, "Accepted" },
	{ 300, "Multiple Choices" }, { 301, "Moved Permanently" }, { 302, "Moved Temporarily" },
	{ 305, "Use Proxy" }, { 380, "Alternative Service" }, { 400, "Bad Request" },
	{ 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
	{ 407, "Proxy Authentication Required" }, { 408, "Request Timeout" }, { 410, "Gone" },
	{ 413, "Request Entity Too Large" }, { 414, "Request-URI Too Long" },
	{ 415, "Unsupported Media Type" }, { 416, "Unsupported URI Scheme" },
	{ 420, "Bad Extension" }, { 421, "Extension Required" }, { 423, "Interval Too Brief" },
	{ 429, "Provide Referrer Identity" }, { 480, "Temporarily Unavailable" },
	{ 481, "Call/Transaction Does Not Exist" }, { 482, "Loop Detected" },
	{ 483, "Too Many Hops" }, { 484, "Address Incomplete" }, { 485, "Ambiguous" },
	{ 486, "Busy Here" }, { 487, "Request Terminated" }, { 488, "Not Acceptable Here" },
	{ 489, "Bad Event" }, { 491, "Request Pending" }, { 493, "Undecipherable" },
	{ 500, "Server Internal Error" }, { 501, "Not Implemented" }, { 502, "Bad Gateway" },
	{ 503, "Service Unavailable" }, { 504, "Server Time-out" },
	{ 505, "Version Not Supported" }, { 513, "Message Too Large" },
	{ 600, "Busy Everywhere" }, { 603, "Decline" }, { 604, "Does Not Exist Anywhere" },
	{ 606, "Not Acceptable" },
};

const char *sp_reply_phrase(uint16_t status)
{
	static const char *const classes[] = { "Provisional", "Success", "Redirection",
					       "Client Error", "Server Error", "Global Failure" };
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].status == status)
			return phrases[i].phrase;
	if (status >= 100 && status <= 699)
		return classes[status / 100 - 1];
	return "Unknown";
}

/* Reason-Phrase = *(reserved / unreserved / escaped / UTF8-NONASCII /
 * UTF8-CONT / SP / HTAB). An escape ('%' HEX HEX) is not generated here, so a
 * lone '%' counts as a bad byte. */
static bool phrase_char(char ch)
{
	unsigned char c = (unsigned char)ch;
	return c >= 0x80 || c == ' ' || c == '\t' || sp_is_alnum(ch) ||
	       (c && strchr("-_.!~*'()" ";/?:@&=+$,", c));
}

static bool phrase_ok(struct sp_str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!phrase_char(s.p[i]))
			return false;
	return true;
}

/* Extra header lines: any text but CR, LF and other control bytes. */
static bool line_ok(struct sp_str s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static bool token_ok(struct sp_str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!sp_is_token(s.p[i]))
			return false;
	return s.len > 0;
}

static int put_line(struct sp_buf *out, const struct sp_msg *m, const struct sp_hdr *h)
{
	return sp_buf_append(out, m->buf + h->line_off, h->line_len);
}

/* The request lines every response copies; NULL members when absent. */
struct reply_src {
	const struct sp_hdr *via, *from, *to, *call_id, *cseq;
};

static int reply_src(struct sp_msg *req, struct reply_src *s)
{
	if (!req->request || req->method_id == SP_METHOD_ACK)
		return SP_EINVAL;
	s->via = sp_msg_hdr(req, SP_HDR_VIA);
	s->from = sp_msg_hdr(req, SP_HDR_FROM);
	s->to = sp_msg_hdr(req, SP_HDR_TO);
	s->call_id = sp_msg_hdr(req, SP_HDR_CALL_ID);
	s->cseq = sp_msg_hdr(req, SP_HDR_CSEQ);
	/* Without a usable top Via the response has nowhere to go. */
	if (!s->via || !sp_msg_via(req) || !s->from || !s->to || !s->call_id || !s->cseq ||
	    s->call_id->value.len == 0)
		return SP_EINVAL;
	return 0;
}

/* Writes the response up to (not including) the extra headers. */
static int put_head(struct sp_msg *req, const struct reply_src *s, uint16_t status,
		    struct sp_str reason, struct sp_str to_tag, struct sp_buf *out)
{
	char code[4] = { (char)('0' + status / 100), (char)('0' + status / 10 % 10),
			 (char)('0' + status % 10), ' ' };
	int err;

	if ((err = sp_buf_append_c(out, "SIP/2.0 ")) || (err = sp_buf_append(out, code, 4)) ||
	    (err = sp_buf_append_str(out, reason)) || (err = sp_buf_append_c(out, "\r\n")))
		return err;
	for (const struct sp_hdr *h = s->via; h; h = sp_msg_hdr_next(req, h))
		if ((err = put_line(out, req, h)) != 0)
			return err;
	if ((err = put_line(out, req, s->from)) != 0)
		return err;

	const struct sp_addr *to = sp_msg_to(req);
	if (to && !to->tag.p && to_tag.len && status > 100) {
		/* The tag goes right after the value, before trailing LWS and CRLF. */
		size_t vend = (size_t)(s->to->value.p + s->to->value.len - req->buf);
		size_t lend = s->to->line_off + s->to->line_len;
		if ((err = sp_buf_append(out, req->buf + s->to->line_off, vend - s->to->line_off)) ||
		    (err = sp_buf_append_c(out, ";tag=")) || (err = sp_buf_append_str(out, to_tag)) ||
		    (err = sp_buf_append(out, req->buf + vend, lend - vend)))
			return err;
	} else if ((err = put_line(out, req, s->to)) != 0) {
		return err;
	}
	if ((err = put_line(out, req, s->call_id)) || (err = put_line(out, req, s->cseq)))
		return err;
	if (status == 100) {
		const struct sp_hdr *ts = sp_msg_hdr(req, SP_HDR_TIMESTAMP);
		if (ts && (err = put_line(out, req, ts)) != 0)
			return err;
	}
	return 0;
}

static int put_tail(struct sp_buf *out)
{
	return sp_buf_append_c(out, "Content-Length: 0\r\n\r\n");
}

int sp_reply_build(struct sp_msg *req, uint16_t status, const char *reason, struct sp_str to_tag,
		   const struct sp_str *extra_headers, size_t n_extra, struct sp_buf *out)
{
	struct reply_src s;
	size_t saved = out->len;
	struct sp_str rs = sp_str_cstr(reason ? reason : sp_reply_phrase(status));
	int err;

	if (status < 100 || status > 699 || !phrase_ok(rs) || (to_tag.len && !token_ok(to_tag)) ||
	    (n_extra && !extra_headers))
		return SP_EINVAL;
	for (size_t i = 0; i < n_extra; i++) {
		struct sp_str x = extra_headers[i];
		if (x.len == 0 || !line_ok(x) || !memchr(x.p, ':', x.len))
			return SP_EINVAL;
	}
	if ((err = reply_src(req, &s)) != 0)
		return err;
	if ((err = put_head(req, &s, status, rs, to_tag, out)) != 0)
		goto out;
	for (size_t i = 0; i < n_extra; i++)
		if ((err = sp_buf_append_str(out, extra_headers[i])) ||
		    (err = sp_buf_append_c(out, "\r\n")))
			goto out;
	err = put_tail(out);
out:
	if (err)
		out->len = saved;
	return err;
}

/* FNV-1a, 64 bits: a To tag stable across retransmissions of one request. */
static uint64_t fnv(uint64_t h, struct sp_str s)
{
	for (size_t i = 0; i < s.len; i++) {
		h ^= (unsigned char)s.p[i];
		h *= 1099511628211ull;
	}
	return h ^ 0xff; /* separates "ab"+"c" from "a"+"bc" */
}

#define REASON_MAX 128

int sp_reply_error(struct sp_msg *req, const struct sp_sip_error *err_in, struct sp_buf *out)
{
	struct reply_src s;
	char reason[REASON_MAX], warn[2 * REASON_MAX + 32], tag[16];
	size_t rn = 0, wn = 0, saved = out->len;
	uint16_t status = err_in ? err_in->status : 400;
	int err;

	if (status < 400 || status > 699)
		status = 400;
	const char *why = err_in && err_in->reason && *err_in->reason ? err_in->reason
								       : sp_reply_phrase(status);
	if ((err = reply_src(req, &s)) != 0)
		return err;

	/* The reason is ours (static), but sanitize anyway: in the reason
	 * phrase a '"' becomes a "'" and any other byte the grammar refuses a
	 * space; the Warning's quoted-string keeps the text, with control
	 * bytes blanked and '"' and '\\' escaped. Long reasons are cut. */
	memcpy(warn, "Warning: 399 sipeer \"", 21);
	wn = 21;
	for (const char *p = why; *p && rn < REASON_MAX; p++) {
		char c = *p;
		if ((unsigned char)c < 0x20 && c != '\t')
			c = ' ';
		if (c == 0x7f)
			c = ' ';
		reason[rn++] = phrase_char(c) ? c : c == '"' ? '\'' : ' ';
		if (c == '"' || c == '\\')
			warn[wn++] = '\\';
		warn[wn++] = c;
	}
	warn[wn++] = '"';

	uint64_t h = 14695981039346656037ull;
	const struct sp_addr *from = sp_msg_from(req);
	h = fnv(h, s.call_id->value);
	h = fnv(h, from && from->tag.p ? from->tag : s.from->value);
	h = fnv(h, sp_msg_via(req)->branch);
	h = fnv(h, s.cseq->value);
	for (int i = 0; i < 16; i++)
		tag[i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 0xf];

	if ((err = put_head(req, &s, status, sp_str_make(reason, rn), sp_str_make(tag, 16), out)) ||
	    (err = sp_buf_append(out, warn, wn)) || (err = sp_buf_append_c(out, "\r\n")) ||
	    (err = put_tail(out)))
		out->len = saved;
	return err;
}
