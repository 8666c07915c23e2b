/* nonce.c: nonces that carry their issue time and an HMAC, and the nonce-count replay table. */
#include "auth/nonce.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "core/b64url.h"
#include "core/err.h"
#include "core/hash.h"

#define TAG_LEN 16u
#define SIGNED_LEN (SP_NONCE_RAW_LEN - TAG_LEN)

/* 32 bytes are 43 characters. */
static void b64url_encode(const uint8_t in[SP_NONCE_RAW_LEN], char out[SP_NONCE_TEXT_LEN])
{
	sp_b64url_encode(in, SP_NONCE_RAW_LEN, out);
}

/* Refuses any other length, any other byte and non-zero padding bits, so
 * that exactly one text maps to each raw nonce. */
static int b64url_decode(struct sp_str s, uint8_t out[SP_NONCE_RAW_LEN])
{
	size_t len;
	if (s.len != SP_NONCE_TEXT_LEN || sp_b64url_decode(s, out, SP_NONCE_RAW_LEN, &len) != 0 ||
	    len != SP_NONCE_RAW_LEN)
		return SP_EINVAL;
	return 0;
}

/* The HMAC keyed once per thread and key, copied per nonce: OpenSSL 3's
 * one-shot HMAC() fetches the algorithm and builds a context every time
 * (about a tenth of a registration's instructions, callgrind). */
static _Thread_local EVP_MAC_CTX *keyed;
static _Thread_local uint8_t keyed_key[SP_NONCE_KEY_MAX];
static _Thread_local size_t keyed_len;

static EVP_MAC_CTX *mac_for(const uint8_t *key, size_t keylen)
{
	if (keyed && keyed_len == keylen && CRYPTO_memcmp(keyed_key, key, keylen) == 0)
		return keyed;
	EVP_MAC_CTX_free(keyed);
	keyed = NULL;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
				OSSL_PARAM_construct_end() };
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac);
	if (c && EVP_MAC_init(c, key, keylen, params) != 1) {
		EVP_MAC_CTX_free(c);
		c = NULL;
	}
	if (c) {
		memcpy(keyed_key, key, keylen);
		keyed_len = keylen;
		keyed = c;
	}
	return c;
}

