/* msg.c: frames and indexes one SIP message (start line, headers, body) and parses common headers lazily. */
#include "sip/msg.h"

#include <string.h>

#include "core/charset.h"
#include "core/err.h"
#include "sip/lws.h"

#define FAIL(st, why)                 \
	do {                          \
		err->status = (st);   \
		err->reason = (why);  \
		return SP_EINVAL;     \
	} while (0)

#define M(lit, id) { lit, sizeof(lit) - 1, id }
static const struct {
	const char *name;
	size_t len;
	enum sp_method id;
} methods[] = {
	M("INVITE", SP_METHOD_INVITE), M("ACK", SP_METHOD_ACK), M("BYE", SP_METHOD_BYE),
	M("CANCEL", SP_METHOD_CANCEL), M("OPTIONS", SP_METHOD_OPTIONS),
	M("REGISTER", SP_METHOD_REGISTER), M("MESSAGE", SP_METHOD_MESSAGE),
	M("SUBSCRIBE", SP_METHOD_SUBSCRIBE), M("NOTIFY", SP_METHOD_NOTIFY),
	M("PUBLISH", SP_METHOD_PUBLISH), M("INFO", SP_METHOD_INFO), M("UPDATE", SP_METHOD_UPDATE),
	M("PRACK", SP_METHOD_PRACK), M("REFER", SP_METHOD_REFER),
};
#undef M

/* Methods are case-sensitive (RFC 3261 section 7.1). Looked up on every
 * request line and CSeq, so the length and first byte are compared first. */
enum sp_method sp_method_lookup(struct sp_str name)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].len == name.len && methods[i].name[0] == name.p[0] &&
		    memcmp(methods[i].name, name.p, name.len) == 0)
			return methods[i].id;
	return SP_METHOD_OTHER;
}

/* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT. Returns 1 for 2.0, 0 for a
 * well-formed other version, -1 when malformed. */
static int version_check(struct sp_str v)
{
	size_t i = 4, d;
	if (v.len < 7 || !sp_str_has_prefix_case(v, "SIP/"))
		return -1;
	for (d = i; i < v.len && sp_is_digit(v.p[i]); i++)
		;
	if (i == d || i >= v.len || v.p[i] != '.')
		return -1;
	for (d = ++i; i < v.len && sp_is_digit(v.p[i]); i++)
		;
	if (i == d || i != v.len)
		return -1;
	return sp_str_eq_c(sp_str_make(v.p + 4, v.len - 4), "2.0") ? 1 : 0;
}

/* Returns the index of the first control byte (below 0x20, or 0x7f) of
 * p[0..n), or n. Eight bytes at a time while none is one: the common case
 * costs no branch per byte. */
static size_t ctl_scan(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x, d;
		memcpy(&x, p + i, 8);
		d = x ^ (0x7f * ones);
		if ((((x - 0x20 * ones) & ~x) | ((d - ones) & ~d)) & high)
			break;
	}
	for (; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			break;
	return i;
}

/* Reason-Phrase and the start line: UTF-8 text, no control byte but HTAB. */
static bool text_ok(struct sp_str s)
{
	size_t i = 0;
	while ((i += ctl_scan(s.p + i, s.len - i)) < s.len) {
		if (s.p[i] != '\t')
			return false;
		i++;
	}
	return true;
}

