/* digest.c: digest challenges, response computation and verification (RFC 7616 section 3.4.1, RFC 8760). */
#include "auth/digest.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/nonce.h"
#include "core/err.h"
#include "sip/msg.h"

#define DEFAULT_TTL_S 300u
#define SECRET_MIN 16u
#define DUMMY_LEN 16u

_Static_assert(SP_DIGEST_NONCE_LEN == SP_NONCE_TEXT_LEN, "nonce length");
_Static_assert(SP_DIGEST_REALM_MAX <= SP_NONCE_REALM_MAX, "realm cap");

struct sp_digest {
	char realm[SP_DIGEST_REALM_MAX];
	size_t realm_len;
	uint8_t key[SP_NONCE_KEY_MAX];
	size_t key_len;
	char opaque[SP_DIGEST_REALM_MAX];
	size_t opaque_len;
	uint32_t ttl_s;
	unsigned algs;
	bool allow_rfc2069;
	/* The password an unknown user is checked against: random, so that no
	 * guess can ever match it. */
	char dummy[DUMMY_LEN * 2];
	EVP_MD_CTX *md;
	struct sp_nc_table nc;
};

static const char *const alg_names[SP_DIGEST__ALG_COUNT] = {
	[SP_DIGEST_MD5] = "MD5",
	[SP_DIGEST_SHA256] = "SHA-256",
	[SP_DIGEST_SHA512_256] = "SHA-512-256",
};

/* Challenge order, most preferred first (RFC 8760 section 2.4). */
static const enum sp_digest_alg preference[SP_DIGEST__ALG_COUNT] = {
	SP_DIGEST_SHA512_256, SP_DIGEST_SHA256, SP_DIGEST_MD5
};

/* The algorithms fetched once: EVP_md5() and friends make OpenSSL 3 fetch
 * the implementation again at every EVP_DigestInit_ex. Kept for the
 * process's life. */
static EVP_MD *fetched[SP_DIGEST__ALG_COUNT];
static pthread_once_t fetched_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
	fetched[SP_DIGEST_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
	fetched[SP_DIGEST_SHA256] = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	fetched[SP_DIGEST_SHA512_256] = EVP_MD_fetch(NULL, "SHA2-512/256", NULL);
}

static const EVP_MD *alg_md(enum sp_digest_alg alg)
{
	if ((unsigned)alg >= SP_DIGEST__ALG_COUNT)
		return NULL;
	pthread_once(&fetched_once, fetch_all);
	return fetched[alg];
}

const char *sp_digest_alg_name(enum sp_digest_alg alg)
{
	return (unsigned)alg < SP_DIGEST__ALG_COUNT ? alg_names[alg] : "?";
}

int sp_digest_alg_parse(struct sp_str token, enum sp_digest_alg *alg, bool *sess)
{
	bool s = false;

	if (token.len == 0) {
		*alg = SP_DIGEST_MD5;
		*sess = false;
		return 0;
	}
	if (token.len > 5 && sp_str_caseeq_l(sp_str_make(token.p + token.len - 5, 5), "-sess")) {
		s = true;
		token.len -= 5;
	}
	for (unsigned a = 0; a < SP_DIGEST__ALG_COUNT; a++) {
		if (sp_str_caseeq_c(token, alg_names[a])) {
			*alg = (enum sp_digest_alg)a;
			*sess = s;
			return 0;
		}
	}
	return SP_ENOENT;
}

int sp_digest_unescape(struct sp_str s, char *out, size_t cap, size_t *len)
{
	size_t o = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == '\\' && i + 1 < s.len)
			i++;
		if (o == cap)
			return SP_E2BIG;
		out[o++] = s.p[i];
	}
	*len = o;
	return 0;
}

/* Compares an escaped value with plain text, without a copy. */
static bool unescaped_eq(struct sp_str esc, const char *plain, size_t plain_len)
{
	size_t o = 0;
	for (size_t i = 0; i < esc.len; i++) {
		if (esc.p[i] == '\\' && i + 1 < esc.len)
			i++;
		if (o == plain_len || esc.p[i] != plain[o])
			return false;
		o++;
	}
	return o == plain_len;
}

/* Hashing of "a:b:c" strings piece by piece, so nothing is concatenated and
 * no piece needs a cap. An escaped piece is fed without its backslashes. */
