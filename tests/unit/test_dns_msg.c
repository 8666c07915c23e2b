/* test_dns_msg.c: the DNS answer parser on hand-built responses, valid and malformed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "dns/msg.h"

/* A tiny wire-format builder: enough of RFC 1035 to write test answers. */
struct wb {
	uint8_t b[4096];
	size_t n;
	size_t rdlen_at; /* where the open record's RDLENGTH goes */
};

static void u8(struct wb *w, unsigned v)
{
	w->b[w->n++] = (uint8_t)v;
}

static void u16(struct wb *w, unsigned v)
{
	u8(w, v >> 8);
	u8(w, v & 0xff);
}

static void u32(struct wb *w, uint32_t v)
{
	u16(w, v >> 16);
	u16(w, v & 0xffff);
}

static void bytes(struct wb *w, const void *p, size_t n)
{
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

/* A name in labels, uncompressed; "" is the root. */
static void name(struct wb *w, const char *s)
{
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		u8(w, (unsigned)l);
		bytes(w, s, l);
		s += l + (dot ? 1 : 0);
	}
	u8(w, 0);
}

static void ptr(struct wb *w, size_t off)
{
	u16(w, 0xc000 | (unsigned)off);
}

static void cstr(struct wb *w, const char *s)
{
	u8(w, (unsigned)strlen(s));
	bytes(w, s, strlen(s));
}

static void hdr(struct wb *w, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	w->n = 0;
	u16(w, 0x1234);
	u16(w, flags);
	u16(w, qd);
	u16(w, an);
	u16(w, ns);
	u16(w, ar);
}

#define QR_RD_RA 0x8180

static void question(struct wb *w, const char *qname, unsigned type)
{
	name(w, qname);
	u16(w, type);
	u16(w, 1);
}

/* A record's fixed part, its owner a pointer to the question name at 12. */
static void rr_open(struct wb *w, unsigned type, uint32_t ttl)
{
	ptr(w, 12);
	u16(w, type);
	u16(w, 1);
	u32(w, ttl);
	w->rdlen_at = w->n;
	u16(w, 0);
}

static void rr_close(struct wb *w)
{
	size_t l = w->n - w->rdlen_at - 2;
	w->b[w->rdlen_at] = (uint8_t)(l >> 8);
	w->b[w->rdlen_at + 1] = (uint8_t)l;
}

static void naptr(struct wb *w, uint32_t ttl, unsigned order, unsigned pref, const char *flags,
		  const char *svc, const char *rx, const char *repl)
{
	rr_open(w, SP_DNS_NAPTR, ttl);
	u16(w, order);
	u16(w, pref);
	cstr(w, flags);
	cstr(w, svc);
	cstr(w, rx);
	name(w, repl);
	rr_close(w);
}

static void soa(struct wb *w, uint32_t ttl, uint32_t minimum)
{
	name(w, "example.com");
	u16(w, SP_DNS_SOA);
	u16(w, 1);
	u32(w, ttl);
	w->rdlen_at = w->n;
	u16(w, 0);
	name(w, "ns1.example.com");
	name(w, "john\\.doe.example.com"); /* a '\\' in a name we never keep is fine */
	u32(w, 2024010101);
	u32(w, 3600);
	u32(w, 600);
	u32(w, 86400);
	u32(w, minimum);
	rr_close(w);
}

static struct sp_dns_answer ans;

static int parse(const struct wb *w)
{
	return sp_dns_parse(w->b, w->n, &ans);
}

/* Every proper prefix of a valid answer must be refused, and must not
 * read a byte past its end (ASan sees each prefix in its own copy). */
static void all_truncations_fail(const struct wb *w)
{
	for (size_t l = 0; l < w->n; l++) {
		uint8_t *copy = malloc(l ? l : 1);
		assert_non_null(copy);
		memcpy(copy, w->b, l);
		assert_int_not_equal(sp_dns_parse(copy, l, &ans), 0);
		free(copy);
	}
}

