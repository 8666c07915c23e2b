/* nonce.h: stateless signed nonces and the bounded nonce-count table (private to src/auth/). */
#ifndef SP_AUTH_NONCE_H
#define SP_AUTH_NONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* Raw nonce: issued (8 bytes, big-endian seconds) || random (8) || tag (16),
 * tag = HMAC-SHA256(key, issued || random || realm) truncated. The nonce is
 * its base64url form without padding (SP_DIGEST_NONCE_LEN characters). */
#define SP_NONCE_RAW_LEN 32u
#define SP_NONCE_TEXT_LEN 43u
#define SP_NONCE_KEY_MAX 64u
#define SP_NONCE_REALM_MAX 255u
/* Accepted clock difference between nodes sharing the key, in seconds. */
#define SP_NONCE_SKEW_S 5u

enum sp_nonce_state {
	SP_NONCE_BAD = 0, /* not ours: garbled, forged, other key or realm, from the future */
	SP_NONCE_FRESH,
	SP_NONCE_EXPIRED  /* authentic but older than the lifetime */
};

/* What an authentic nonce carries. */
struct sp_nonce_info {
	uint64_t issued;
	uint64_t id; /* the random part: the key of the nonce-count table */
};

/* Writes a new nonce (SP_NONCE_TEXT_LEN characters, no NUL) to out. Returns
 * 0, SP_EINVAL (realm or key over its cap) or SP_ENOMEM (random source
 * or HMAC failure). */
int sp_nonce_make(const uint8_t *key, size_t keylen, struct sp_str realm, uint64_t now_s,
		  char out[SP_NONCE_TEXT_LEN]);

/* Checks a nonce as received (no escapes can occur in base64url: a value
 * with any other byte is BAD). Sets *info unless BAD. */
enum sp_nonce_state sp_nonce_check(const uint8_t *key, size_t keylen, struct sp_str realm,
				   struct sp_str nonce, uint64_t now_s, uint32_t ttl_s,
				   struct sp_nonce_info *info);

/* The nonce-count table: open addressing over a fixed array, each nonce
 * probing a window of SP_NC_WINDOW slots; a new nonce takes a free slot of
 * its window, else an expired one, else the oldest. Memory is fixed at
 * init: nothing grows under a flood of nonces. */
#define SP_NC_WINDOW 8u

struct sp_nc_slot {
	uint64_t id;
	uint64_t issued;
	uint32_t nc;
	uint32_t used;
};

struct sp_nc_table {
	struct sp_nc_slot *slot;
	size_t mask;
	uint64_t salt;
};

/* slots is rounded up to a power of two (at least SP_NC_WINDOW). Returns 0,
 * SP_ENOMEM or SP_E2BIG (more than max). */
int sp_nc_init(struct sp_nc_table *t, size_t slots, size_t max);
void sp_nc_free(struct sp_nc_table *t);
/* Accepts nc for an authentic nonce when it is higher than the highest
 * accepted before (an unknown or evicted nonce counts as never used), and
 * records it. Returns false for a replay. */
bool sp_nc_accept(struct sp_nc_table *t, const struct sp_nonce_info *info, uint32_t nc,
		  uint64_t now_s, uint32_t ttl_s);
/* The number of slots in use (tests, metrics). */
size_t sp_nc_used(const struct sp_nc_table *t);

#endif
