/* digest.h: server side of SIP digest authentication (RFC 3261 section 22, RFC 8760, RFC 7616), qop=auth. */
#ifndef SP_AUTH_DIGEST_H
#define SP_AUTH_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"
#include "sip/auth.h"
#include "sip/hdr.h"

struct sp_msg;

/* Hash algorithms of RFC 8760 section 2 (the "-sess" variants of RFC 7616
 * are accepted in credentials but never offered). */
enum sp_digest_alg {
	SP_DIGEST_MD5 = 0,
	SP_DIGEST_SHA256,
	SP_DIGEST_SHA512_256,
	SP_DIGEST__ALG_COUNT
};
#define SP_DIGEST_ALG_BIT(a) (1u << (a))

/* Lowercase hex of the longest digest (SHA-256 and SHA-512/256: 64). */
#define SP_DIGEST_HEX_MAX 64u
/* Caps: a realm we serve, an unescaped username handed to the look-up. */
#define SP_DIGEST_REALM_MAX 255u
#define SP_DIGEST_USER_MAX 255u
/* The nonce: base64url (no padding) of 32 bytes, 43 characters. */
#define SP_DIGEST_NONCE_LEN 43u
#define SP_DIGEST_NC_SLOTS_DEFAULT 65536u
#define SP_DIGEST_NC_SLOTS_MAX (1u << 22)

enum sp_digest_result {
	SP_DIGEST_OK = 0,    /* authenticated */
	SP_DIGEST_STALE,     /* right answer to an expired or already used nonce:
			      * re-challenge with stale=true */
	SP_DIGEST_FAIL,      /* wrong password, unknown user, bad or foreign
			      * nonce, wrong realm, unsupported algorithm or qop */
	SP_DIGEST_MALFORMED  /* not Digest, or a mandatory parameter is missing */
};

/* Configuration of one instance; sp_digest_new copies everything it keeps.
 * - realm: the realm we challenge for (usually the domain), 1..255 bytes.
 * - secret: the key that signs nonces. Every worker (and every node behind
 *   the same domain) must share it, so that a nonce issued by one verifies at
 *   another. At least 16 bytes; NULL draws a random key, private to this
 *   instance (fine for one worker and for tests).
 * - nonce_ttl_s: lifetime of a nonce; 0 = 300 s.
 * - algs: SP_DIGEST_ALG_BIT() set of algorithms offered and accepted;
 *   0 = SHA-256 and MD5.
 * - nc_slots: size of the nonce-count table (rounded up to a power of two,
 *   at most SP_DIGEST_NC_SLOTS_MAX); 0 = SP_DIGEST_NC_SLOTS_DEFAULT.
 * - allow_rfc2069: accept MD5 credentials without qop (RFC 2069 form, old
 *   phones); such a nonce can be replayed for its lifetime since it has no
 *   nonce-count.
 * - opaque: sent in every challenge when not empty (not checked on return). */
struct sp_digest_config {
	struct sp_str realm;
	const uint8_t *secret;
	size_t secret_len;
	uint32_t nonce_ttl_s;
	unsigned algs;
	size_t nc_slots;
	bool allow_rfc2069;
	struct sp_str opaque;
};

/* One instance per worker thread: it holds the nonce-count table and hashing
 * contexts and is not thread-safe. Opaque. */
struct sp_digest;

/* Creates an instance; the caller owns *out and frees it with
 * sp_digest_free. Returns 0, SP_EINVAL (bad configuration) or SP_ENOMEM. */
int sp_digest_new(const struct sp_digest_config *cfg, struct sp_digest **out);
void sp_digest_free(struct sp_digest *d);

/* The number of challenges to send: one WWW-Authenticate (401) or
 * Proxy-Authenticate (407) header per offered algorithm (RFC 8760 2.4). */
unsigned sp_digest_challenge_count(const struct sp_digest *d);

/* sp_digest_challenge appends to out the value of challenge number index
 * (0 = most preferred: SHA-512-256, then SHA-256, then MD5, among those
 * offered) with a fresh nonce valid from now_s:
 *   Digest realm="...", nonce="...", opaque="...", algorithm=SHA-256, qop="auth"[, stale=true]
 * The caller adds one header line per index, 0 first. now_s is wall-clock
 * seconds (the same clock on every node that shares the secret). Returns 0,
 * SP_ENOENT when index >= count, SP_E2BIG (out left as it was), SP_ENOMEM. */
int sp_digest_challenge(struct sp_digest *d, unsigned index, uint64_t now_s, bool stale,
			struct sp_buf *out);

/* What a user store gives for a user: a clear-text password, or the HA1 (hex,
 * H(username:realm:password), see sp_digest_ha1) of each algorithm it keeps.
 * Slices are owned by the store and must stay valid until the look-up's
 * caller (sp_digest_verify) returns. A password, when set, is used for every
 * algorithm; otherwise an algorithm with an empty ha1 counts as unknown. */
struct sp_digest_secret {
	struct sp_str password;
	struct sp_str ha1[SP_DIGEST__ALG_COUNT];
};

