/* uri.h: SIP, SIPS and tel URIs (RFC 3261 section 19.1, RFC 3966) and opaque others. */
#ifndef SP_SIP_URI_H
#define SP_SIP_URI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

enum sp_uri_scheme {
	SP_URI_OTHER = 0, /* any other absoluteURI: kept opaque */
	SP_URI_SIP,
	SP_URI_SIPS,
	SP_URI_TEL,
};

enum sp_host_type {
	SP_HOST_NONE = 0, /* tel: and opaque URIs */
	SP_HOST_NAME,     /* hostname (domain) */
	SP_HOST_IPV4,
	SP_HOST_IPV6,     /* host holds the reference with its brackets */
};

/* Longest URI accepted (bytes); anything longer is refused, not truncated. */
#define SP_URI_MAX_LEN 4096

/* A parsed URI. Every slice points into the parsed input; the struct owns
 * nothing. Absent parts are {NULL, 0}.
 * - sip/sips: user and password (still %-escaped), host, port_str/port
 *   (port 0 when absent), params (raw, from the first ';', SP_PARAM_URI
 *   grammar), headers (raw, after '?', without the '?').
 * - tel: user holds the telephone-subscriber's number (global "+..." or
 *   local), params its parameters (phone-context, ext, isub...).
 * - other: only scheme and raw are set (opaque part checked as RFC 3986 bytes). */
struct sp_uri {
	enum sp_uri_scheme scheme_id;
	enum sp_host_type host_type;
	struct sp_str raw;    /* the whole URI */
	struct sp_str scheme; /* as written, without ':' */
	struct sp_str user;
	struct sp_str password;
	struct sp_str host;
	struct sp_str port_str;
	uint16_t port;
	struct sp_str params;
	struct sp_str headers;
};

/* sp_uri_parse parses s (exactly the URI, no surrounding LWS or brackets).
 * Returns 0 and fills *uri, or SP_EINVAL / SP_ERANGE (port over 65535) /
 * SP_E2BIG (too long, too many parameters). Tolerates the RFC 3261 ABNF
 * three-colon IPv6 form (RFC 5118 section 4.10). */
int sp_uri_parse(struct sp_str s, struct sp_uri *uri);

/* sp_uri_param looks a URI parameter up (case-insensitive name). */
int sp_uri_param(const struct sp_uri *uri, const char *name, struct sp_str *value);

/* sp_uri_eq compares two parsed URIs with the rules of RFC 3261 section
 * 19.1.4 (sip/sips), RFC 3966 section 4 (tel) or byte equality (others). */
bool sp_uri_eq(const struct sp_uri *a, const struct sp_uri *b);

/* sp_uri_unescape decodes %HH escapes of s into out (capacity cap) and sets
 * *outlen. Returns SP_EINVAL on a bad escape, SP_E2BIG when out is too small. */
int sp_uri_unescape(struct sp_str s, char *out, size_t cap, size_t *outlen);

#endif
