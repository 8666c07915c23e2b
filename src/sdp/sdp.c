/* sdp.c: RFC 8866 session description parser (zero-copy, fixed caps) and c=/m= rewriter. */
#include "sdp/sdp.h"

#include <arpa/inet.h>
#include <string.h>

#include "core/charset.h"
#include "core/err.h"

/* Takes the next SP-separated field of *rest. The grammar puts exactly one SP
 * between fields, so an empty field (two SPs, or a leading or trailing SP)
 * fails. */
static bool next_field(struct sp_str *rest, struct sp_str *field)
{
	ptrdiff_t sp = sp_str_chr(*rest, ' ');
	size_t n = sp < 0 ? rest->len : (size_t)sp;

	if (n == 0)
		return false;
	if (sp >= 0 && (size_t)sp + 1 == rest->len)
		return false;
	*field = sp_str_make(rest->p, n);
	rest->p += sp < 0 ? n : n + 1;
	rest->len -= sp < 0 ? n : n + 1;
	return true;
}

static bool all_token(struct sp_str s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!sp_is_token(s.p[i]))
			return false;
	return true;
}

/* non-ws-string: visible US-ASCII or any byte from 0x80 up. */
static bool all_nonws(struct sp_str s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool all_digits(struct sp_str s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!sp_is_digit(s.p[i]))
			return false;
	return true;
}

static bool is_ipv4(struct sp_str s)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;
		while (i < s.len && sp_is_digit(s.p[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s.p[i++] - '0');
		if (i == start || v > 255)
			return false;
		if (part < 3) {
			if (i >= s.len || s.p[i] != '.')
				return false;
			i++;
		}
	}
	return i == s.len;
}

static bool is_ipv6(struct sp_str s)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];

	if (s.len == 0 || s.len >= sizeof(tmp) || memchr(s.p, '\0', s.len))
		return false;
	memcpy(tmp, s.p, s.len);
	tmp[s.len] = '\0';
	return inet_pton(AF_INET6, tmp, bin) == 1;
}

/* FQDN = 4*(alpha-numeric / "-" / "."); something made only of digits and
 * dots is held to be a (bad) IPv4 address instead, so 300.1.1.1 fails. */
static bool is_fqdn(struct sp_str s)
{
	bool only_num = true;

	if (s.len < 4)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!sp_is_alnum(c) && c != '-' && c != '.')
			return false;
		if (!sp_is_digit(c) && c != '.')
			only_num = false;
	}
	return !only_num;
}

static bool is_host_addr(struct sp_str addrtype, struct sp_str a)
{
	if (sp_str_caseeq_c(addrtype, "IP4"))
		return is_ipv4(a) || is_fqdn(a);
	if (sp_str_caseeq_c(addrtype, "IP6"))
		return is_ipv6(a) || is_fqdn(a);
	return all_nonws(a);
}

/* Parses "<addrtype> <connection-address>" for c= and a=rtcp. IP4 takes
 * an optional /ttl[/count], IP6 an optional /count (RFC 8866 5.7). */
static int parse_conn_tail(struct sp_str rest, struct sp_sdp_conn *c)
{
	struct sp_str addrtype, addr;

	c->rest = rest;
	if (!next_field(&rest, &addrtype) || !all_token(addrtype))
		return SP_EINVAL;
	addr = rest;
	if (!all_nonws(addr))
		return SP_EINVAL;
	c->addrtype = addrtype;
	c->ttl = 0;
	c->count = 0;
	bool ip4 = sp_str_caseeq_c(addrtype, "IP4");
	bool ip6 = sp_str_caseeq_c(addrtype, "IP6");
	if (ip4 || ip6) {
		ptrdiff_t sl = sp_str_chr(addr, '/');
		if (sl >= 0) {
			struct sp_str suf = sp_str_make(addr.p + sl + 1, addr.len - (size_t)sl - 1);
			addr.len = (size_t)sl;
			ptrdiff_t sl2 = sp_str_chr(suf, '/');
			struct sp_str first = sl2 < 0 ? suf : sp_str_make(suf.p, (size_t)sl2);
			uint32_t v;
			if (ip4) {
				if (sp_str_to_u32(first, 255, &v))
					return SP_EINVAL;
				c->ttl = v;
				if (sl2 >= 0) {
					struct sp_str num = sp_str_make(suf.p + sl2 + 1,
									suf.len - (size_t)sl2 - 1);
					if (sp_str_to_u32(num, UINT32_MAX, &v) || v == 0)
						return SP_EINVAL;
					c->count = v;
				}
			} else {
				if (sl2 >= 0 || sp_str_to_u32(first, UINT32_MAX, &v) || v == 0)
					return SP_EINVAL;
				c->count = v;
			}
		}
	}
	if (!is_host_addr(addrtype, addr))
		return SP_EINVAL;
	c->addr = addr;
	return 0;
}