static int parse_start_line(struct sp_msg *m, struct sp_str line, struct sp_sip_error *err)
{
	const char *sp1 = memchr(line.p, ' ', line.len);
	if (!sp1)
		FAIL(400, "Malformed start line");
	struct sp_str first = sp_str_make(line.p, (size_t)(sp1 - line.p));
	struct sp_str rest = sp_str_make(sp1 + 1, line.len - first.len - 1);

	if (sp_str_has_prefix_case(line, "SIP/")) {
		/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
		int v = version_check(first);
		if (v < 0)
			FAIL(400, "Malformed SIP version");
		if (v == 0)
			FAIL(505, "SIP Version Not Supported");
		if (rest.len < 4 || !sp_is_digit(rest.p[0]) || !sp_is_digit(rest.p[1]) ||
		    !sp_is_digit(rest.p[2]) || rest.p[3] != ' ')
			FAIL(400, "Malformed status code");
		m->status = (uint16_t)((rest.p[0] - '0') * 100 + (rest.p[1] - '0') * 10 + (rest.p[2] - '0'));
		if (m->status < 100 || m->status > 699)
			FAIL(400, "Status code out of range");
		m->reason = sp_str_make(rest.p + 4, rest.len - 4);
		if (!text_ok(m->reason))
			FAIL(400, "Bad character in reason phrase");
		m->version = first;
		m->request = false;
		return 0;
	}

	/* Request-Line = Method SP Request-URI SP SIP-Version: single spaces. */
	if (first.len == 0)
		FAIL(400, "Malformed request line");
	for (size_t i = 0; i < first.len; i++)
		if (!sp_is_token(first.p[i]))
			FAIL(400, "Bad character in method");
	const char *sp2 = memchr(rest.p, ' ', rest.len);
	if (!sp2)
		FAIL(400, "Malformed request line");
	m->ruri_raw = sp_str_make(rest.p, (size_t)(sp2 - rest.p));
	m->version = sp_str_make(sp2 + 1, rest.len - m->ruri_raw.len - 1);
	if (m->ruri_raw.len == 0)
		FAIL(400, "Malformed request line: extra spaces");
	if (m->ruri_raw.p[0] == '<')
		FAIL(400, "Request-URI enclosed in <>");
	int v = version_check(m->version);
	if (v < 0)
		FAIL(400, memchr(m->version.p, ' ', m->version.len) ? "Malformed request line: extra spaces"
								     : "Malformed SIP version");
	if (v == 0)
		FAIL(505, "SIP Version Not Supported");
	m->method = first;
	m->method_id = sp_method_lookup(first);
	m->request = true;
	return 0;
}

/* Content-Length = 1*DIGIT; the message must hold that many body bytes. */
static int content_length(struct sp_msg *m, size_t avail, unsigned flags, struct sp_sip_error *err)
{
	const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_CONTENT_LENGTH);
	uint32_t cl;

	if (!h) {
		if (!(flags & SP_PARSE_DATAGRAM))
			FAIL(400, "Missing Content-Length on a stream");
		m->content_length = -1;
		m->body = sp_str_make(m->buf + m->len, avail);
		m->len += avail;
		return 0;
	}
	if (h->next >= 0)
		FAIL(400, "Multiple Content-Length headers");
	if (h->value.len && h->value.p[0] == '-')
		FAIL(400, "Negative Content-Length");
	int e = sp_str_to_u32(h->value, SP_MSG_MAX_LEN, &cl);
	if (e == SP_ERANGE || (e == 0 && cl > avail))
		FAIL(400, "Content-Length larger than message");
	if (e)
		FAIL(400, "Malformed Content-Length");
	m->content_length = cl;
	m->body = sp_str_make(m->buf + m->len, cl);
	m->len += cl;
	return 0;
}

/* Header value bytes: anything but control characters, except HTAB and the
 * CRLF of folding. Returns false on a lone CR or LF or a control byte. */
/* Whether v.p[i] is the second byte of a quoted-pair inside a quoted
 * string. Only reached on a control byte, so the rescan is rare. */
static bool escaped_in_quotes(struct sp_str v, size_t i)
{
	bool inq = false;
	for (size_t k = 0; k < i; k++) {
		if (v.p[k] == '"') {
			inq = !inq;
		} else if (inq && v.p[k] == '\\') {
			if (k + 1 == i)
				return true;
			k++;
		}
	}
	return false;
}

static bool value_ok(struct sp_str v)
{
	size_t i = 0;
	while ((i += ctl_scan(v.p + i, v.len - i)) < v.len) {
		unsigned char c = (unsigned char)v.p[i];
		if (c == '\t') {
			i++;
			continue;
		}
		/* quoted-pair may escape any byte but CR and LF (RFC 4475
		 * intmeth.dat); the header's own parser checks the quoting. */
		if (c != '\r' && c != '\n' && escaped_in_quotes(v, i)) {
			i++;
			continue;
		}
		if (c == '\r' && i + 2 < v.len && v.p[i + 1] == '\n' && sp_is_wsp(v.p[i + 2])) {
			i += 3;
			continue;
		}
		return false;
	}
	return true;
}

int sp_msg_parse(struct sp_msg *m, const char *buf, size_t len, unsigned flags,
		 struct sp_sip_error *err)
{
	size_t pos, eol;
	int e;

	/* Everything before the header index is reset, so nothing of a
	 * previous message survives a failed parse of a reused struct. */
	memset(m, 0, offsetof(struct sp_msg, first));
	m->buf = buf;
	m->content_length = -1;
	m->parsed = m->bad = 0;
	memset(m->first, 0xff, sizeof(m->first));
	memset(m->last, 0xff, sizeof(m->last));