static void build_naptr(struct wb *w)
{
	hdr(w, QR_RD_RA | 0x0400, 1, 3, 0, 0);
	question(w, "3.8.0.0.6.9.2.3.6.1.4.4.E164.arpa", SP_DNS_NAPTR);
	naptr(w, 3600, 100, 10, "u", "E2U+sip", "!^.*$!sip:info@example.com!", "");
	naptr(w, 600, 100, 20, "u", "E2U+email:mailto", "!^.*$!mailto:info@example.com!", "");
	naptr(w, 7200, 50, 10, "S", "SIP+D2T", "", "_sip._tcp.Example.com");
}

static void test_naptr(void **state)
{
	struct wb w;
	build_naptr(&w);
	assert_int_equal(parse(&w), 0);
	assert_int_equal(ans.rcode, SP_DNS_NOERROR);
	assert_false(ans.truncated);
	assert_int_equal(ans.n, 3);
	assert_string_equal(ans.rr[0].name, "3.8.0.0.6.9.2.3.6.1.4.4.e164.arpa");
	assert_int_equal(ans.rr[0].type, SP_DNS_NAPTR);
	assert_int_equal(ans.rr[0].ttl, 3600);
	assert_int_equal(ans.rr[0].u.naptr.order, 100);
	assert_int_equal(ans.rr[0].u.naptr.preference, 10);
	assert_string_equal(ans.rr[0].u.naptr.flags, "u");
	assert_string_equal(ans.rr[0].u.naptr.services, "E2U+sip");
	assert_string_equal(ans.rr[0].u.naptr.regexp, "!^.*$!sip:info@example.com!");
	assert_string_equal(ans.rr[0].u.naptr.replacement, "");
	assert_string_equal(ans.rr[2].u.naptr.flags, "S"); /* as sent */
	assert_string_equal(ans.rr[2].u.naptr.regexp, "");
	assert_string_equal(ans.rr[2].u.naptr.replacement, "_sip._tcp.example.com");
	assert_int_equal(sp_dns_min_ttl(&ans, SP_DNS_NAPTR), 600);
	assert_int_equal(sp_dns_min_ttl(&ans, SP_DNS_SRV), UINT32_MAX);
	all_truncations_fail(&w);
	/* One byte more than the counts describe. */
	w.b[w.n++] = 0;
	assert_int_equal(parse(&w), SP_EINVAL);
}

static void build_srv(struct wb *w)
{
	hdr(w, QR_RD_RA, 1, 2, 0, 1);
	question(w, "_sip._udp.ssp-b.test", SP_DNS_SRV);
	rr_open(w, SP_DNS_SRV, 300);
	u16(w, 10);
	u16(w, 60);
	u16(w, 5060);
	name(w, "sip1.ssp-b.test");
	rr_close(w);
	size_t t1 = w->n - 17; /* "sip1.ssp-b.test" as written above */
	rr_open(w, SP_DNS_SRV, 200);
	u16(w, 20);
	u16(w, 0);
	u16(w, 5070);
	u8(w, 4);
	bytes(w, "sip2", 4);
	ptr(w, t1 + 5); /* "ssp-b.test", compressed */
	rr_close(w);
	/* An additional A record: walked for its bounds, not kept. */
	ptr(w, t1);
	u16(w, SP_DNS_A);
	u16(w, 1);
	u32(w, 300);
	u16(w, 4);
	bytes(w, "\xc0\x00\x02\x01", 4);
}

static void test_srv(void **state)
{
	struct wb w;
	build_srv(&w);
	assert_int_equal(parse(&w), 0);
	assert_int_equal(ans.n, 2);
	assert_int_equal(ans.rr[0].type, SP_DNS_SRV);
	assert_string_equal(ans.rr[0].name, "_sip._udp.ssp-b.test");
	assert_int_equal(ans.rr[0].u.srv.priority, 10);
	assert_int_equal(ans.rr[0].u.srv.weight, 60);
	assert_int_equal(ans.rr[0].u.srv.port, 5060);
	assert_string_equal(ans.rr[0].u.srv.target, "sip1.ssp-b.test");
	assert_string_equal(ans.rr[1].u.srv.target, "sip2.ssp-b.test");
	assert_int_equal(ans.rr[1].u.srv.port, 5070);
	assert_int_equal(sp_dns_min_ttl(&ans, SP_DNS_SRV), 200);
	all_truncations_fail(&w);
}