static int parse_conn(struct sp_str v, struct sp_sdp_conn *c)
{
	struct sp_str rest = v;

	c->value = v;
	if (!next_field(&rest, &c->nettype) || !all_token(c->nettype))
		return SP_EINVAL;
	return parse_conn_tail(rest, c);
}

static int parse_origin(struct sp_str v, struct sp_sdp_origin *o)
{
	struct sp_str rest = v;

	if (!next_field(&rest, &o->username) || !all_nonws(o->username) ||
	    !next_field(&rest, &o->sess_id) || !all_digits(o->sess_id) ||
	    !next_field(&rest, &o->sess_version) || !all_digits(o->sess_version) ||
	    !next_field(&rest, &o->nettype) || !all_token(o->nettype) ||
	    !next_field(&rest, &o->addrtype) || !all_token(o->addrtype))
		return SP_EINVAL;
	if (!is_host_addr(o->addrtype, rest))
		return SP_EINVAL;
	o->addr = rest;
	return 0;
}

/* typed-time = 1*DIGIT [fixed-len-time-unit], as in r= and z=. */
static bool is_typed_time(struct sp_str s, bool allow_minus)
{
	if (allow_minus && s.len && s.p[0] == '-') {
		s.p++;
		s.len--;
	}
	if (s.len && strchr("dhms", s.p[s.len - 1]) && s.p[s.len - 1] != '\0')
		s.len--;
	return all_digits(s);
}

static int parse_time(struct sp_str v)
{
	struct sp_str rest = v, start;
	uint64_t n;

	if (!next_field(&rest, &start) || sp_str_to_u64(start, UINT64_MAX, &n) ||
	    sp_str_to_u64(rest, UINT64_MAX, &n))
		return SP_EINVAL;
	return 0;
}

/* r=<repeat interval> <active duration> <offsets from start-time>... */
static int parse_repeat(struct sp_str v)
{
	struct sp_str rest = v, f;
	int n = 0;

	while (rest.len) {
		if (!next_field(&rest, &f) || !is_typed_time(f, false))
			return SP_EINVAL;
		n++;
	}
	return n >= 3 ? 0 : SP_EINVAL;
}

/* z=<adjustment time> <offset> [<adjustment time> <offset> ...] */
static int parse_zone(struct sp_str v)
{
	struct sp_str rest = v, t, off;
	uint64_t n;

	do {
		if (!next_field(&rest, &t) || sp_str_to_u64(t, UINT64_MAX, &n) ||
		    !next_field(&rest, &off) || !is_typed_time(off, true))
			return SP_EINVAL;
	} while (rest.len);
	return 0;
}

/* b=<bwtype>:<bandwidth> */
static int parse_bw(struct sp_str v)
{
	ptrdiff_t c = sp_str_chr(v, ':');
	uint64_t n;

	if (c <= 0 || !all_token(sp_str_make(v.p, (size_t)c)) ||
	    sp_str_to_u64(sp_str_make(v.p + c + 1, v.len - (size_t)c - 1), UINT64_MAX, &n))
		return SP_EINVAL;
	return 0;
}