struct hasher {
	EVP_MD_CTX *ctx;
	bool ok;
};

static void h_begin(struct hasher *h, EVP_MD_CTX *ctx, enum sp_digest_alg alg)
{
	const EVP_MD *md = alg_md(alg);
	h->ctx = ctx;
	h->ok = md && EVP_DigestInit_ex(ctx, md, NULL) == 1;
}

static void h_raw(struct hasher *h, const char *p, size_t len)
{
	if (h->ok && len && EVP_DigestUpdate(h->ctx, p, len) != 1)
		h->ok = false;
}

static void h_str(struct hasher *h, struct sp_str s, bool escaped)
{
	if (!escaped) {
		h_raw(h, s.p, s.len);
		return;
	}
	size_t from = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == '\\' && i + 1 < s.len) {
			h_raw(h, s.p + from, i - from);
			from = ++i; /* the escaped byte starts the next run */
		}
	}
	h_raw(h, s.p + from, s.len - from);
}

static void h_colon(struct hasher *h)
{
	h_raw(h, ":", 1);
}

static int h_end_hex(struct hasher *h, char out[SP_DIGEST_HEX_MAX + 1], size_t *hexlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (!h->ok || EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n * 2 > SP_DIGEST_HEX_MAX)
		return SP_EINVAL;
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
	if (hexlen)
		*hexlen = 2 * (size_t)n;
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

/* The response of RFC 7616 section 3.4.1; when escaped, nonce, cnonce and
 * uri are values from sp_auth_parse and lose their backslashes. */
static int response_compute(EVP_MD_CTX *ctx, const struct sp_digest_input *in, bool escaped,
			    char out[SP_DIGEST_HEX_MAX + 1], size_t *outlen)
{
	char ha1[SP_DIGEST_HEX_MAX + 1], ha2[SP_DIGEST_HEX_MAX + 1];
	struct sp_str a1 = in->ha1;
	struct hasher h;
	int err;

	if (in->sess) {
		h_begin(&h, ctx, in->alg);
		h_str(&h, in->ha1, false);
		h_colon(&h);
		h_str(&h, in->nonce, escaped);
		h_colon(&h);
		h_str(&h, in->cnonce, escaped);
		if ((err = h_end_hex(&h, ha1, NULL)))
			return err;
		a1 = sp_str_cstr(ha1);
	}
	h_begin(&h, ctx, in->alg);
	h_str(&h, in->method, false);
	h_colon(&h);
	h_str(&h, in->uri, escaped);
	if ((err = h_end_hex(&h, ha2, NULL)))
		return err;

	h_begin(&h, ctx, in->alg);
	h_str(&h, a1, false);
	h_colon(&h);
	h_str(&h, in->nonce, escaped);
	h_colon(&h);
	if (in->qop.len) {
		h_str(&h, in->nc, false);
		h_colon(&h);
		h_str(&h, in->cnonce, escaped);
		h_colon(&h);
		h_str(&h, in->qop, false);
		h_colon(&h);
	}
	h_str(&h, sp_str_cstr(ha2), false);
	return h_end_hex(&h, out, outlen);
}

static int ha1_compute(EVP_MD_CTX *ctx, enum sp_digest_alg alg, struct sp_str username,
		       struct sp_str realm, struct sp_str password, char out[SP_DIGEST_HEX_MAX + 1])
{
	struct hasher h;
	h_begin(&h, ctx, alg);
	h_str(&h, username, false);
	h_colon(&h);
	h_str(&h, realm, false);
	h_colon(&h);
	h_str(&h, password, false);
	return h_end_hex(&h, out, NULL);
}

int sp_digest_ha1(enum sp_digest_alg alg, struct sp_str username, struct sp_str realm,
		  struct sp_str password, char out[SP_DIGEST_HEX_MAX + 1])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return SP_ENOMEM;
	int err = ha1_compute(ctx, alg, username, realm, password, out);
	EVP_MD_CTX_free(ctx);
	return err;
}

int sp_digest_response(const struct sp_digest_input *in, char out[SP_DIGEST_HEX_MAX + 1])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return SP_ENOMEM;
	int err = response_compute(ctx, in, false, out, NULL);
	EVP_MD_CTX_free(ctx);
	return err;
}