static int tag_compute(const uint8_t *key, size_t keylen, struct sp_str realm,
		       const uint8_t signed_part[SIGNED_LEN], uint8_t tag[TAG_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	EVP_MAC_CTX *base, *c;
	int ok;

	if (realm.len > SP_NONCE_REALM_MAX || keylen > SP_NONCE_KEY_MAX)
		return SP_EINVAL;
	if (!(base = mac_for(key, keylen)) || !(c = EVP_MAC_CTX_dup(base)))
		return SP_ENOMEM;
	ok = EVP_MAC_update(c, signed_part, SIGNED_LEN) == 1 &&
	     (!realm.len || EVP_MAC_update(c, (const uint8_t *)realm.p, realm.len) == 1) &&
	     EVP_MAC_final(c, md, &mdlen, sizeof(md)) == 1 && mdlen >= TAG_LEN;
	EVP_MAC_CTX_free(c);
	if (!ok)
		return SP_ENOMEM;
	memcpy(tag, md, TAG_LEN);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

int sp_nonce_make(const uint8_t *key, size_t keylen, struct sp_str realm, uint64_t now_s,
		  char out[SP_NONCE_TEXT_LEN])
{
	uint8_t raw[SP_NONCE_RAW_LEN];

	for (int i = 0; i < 8; i++)
		raw[i] = (uint8_t)(now_s >> (56 - 8 * i));
	if (RAND_bytes(raw + 8, 8) != 1)
		return SP_ENOMEM;
	int err = tag_compute(key, keylen, realm, raw, raw + SIGNED_LEN);
	if (err)
		return err;
	b64url_encode(raw, out);
	return 0;
}

enum sp_nonce_state sp_nonce_check(const uint8_t *key, size_t keylen, struct sp_str realm,
				   struct sp_str nonce, uint64_t now_s, uint32_t ttl_s,
				   struct sp_nonce_info *info)
{
	uint8_t raw[SP_NONCE_RAW_LEN], tag[TAG_LEN];
	uint64_t issued = 0, id = 0;

	if (b64url_decode(nonce, raw) || tag_compute(key, keylen, realm, raw, tag))
		return SP_NONCE_BAD;
	if (CRYPTO_memcmp(tag, raw + SIGNED_LEN, TAG_LEN) != 0)
		return SP_NONCE_BAD;
	for (int i = 0; i < 8; i++) {
		issued = issued << 8 | raw[i];
		id = id << 8 | raw[8 + i];
	}
	/* A nonce from the future was issued by a node whose clock is ahead;
	 * beyond the tolerated skew it would live longer than its lifetime. */
	if (issued > now_s + SP_NONCE_SKEW_S)
		return SP_NONCE_BAD;
	info->issued = issued;
	info->id = id;
	if (now_s > issued && now_s - issued > ttl_s)
		return SP_NONCE_EXPIRED;
	return SP_NONCE_FRESH;
}

int sp_nc_init(struct sp_nc_table *t, size_t slots, size_t max)
{
	size_t n = SP_NC_WINDOW;

	if (slots > max)
		return SP_E2BIG;
	while (n < slots)
		n <<= 1;
	struct sp_nc_slot *s = calloc(n, sizeof(*s));
	if (!s)
		return SP_ENOMEM;
	uint64_t salt = 0;
	if (RAND_bytes((unsigned char *)&salt, sizeof(salt)) != 1) {
		free(s);
		return SP_ENOMEM;
	}
	t->slot = s;
	t->mask = n - 1;
	t->salt = salt;
	return 0;
}

void sp_nc_free(struct sp_nc_table *t)
{
	free(t->slot);
	t->slot = NULL;
	t->mask = 0;
}

static bool slot_expired(const struct sp_nc_slot *s, uint64_t now_s, uint32_t ttl_s)
{
	return now_s > s->issued && now_s - s->issued > ttl_s;
}

/* The window of a nonce starts at a keyed hash of its id: ids are random,
 * but a client may collect many nonces and keep those that share a window,
 * so the start must not be predictable from the id alone. */
static size_t window_start(const struct sp_nc_table *t, uint64_t id)
{
	uint64_t k[2] = { id, t->salt };
	return (size_t)sp_hash(k, sizeof(k)) & t->mask;
}

bool sp_nc_accept(struct sp_nc_table *t, const struct sp_nonce_info *info, uint32_t nc,
		  uint64_t now_s, uint32_t ttl_s)
{
	size_t start = window_start(t, info->id);
	struct sp_nc_slot *victim = NULL;

	for (size_t k = 0; k < SP_NC_WINDOW; k++) {
		struct sp_nc_slot *s = &t->slot[(start + k) & t->mask];
		if (s->used && s->id == info->id && s->issued == info->issued) {
			if (nc <= s->nc)
				return false;
			s->nc = nc;
			return true;
		}
		/* Preference for the slot a new nonce takes: free, expired, oldest. */
		if (!victim)
			victim = s;
		else if (!s->used)
			victim = victim->used ? s : victim;
		else if (victim->used && !slot_expired(victim, now_s, ttl_s) &&
			 (slot_expired(s, now_s, ttl_s) || s->issued < victim->issued))
			victim = s;
	}
	victim->id = info->id;
	victim->issued = info->issued;
	victim->nc = nc;
	victim->used = 1;
	return true;
}

size_t sp_nc_used(const struct sp_nc_table *t)
{
	size_t n = 0;
	for (size_t i = 0; t->slot && i <= t->mask; i++)
		n += t->slot[i].used != 0;
	return n;
}