static int parse_attr(struct sp_str v, struct sp_sdp_attrs *as)
{
	ptrdiff_t c = sp_str_chr(v, ':');
	struct sp_sdp_attr a;

	a.name = c < 0 ? v : sp_str_make(v.p, (size_t)c);
	a.has_value = c >= 0;
	a.value = c < 0 ? SP_STR_NULL : sp_str_make(v.p + c + 1, v.len - (size_t)c - 1);
	if (!all_token(a.name) || (a.has_value && a.value.len == 0))
		return SP_EINVAL;
	if (as->n == SP_SDP_MAX_ATTRS)
		return SP_E2BIG;
	as->a[as->n++] = a;
	return 0;
}

/* proto = token *("/" token) */
static bool is_proto(struct sp_str s)
{
	size_t start = 0;

	for (size_t i = 0; i <= s.len; i++) {
		if (i == s.len || s.p[i] == '/') {
			if (i == start)
				return false;
			start = i + 1;
		} else if (!sp_is_token(s.p[i])) {
			return false;
		}
	}
	return true;
}

static int parse_media(struct sp_str v, struct sp_sdp_media *m)
{
	struct sp_str rest = v, port, f;
	uint32_t n;

	if (!next_field(&rest, &m->type) || !all_token(m->type) || !next_field(&rest, &port) ||
	    !next_field(&rest, &m->proto) || !is_proto(m->proto) || rest.len == 0)
		return SP_EINVAL;
	ptrdiff_t sl = sp_str_chr(port, '/');
	m->port_s = sl < 0 ? port : sp_str_make(port.p, (size_t)sl);
	if (sp_str_to_u32(m->port_s, 65535, &n))
		return SP_EINVAL;
	m->port = (uint16_t)n;
	m->port_count = 1;
	if (sl >= 0) {
		if (sp_str_to_u32(sp_str_make(port.p + sl + 1, port.len - (size_t)sl - 1),
				  UINT32_MAX, &n) || n == 0)
			return SP_EINVAL;
		m->port_count = n;
	}
	m->fmts = rest;
	m->nfmt = 0;
	while (rest.len) {
		if (!next_field(&rest, &f) || !all_token(f))
			return SP_EINVAL;
		if (m->nfmt == SP_SDP_MAX_FMTS)
			return SP_E2BIG;
		m->fmt[m->nfmt++] = f;
	}
	return 0;
}

/* text = byte-string: at least one byte, none of NUL, CR, LF. */
static bool is_text(struct sp_str v)
{
	return v.len > 0;
}

/* Order ranks of session-level line types (RFC 8866 section 9). t and r
 * share a rank: r only follows t or r, and t may follow r. */
static int session_rank(char t)
{
	static const char order[] = "vosiuepcbtrzkam";
	const char *p = strchr(order, t);

	if (!p || t == '\0')
		return -1;
	int r = (int)(p - order);
	return r >= 10 ? r - 1 : r; /* fold r onto t */
}

static int media_rank(char t)
{
	static const char order[] = "micbka";
	const char *p = strchr(order, t);

	return (!p || t == '\0') ? -1 : (int)(p - order);
}

#define FAIL(code, reason)                                                                         \
	do {                                                                                       \
		err = (code);                                                                      \
		reason_ = (reason);                                                                \
		goto out;                                                                          \
	} while (0)

/* The loop keeps one invariant: prev is the rank of the last line at the
 * current level (session, or the current media), and a line may only keep or
 * raise it; keeping it is allowed for the repeatable types alone. */