	if (len > SP_MSG_MAX_LEN)
		FAIL(413, "Message Too Large");
	/* RFC 3261 section 7.5: tolerate CRLF before the start line. */
	pos = 0;
	while (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n')
		pos += 2;

	const char *nl = memchr(buf + pos, '\n', len - pos);
	if (!nl || nl == buf + pos || nl[-1] != '\r')
		FAIL(400, "Malformed start line");
	eol = (size_t)(nl - buf) - 1;
	m->start_line = sp_str_make(buf + pos, eol - pos);
	if (memchr(m->start_line.p, '\r', m->start_line.len) || !text_ok(m->start_line))
		FAIL(400, "Bad character in start line");
	if ((e = parse_start_line(m, m->start_line, err)) != 0)
		return e;
	pos = eol + 2;

	/* Header lines until the empty line. */
	for (;;) {
		if (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n')
			break;
		if (pos >= len)
			FAIL(400, "Missing empty line after headers");
		if (sp_is_wsp(buf[pos]))
			FAIL(400, "Continuation line without a header");
		if (m->nhdrs >= SP_MSG_MAX_HDRS)
			FAIL(400, "Too many header lines");

		/* The line ends at a CRLF not followed by SP/HTAB (folding). */
		size_t lstart = pos, lend;
		const char *p = buf + pos;
		for (;;) {
			p = memchr(p, '\n', len - (size_t)(p - buf));
			if (!p)
				FAIL(400, "Unterminated header line");
			if (p[-1] != '\r')
				FAIL(400, "Bare LF in header");
			if ((size_t)(p + 1 - buf) < len && sp_is_wsp(p[1])) {
				p++;
				continue;
			}
			break;
		}
		lend = (size_t)(p - buf) - 1; /* the CR */
		if (lend - lstart > SP_MSG_MAX_HDR_LINE)
			FAIL(400, "Header line too long");

		/* header-name HCOLON value */
		size_t i = lstart;
		while (i < lend && sp_is_token(buf[i]))
			i++;
		if (i == lstart)
			FAIL(400, "Malformed header name");
		struct sp_str name = sp_str_make(buf + lstart, i - lstart);
		while (i < lend && sp_is_wsp(buf[i])) /* HCOLON: no folding before ':' */
			i++;
		if (i >= lend || buf[i] != ':')
			FAIL(400, "Malformed header line (no colon)");
		struct sp_str value = sp_str_trim(sp_str_make(buf + i + 1, lend - i - 1));
		if (!value_ok(value))
			FAIL(400, "Bad character in header value");

		struct sp_hdr *h = &m->hdr[m->nhdrs];
		h->name = name;
		h->value = value;
		h->line_off = (uint32_t)lstart;
		h->line_len = (uint32_t)(lend + 2 - lstart);
		h->id = (uint8_t)sp_hdr_lookup(name);
		h->next = -1;
		if (m->last[h->id] >= 0)
			m->hdr[m->last[h->id]].next = (int16_t)m->nhdrs;
		else
			m->first[h->id] = (int16_t)m->nhdrs;
		m->last[h->id] = (int16_t)m->nhdrs;
		m->nhdrs++;
		pos = lend + 2;
	}
	m->hdrs_end = (uint32_t)pos;
	m->len = pos + 2;
	if ((e = content_length(m, len - m->len, flags, err)) != 0)
		return e;
	/* A stream framer hands over exactly one message. */
	if (!(flags & SP_PARSE_DATAGRAM) && m->len != len)
		FAIL(400, "Bytes after the message body");
	return 0;
}

const struct sp_hdr *sp_msg_hdr(const struct sp_msg *m, enum sp_hdr_id id)
{
	return m->first[id] >= 0 ? &m->hdr[m->first[id]] : NULL;
}

const struct sp_hdr *sp_msg_hdr_next(const struct sp_msg *m, const struct sp_hdr *h)
{
	return h->next >= 0 ? &m->hdr[h->next] : NULL;
}

const struct sp_hdr *sp_msg_hdr_by_name(const struct sp_msg *m, struct sp_str name)
{
	enum sp_hdr_id id = sp_hdr_lookup(name);
	if (id != SP_HDR_OTHER)
		return sp_msg_hdr(m, id);
	for (const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_OTHER); h; h = sp_msg_hdr_next(m, h))
		if (sp_str_caseeq(h->name, name))
			return h;
	return NULL;
}

unsigned sp_msg_hdr_count(const struct sp_msg *m, enum sp_hdr_id id)
{
	unsigned n = 0;
	for (const struct sp_hdr *h = sp_msg_hdr(m, id); h; h = sp_msg_hdr_next(m, h))
		n++;
	return n;
}

/* Cache slots for the lazy accessors. */
enum { C_RURI, C_VIA, C_FROM, C_TO, C_CONTACT, C_CSEQ, C_MAXFWD };

static bool cached(struct sp_msg *m, int slot, bool *ok)
{
	if (m->parsed & (1u << slot)) {
		*ok = !(m->bad & (1u << slot));
		return true;
	}
	return false;
}

static void cache(struct sp_msg *m, int slot, bool ok)
{
	m->parsed |= 1u << slot;
	if (!ok)
		m->bad |= 1u << slot;
}

const struct sp_uri *sp_msg_ruri(struct sp_msg *m)
{
	bool ok;
	if (!m->request)
		return NULL;
	if (!cached(m, C_RURI, &ok))
		cache(m, C_RURI, ok = sp_uri_parse(m->ruri_raw, &m->ruri) == 0);
	return ok ? &m->ruri : NULL;
}

const struct sp_via *sp_msg_via(struct sp_msg *m)
{
	bool ok;
	if (!cached(m, C_VIA, &ok)) {
		const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_VIA);
		struct sp_str cur = h ? h->value : SP_STR_NULL;
		cache(m, C_VIA, ok = h && sp_via_next(&cur, &m->via) == 0);
	}
	return ok ? &m->via : NULL;
}