static void test_a_aaaa_cname(void **state)
{
	struct wb w;
	hdr(&w, QR_RD_RA, 1, 4, 0, 0);
	question(&w, "www.Example.COM", SP_DNS_A);
	rr_open(&w, SP_DNS_CNAME, 60);
	size_t target = w.n;
	name(&w, "host.example.com");
	rr_close(&w);
	/* The next owners point at the CNAME's target inside its RDATA. */
	ptr(&w, target);
	u16(&w, SP_DNS_A);
	u16(&w, 1);
	u32(&w, 0x80000005); /* top bit set: read as 0 (RFC 2181) */
	u16(&w, 4);
	bytes(&w, "\xc0\x00\x02\x07", 4);
	/* A TXT record in the answer: skipped. */
	rr_open(&w, 16, 60);
	cstr(&w, "v=spf1 -all");
	rr_close(&w);
	ptr(&w, target);
	u16(&w, SP_DNS_AAAA);
	u16(&w, 1);
	u32(&w, 120);
	u16(&w, 16);
	bytes(&w, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);

	assert_int_equal(parse(&w), 0);
	assert_int_equal(ans.n, 3);
	assert_int_equal(ans.rr[0].type, SP_DNS_CNAME);
	assert_string_equal(ans.rr[0].name, "www.example.com");
	assert_string_equal(ans.rr[0].u.cname, "host.example.com");
	assert_int_equal(ans.rr[1].type, SP_DNS_A);
	assert_string_equal(ans.rr[1].name, "host.example.com");
	assert_int_equal(ans.rr[1].ttl, 0);
	assert_memory_equal(ans.rr[1].u.a, "\xc0\x00\x02\x07", 4);
	assert_int_equal(ans.rr[2].type, SP_DNS_AAAA);
	assert_memory_equal(ans.rr[2].u.aaaa, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	assert_int_equal(sp_dns_min_ttl(&ans, SP_DNS_A), 0);
	assert_int_equal(sp_dns_min_ttl(&ans, SP_DNS_AAAA), 120);
	all_truncations_fail(&w);

	/* The TC bit and the rcode come through. */
	w.b[2] |= 0x02;
	assert_int_equal(parse(&w), 0);
	assert_true(ans.truncated);
	/* A query (QR clear) is not an answer. */
	w.b[2] &= 0x7f;
	assert_int_equal(parse(&w), SP_EINVAL);
}

static void test_nxdomain_nodata(void **state)
{
	struct wb w;
	hdr(&w, QR_RD_RA | 3, 1, 0, 1, 0);
	question(&w, "nope.example.com", SP_DNS_NAPTR);
	soa(&w, 3600, 300);
	assert_int_equal(parse(&w), 0);
	assert_int_equal(ans.rcode, SP_DNS_NXDOMAIN);
	assert_int_equal(ans.n, 0);
	assert_int_equal(ans.neg_ttl, 300);
	all_truncations_fail(&w);

	/* NODATA: NOERROR, no answer; here the SOA TTL is the smaller. */
	hdr(&w, QR_RD_RA, 1, 0, 1, 0);
	question(&w, "example.com", SP_DNS_NAPTR);
	soa(&w, 120, 900);
	assert_int_equal(parse(&w), 0);
	assert_int_equal(ans.rcode, SP_DNS_NOERROR);
	assert_int_equal(ans.n, 0);
	assert_int_equal(ans.neg_ttl, 120);

	/* No SOA at all: 0. */
	hdr(&w, QR_RD_RA | 2, 1, 0, 0, 0);
	question(&w, "example.com", SP_DNS_NAPTR);
	assert_int_equal(parse(&w), 0);
	assert_int_equal(ans.rcode, SP_DNS_SERVFAIL);
	assert_int_equal(ans.neg_ttl, 0);

	/* An SOA with a byte too many in its RDATA. */
	hdr(&w, QR_RD_RA | 3, 1, 0, 1, 0);
	question(&w, "nope.example.com", SP_DNS_NAPTR);
	soa(&w, 3600, 300);
	w.b[w.n++] = 0;
	rr_close(&w);
	assert_int_equal(parse(&w), SP_EINVAL);
}

static void one_a(struct wb *w, const char *owner_wire, size_t owner_len)
{
	bytes(w, owner_wire, owner_len);
	u16(w, SP_DNS_A);
	u16(w, 1);
	u32(w, 60);
	u16(w, 4);
	bytes(w, "\x01\x02\x03\x04", 4);
}

static void test_compression_abuse(void **state)
{
	struct wb w;

	/* A question name that is a pointer to itself. */
	hdr(&w, QR_RD_RA, 1, 0, 0, 0);
	ptr(&w, 12);
	u16(&w, 1);
	u16(&w, 1);
	assert_int_equal(parse(&w), SP_EINVAL);

	/* Two pointers aiming at each other: the first owner points at the
	 * second record's owner, which points back at the first. */
	hdr(&w, QR_RD_RA, 1, 2, 0, 0);
	question(&w, "a.test", SP_DNS_A);
	size_t p1 = w.n;
	uint8_t fwd[2] = { 0xc0, (uint8_t)(p1 + 16) };
	one_a(&w, (const char *)fwd, 2);
	uint8_t back[2] = { 0xc0, (uint8_t)p1 };
	one_a(&w, (const char *)back, 2);
	assert_int_equal(parse(&w), SP_EINVAL);

	/* A forward pointer to a good name: the owner of an additional record.
	 * The same message with a backward pointer is fine. */
	for (int forward = 0; forward <= 1; forward++) {
		hdr(&w, QR_RD_RA, 1, 1, 0, 1);
		question(&w, "a.test", SP_DNS_A);
		p1 = w.n;
		uint8_t o[2] = { 0xc0, (uint8_t)(forward ? p1 + 16 : 12) };
		one_a(&w, (const char *)o, 2);
		name(&w, "b.test");
		u16(&w, 16);
		u16(&w, 1);
		u32(&w, 0);
		u16(&w, 0);
		assert_int_equal(parse(&w), forward ? SP_EINVAL : 0);
	}

	/* A pointer into its own labels: "x" then a pointer back to "x". */
	hdr(&w, QR_RD_RA, 1, 0, 0, 0);
	u8(&w, 1);
	u8(&w, 'x');
	ptr(&w, 12);
	u16(&w, 1);
	u16(&w, 1);
	assert_int_equal(parse(&w), SP_EINVAL);

	/* A pointer into the header. */
	hdr(&w, QR_RD_RA, 1, 0, 0, 0);
	ptr(&w, 4);
	u16(&w, 1);
	u16(&w, 1);
	assert_int_equal(parse(&w), SP_EINVAL);

	/* 128 jumps for one name are allowed, 129 are not. The chain sits in
	 * the RDATA of a skipped TXT record: the name "x" at base, then links
	 * that are each a pointer to the one before (the first to base); the
	 * next record's owner points at the last link. m links and the owner's
	 * own pointer make m + 1 jumps. */
	for (unsigned jumps = 128; jumps <= 129; jumps++) {
		unsigned m = jumps - 1;
		hdr(&w, QR_RD_RA, 0, 2, 0, 0);
		u8(&w, 0);
		u16(&w, 16);
		u16(&w, 1);
		u32(&w, 0);
		u16(&w, 3 + 2 * m);
		size_t base = w.n, prev = base;
		bytes(&w, "\x01x\x00", 3);
		for (unsigned i = 0; i < m; i++) {
			size_t here = w.n;
			ptr(&w, prev);
			prev = here;
		}
		uint8_t o[2] = { (uint8_t)(0xc0 | prev >> 8), (uint8_t)prev };
		one_a(&w, (const char *)o, 2);
		if (jumps <= 128) {
			assert_int_equal(parse(&w), 0);
			assert_int_equal(ans.n, 1);
			assert_string_equal(ans.rr[0].name, "x");
		} else {
			assert_int_equal(parse(&w), SP_EINVAL);
		}
	}
}

static void test_bad_names(void **state)
{
	struct wb w;
	char lbl[80];

	/* A 64-octet label (the length byte 0x40 is also a reserved type). */
	memset(lbl, 'a', sizeof(lbl));
	hdr(&w, QR_RD_RA, 1, 0, 0, 0);
	u8(&w, 64);
	bytes(&w, lbl, 64);
	u8(&w, 0);
	u16(&w, 1);
	u16(&w, 1);
	assert_int_equal(parse(&w), SP_EINVAL);
	/* 63 is fine. */
	hdr(&w, QR_RD_RA, 1, 0, 0, 0);
	u8(&w, 63);
	bytes(&w, lbl, 63);
	u8(&w, 0);
	u16(&w, 1);
	u16(&w, 1);
	assert_int_equal(parse(&w), 0);

	/* 253 characters pass, 254 do not: 4 labels of 63 plus one of 1
	 * make 4*63 + 1 + 4 dots = 257, so build exactly. */
	for (size_t total = 253; total <= 254; total++) {
		hdr(&w, QR_RD_RA, 1, 1, 0, 0);
		question(&w, "a.test", SP_DNS_CNAME);
		rr_open(&w, SP_DNS_CNAME, 1);
		size_t left = total;
		while (left) {
			size_t l = left > 63 ? 63 : left;
			if (left > 63 && left - 63 < 2)
				l = 61; /* the rest must hold a dot and a label */
			u8(&w, (unsigned)l);
			bytes(&w, lbl, l);
			left -= l;
			if (left)
				left--; /* the dot */
		}
		u8(&w, 0);
		rr_close(&w);
		if (total == 253) {
			assert_int_equal(parse(&w), 0);
			assert_int_equal(strlen(ans.rr[0].u.cname), 253);
		} else {
			assert_int_equal(parse(&w), SP_EINVAL);
		}
	}

	/* Label bytes we refuse in a kept name: space, '.', '\\', control, 8-bit. */
	const char bad[] = { ' ', '.', '\\', '\n', '\0', (char)0x80, (char)0xff };
	for (size_t i = 0; i < sizeof(bad); i++) {
		hdr(&w, QR_RD_RA, 1, 1, 0, 0);
		question(&w, "a.test", SP_DNS_CNAME);
		rr_open(&w, SP_DNS_CNAME, 1);
		u8(&w, 3);
		u8(&w, 'a');
		u8(&w, (unsigned char)bad[i]);
		u8(&w, 'b');
		u8(&w, 0);
		rr_close(&w);
		assert_int_equal(parse(&w), SP_EINVAL);
	}
	/* ...but the same in a question name is only checked for structure. */
	hdr(&w, QR_RD_RA, 1, 0, 0, 0);
	bytes(&w, "\x03" "a b\x00", 5);
	u16(&w, 1);
	u16(&w, 1);
	assert_int_equal(parse(&w), 0);
}

static void test_bad_rdata(void **state)
{
	struct wb w;

	/* A with 5 octets, AAAA with 4. */
	hdr(&w, QR_RD_RA, 1, 1, 0, 0);
	question(&w, "a.test", SP_DNS_A);
	rr_open(&w, SP_DNS_A, 1);
	bytes(&w, "\x01\x02\x03\x04\x05", 5);
	rr_close(&w);
	assert_int_equal(parse(&w), SP_EINVAL);
	hdr(&w, QR_RD_RA, 1, 1, 0, 0);
	question(&w, "a.test", SP_DNS_AAAA);
	rr_open(&w, SP_DNS_AAAA, 1);
	bytes(&w, "\x01\x02\x03\x04", 4);
	rr_close(&w);
	assert_int_equal(parse(&w), SP_EINVAL);

	/* An SRV with a byte after its target; a CNAME whose name runs past its RDATA. */
	hdr(&w, QR_RD_RA, 1, 1, 0, 0);
	question(&w, "a.test", SP_DNS_SRV);
	rr_open(&w, SP_DNS_SRV, 1);
	u16(&w, 1);
	u16(&w, 1);
	u16(&w, 5060);
	name(&w, "b.test");
	u8(&w, 0);
	rr_close(&w);
	assert_int_equal(parse(&w), SP_EINVAL);
	hdr(&w, QR_RD_RA, 1, 1, 0, 1);
	question(&w, "a.test", SP_DNS_CNAME);
	rr_open(&w, SP_DNS_CNAME, 1);
	u8(&w, 1);
	u8(&w, 'b');
	rr_close(&w);
	u8(&w, 0); /* the root, past the RDATA: owner of an additional record */
	u16(&w, 16);
	u16(&w, 1);
	u32(&w, 0);
	u16(&w, 0);
	assert_int_equal(parse(&w), SP_EINVAL);

	/* NAPTR flags of 16 characters (the field holds 15); services of 128. */
	char big[200];
	memset(big, 'a', sizeof(big));
	big[16] = '\0';
	hdr(&w, QR_RD_RA, 1, 1, 0, 0);
	question(&w, "a.test", SP_DNS_NAPTR);
	naptr(&w, 1, 1, 1, big, "E2U+sip", "", "");
	assert_int_equal(parse(&w), SP_EINVAL);
	big[15] = '\0';
	hdr(&w, QR_RD_RA, 1, 1, 0, 0);
	question(&w, "a.test", SP_DNS_NAPTR);
	naptr(&w, 1, 1, 1, big, "E2U+sip", "", "");
	assert_int_equal(parse(&w), 0);
	memset(big, 'a', sizeof(big));
	big[128] = '\0';
	hdr(&w, QR_RD_RA, 1, 1, 0, 0);
	question(&w, "a.test", SP_DNS_NAPTR);
	naptr(&w, 1, 1, 1, "u", big, "", "");
	assert_int_equal(parse(&w), SP_EINVAL);
	/* A character-string longer than its RDATA, and a NUL inside one. */
	hdr(&w, QR_RD_RA, 1, 1, 0, 0);
	question(&w, "a.test", SP_DNS_NAPTR);
	rr_open(&w, SP_DNS_NAPTR, 1);
	u16(&w, 1);
	u16(&w, 1);
	u8(&w, 30);
	bytes(&w, "u", 1);
	rr_close(&w);
	assert_int_equal(parse(&w), SP_EINVAL);
	hdr(&w, QR_RD_RA, 1, 1, 0, 0);
	question(&w, "a.test", SP_DNS_NAPTR);
	naptr(&w, 1, 1, 1, "u", "E2U+sip", "!^.*$!sip:a@b!", "");
	w.b[w.n - 5] = '\0';
	assert_int_equal(parse(&w), SP_EINVAL);
	/* RDLENGTH past the end of the message. */
	hdr(&w, QR_RD_RA, 1, 1, 0, 0);
	question(&w, "a.test", SP_DNS_A);
	rr_open(&w, SP_DNS_A, 1);
	bytes(&w, "\x01\x02\x03\x04", 4);
	rr_close(&w);
	w.b[w.n - 5] = 5;
	assert_int_equal(parse(&w), SP_EINVAL);
}

static void test_counts(void **state)
{
	struct wb w;

	/* Counts larger than the data, one section at a time. */
	for (int sec = 0; sec < 4; sec++) {
		build_srv(&w);
		w.b[5 + 2 * sec] += 1;
		assert_int_equal(parse(&w), SP_EINVAL);
		w.b[4 + 2 * sec] = 0xff;
		assert_int_equal(parse(&w), SP_EINVAL);
	}
	/* Shorter than a header. */
	assert_int_equal(sp_dns_parse(w.b, 11, &ans), SP_EINVAL);
	assert_int_equal(sp_dns_parse(NULL, 0, &ans), SP_EINVAL);

	/* SP_DNS_MAX_RR records fit, one more is SP_E2BIG; skipped types do not count. */
	for (unsigned n = SP_DNS_MAX_RR; n <= SP_DNS_MAX_RR + 1; n++) {
		hdr(&w, QR_RD_RA, 1, n + 1, 0, 0);
		question(&w, "a.test", SP_DNS_A);
		rr_open(&w, 16, 1);
		cstr(&w, "skipped");
		rr_close(&w);
		for (unsigned i = 0; i < n; i++) {
			rr_open(&w, SP_DNS_A, i);
			u32(&w, i);
			rr_close(&w);
		}
		if (n == SP_DNS_MAX_RR) {
			assert_int_equal(parse(&w), 0);
			assert_int_equal(ans.n, SP_DNS_MAX_RR);
			assert_int_equal(ans.rr[SP_DNS_MAX_RR - 1].ttl, SP_DNS_MAX_RR - 1);
		} else {
			assert_int_equal(parse(&w), SP_E2BIG);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_naptr),
		cmocka_unit_test(test_srv),
		cmocka_unit_test(test_a_aaaa_cname),
		cmocka_unit_test(test_nxdomain_nodata),
		cmocka_unit_test(test_compression_abuse),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_bad_rdata),
		cmocka_unit_test(test_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