int sp_sdp_parse(struct sp_str body, struct sp_sdp *sdp, const char **why)
{
	int err = 0;
	const char *reason_ = NULL;
	size_t pos = 0;
	int prev = -1;
	bool in_media = false, seen_t = false, seen_o = false, seen_s = false;
	struct sp_sdp_media *m = NULL;

	sdp->body = body;
	sdp->has_conn = false;
	sdp->attrs.n = 0;
	sdp->nmedia = 0;
	sdp->name = SP_STR_NULL;
	memset(&sdp->origin, 0, sizeof(sdp->origin));
	if (body.len == 0)
		FAIL(SP_EINVAL, "SDP: empty body");
	if (memchr(body.p, '\0', body.len))
		FAIL(SP_EINVAL, "SDP: NUL byte");

	while (pos < body.len) {
		const char *lp = body.p + pos;
		const char *nl = memchr(lp, '\n', body.len - pos);
		if (!nl)
			FAIL(SP_EINVAL, "SDP: last line lacks a line ending");
		size_t len = (size_t)(nl - lp);
		struct sp_str eol = sp_str_make(nl, 1);
		if (len && lp[len - 1] == '\r') {
			len--;
			eol = sp_str_make(nl - 1, 2);
		}
		pos = (size_t)(nl - body.p) + 1;
		if (len == 0) {
			/* Blank lines are tolerated only at the very end. */
			for (size_t i = pos; i < body.len; i++)
				if (body.p[i] != '\r' && body.p[i] != '\n')
					FAIL(SP_EINVAL, "SDP: empty line");
			break;
		}
		if (memchr(lp, '\r', len))
			FAIL(SP_EINVAL, "SDP: stray CR");
		if (len < 2 || lp[1] != '=')
			FAIL(SP_EINVAL, "SDP: line without '='");
		char t = lp[0];
		if (t < 'a' || t > 'z')
			FAIL(SP_EINVAL, "SDP: bad line type");
		struct sp_str v = sp_str_make(lp + 2, len - 2);

		if (prev < 0 && t != 'v')
			FAIL(SP_EINVAL, "SDP: first line is not v=");
		if (t == 'm') {
			if (!seen_t)
				FAIL(SP_EINVAL, "SDP: missing t= line");
			if (sdp->nmedia == SP_SDP_MAX_MEDIA)
				FAIL(SP_E2BIG, "SDP: too many m= lines");
			m = &sdp->media[sdp->nmedia];
			m->nconn = 0;
			m->attrs.n = 0;
			err = parse_media(v, m);
			if (err == SP_E2BIG)
				FAIL(SP_E2BIG, "SDP: too many formats on an m= line");
			if (err)
				FAIL(SP_EINVAL, "SDP: bad m= line");
			m->conn_insert = nl + 1;
			m->eol = eol;
			sdp->nmedia++;
			in_media = true;
			prev = 0;
			continue;
		}
		int rank = in_media ? media_rank(t) : session_rank(t);
		if (rank < 0)
			FAIL(SP_EINVAL, "SDP: unknown or misplaced line type");
		bool repeatable = in_media ? strchr("cba", t) != NULL : strchr("epbtra", t) != NULL;
		if (rank < prev || (rank == prev && !repeatable))
			FAIL(SP_EINVAL, "SDP: line out of order");
		if (t == 'r' && !(prev == rank))
			FAIL(SP_EINVAL, "SDP: r= without t=");
		if (!in_media && rank > session_rank('t') && !seen_t)
			FAIL(SP_EINVAL, "SDP: missing t= line");
		if (!in_media && rank > session_rank('o') && !seen_o)
			FAIL(SP_EINVAL, "SDP: missing o= line");
		if (!in_media && rank > session_rank('s') && !seen_s)
			FAIL(SP_EINVAL, "SDP: missing s= line");
		prev = rank;

		switch (t) {
		case 'v':
			if (!sp_str_eq_c(v, "0"))
				FAIL(SP_EINVAL, "SDP: bad v= line");
			break;
		case 'o':
			if (parse_origin(v, &sdp->origin))
				FAIL(SP_EINVAL, "SDP: bad o= line");
			seen_o = true;
			break;
		case 's':
			/* RFC 8866 wants text here, but "s=" is common in the wild
			 * (RFC 5118 4.6 itself sends it) and carries nothing we
			 * use, so an empty name is let through. */
			sdp->name = v;
			seen_s = true;
			break;
		case 'i':
		case 'u':
		case 'e':
		case 'p':
		case 'k':
			if (!is_text(v))
				FAIL(SP_EINVAL, "SDP: empty value");
			if (t == 'i' && in_media)
				m->conn_insert = nl + 1;
			break;
		case 'c':
			if (in_media) {
				if (m->nconn == SP_SDP_MAX_CONN)
					FAIL(SP_E2BIG, "SDP: too many c= lines");
				if (parse_conn(v, &m->conn[m->nconn]))
					FAIL(SP_EINVAL, "SDP: bad c= line");
				m->nconn++;
			} else {
				if (parse_conn(v, &sdp->conn))
					FAIL(SP_EINVAL, "SDP: bad c= line");
				sdp->has_conn = true;
			}
			break;
		case 'b':
			if (parse_bw(v))
				FAIL(SP_EINVAL, "SDP: bad b= line");
			break;
		case 't':
			if (parse_time(v))
				FAIL(SP_EINVAL, "SDP: bad t= line");
			seen_t = true;
			break;
		case 'r':
			if (parse_repeat(v))
				FAIL(SP_EINVAL, "SDP: bad r= line");
			break;
		case 'z':
			if (parse_zone(v))
				FAIL(SP_EINVAL, "SDP: bad z= line");
			break;
		case 'a':
			err = parse_attr(v, in_media ? &m->attrs : &sdp->attrs);
			if (err == SP_E2BIG)
				FAIL(SP_E2BIG, "SDP: too many a= lines");
			if (err)
				FAIL(SP_EINVAL, "SDP: bad a= line");
			break;
		default:
			FAIL(SP_EINVAL, "SDP: unknown line type");
		}
	}
	if (prev < 0)
		FAIL(SP_EINVAL, "SDP: missing v= line");
	if (!seen_o)
		FAIL(SP_EINVAL, "SDP: missing o= line");
	if (!seen_s)
		FAIL(SP_EINVAL, "SDP: missing s= line");
	if (!seen_t)
		FAIL(SP_EINVAL, "SDP: missing t= line");
	for (size_t i = 0; i < sdp->nmedia; i++)
		if (sdp->media[i].nconn == 0 && !sdp->has_conn)
			FAIL(SP_EINVAL, "SDP: media without c= line");
out:
	if (err && why)
		*why = reason_;
	return err;
}

