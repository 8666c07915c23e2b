/* host.h: the host part of SIP URIs and Via sent-by: hostname, IPv4, IPv6 reference. */
#ifndef SP_SIP_HOST_H
#define SP_SIP_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"
#include "sip/uri.h"

/* sp_host_scan reads the host at the start of s and sets *len to its length
 * and *type. An IPv6 reference must be bracketed; brackets=false also takes
 * a bare IPv6 address (Via received=, RFC 5118 section 4.5). The RFC 3261
 * ABNF three-colon form is tolerated (RFC 5118 section 4.10). Returns 0 or
 * SP_EINVAL. */
int sp_host_scan(struct sp_str s, bool bare_ipv6, size_t *len, enum sp_host_type *type);

/* sp_host_check: s must be exactly one host. */
int sp_host_check(struct sp_str s, bool bare_ipv6, enum sp_host_type *type);

/* sp_ipv4_parse: s must be exactly a dotted quad, each part at most 255. */
bool sp_ipv4_parse(struct sp_str s, uint8_t out[4]);

/* sp_ipv6_parse: s (no brackets) must be exactly an IPv6 address; out gets
 * its 16 bytes (for comparisons: RFC 5118 section 4.7). */
bool sp_ipv6_parse(struct sp_str s, uint8_t out[16]);

/* sp_hostname_check: hostname = *(domainlabel ".") toplabel ["."]. */
bool sp_hostname_check(struct sp_str s);

/* sp_ipv6_check: s (no brackets) must be an IPv6 address, optionally with a
 * trailing dotted IPv4 part. */
bool sp_ipv6_check(struct sp_str s);

#endif
