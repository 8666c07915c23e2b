/* srv.h: RFC 3263 choices from DNS records: SIP NAPTR services (D2U, D2T, D2S) and the SRV order of RFC 2782. */
#ifndef SP_DNS_SRV_H
#define SP_DNS_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"
#include "transport/tp.h"

/* One SRV target in the order to try. */
struct sp_srv_target {
	uint16_t priority, weight, port;
	char target[SP_DNS_NAME_MAX];
};

/* The SRV records of a (type SRV) in RFC 2782 order: ascending priority;
 * within one priority, weighted random selection (weight 0 entries first
 * in the running sum, as the RFC says, so they are rarely chosen first
 * when others have weight). rnd returns a uniformly random 32-bit value
 * (tests pass a fixed sequence). A single record whose target is "." means
 * the service is decidedly not available: 0 targets. Returns how many
 * were written (at most max). */
size_t sp_srv_order(const struct sp_dns_answer *a, struct sp_srv_target *out, size_t max,
		    uint32_t (*rnd)(void *arg), void *arg);

/* One SIP service a NAPTR answer offers (RFC 3263 section 4.1). */
struct sp_sip_naptr {
	enum sp_proto proto;          /* SIP+D2U: UDP, SIP+D2T: TCP, SIPS+D2T: TLS */
	uint16_t order, preference;
	char srv[SP_DNS_NAME_MAX];   /* the replacement: an SRV name to ask */
};

/* The NAPTR records of a usable for SIP, best first: flag "s" (case
 * insensitive), service SIP+D2U, SIP+D2T or SIPS+D2T (case-insensitive;
 * others, like SIP+D2S or SIPS+D2U, are skipped), a non-empty
 * replacement and an empty regexp. With sips_only only SIPS+D2T is kept
 * (a sips: URI goes over TLS only). Sorted by order, then preference
 * (stable). Returns how many were written (at most max). */
size_t sp_sip_naptr_choices(const struct sp_dns_answer *a, bool sips_only,
			    struct sp_sip_naptr *out, size_t max);

#endif