#undef FAIL

int sp_sdp_attr_find(const struct sp_sdp_attrs *as, const char *name, size_t *iter,
		     const struct sp_sdp_attr **out)
{
	for (size_t i = *iter; i < as->n; i++) {
		if (sp_str_caseeq_c(as->a[i].name, name)) {
			*iter = i + 1;
			*out = &as->a[i];
			return 0;
		}
	}
	return SP_ENOENT;
}

const struct sp_sdp_conn *sp_sdp_media_conn(const struct sp_sdp *sdp, size_t i)
{
	if (i < sdp->nmedia && sdp->media[i].nconn)
		return &sdp->media[i].conn[0];
	return sdp->has_conn ? &sdp->conn : NULL;
}

int sp_sdp_rtpmap_parse(struct sp_str value, struct sp_sdp_rtpmap *out)
{
	struct sp_str rest = value, pt_s;
	struct sp_sdp_rtpmap r;
	uint32_t n;

	if (!next_field(&rest, &pt_s) || sp_str_to_u32(pt_s, 127, &n))
		return SP_EINVAL;
	r.pt = (uint8_t)n;
	ptrdiff_t s1 = sp_str_chr(rest, '/');
	if (s1 <= 0)
		return SP_EINVAL;
	r.encoding = sp_str_make(rest.p, (size_t)s1);
	if (!all_token(r.encoding))
		return SP_EINVAL;
	struct sp_str tail = sp_str_make(rest.p + s1 + 1, rest.len - (size_t)s1 - 1);
	ptrdiff_t s2 = sp_str_chr(tail, '/');
	struct sp_str clock = s2 < 0 ? tail : sp_str_make(tail.p, (size_t)s2);
	if (sp_str_to_u32(clock, UINT32_MAX, &r.clock))
		return SP_EINVAL;
	r.channels = 1;
	r.params = SP_STR_NULL;
	if (s2 >= 0) {
		r.params = sp_str_make(tail.p + s2 + 1, tail.len - (size_t)s2 - 1);
		if (sp_str_to_u32(r.params, 255, &r.channels) || r.channels == 0)
			return SP_EINVAL;
	}
	*out = r;
	return 0;
}

