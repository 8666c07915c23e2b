/* auth.h: credentials and challenges (Authorization, Proxy-Authorization, WWW- and Proxy-Authenticate). */
#ifndef SP_SIP_AUTH_H
#define SP_SIP_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

/* Which Digest parameters were present (bits of sp_auth.present). */
enum sp_auth_field {
	SP_AUTH_USERNAME = 1u << 0,
	SP_AUTH_REALM = 1u << 1,
	SP_AUTH_NONCE = 1u << 2,
	SP_AUTH_URI = 1u << 3,
	SP_AUTH_RESPONSE = 1u << 4,
	SP_AUTH_ALGORITHM = 1u << 5,
	SP_AUTH_CNONCE = 1u << 6,
	SP_AUTH_OPAQUE = 1u << 7,
	SP_AUTH_QOP = 1u << 8,
	SP_AUTH_NC = 1u << 9,
	SP_AUTH_STALE = 1u << 10,
	SP_AUTH_DOMAIN = 1u << 11,
};

/* A parsed credentials or challenge value. Every slice points into the
 * parsed value; the struct owns nothing. Absent fields are {NULL, 0}.
 * - scheme: as written ("Digest", "NoOneKnowsThisScheme"); digest is true
 *   when it is "Digest" in any case.
 * - params: the raw auth-param list after the scheme, for sp_auth_param.
 * - token68: set instead of params when a non-Digest scheme carries a single
 *   token68 (RFC 7235 section 2.1, e.g. "Bearer" of RFC 8898).
 * - Digest fields (filled only when digest is true): the surrounding quotes
 *   of a quoted-string are STRIPPED, but backslash escapes (quoted-pair) are
 *   left in place, so a value holding '\' must be unescaped before being
 *   hashed. algorithm, qop, nc and stale accept a token or a quoted-string
 *   (some clients quote them) and are also given without quotes. qop is the
 *   raw list of a challenge ("auth,auth-int") or the one value of a
 *   response. nc is the 8 hex digits, nc_value their value; stale is true
 *   when stale=true (case-insensitive). present has one enum sp_auth_field
 *   bit per field seen. */
struct sp_auth {
	struct sp_str scheme;
	bool digest;
	struct sp_str params;
	struct sp_str token68;
	unsigned present;
	struct sp_str username;
	struct sp_str realm;
	struct sp_str nonce;
	struct sp_str uri;
	struct sp_str response;
	struct sp_str algorithm;
	struct sp_str cnonce;
	struct sp_str opaque;
	struct sp_str qop;
	struct sp_str nc;
	uint32_t nc_value;
	bool stale;
	struct sp_str domain;
};

/* sp_auth_parse parses `auth-scheme LWS auth-param *(COMMA auth-param)` with
 * auth-param = name EQUAL (token / quoted-string) (RFC 3261 section 25.1),
 * or a non-Digest scheme followed by one token68. For Digest, the known
 * parameters above are checked and extracted: username, realm, nonce, uri,
 * cnonce, opaque, domain and response must be quoted-strings, response hex,
 * nc exactly 8 hex digits, stale true or false; any of them twice is
 * refused. Unknown parameters and schemes are only checked for syntax.
 * Returns 0 and fills *out, SP_EINVAL, or SP_E2BIG (more than SP_PARAM_MAX
 * parameters). */
int sp_auth_parse(struct sp_str value, struct sp_auth *out);

/* sp_auth_param looks any auth-param of a parsed value up by name
 * (case-insensitive) and sets *value to it as written (quotes kept).
 * Returns 0 or SP_ENOENT. */
int sp_auth_param(const struct sp_auth *auth, const char *name, struct sp_str *value);

#endif