static const struct sp_addr *single_addr(struct sp_msg *m, int slot, enum sp_hdr_id id,
					 struct sp_addr *a)
{
	bool ok;
	if (!cached(m, slot, &ok)) {
		const struct sp_hdr *h = sp_msg_hdr(m, id);
		cache(m, slot, ok = h && sp_addr_parse(h->value, 0, a) == 0);
	}
	return ok ? a : NULL;
}

const struct sp_addr *sp_msg_from(struct sp_msg *m)
{
	return single_addr(m, C_FROM, SP_HDR_FROM, &m->from);
}

const struct sp_addr *sp_msg_to(struct sp_msg *m)
{
	return single_addr(m, C_TO, SP_HDR_TO, &m->to);
}

const struct sp_addr *sp_msg_contact(struct sp_msg *m)
{
	bool ok;
	if (!cached(m, C_CONTACT, &ok)) {
		const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_CONTACT);
		struct sp_str cur = h ? h->value : SP_STR_NULL;
		cache(m, C_CONTACT, ok = h && sp_addr_next(&cur, SP_ADDR_STAR, &m->contact) == 0);
	}
	return ok ? &m->contact : NULL;
}

/* CSeq = 1*DIGIT LWS Method */
int sp_cseq_parse(struct sp_str v, struct sp_cseq *out)
{
	size_t i = 0;
	while (i < v.len && sp_is_digit(v.p[i]))
		i++;
	if (i == 0 || i == v.len || !sp_is_lws(v.p[i]))
		return SP_EINVAL;
	int e = sp_str_to_u32(sp_str_make(v.p, i), SP_MSG_MAX_CSEQ, &out->num);
	if (e)
		return e;
	size_t j = sp_lws_skip(v, i);
	struct sp_str meth = sp_str_from(v, j);
	if (meth.len == 0)
		return SP_EINVAL;
	for (size_t k = 0; k < meth.len; k++)
		if (!sp_is_token(meth.p[k]))
			return SP_EINVAL;
	out->method = meth;
	out->method_id = sp_method_lookup(meth);
	return 0;
}

const struct sp_cseq *sp_msg_cseq(struct sp_msg *m)
{
	bool ok;
	if (!cached(m, C_CSEQ, &ok)) {
		const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_CSEQ);
		cache(m, C_CSEQ, ok = h && sp_cseq_parse(h->value, &m->cseq) == 0);
	}
	return ok ? &m->cseq : NULL;
}

struct sp_str sp_msg_call_id(struct sp_msg *m)
{
	const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_CALL_ID);
	return h ? h->value : SP_STR_NULL;
}

int sp_msg_max_forwards(struct sp_msg *m, uint32_t *out)
{
	const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_MAX_FORWARDS);
	if (!h)
		return SP_ENOENT;
	if (!(m->parsed & (1u << C_MAXFWD))) {
		int e = sp_str_to_u32(h->value, 255, &m->max_forwards);
		cache(m, C_MAXFWD, e == 0);
		if (e)
			return e;
	}
	if (m->bad & (1u << C_MAXFWD))
		return SP_EINVAL;
	*out = m->max_forwards;
	return 0;
}
