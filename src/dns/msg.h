/* msg.h: DNS answers in wire format (RFC 1035) parsed into the records the look-ups use: A, AAAA, CNAME, SRV, NAPTR, and the SOA minimum for negative caching. */
#ifndef SP_DNS_MSG_H
#define SP_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sp_dns_type {
	SP_DNS_A = 1,
	SP_DNS_CNAME = 5,
	SP_DNS_SOA = 6,
	SP_DNS_AAAA = 28,
	SP_DNS_SRV = 33,
	SP_DNS_NAPTR = 35,
};

enum sp_dns_rcode {
	SP_DNS_NOERROR = 0,
	SP_DNS_FORMERR = 1,
	SP_DNS_SERVFAIL = 2,
	SP_DNS_NXDOMAIN = 3,
	SP_DNS_NOTIMP = 4,
	SP_DNS_REFUSED = 5,
};

#define SP_DNS_NAME_MAX 254   /* text form, no trailing dot, plus the NUL */
#define SP_DNS_MAX_RR 32      /* records kept from one answer section; more: SP_E2BIG */
#define SP_DNS_NAPTR_FLAGS_MAX 16
#define SP_DNS_NAPTR_SERVICES_MAX 128
#define SP_DNS_NAPTR_REGEXP_MAX 256 /* a character-string is at most 255 octets */

/* One resource record of the answer section. Names are in text form, lower
 * case, without the trailing dot ("_sip._udp.ssp-b.test"; the root is "").
 * A character-string longer than its field here makes the answer invalid. */
struct sp_dns_rr {
	uint16_t type; /* enum sp_dns_type */
	uint32_t ttl;
	char name[SP_DNS_NAME_MAX]; /* owner */
	union {
		uint8_t a[4];
		uint8_t aaaa[16];
		char cname[SP_DNS_NAME_MAX];
		struct {
			uint16_t priority, weight, port;
			char target[SP_DNS_NAME_MAX];
		} srv;
		struct {
			uint16_t order, preference;
			char flags[SP_DNS_NAPTR_FLAGS_MAX];       /* as sent (case kept) */
			char services[SP_DNS_NAPTR_SERVICES_MAX]; /* as sent (case kept) */
			char regexp[SP_DNS_NAPTR_REGEXP_MAX];     /* as sent */
			char replacement[SP_DNS_NAME_MAX];        /* a name; "" is the root "." */
		} naptr;
	} u;
};

struct sp_dns_answer {
	uint16_t rcode;     /* enum sp_dns_rcode */
	bool truncated;     /* TC bit */
	uint32_t neg_ttl;   /* NXDOMAIN/NODATA: min(SOA TTL, SOA minimum) from the
			     * authority section (RFC 2308); 0 when there is no SOA */
	size_t n;           /* records in rr */
	struct sp_dns_rr rr[SP_DNS_MAX_RR];
};

/* Parses a complete DNS response. Keeps the answer-section records of the
 * types above (A, AAAA, CNAME, SRV, NAPTR; others are skipped), in the
 * order received. Checks: header and counts consistent with the length,
 * the QR bit, exactly the question sections announced, name compression
 * pointing only backwards and at most 128 jumps per name, labels <= 63,
 * names <= 253 characters, RDATA lengths exactly as the type requires (A 4,
 * AAAA 16, SRV/NAPTR fully consumed). Returns 0, SP_EINVAL (malformed) or
 * SP_E2BIG (more than SP_DNS_MAX_RR kept records). out is undefined on
 * error. */
int sp_dns_parse(const uint8_t *buf, size_t len, struct sp_dns_answer *out);

/* The lowest TTL among the records of type in a (the cache lifetime of an
 * rrset); UINT32_MAX when there is none. */
uint32_t sp_dns_min_ttl(const struct sp_dns_answer *a, uint16_t type);

#endif
