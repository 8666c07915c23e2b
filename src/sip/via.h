/* via.h: the Via header field (RFC 3261 section 20.42, RFC 3581 rport). */
#ifndef SP_SIP_VIA_H
#define SP_SIP_VIA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"
#include "sip/uri.h"

/* One via-parm. Slices point into the parsed header value. */
struct sp_via {
	struct sp_str raw;       /* the whole via-parm, for copying into responses */
	struct sp_str protocol;  /* "SIP/2.0" as written (name and version) */
	struct sp_str transport; /* "UDP", "TCP", "TLS", "SCTP", "WS", or any token */
	struct sp_str host;      /* IPv6 references keep their brackets */
	enum sp_host_type host_type;
	uint16_t port;           /* 0 when absent */
	struct sp_str params;    /* raw, from the first ';' (SP_PARAM_HEADER grammar) */
	struct sp_str branch;
	struct sp_str received;
	struct sp_str maddr;
	bool has_rport;
	uint16_t rport;          /* 0 when rport carries no value */
	bool has_ttl;
	uint8_t ttl;
};

/* sp_via_next parses the via-parm at the start of *cur (leading LWS and
 * commas separating values are skipped) and advances *cur past it.
 * Returns 0, SP_ENOENT when *cur holds no more values, or SP_EINVAL /
 * SP_ERANGE (port over 65535, ttl over 255, rport over 65535). */
int sp_via_next(struct sp_str *cur, struct sp_via *via);

#endif