int sp_digest_new(const struct sp_digest_config *cfg, struct sp_digest **out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[DUMMY_LEN];
	struct sp_digest *d = NULL;
	int err = SP_EINVAL;

	if (cfg->realm.len == 0 || cfg->realm.len > SP_DIGEST_REALM_MAX ||
	    cfg->opaque.len > sizeof(d->opaque) ||
	    (cfg->secret && (cfg->secret_len < SECRET_MIN || cfg->secret_len > SP_NONCE_KEY_MAX)) ||
	    (cfg->algs & ~((1u << SP_DIGEST__ALG_COUNT) - 1)))
		goto out;
	for (size_t i = 0; i < cfg->realm.len; i++)
		if ((unsigned char)cfg->realm.p[i] < 0x20 || cfg->realm.p[i] == 0x7f)
			goto out;
	err = SP_ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto out;
	memcpy(d->realm, cfg->realm.p, cfg->realm.len);
	d->realm_len = cfg->realm.len;
	if (cfg->opaque.len)
		memcpy(d->opaque, cfg->opaque.p, cfg->opaque.len);
	d->opaque_len = cfg->opaque.len;
	d->ttl_s = cfg->nonce_ttl_s ? cfg->nonce_ttl_s : DEFAULT_TTL_S;
	d->algs = cfg->algs ? cfg->algs
			    : SP_DIGEST_ALG_BIT(SP_DIGEST_SHA256) | SP_DIGEST_ALG_BIT(SP_DIGEST_MD5);
	d->allow_rfc2069 = cfg->allow_rfc2069;
	if (cfg->secret) {
		memcpy(d->key, cfg->secret, cfg->secret_len);
		d->key_len = cfg->secret_len;
	} else {
		d->key_len = 32;
		if (RAND_bytes(d->key, (int)d->key_len) != 1)
			goto out;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	for (size_t i = 0; i < DUMMY_LEN; i++) {
		d->dummy[2 * i] = hex[rnd[i] >> 4];
		d->dummy[2 * i + 1] = hex[rnd[i] & 15];
	}
	d->md = EVP_MD_CTX_new();
	if (!d->md)
		goto out;
	err = sp_nc_init(&d->nc, cfg->nc_slots ? cfg->nc_slots : SP_DIGEST_NC_SLOTS_DEFAULT,
			 SP_DIGEST_NC_SLOTS_MAX);
	if (err)
		goto out;
	*out = d;
	d = NULL;
out:
	sp_digest_free(d);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return err;
}

void sp_digest_free(struct sp_digest *d)
{
	if (!d)
		return;
	sp_nc_free(&d->nc);
	EVP_MD_CTX_free(d->md);
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}

unsigned sp_digest_challenge_count(const struct sp_digest *d)
{
	unsigned n = 0;
	for (unsigned a = 0; a < SP_DIGEST__ALG_COUNT; a++)
		n += (d->algs >> a) & 1u;
	return n;
}

/* Appends a quoted-string, escaping '"' and '\' (RFC 3261 section 25.1). */
static int append_quoted(struct sp_buf *b, const char *p, size_t len)
{
	int err = sp_buf_append(b, "\"", 1);
	size_t from = 0;
	for (size_t i = 0; !err && i < len; i++) {
		if (p[i] == '"' || p[i] == '\\') {
			err = sp_buf_append(b, p + from, i - from);
			if (!err)
				err = sp_buf_append(b, "\\", 1);
			from = i;
		}
	}
	if (!err)
		err = sp_buf_append(b, p + from, len - from);
	if (!err)
		err = sp_buf_append(b, "\"", 1);
	return err;
}

int sp_digest_challenge(struct sp_digest *d, unsigned index, uint64_t now_s, bool stale,
			struct sp_buf *out)
{
	char nonce[SP_NONCE_TEXT_LEN];
	enum sp_digest_alg alg = SP_DIGEST__ALG_COUNT;
	size_t old = out->len;
	unsigned seen = 0;
	int err;

	for (unsigned i = 0; i < SP_DIGEST__ALG_COUNT; i++) {
		if (!(d->algs & SP_DIGEST_ALG_BIT(preference[i])))
			continue;
		if (seen++ == index) {
			alg = preference[i];
			break;
		}
	}
	if (alg == SP_DIGEST__ALG_COUNT)
		return SP_ENOENT;
	err = sp_nonce_make(d->key, d->key_len, sp_str_make(d->realm, d->realm_len), now_s, nonce);
	if (err)
		return err;
	err = sp_buf_append_c(out, "Digest realm=");
	if (!err)
		err = append_quoted(out, d->realm, d->realm_len);
	if (!err)
		err = sp_buf_append_c(out, ", nonce=");
	if (!err)
		err = append_quoted(out, nonce, sizeof(nonce));
	if (!err && d->opaque_len) {
		err = sp_buf_append_c(out, ", opaque=");
		if (!err)
			err = append_quoted(out, d->opaque, d->opaque_len);
	}
	if (!err)
		err = sp_buf_printf(out, ", algorithm=%s, qop=\"auth\"%s", alg_names[alg],
				    stale ? ", stale=true" : "");
	if (err)
		out->len = old;
	return err;
}

int sp_digest_find_cred(const struct sp_digest *d, const struct sp_msg *m, enum sp_hdr_id id,
			struct sp_auth *out)
{
	struct sp_auth a;
	unsigned n = 0;

	/* The header index caps the walk at SP_MSG_MAX_HDRS. */
	for (const struct sp_hdr *h = sp_msg_hdr(m, id); h && n < SP_MSG_MAX_HDRS;
	     h = sp_msg_hdr_next(m, h), n++) {
		if (sp_auth_parse(h->value, &a) != 0 || !a.digest || !(a.present & SP_AUTH_REALM))
			continue;
		if (unescaped_eq(a.realm, d->realm, d->realm_len)) {
			*out = a;
			return 0;
		}
	}
	return SP_ENOENT;
}

/* Hex of the response as received, lowercased for a constant-time compare
 * (RFC 7616 says lowercase, some clients send uppercase). */
static bool response_matches(struct sp_str got, const char *want, size_t want_len)
{
	char low[SP_DIGEST_HEX_MAX];
	if (got.len != want_len || want_len > sizeof(low))
		return false;
	for (size_t i = 0; i < got.len; i++) {
		char c = got.p[i];
		low[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	return CRYPTO_memcmp(low, want, want_len) == 0;
}

/* What the checks before the user look-up learn. */
struct pre {
	enum sp_digest_alg alg;
	bool sess;
	bool qop;
	enum sp_nonce_state state;
	struct sp_nonce_info info;
	char user[SP_DIGEST_USER_MAX];
	size_t user_len;
};

/* Everything that does not depend on the user: shape first, so that the
 * answer to a malformed request cannot depend on whether its user exists. */
static enum sp_digest_result precheck(const struct sp_digest *d, const struct sp_auth *cred,
				      uint64_t now_s, struct pre *p)
{
	const unsigned need = SP_AUTH_USERNAME | SP_AUTH_REALM | SP_AUTH_NONCE | SP_AUTH_URI |
			      SP_AUTH_RESPONSE;

	p->qop = (cred->present & SP_AUTH_QOP) != 0;
	if (!cred->digest || (cred->present & need) != need)
		return SP_DIGEST_MALFORMED;
	if (p->qop && (!(cred->present & SP_AUTH_CNONCE) || !(cred->present & SP_AUTH_NC)))
		return SP_DIGEST_MALFORMED;
	if (p->qop && !sp_str_caseeq_l(cred->qop, "auth"))
		return SP_DIGEST_FAIL;
	if (sp_digest_alg_parse(cred->algorithm, &p->alg, &p->sess) != 0 ||
	    !(d->algs & SP_DIGEST_ALG_BIT(p->alg)))
		return SP_DIGEST_FAIL;
	/* RFC 2069 has no cnonce, so no -sess either. */
	if (!p->qop && (p->alg != SP_DIGEST_MD5 || p->sess || !d->allow_rfc2069))
		return SP_DIGEST_FAIL;
	if (!unescaped_eq(cred->realm, d->realm, d->realm_len))
		return SP_DIGEST_FAIL;
	p->state = sp_nonce_check(d->key, d->key_len, sp_str_make(d->realm, d->realm_len),
				  cred->nonce, now_s, d->ttl_s, &p->info);
	if (p->state == SP_NONCE_BAD)
		return SP_DIGEST_FAIL;
	if (sp_digest_unescape(cred->username, p->user, sizeof(p->user), &p->user_len) != 0)
		return SP_DIGEST_FAIL;
	return SP_DIGEST_OK;
}

enum sp_digest_result sp_digest_precheck(const struct sp_digest *d, const struct sp_auth *cred,
					 uint64_t now_s)
{
	struct pre p;
	return precheck(d, cred, now_s, &p);
}

/* Both entry points: the secret comes from lookup when it is set, else from
 * given (NULL = unknown user). */
static enum sp_digest_result verify(struct sp_digest *d, const struct sp_auth *cred,
				    struct sp_str method, uint64_t now_s, sp_digest_lookup_h lookup,
				    void *arg, const struct sp_digest_secret *given)
{
	struct sp_str realm = sp_str_make(d->realm, d->realm_len);
	char ha1[SP_DIGEST_HEX_MAX + 1], want[SP_DIGEST_HEX_MAX + 1];
	struct sp_digest_secret secret;
	struct pre p;
	enum sp_digest_result res;
	size_t want_len = 0;
	bool known;

	res = precheck(d, cred, now_s, &p);
	if (res != SP_DIGEST_OK)
		return res;
	res = SP_DIGEST_FAIL;
	enum sp_digest_alg alg = p.alg;
	bool qop = p.qop;
	struct sp_str user = sp_str_make(p.user, p.user_len);

	memset(&secret, 0, sizeof(secret));
	if (lookup)
		known = lookup(arg, user, realm, &secret) == 0;
	else if ((known = given != NULL))
		secret = *given;
	if (known && secret.password.p) {
		if (ha1_compute(d->md, alg, user, realm, secret.password, ha1))
			goto out;
	} else if (known && secret.ha1[alg].len && secret.ha1[alg].len <= SP_DIGEST_HEX_MAX) {
		size_t n = secret.ha1[alg].len;
		for (size_t i = 0; i < n; i++) {
			char c = secret.ha1[alg].p[i];
			ha1[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		ha1[n] = '\0';
	} else {
		/* Unknown user, or no secret for this algorithm: the same work
		 * against a password nobody knows. */
		known = false;
		if (ha1_compute(d->md, alg, user, realm, sp_str_make(d->dummy, sizeof(d->dummy)),
				ha1))
			goto out;
	}

	struct sp_digest_input in = {
		.alg = alg,
		.sess = p.sess,
		.ha1 = sp_str_cstr(ha1),
		.nonce = cred->nonce,
		.nc = qop ? cred->nc : SP_STR_NULL,
		.cnonce = qop ? cred->cnonce : SP_STR_NULL,
		.qop = qop ? SP_STR("auth") : SP_STR_NULL,
		.method = method,
		.uri = cred->uri,
	};
	if (response_compute(d->md, &in, true, want, &want_len))
		goto out;
	if (!response_matches(cred->response, want, want_len) || !known)
		goto out;
	/* RFC 7616 section 3.3: stale only for a valid digest with an old nonce. */
	if (p.state == SP_NONCE_EXPIRED) {
		res = SP_DIGEST_STALE;
		goto out;
	}
	if (qop && !sp_nc_accept(&d->nc, &p.info, cred->nc_value, now_s, d->ttl_s)) {
		res = SP_DIGEST_STALE;
		goto out;
	}
	res = SP_DIGEST_OK;
out:
	OPENSSL_cleanse(ha1, sizeof(ha1));
	OPENSSL_cleanse(want, sizeof(want));
	return res;
}

enum sp_digest_result sp_digest_verify(struct sp_digest *d, const struct sp_auth *cred,
				       struct sp_str method, uint64_t now_s,
				       sp_digest_lookup_h lookup, void *arg)
{
	return verify(d, cred, method, now_s, lookup, arg, NULL);
}

enum sp_digest_result sp_digest_verify_secret(struct sp_digest *d, const struct sp_auth *cred,
					      struct sp_str method, uint64_t now_s,
					      const struct sp_digest_secret *secret)
{
	return verify(d, cred, method, now_s, NULL, NULL, secret);
}
