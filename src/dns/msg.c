/* msg.c: a strict parser of DNS responses in wire format (RFC 1035) for the records the look-ups use. */
#include "dns/msg.h"

#include <string.h>

#include "core/err.h"

#define HDR_LEN 12
#define MAX_JUMPS 128
#define NAME_TEXT_MAX 253
#define CLASS_IN 1

/* A cursor over the whole message; every read checks against len. */
struct rd {
	const uint8_t *buf;
	size_t len;
	size_t off;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A label byte we are willing to put in a text name. Names end up in
 * caches, logs and Request-URIs: a space, a control byte, a '.' (which
 * would change the label structure) or a '\\' (an escape in zone-file
 * syntax) inside a label is never legitimate in a SIP or ENUM host name,
 * so such an answer is refused rather than escaped. Underscore stays
 * allowed for "_sip._udp" owner names. */
static bool label_char_ok(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '.' && c != '\\';
}

/* Reads the name at r->off whose uncompressed part must end by limit,
 * leaving r->off just past it (past the first pointer, if any). With out,
 * the text form goes there, lower-cased; without, the name is only
 * checked for structure, so that names we never use (questions, SOA
 * mailboxes, records we skip) cannot make a usable answer invalid by their
 * characters alone.
 *
 * Every pointer must aim before the first byte of the labels it ends (not
 * just before itself): the positions visited strictly decrease, so no
 * chain of pointers can loop, and the jump cap bounds the work anyway. */
static int read_name(struct rd *r, size_t limit, char *out)
{
	size_t pos = r->off, seg = r->off, tlen = 0, end = 0;
	unsigned jumps = 0;
	bool first = true;

	for (;;) {
		if (pos >= limit)
			return SP_EINVAL;
		uint8_t l = r->buf[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= limit)
				return SP_EINVAL;
			size_t target = (size_t)(l & 0x3f) << 8 | r->buf[pos + 1];
			if (target >= seg || target < HDR_LEN || ++jumps > MAX_JUMPS)
				return SP_EINVAL;
			if (!end)
				end = pos + 2;
			/* Past a jump the labels may lie anywhere earlier in the
			 * message, outside the RDATA this name started in. */
			pos = seg = target;
			limit = r->len;
			continue;
		}
		if (l & 0xc0) /* 0x40 and 0x80: extended label types, obsolete */
			return SP_EINVAL;
		if (l == 0) {
			if (!end)
				end = pos + 1;
			break;
		}
		if (pos + 1 + l > limit)
			return SP_EINVAL;
		tlen += (first ? 0 : 1) + l;
		if (tlen > NAME_TEXT_MAX)
			return SP_EINVAL;
		if (out) {
			char *o = out + tlen - l;
			if (!first)
				o[-1] = '.';
			for (size_t i = 0; i < l; i++) {
				uint8_t c = r->buf[pos + 1 + i];
				if (!label_char_ok(c))
					return SP_EINVAL;
				o[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
			}
		}
		first = false;
		pos += 1 + l;
	}
	if (out)
		out[tlen] = '\0';
	r->off = end;
	return 0;
}

/* One <character-string>: a length octet and that many octets, to end by
 * limit, copied NUL-terminated into out of size bytes. A string that does
 * not fit its field makes the answer invalid (it cannot be truncated
 * without changing its meaning); a control byte would be silently cut (NUL)
 * or end up in a URI or a log, so it is refused too. */
static int read_cstr(struct rd *r, size_t limit, char *out, size_t size)
{
	if (r->off >= limit)
		return SP_EINVAL;
	size_t l = r->buf[r->off];
	if (r->off + 1 + l > limit || l + 1 > size)
		return SP_EINVAL;
	for (size_t i = 0; i < l; i++) {
		uint8_t c = r->buf[r->off + 1 + i];
		if (c < 0x20 || c == 0x7f)
			return SP_EINVAL;
		out[i] = (char)c;
	}
	out[l] = '\0';
	r->off += 1 + l;
	return 0;
}

/* RFC 2181 section 8: a TTL with the top bit set is to be taken as zero. */
static uint32_t ttl_fix(uint32_t ttl)
{
	return ttl & 0x80000000u ? 0 : ttl;
}

/* The RDATA of a kept type, [r->off, end), into rr; it must be consumed exactly. */
static int read_rdata(struct rd *r, size_t end, struct sp_dns_rr *rr)
{
	const uint8_t *p = r->buf + r->off;
	size_t n = end - r->off;
	int err;

	switch (rr->type) {
	case SP_DNS_A:
		if (n != 4)
			return SP_EINVAL;
		memcpy(rr->u.a, p, 4);
		r->off = end;
		return 0;
	case SP_DNS_AAAA:
		if (n != 16)
			return SP_EINVAL;
		memcpy(rr->u.aaaa, p, 16);
		r->off = end;
		return 0;
	case SP_DNS_CNAME:
		err = read_name(r, end, rr->u.cname);
		break;
	case SP_DNS_SRV:
		if (n < 7)
			return SP_EINVAL;
		rr->u.srv.priority = get16(p);
		rr->u.srv.weight = get16(p + 2);
		rr->u.srv.port = get16(p + 4);
		r->off += 6;
		err = read_name(r, end, rr->u.srv.target);
		break;
	case SP_DNS_NAPTR:
		if (n < 8)
			return SP_EINVAL;
		rr->u.naptr.order = get16(p);
		rr->u.naptr.preference = get16(p + 2);
		r->off += 4;
		if ((err = read_cstr(r, end, rr->u.naptr.flags, sizeof(rr->u.naptr.flags))) ||
		    (err = read_cstr(r, end, rr->u.naptr.services, sizeof(rr->u.naptr.services))) ||
		    (err = read_cstr(r, end, rr->u.naptr.regexp, sizeof(rr->u.naptr.regexp))))
			return err;
		err = read_name(r, end, rr->u.naptr.replacement);
		break;
	default:
		return SP_EINVAL;
	}
	if (err)
		return err;
	return r->off == end ? 0 : SP_EINVAL;
}

static bool kept_type(uint16_t t)
{
	return t == SP_DNS_A || t == SP_DNS_AAAA || t == SP_DNS_CNAME || t == SP_DNS_SRV ||
	       t == SP_DNS_NAPTR;
}

/* An SOA's RDATA: two names and five 32-bit fields, nothing more; returns
 * the MINIMUM field through min, read as a TTL. */
static int read_soa(struct rd *r, size_t end, uint32_t *min)
{
	int err;
	if ((err = read_name(r, end, NULL)) || (err = read_name(r, end, NULL)))
		return err;
	if (end - r->off != 20)
		return SP_EINVAL;
	*min = ttl_fix(get32(r->buf + r->off + 16));
	r->off = end;
	return 0;
}

enum section { SEC_ANSWER, SEC_AUTHORITY, SEC_ADDITIONAL };

/* One resource record of section sec. Answer records of the kept types in
 * class IN go to out->rr; the first SOA of the authority section sets
 * neg_ttl; every other record is only checked for its bounds. */
static int read_rr(struct rd *r, enum section sec, struct sp_dns_answer *out, bool *soa_seen)
{
	struct sp_dns_rr *rr = NULL;
	size_t owner = r->off;
	int err;

	if ((err = read_name(r, r->len, NULL)))
		return err;
	if (r->len - r->off < 10)
		return SP_EINVAL;
	const uint8_t *p = r->buf + r->off;
	uint16_t type = get16(p), class = get16(p + 2), rdlen = get16(p + 8);
	uint32_t ttl = ttl_fix(get32(p + 4));
	r->off += 10;
	if (r->len - r->off < rdlen)
		return SP_EINVAL;
	size_t end = r->off + rdlen;

	if (sec == SEC_ANSWER && class == CLASS_IN && kept_type(type)) {
		if (out->n == SP_DNS_MAX_RR)
			return SP_E2BIG;
		rr = &out->rr[out->n];
		memset(rr, 0, sizeof(*rr));
		rr->type = type;
		rr->ttl = ttl;
		/* Again, now into text: the owner is a name we use. */
		struct rd o = { r->buf, r->len, owner };
		if ((err = read_name(&o, r->len, rr->name)))
			return err;
		if ((err = read_rdata(r, end, rr)))
			return err;
		out->n++;
		return 0;
	}
	if (sec == SEC_AUTHORITY && type == SP_DNS_SOA && class == CLASS_IN && !*soa_seen) {
		uint32_t min;
		if ((err = read_soa(r, end, &min)))
			return err;
		out->neg_ttl = ttl < min ? ttl : min;
		*soa_seen = true;
		return 0;
	}
	r->off = end;
	return 0;
}

int sp_dns_parse(const uint8_t *buf, size_t len, struct sp_dns_answer *out)
{
	struct rd r = { buf, len, HDR_LEN };
	bool soa_seen = false;
	int err;

	if (!buf || len < HDR_LEN)
		return SP_EINVAL;
	uint16_t flags = get16(buf + 2);
	size_t qd = get16(buf + 4), an = get16(buf + 6), ns = get16(buf + 8), ar = get16(buf + 10);
	if (!(flags & 0x8000)) /* a query, not a response */
		return SP_EINVAL;
	/* Each question takes at least 5 octets and each record 11: counts
	 * the length cannot hold are refused before any work. */
	if (qd * 5 + (an + ns + ar) * 11 > len - HDR_LEN)
		return SP_EINVAL;

	out->rcode = flags & 0x000f;
	out->truncated = (flags & 0x0200) != 0;
	out->neg_ttl = 0;
	out->n = 0;

	for (size_t i = 0; i < qd; i++) {
		if ((err = read_name(&r, len, NULL)))
			return err;
		if (len - r.off < 4)
			return SP_EINVAL;
		r.off += 4;
	}
	for (size_t i = 0; i < an; i++)
		if ((err = read_rr(&r, SEC_ANSWER, out, &soa_seen)))
			return err;
	for (size_t i = 0; i < ns; i++)
		if ((err = read_rr(&r, SEC_AUTHORITY, out, &soa_seen)))
			return err;
	/* The additional section is not used, but walked all the same: the
	 * counts must describe the message exactly, with nothing left over. */
	for (size_t i = 0; i < ar; i++)
		if ((err = read_rr(&r, SEC_ADDITIONAL, out, &soa_seen)))
			return err;
	return r.off == len ? 0 : SP_EINVAL;
}

uint32_t sp_dns_min_ttl(const struct sp_dns_answer *a, uint16_t type)
{
	uint32_t min = UINT32_MAX;
	for (size_t i = 0; i < a->n; i++)
		if (a->rr[i].type == type && a->rr[i].ttl < min)
			min = a->rr[i].ttl;
	return min;
}