/* The user look-up: username is unescaped (not NUL-terminated), realm is
 * ours. Fills *out and returns 0, or returns SP_ENOENT for an unknown user. */
typedef int (*sp_digest_lookup_h)(void *arg, struct sp_str username, struct sp_str realm,
				  struct sp_digest_secret *out);

/* sp_digest_verify checks credentials parsed by sp_auth_parse (from
 * sp_digest_find_cred) for a request of this method at now_s. It asks
 * lookup for the user's secret; an unknown user is verified against a
 * random dummy secret by the same code, so it costs the same and always ends
 * in SP_DIGEST_FAIL, exactly like a wrong password. The nonce must be ours,
 * authentic and for our realm. With qop=auth, the nonce-count must be higher
 * than any accepted before for the nonce (else SP_DIGEST_STALE, so that the
 * phone re-authenticates without prompting its user); it is then recorded.
 * The digest-uri is hashed as sent, not compared with the Request-URI.
 * Nothing is allocated; cred is not kept. */
enum sp_digest_result sp_digest_verify(struct sp_digest *d, const struct sp_auth *cred,
				       struct sp_str method, uint64_t now_s,
				       sp_digest_lookup_h lookup, void *arg);

/* sp_digest_precheck runs the checks of sp_digest_verify that do not need
 * the user (shape, qop, algorithm, realm, nonce authenticity, username
 * length) and returns SP_DIGEST_MALFORMED or SP_DIGEST_FAIL as verify would,
 * or SP_DIGEST_OK when the user is worth looking up. An expired nonce passes
 * (verify then says STALE or FAIL). */
enum sp_digest_result sp_digest_precheck(const struct sp_digest *d, const struct sp_auth *cred,
					 uint64_t now_s);

/* sp_digest_verify_secret is sp_digest_verify for a caller that looked the
 * user up itself, e.g. off the loop when the store blocks: it unescapes
 * cred->username (sp_digest_unescape), fetches the secret, then calls this
 * with secret, or with NULL when the user is unknown (which takes the same
 * dummy-secret path and ends in SP_DIGEST_FAIL). Call sp_digest_precheck
 * first, so that a malformed request costs no store look-up, and keep the
 * message (whose buffer cred points into) alive meanwhile. */
enum sp_digest_result sp_digest_verify_secret(struct sp_digest *d, const struct sp_auth *cred,
					      struct sp_str method, uint64_t now_s,
					      const struct sp_digest_secret *secret);

/* sp_digest_find_cred looks, among the headers id (SP_HDR_AUTHORIZATION or
 * SP_HDR_PROXY_AUTHORIZATION) of m, for the Digest credentials whose realm
 * is ours (a request crossing several proxies may carry one per realm), and
 * parses them into *out (slices into m's buffer). Values that do not parse
 * are skipped. Returns 0 or SP_ENOENT. */
int sp_digest_find_cred(const struct sp_digest *d, const struct sp_msg *m, enum sp_hdr_id id,
			struct sp_auth *out);

/* sp_digest_ha1 writes H(username:realm:password) as lowercase hex and a NUL
 * into out (so a store may keep HA1 instead of the password). Arguments are
 * plain (unescaped) text. Returns 0 or SP_EINVAL (unknown algorithm). */
int sp_digest_ha1(enum sp_digest_alg alg, struct sp_str username, struct sp_str realm,
		  struct sp_str password, char out[SP_DIGEST_HEX_MAX + 1]);

/* The inputs of a response (RFC 7616 section 3.4.1), plain text: ha1 is the
 * hex H(username:realm:password) of alg; with sess, HA1 becomes
 * H(ha1:nonce:cnonce). An empty qop computes the RFC 2069 form
 * H(HA1:nonce:HA2). */
struct sp_digest_input {
	enum sp_digest_alg alg;
	bool sess;
	struct sp_str ha1;
	struct sp_str nonce;
	struct sp_str nc;
	struct sp_str cnonce;
	struct sp_str qop;
	struct sp_str method;
	struct sp_str uri;
};

/* sp_digest_response writes the expected response as lowercase hex and a NUL
 * into out (also what a client needs to answer a challenge). Returns 0 or
 * SP_EINVAL. */
int sp_digest_response(const struct sp_digest_input *in, char out[SP_DIGEST_HEX_MAX + 1]);

/* sp_digest_alg_parse maps an algorithm token (case-insensitive; empty =
 * MD5, RFC 7616 3.3) to its value and sess flag. Returns 0 or SP_ENOENT. */
int sp_digest_alg_parse(struct sp_str token, enum sp_digest_alg *alg, bool *sess);
const char *sp_digest_alg_name(enum sp_digest_alg alg);

/* sp_digest_unescape removes quoted-pair escapes ("\x" -> "x") of a value
 * from sp_auth_parse into out (capacity cap) and sets *len. Returns 0 or
 * SP_E2BIG. */
int sp_digest_unescape(struct sp_str s, char *out, size_t cap, size_t *len);

#endif