int sp_sdp_fmtp_parse(struct sp_str value, struct sp_sdp_fmtp *out)
{
	ptrdiff_t sp = sp_str_chr(value, ' ');
	struct sp_sdp_fmtp f;

	f.format = sp < 0 ? value : sp_str_make(value.p, (size_t)sp);
	f.params = sp < 0 ? SP_STR_NULL : sp_str_make(value.p + sp + 1, value.len - (size_t)sp - 1);
	if (!all_token(f.format) || (sp >= 0 && f.params.len == 0))
		return SP_EINVAL;
	*out = f;
	return 0;
}

int sp_sdp_rtcp_parse(struct sp_str value, struct sp_sdp_rtcp *out)
{
	struct sp_str rest = value;
	struct sp_sdp_rtcp r;
	uint32_t n;

	memset(&r, 0, sizeof(r));
	if (!next_field(&rest, &r.port_s) || sp_str_to_u32(r.port_s, 65535, &n))
		return SP_EINVAL;
	r.port = (uint16_t)n;
	if (rest.len) {
		struct sp_sdp_conn c;
		if (!next_field(&rest, &r.nettype) || !all_token(r.nettype) ||
		    parse_conn_tail(rest, &c))
			return SP_EINVAL;
		r.has_addr = true;
		r.addrtype = c.addrtype;
		r.addr = c.addr;
		r.rest = c.rest;
	}
	*out = r;
	return 0;
}

static int dir_of(const struct sp_sdp_attrs *as, enum sp_sdp_dir *d)
{
	static const char *const names[] = { "sendrecv", "sendonly", "recvonly", "inactive" };

	for (size_t i = 0; i < as->n; i++) {
		for (int k = 0; k < 4; k++) {
			if (!as->a[i].has_value && sp_str_eq_c(as->a[i].name, names[k])) {
				*d = (enum sp_sdp_dir)k;
				return 0;
			}
		}
	}
	return SP_ENOENT;
}

enum sp_sdp_dir sp_sdp_direction(const struct sp_sdp *sdp, size_t i)
{
	enum sp_sdp_dir d = SP_SDP_SENDRECV;

	if (i < sdp->nmedia && dir_of(&sdp->media[i].attrs, &d) == 0)
		return d;
	if (dir_of(&sdp->attrs, &d) == 0)
		return d;
	return SP_SDP_SENDRECV;
}

/* One replacement of the input bytes [from, to) by parts then num (when >= 0). */
struct edit {
	const char *from;
	const char *to;
	struct sp_str part[4];
	long num;
};

#define MAX_EDITS (2 + SP_SDP_MAX_MEDIA * (SP_SDP_MAX_CONN + 3))

struct edits {
	struct edit e[MAX_EDITS];
	size_t n;
};

static struct edit *add_edit(struct edits *es, const char *from, const char *to)
{
	struct edit *e = &es->e[es->n++]; /* MAX_EDITS covers every path below */

	memset(e, 0, sizeof(*e));
	e->from = from;
	e->to = to;
	e->num = -1;
	return e;
}

static struct sp_str addrtype_of(struct sp_str addr)
{
	return sp_str_chr(addr, ':') >= 0 ? SP_STR("IP6") : SP_STR("IP4");
}

/* Replaces "<addrtype> <address...>" (the slice rest) by the new pair. */
static void edit_addr(struct edits *es, struct sp_str rest, struct sp_str addr)
{
	struct edit *e = add_edit(es, rest.p, rest.p + rest.len);

	e->part[0] = addrtype_of(addr);
	e->part[1] = SP_STR(" ");
	e->part[2] = addr;
}

static bool addr_ok(struct sp_str a)
{
	return is_ipv4(a) || is_ipv6(a) || is_fqdn(a);
}

