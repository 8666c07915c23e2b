/* hide.c: sealing and opening topology-hiding tokens (ChaCha20-Poly1305, base64url). */
#include "proxy/hide.h"

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/b64url.h"
#include "core/err.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define RAW_MAX (NONCE_LEN + SP_HIDE_PLAIN_MAX + TAG_LEN)

/* A key for this purpose only, so auth.secret's other uses stay apart. */
static void derive_key(const char *secret, uint8_t key[32])
{
	unsigned int n = 32;
	static const char label[] = "sipeer topology hiding v1";
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, label, sizeof(label)) != 1 ||
	    EVP_DigestUpdate(md, secret ? secret : "", secret ? strlen(secret) : 0) != 1 ||
	    EVP_DigestFinal_ex(md, key, &n) != 1)
		memset(key, 0, 32);
	EVP_MD_CTX_free(md);
}

/* One AEAD pass: enc 1 seals, 0 opens (tag checked). */
static int aead(int enc, const uint8_t key[32], const uint8_t nonce[NONCE_LEN],
		struct sp_str aad, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, ok = 0;
	if (!c)
		return SP_ENOMEM;
	if (EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) != 1)
		goto out;
	if (aad.len && EVP_CipherUpdate(c, NULL, &len, (const uint8_t *)aad.p, (int)aad.len) != 1)
		goto out;
	if (n && EVP_CipherUpdate(c, out, &len, in, (int)n) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + len, &len) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) != 1)
		goto out;
	ok = 1;
out:
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : SP_EINVAL;
}

int sp_hide_seal(const char *secret, struct sp_str call_id, struct sp_str plain, char *out,
		 size_t size)
{
	uint8_t key[32], raw[RAW_MAX];
	int err;
	if (plain.len > SP_HIDE_PLAIN_MAX)
		return SP_E2BIG;
	size_t rawlen = NONCE_LEN + plain.len + TAG_LEN;
	if (SP_B64URL_LEN(rawlen) + 1 > size)
		return SP_E2BIG;
	if (RAND_bytes(raw, NONCE_LEN) != 1)
		return SP_ENOMEM;
	derive_key(secret, key);
	err = aead(1, key, raw, call_id, (const uint8_t *)plain.p, plain.len, raw + NONCE_LEN,
		   raw + NONCE_LEN + plain.len);
	if (err)
		return err;
	out[sp_b64url_encode(raw, rawlen, out)] = '\0';
	return 0;
}

int sp_hide_open(const char *secret, struct sp_str call_id, struct sp_str token, char *out,
		 size_t size, size_t *len)
{
	uint8_t key[32], raw[RAW_MAX];
	size_t rawlen, n;
	if (token.len > SP_HIDE_TOKEN_MAX || sp_b64url_decode(token, raw, sizeof(raw), &rawlen) != 0 ||
	    rawlen < NONCE_LEN + TAG_LEN)
		return SP_EINVAL;
	n = rawlen - NONCE_LEN - TAG_LEN;
	if (n + 1 > size)
		return SP_EINVAL;
	derive_key(secret, key);
	if (aead(0, key, raw, call_id, raw + NONCE_LEN, n, (uint8_t *)out, raw + NONCE_LEN + n) != 0)
		return SP_EINVAL;
	/* What we sealed never holds a NUL or a line end. */
	if (memchr(out, '\0', n) || memchr(out, '\r', n) || memchr(out, '\n', n))
		return SP_EINVAL;
	out[n] = '\0';
	*len = n;
	return 0;
}