int sp_sdp_rewrite(const struct sp_sdp *sdp, const struct sp_sdp_rewrite *rw, struct sp_buf *out)
{
	struct edits es_buf; /* about 10 KiB: fine on a worker stack */
	struct edits *es = &es_buf;
	int err = 0;

	es->n = 0;

	if (rw->session_addr.len) {
		if (!addr_ok(rw->session_addr)) {
			err = SP_EINVAL;
			goto out;
		}
		if (sdp->has_conn)
			edit_addr(es, sdp->conn.rest, rw->session_addr);
		if (rw->origin) {
			const struct sp_sdp_origin *o = &sdp->origin;
			edit_addr(es, sp_str_make(o->addrtype.p,
						  (size_t)(o->addr.p + o->addr.len - o->addrtype.p)),
				  rw->session_addr);
		}
	}
	size_t nm = rw->nmedia < sdp->nmedia ? rw->nmedia : sdp->nmedia;
	for (size_t i = 0; i < nm; i++) {
		const struct sp_sdp_media *m = &sdp->media[i];
		const struct sp_sdp_rw_media *r = &rw->media[i];
		if (r->addr.len) {
			if (!addr_ok(r->addr)) {
				err = SP_EINVAL;
				goto out;
			}
			for (size_t k = 0; k < m->nconn; k++)
				edit_addr(es, m->conn[k].rest, r->addr);
			if (m->nconn == 0 && !sp_str_eq(r->addr, rw->session_addr)) {
				struct edit *e = add_edit(es, m->conn_insert, m->conn_insert);
				e->part[0] = SP_STR("c=IN ");
				e->part[1] = addrtype_of(r->addr);
				e->part[2] = SP_STR(" ");
				e->part[3] = r->addr;
				/* The eol goes in a second edit at the same place. */
				e = add_edit(es, m->conn_insert, m->conn_insert);
				e->part[0] = m->eol;
			}
		}
		if (r->port > 65535 || r->rtcp_port > 65535) {
			err = SP_EINVAL;
			goto out;
		}
		if (r->port >= 0) {
			struct edit *e = add_edit(es, m->port_s.p, m->port_s.p + m->port_s.len);
			e->num = r->port;
		}
		long rtcp = r->rtcp_port >= 0 ? r->rtcp_port : (r->port >= 0 ? r->port + 1 : -1);
		if (rtcp > 65535)
			rtcp = -1; /* port 65535 has no port + 1: leave a=rtcp alone */
		const struct sp_sdp_attr *a;
		size_t it = 0;
		struct sp_sdp_rtcp rc;
		if ((rtcp >= 0 || r->addr.len) && sp_sdp_attr_find(&m->attrs, "rtcp", &it, &a) == 0 &&
		    a->has_value && sp_sdp_rtcp_parse(a->value, &rc) == 0) {
			if (rtcp >= 0) {
				struct edit *e = add_edit(es, rc.port_s.p, rc.port_s.p + rc.port_s.len);
				e->num = rtcp;
			}
			if (rc.has_addr && r->addr.len)
				edit_addr(es, rc.rest, r->addr);
		}
	}

	/* Insertion sort by position keeps equal positions in the order added,
	 * which puts an inserted c= line before its line ending. */
	for (size_t i = 1; i < es->n; i++) {
		struct edit tmp = es->e[i];
		size_t j = i;
		while (j > 0 && es->e[j - 1].from > tmp.from) {
			es->e[j] = es->e[j - 1];
			j--;
		}
		es->e[j] = tmp;
	}

	const char *cur = sdp->body.p;
	for (size_t i = 0; i < es->n; i++) {
		const struct edit *e = &es->e[i];
		err = sp_buf_append(out, cur, (size_t)(e->from - cur));
		for (int k = 0; !err && k < 4; k++)
			if (e->part[k].len)
				err = sp_buf_append_str(out, e->part[k]);
		if (!err && e->num >= 0)
			err = sp_buf_append_u64(out, (unsigned long long)e->num);
		if (err)
			goto out;
		cur = e->to;
	}
	err = sp_buf_append(out, cur, (size_t)(sdp->body.p + sdp->body.len - cur));
out:
	return err;
}
