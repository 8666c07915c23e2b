/* test_digest.c: digest authentication: RFC 7616/2617 vectors, challenges, nonces, verification, replay table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "auth/digest.h"
#include "auth/nonce.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "sip/auth.h"
#include "sip/msg.h"
#include "testutil.h"

#define REALM "ssp-a.test"
#define NOW 1700000000ull
#define TTL 300u

/* ---- an independent client: one-shot EVP over snprintf-built strings ---- */

static void client_hash(const char *alg, const char *text, char out[SP_DIGEST_HEX_MAX + 1])
{
	const EVP_MD *md = strcmp(alg, "MD5") == 0       ? EVP_md5()
			   : strcmp(alg, "SHA-256") == 0 ? EVP_sha256()
							 : EVP_sha512_256();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	assert_int_equal(EVP_Digest(text, strlen(text), d, &n, md, NULL), 1);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The RFC 7616 section 3.4.1 response with qop=auth, or RFC 2069 when nc is NULL. */
static void client_response(const char *alg, const char *user, const char *realm,
			    const char *pass, const char *method, const char *uri,
			    const char *nonce, const char *nc, const char *cnonce,
			    char out[SP_DIGEST_HEX_MAX + 1])
{
	char a[1024], ha1[SP_DIGEST_HEX_MAX + 1], ha2[SP_DIGEST_HEX_MAX + 1];
	snprintf(a, sizeof(a), "%s:%s:%s", user, realm, pass);
	client_hash(alg, a, ha1);
	snprintf(a, sizeof(a), "%s:%s", method, uri);
	client_hash(alg, a, ha2);
	if (nc)
		snprintf(a, sizeof(a), "%s:%s:%s:%s:auth:%s", ha1, nonce, nc, cnonce, ha2);
	else
		snprintf(a, sizeof(a), "%s:%s:%s", ha1, nonce, ha2);
	client_hash(alg, a, out);
}

/* ---- a user store ---- */

struct store {
	unsigned lookups;
	char ha1_bob[SP_DIGEST_HEX_MAX + 1];
	char last_user[64];
};

static int lookup(void *arg, struct sp_str user, struct sp_str realm,
		  struct sp_digest_secret *out)
{
	struct store *s = arg;
	s->lookups++;
	snprintf(s->last_user, sizeof(s->last_user), "%.*s", SP_STR_FMT(user));
	assert_true(sp_str_eq_c(realm, REALM));
	if (sp_str_eq_c(user, "alice")) {
		out->password = SP_STR("alice-secret");
		return 0;
	}
	if (sp_str_eq_c(user, "a\"b\\c")) {
		out->password = SP_STR("quoted");
		return 0;
	}
	if (sp_str_eq_c(user, "bob")) {
		/* HA1 only, for MD5 only. */
		out->ha1[SP_DIGEST_MD5] = sp_str_cstr(s->ha1_bob);
		return 0;
	}
	return SP_ENOENT;
}

struct fx {
	struct sp_digest *d;
	struct store store;
};

static struct sp_digest *digest_new(const char *realm, const char *secret, unsigned algs,
				    size_t slots)
{
	struct sp_digest_config cfg = {
		.realm = sp_str_cstr(realm),
		.secret = (const uint8_t *)secret,
		.secret_len = secret ? strlen(secret) : 0,
		.nonce_ttl_s = TTL,
		.algs = algs,
		.nc_slots = slots,
		.allow_rfc2069 = true,
	};
	struct sp_digest *d = NULL;
	assert_int_equal(sp_digest_new(&cfg, &d), 0);
	assert_non_null(d);
	return d;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->d = digest_new(REALM, "0123456789abcdef-shared-secret", 0, 0);
	assert_int_equal(sp_digest_ha1(SP_DIGEST_MD5, SP_STR("bob"), SP_STR(REALM),
				       SP_STR("bob-pass"), f->store.ha1_bob), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sp_digest_free(f->d);
	free(f);
	return 0;
}

/* Extracts the nonce of a challenge value into out (NUL-terminated). */
static void challenge_nonce(const struct sp_buf *b, char out[SP_DIGEST_NONCE_LEN + 1])
{
	struct sp_auth a;
	assert_int_equal(sp_auth_parse(sp_buf_str(b), &a), 0);
	assert_true(a.digest);
	assert_int_equal(a.nonce.len, SP_DIGEST_NONCE_LEN);
	memcpy(out, a.nonce.p, a.nonce.len);
	out[a.nonce.len] = '\0';
}

static void new_nonce(struct sp_digest *d, uint64_t now, char out[SP_DIGEST_NONCE_LEN + 1])
{
	struct sp_buf b;
	sp_buf_init(&b, 1024);
	assert_int_equal(sp_digest_challenge(d, 0, now, false, &b), 0);
	challenge_nonce(&b, out);
	sp_buf_free(&b);
}

/* Builds credentials text as a client would, then parses and verifies them.
 * user_hdr is the username as written (escapes included); user_plain what
 * is hashed. alg_hdr NULL leaves the algorithm out. nc NULL: RFC 2069 form. */
struct cred {
	const char *user_hdr, *user_plain, *pass, *realm, *nonce, *nc, *cnonce, *alg_hdr,
		*alg_hash, *method, *uri;
};

static enum sp_digest_result verify_cred(struct fx *f, const struct cred *c, uint64_t now)
{
	char resp[SP_DIGEST_HEX_MAX + 1], text[2048];
	struct sp_auth a;
	client_response(c->alg_hash ? c->alg_hash : "MD5", c->user_plain, c->realm ? c->realm : REALM,
			c->pass, c->method ? c->method : "REGISTER",
			c->uri ? c->uri : "sip:" REALM, c->nonce, c->nc, c->cnonce, resp);
	int n = snprintf(text, sizeof(text),
			 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
			 "response=\"%s\"",
			 c->user_hdr, c->realm ? c->realm : REALM, c->nonce,
			 c->uri ? c->uri : "sip:" REALM, resp);
	if (c->alg_hdr)
		n += snprintf(text + n, sizeof(text) - (size_t)n, ", algorithm=%s", c->alg_hdr);
	if (c->nc)
		n += snprintf(text + n, sizeof(text) - (size_t)n, ", qop=auth, nc=%s, cnonce=\"%s\"",
			      c->nc, c->cnonce);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_int_equal(sp_auth_parse(sp_str_make(text, (size_t)n), &a), 0);
	return sp_digest_verify(f->d, &a, sp_str_cstr(c->method ? c->method : "REGISTER"), now,
				lookup, &f->store);
}

static enum sp_digest_result verify_text(struct fx *f, const char *text, uint64_t now)
{
	struct sp_auth a;
	assert_int_equal(sp_auth_parse(sp_str_cstr(text), &a), 0);
	return sp_digest_verify(f->d, &a, SP_STR("REGISTER"), now, lookup, &f->store);
}

/* ---- vectors ---- */

static void test_rfc7616_vectors(void **state)
{
	(void)state;
	/* RFC 7616 section 3.9.1: the Authorization values of the example, parsed
	 * and recomputed from their own fields. */
	static const struct {
		enum sp_digest_alg alg;
		const char *hdr;
		const char *response;
	} v[] = {
		{ SP_DIGEST_MD5,
		  "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
		  "uri=\"/dir/index.html\", algorithm=MD5, "
		  "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
		  "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
		  "response=\"8ca523f5e9506fed4657c9700eebdbec\", "
		  "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
		  "8ca523f5e9506fed4657c9700eebdbec" },
		{ SP_DIGEST_SHA256,
		  "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
		  "uri=\"/dir/index.html\", algorithm=SHA-256, "
		  "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
		  "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
		  "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", "
		  "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
		  "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sp_auth a;
		enum sp_digest_alg alg;
		bool sess;
		char ha1[SP_DIGEST_HEX_MAX + 1], out[SP_DIGEST_HEX_MAX + 1];
		assert_int_equal(sp_auth_parse(sp_str_cstr(v[i].hdr), &a), 0);
		assert_int_equal(sp_digest_alg_parse(a.algorithm, &alg, &sess), 0);
		assert_int_equal(alg, v[i].alg);
		assert_false(sess);
		assert_int_equal(sp_digest_ha1(alg, a.username, a.realm, SP_STR("Circle of Life"), ha1), 0);
		struct sp_digest_input in = { .alg = alg, .ha1 = sp_str_cstr(ha1), .nonce = a.nonce,
					      .nc = a.nc, .cnonce = a.cnonce, .qop = a.qop,
					      .method = SP_STR("GET"), .uri = a.uri };
		assert_int_equal(sp_digest_response(&in, out), 0);
		assert_string_equal(out, v[i].response);
		assert_true(sp_str_eq_c(a.response, out));
	}
}

static void test_rfc2617_vector(void **state)
{
	(void)state;
	/* RFC 2617 section 3.5. */
	char ha1[SP_DIGEST_HEX_MAX + 1], out[SP_DIGEST_HEX_MAX + 1];
	assert_int_equal(sp_digest_ha1(SP_DIGEST_MD5, SP_STR("Mufasa"), SP_STR("testrealm@host.com"),
				       SP_STR("Circle Of Life"), ha1), 0);
	struct sp_digest_input in = {
		.alg = SP_DIGEST_MD5, .ha1 = sp_str_cstr(ha1),
		.nonce = SP_STR("dcd98b7102dd2f0e8b11d0f600bfb0c093"), .nc = SP_STR("00000001"),
		.cnonce = SP_STR("0a4f113b"), .qop = SP_STR("auth"), .method = SP_STR("GET"),
		.uri = SP_STR("/dir/index.html"),
	};
	assert_int_equal(sp_digest_response(&in, out), 0);
	assert_string_equal(out, "6629fae49393a05397450978507c4ef1");

	/* The -sess variant against an independent computation. */
	char a[256], sess_ha1[SP_DIGEST_HEX_MAX + 1], ha2[SP_DIGEST_HEX_MAX + 1], want[SP_DIGEST_HEX_MAX + 1];
	snprintf(a, sizeof(a), "%s:dcd98b7102dd2f0e8b11d0f600bfb0c093:0a4f113b", ha1);
	client_hash("MD5", a, sess_ha1);
	client_hash("MD5", "GET:/dir/index.html", ha2);
	snprintf(a, sizeof(a), "%s:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:%s",
		 sess_ha1, ha2);
	client_hash("MD5", a, want);
	in.sess = true;
	assert_int_equal(sp_digest_response(&in, out), 0);
	assert_string_equal(out, want);
}

static void test_alg_parse(void **state)
{
	(void)state;
	enum sp_digest_alg alg;
	bool sess;
	assert_int_equal(sp_digest_alg_parse(SP_STR("sha-256"), &alg, &sess), 0);
	assert_int_equal(alg, SP_DIGEST_SHA256);
	assert_false(sess);
	assert_int_equal(sp_digest_alg_parse(SP_STR("md5-SESS"), &alg, &sess), 0);
	assert_int_equal(alg, SP_DIGEST_MD5);
	assert_true(sess);
	assert_int_equal(sp_digest_alg_parse(SP_STR_NULL, &alg, &sess), 0);
	assert_int_equal(alg, SP_DIGEST_MD5);
	assert_int_equal(sp_digest_alg_parse(SP_STR("SHA-512-256"), &alg, &sess), 0);
	assert_int_equal(alg, SP_DIGEST_SHA512_256);
	assert_int_equal(sp_digest_alg_parse(SP_STR("SHA-1"), &alg, &sess), SP_ENOENT);
	assert_int_equal(sp_digest_alg_parse(SP_STR("-sess"), &alg, &sess), SP_ENOENT);
}

/* ---- challenges ---- */

static void test_challenge(void **state)
{
	struct fx *f = *state;
	struct sp_buf b;
	struct sp_auth a;
	char n0[SP_DIGEST_NONCE_LEN + 1];

	sp_buf_init(&b, 1024);
	assert_int_equal(sp_digest_challenge_count(f->d), 2);
	assert_int_equal(sp_digest_challenge(f->d, 0, NOW, false, &b), 0);
	assert_int_equal(sp_auth_parse(sp_buf_str(&b), &a), 0);
	assert_true(sp_str_eq_c(a.scheme, "Digest"));
	assert_true(sp_str_eq_c(a.realm, REALM));
	assert_true(sp_str_eq_c(a.algorithm, "SHA-256"));
	assert_true(sp_str_eq_c(a.qop, "auth"));
	assert_false(a.present & (SP_AUTH_STALE | SP_AUTH_OPAQUE));
	challenge_nonce(&b, n0);

	/* Exact text, nonce aside. */
	char want[256];
	snprintf(want, sizeof(want),
		 "Digest realm=\"" REALM "\", nonce=\"%s\", algorithm=SHA-256, qop=\"auth\"", n0);
	assert_true(sp_str_eq_c(sp_buf_str(&b), want));

	sp_buf_reset(&b);
	assert_int_equal(sp_digest_challenge(f->d, 1, NOW, true, &b), 0);
	assert_int_equal(sp_auth_parse(sp_buf_str(&b), &a), 0);
	assert_true(sp_str_eq_c(a.algorithm, "MD5"));
	assert_true(a.stale);
	/* A fresh nonce for each challenge. */
	assert_false(sp_str_eq_c(a.nonce, n0));

	sp_buf_reset(&b);
	assert_int_equal(sp_digest_challenge(f->d, 2, NOW, false, &b), SP_ENOENT);
	assert_int_equal(b.len, 0);

	/* A cap too small leaves the buffer as it was. */
	struct sp_buf small;
	sp_buf_init(&small, 40);
	assert_int_equal(sp_buf_append_c(&small, "x"), 0);
	assert_int_equal(sp_digest_challenge(f->d, 0, NOW, false, &small), SP_E2BIG);
	assert_int_equal(small.len, 1);
	sp_buf_free(&small);
	sp_buf_free(&b);

	/* Opaque, a realm needing escapes, all three algorithms in preference order. */
	struct sp_digest_config cfg = {
		.realm = SP_STR("odd \"realm\\"),
		.algs = SP_DIGEST_ALG_BIT(SP_DIGEST_MD5) | SP_DIGEST_ALG_BIT(SP_DIGEST_SHA256) |
			SP_DIGEST_ALG_BIT(SP_DIGEST_SHA512_256),
		.opaque = SP_STR("op1"),
	};
	struct sp_digest *d = NULL;
	assert_int_equal(sp_digest_new(&cfg, &d), 0);
	assert_int_equal(sp_digest_challenge_count(d), 3);
	static const char *const order[] = { "SHA-512-256", "SHA-256", "MD5" };
	sp_buf_init(&b, 1024);
	for (unsigned i = 0; i < 3; i++) {
		sp_buf_reset(&b);
		assert_int_equal(sp_digest_challenge(d, i, NOW, false, &b), 0);
		assert_int_equal(sp_auth_parse(sp_buf_str(&b), &a), 0);
		assert_true(sp_str_eq_c(a.algorithm, order[i]));
		assert_true(sp_str_eq_c(a.realm, "odd \\\"realm\\\\"));
		assert_true(sp_str_eq_c(a.opaque, "op1"));
	}
	sp_buf_free(&b);
	sp_digest_free(d);
}

static void test_config_refused(void **state)
{
	(void)state;
	struct sp_digest *d = (struct sp_digest *)&d;
	struct sp_digest_config cfg = { .realm = SP_STR_NULL };
	assert_int_equal(sp_digest_new(&cfg, &d), SP_EINVAL);
	cfg.realm = SP_STR(REALM);
	cfg.secret = (const uint8_t *)"short";
	cfg.secret_len = 5;
	assert_int_equal(sp_digest_new(&cfg, &d), SP_EINVAL);
	cfg.secret = NULL;
	cfg.secret_len = 0;
	cfg.nc_slots = SP_DIGEST_NC_SLOTS_MAX + 1;
	assert_int_equal(sp_digest_new(&cfg, &d), SP_E2BIG);
	cfg.nc_slots = 0;
	cfg.realm = SP_STR("bad\r\nrealm");
	assert_int_equal(sp_digest_new(&cfg, &d), SP_EINVAL);
	/* Out pointer untouched on failure. */
	assert_ptr_equal(d, (struct sp_digest *)&d);
}

/* ---- verification ---- */

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	char nonce[SP_DIGEST_NONCE_LEN + 1];
	new_nonce(f->d, NOW, nonce);

	struct cred c = { .user_hdr = "alice", .user_plain = "alice", .pass = "alice-secret",
			  .nonce = nonce, .nc = "00000001", .cnonce = "0a4f113b",
			  .alg_hdr = "SHA-256", .alg_hash = "SHA-256" };
	assert_int_equal(verify_cred(f, &c, NOW + 1), SP_DIGEST_OK);
	assert_string_equal(f->store.last_user, "alice");

	/* Increasing nonce-counts are accepted, gaps included. */
	c.nc = "00000002";
	assert_int_equal(verify_cred(f, &c, NOW + 2), SP_DIGEST_OK);
	c.nc = "0000000a";
	assert_int_equal(verify_cred(f, &c, NOW + 3), SP_DIGEST_OK);
	/* Replays (same or lower nc) are refused with stale, so the phone takes
	 * a new nonce without asking its user again. */
	assert_int_equal(verify_cred(f, &c, NOW + 4), SP_DIGEST_STALE);
	c.nc = "00000003";
	assert_int_equal(verify_cred(f, &c, NOW + 4), SP_DIGEST_STALE);
	c.nc = "0000000b";
	assert_int_equal(verify_cred(f, &c, NOW + 5), SP_DIGEST_OK);

	/* Another method and URI (an INVITE after the REGISTER). */
	c.nc = "0000000c";
	c.method = "INVITE";
	c.uri = "sip:+4722000001@" REALM ";user=phone";
	assert_int_equal(verify_cred(f, &c, NOW + 6), SP_DIGEST_OK);

	/* MD5 with the MD5 challenge; upper-case hex in the response is accepted. */
	struct sp_buf b;
	sp_buf_init(&b, 1024);
	assert_int_equal(sp_digest_challenge(f->d, 1, NOW, false, &b), 0);
	challenge_nonce(&b, nonce);
	sp_buf_free(&b);
	char resp[SP_DIGEST_HEX_MAX + 1], text[512];
	client_response("MD5", "alice", REALM, "alice-secret", "REGISTER", "sip:" REALM, nonce,
			"00000001", "abc", resp);
	for (char *p = resp; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	snprintf(text, sizeof(text),
		 "Digest username=\"alice\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:" REALM
		 "\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"abc\"",
		 nonce, resp);
	assert_int_equal(verify_text(f, text, NOW), SP_DIGEST_OK);
}

static void test_shared_secret_and_sha512(void **state)
{
	(void)state;
	/* Two workers with the same secret: a nonce of one verifies at the other. */
	struct fx f = { 0 };
	struct sp_digest *w1 = digest_new(REALM, "0123456789abcdef-shared-secret",
					  SP_DIGEST_ALG_BIT(SP_DIGEST_SHA512_256), 0);
	f.d = digest_new(REALM, "0123456789abcdef-shared-secret",
			 SP_DIGEST_ALG_BIT(SP_DIGEST_SHA512_256), 0);
	char nonce[SP_DIGEST_NONCE_LEN + 1];
	new_nonce(w1, NOW, nonce);
	struct cred c = { .user_hdr = "alice", .user_plain = "alice", .pass = "alice-secret",
			  .nonce = nonce, .nc = "00000001", .cnonce = "c1",
			  .alg_hdr = "SHA-512-256", .alg_hash = "SHA-512-256" };
	assert_int_equal(verify_cred(&f, &c, NOW), SP_DIGEST_OK);
	/* SHA-256 is not enabled on this instance. */
	c.alg_hdr = c.alg_hash = "SHA-256";
	c.nc = "00000002";
	assert_int_equal(verify_cred(&f, &c, NOW), SP_DIGEST_FAIL);
	sp_digest_free(w1);
	sp_digest_free(f.d);
}

static void test_wrong_password_and_unknown_user(void **state)
{
	struct fx *f = *state;
	char nonce[SP_DIGEST_NONCE_LEN + 1];
	new_nonce(f->d, NOW, nonce);
	struct cred c = { .user_hdr = "alice", .user_plain = "alice", .pass = "wrong",
			  .nonce = nonce, .nc = "00000001", .cnonce = "x",
			  .alg_hdr = "SHA-256", .alg_hash = "SHA-256" };
	unsigned before = f->store.lookups;
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	c.user_hdr = c.user_plain = "mallory";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	/* Both went through the store: the same path. */
	assert_int_equal(f->store.lookups, before + 2);
	/* An unknown user cannot match the dummy secret even with an empty password. */
	c.pass = "";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	/* A failure recorded nothing: the right password with nc 1 still works. */
	c.user_hdr = c.user_plain = "alice";
	c.pass = "alice-secret";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_OK);
	/* Wrong password on an expired nonce is a failure, not stale. */
	c.pass = "wrong";
	c.nc = "00000002";
	assert_int_equal(verify_cred(f, &c, NOW + TTL + 1), SP_DIGEST_FAIL);
}

static void test_stored_ha1(void **state)
{
	struct fx *f = *state;
	char nonce[SP_DIGEST_NONCE_LEN + 1];
	new_nonce(f->d, NOW, nonce);
	struct cred c = { .user_hdr = "bob", .user_plain = "bob", .pass = "bob-pass",
			  .nonce = nonce, .nc = "00000001", .cnonce = "x", .alg_hdr = "MD5",
			  .alg_hash = "MD5" };
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_OK);
	/* The store has no SHA-256 HA1 for bob: treated as unknown. */
	c.alg_hdr = c.alg_hash = "SHA-256";
	c.nc = "00000002";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
}

static void test_expired_nonce(void **state)
{
	struct fx *f = *state;
	char nonce[SP_DIGEST_NONCE_LEN + 1];
	new_nonce(f->d, NOW, nonce);
	struct cred c = { .user_hdr = "alice", .user_plain = "alice", .pass = "alice-secret",
			  .nonce = nonce, .nc = "00000001", .cnonce = "x",
			  .alg_hdr = "SHA-256", .alg_hash = "SHA-256" };
	assert_int_equal(verify_cred(f, &c, NOW + TTL + 1), SP_DIGEST_STALE);
	/* At the last second of its lifetime it is still good. */
	assert_int_equal(verify_cred(f, &c, NOW + TTL), SP_DIGEST_OK);
	/* A nonce from the future beyond the clock skew is not ours. */
	new_nonce(f->d, NOW + 60, nonce);
	c.nc = "00000001";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	assert_int_equal(verify_cred(f, &c, NOW + 58), SP_DIGEST_OK);
}

static void test_bad_nonces(void **state)
{
	struct fx *f = *state;
	char nonce[SP_DIGEST_NONCE_LEN + 1];
	struct cred c = { .user_hdr = "alice", .user_plain = "alice", .pass = "alice-secret",
			  .nc = "00000001", .cnonce = "x", .alg_hdr = "SHA-256",
			  .alg_hash = "SHA-256" };

	/* Every single-character change of the nonce is refused. */
	new_nonce(f->d, NOW, nonce);
	for (size_t i = 0; i < SP_DIGEST_NONCE_LEN; i++) {
		char bad[SP_DIGEST_NONCE_LEN + 1];
		memcpy(bad, nonce, sizeof(bad));
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		c.nonce = bad;
		assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	}
	/* Truncated, extended, garbled. */
	char bad[SP_DIGEST_NONCE_LEN + 2];
	memcpy(bad, nonce, SP_DIGEST_NONCE_LEN);
	bad[SP_DIGEST_NONCE_LEN - 1] = '\0';
	c.nonce = bad;
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	memcpy(bad, nonce, SP_DIGEST_NONCE_LEN);
	bad[SP_DIGEST_NONCE_LEN] = 'A';
	bad[SP_DIGEST_NONCE_LEN + 1] = '\0';
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	c.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	c.nonce = "";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);

	/* A nonce signed with another secret. */
	struct sp_digest *other = digest_new(REALM, "another-secret-of-16+bytes", 0, 0);
	new_nonce(other, NOW, nonce);
	sp_digest_free(other);
	c.nonce = nonce;
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);

	/* A nonce of the same secret but for another realm. */
	other = digest_new("ssp-b.test", "0123456789abcdef-shared-secret", 0, 0);
	new_nonce(other, NOW, nonce);
	sp_digest_free(other);
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
}

static void test_wrong_realm(void **state)
{
	struct fx *f = *state;
	char nonce[SP_DIGEST_NONCE_LEN + 1];
	new_nonce(f->d, NOW, nonce);
	struct cred c = { .user_hdr = "alice", .user_plain = "alice", .pass = "alice-secret",
			  .realm = "ssp-b.test", .nonce = nonce, .nc = "00000001", .cnonce = "x",
			  .alg_hdr = "SHA-256", .alg_hash = "SHA-256" };
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	c.realm = "SSP-A.TEST";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	/* The realm written with a needless escape is the same realm. */
	char resp[SP_DIGEST_HEX_MAX + 1], text[512];
	client_response("SHA-256", "alice", REALM, "alice-secret", "REGISTER", "sip:" REALM, nonce,
			"00000001", "x", resp);
	snprintf(text, sizeof(text),
		 "Digest username=\"alice\", realm=\"ssp-a\\.test\", nonce=\"%s\", uri=\"sip:" REALM
		 "\", response=\"%s\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"x\"",
		 nonce, resp);
	assert_int_equal(verify_text(f, text, NOW), SP_DIGEST_OK);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	char nonce[SP_DIGEST_NONCE_LEN + 1], text[512];
	new_nonce(f->d, NOW, nonce);
	unsigned before = f->store.lookups;

	/* Each form is written around the nonce: head, nonce, tail. */
	static const struct {
		const char *head, *tail;
		bool nonce;
	} forms[] = {
		/* qop without cnonce, qop without nc */
		{ "Digest username=\"alice\", realm=\"" REALM "\", nonce=\"",
		  "\", uri=\"sip:x\", response=\"00\", qop=auth, nc=00000001", true },
		{ "Digest username=\"alice\", realm=\"" REALM "\", nonce=\"",
		  "\", uri=\"sip:x\", response=\"00\", qop=auth, cnonce=\"c\"", true },
		/* no response, no uri, no username, no nonce */
		{ "Digest username=\"alice\", realm=\"" REALM "\", nonce=\"", "\", uri=\"sip:x\"",
		  true },
		{ "Digest username=\"alice\", realm=\"" REALM "\", nonce=\"", "\", response=\"00\"",
		  true },
		{ "Digest realm=\"" REALM "\", nonce=\"", "\", uri=\"sip:x\", response=\"00\"", true },
		{ "Digest username=\"alice\", realm=\"" REALM "\", uri=\"sip:x\", response=\"00\"",
		  "", false },
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(text, sizeof(text), "%s%s%s", forms[i].head, forms[i].nonce ? nonce : "",
			 forms[i].tail);
		if (verify_text(f, text, NOW) != SP_DIGEST_MALFORMED)
			fail_msg("form %zu: expected MALFORMED", i);
	}
	/* Another scheme. */
	struct sp_auth a;
	assert_int_equal(sp_auth_parse(SP_STR("Bearer abc.def"), &a), 0);
	assert_int_equal(sp_digest_verify(f->d, &a, SP_STR("INVITE"), NOW, lookup, &f->store),
			 SP_DIGEST_MALFORMED);
	/* None of them reached the store. */
	assert_int_equal(f->store.lookups, before);
}

static void test_unsupported(void **state)
{
	struct fx *f = *state;
	char nonce[SP_DIGEST_NONCE_LEN + 1];
	new_nonce(f->d, NOW, nonce);
	struct cred c = { .user_hdr = "alice", .user_plain = "alice", .pass = "alice-secret",
			  .nonce = nonce, .nc = "00000001", .cnonce = "x", .alg_hdr = "SHA-1",
			  .alg_hash = "SHA-256" };
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	/* SHA-512-256 is known but not offered by this instance. */
	c.alg_hdr = c.alg_hash = "SHA-512-256";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);

	char resp[SP_DIGEST_HEX_MAX + 1], text[512];
	client_response("MD5", "alice", REALM, "alice-secret", "REGISTER", "sip:" REALM, nonce,
			"00000001", "x", resp);
	snprintf(text, sizeof(text),
		 "Digest username=\"alice\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:" REALM
		 "\", response=\"%s\", qop=auth-int, nc=00000001, cnonce=\"x\"",
		 nonce, resp);
	assert_int_equal(verify_text(f, text, NOW), SP_DIGEST_FAIL);
}

static void test_escapes_and_case(void **state)
{
	struct fx *f = *state;
	char nonce[SP_DIGEST_NONCE_LEN + 1];
	new_nonce(f->d, NOW, nonce);
	/* username a"b\c written as "a\"b\\c": hashed and looked up unescaped. */
	struct cred c = { .user_hdr = "a\\\"b\\\\c", .user_plain = "a\"b\\c", .pass = "quoted",
			  .nonce = nonce, .nc = "00000001", .cnonce = "x",
			  .alg_hdr = "sha-256", .alg_hash = "SHA-256" };
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_OK);
	assert_string_equal(f->store.last_user, "a\"b\\c");

	/* Case of the algorithm token does not matter; absent means MD5. */
	c.alg_hdr = "Sha-256";
	c.nc = "00000002";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_OK);
	c.alg_hdr = "md5";
	c.alg_hash = "MD5";
	c.nc = "00000003";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_OK);
	c.alg_hdr = NULL;
	c.nc = "00000004";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_OK);
	/* Absent algorithm hashed with SHA-256 is wrong. */
	c.alg_hash = "SHA-256";
	c.nc = "00000005";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);

	/* An escaped cnonce is hashed unescaped too. */
	char resp[SP_DIGEST_HEX_MAX + 1], text[512];
	client_response("MD5", "alice", REALM, "alice-secret", "REGISTER", "sip:" REALM, nonce,
			"00000009", "c\"n", resp);
	snprintf(text, sizeof(text),
		 "Digest username=\"alice\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:" REALM
		 "\", response=\"%s\", qop=auth, nc=00000009, cnonce=\"c\\\"n\"",
		 nonce, resp);
	assert_int_equal(verify_text(f, text, NOW), SP_DIGEST_OK);

	char out[8];
	size_t n = 0;
	assert_int_equal(sp_digest_unescape(SP_STR("a\\\"b"), out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "a\"b", 3);
	assert_int_equal(sp_digest_unescape(SP_STR("123456789"), out, sizeof(out), &n), SP_E2BIG);
}

static void test_rfc2069(void **state)
{
	struct fx *f = *state;
	char nonce[SP_DIGEST_NONCE_LEN + 1];
	new_nonce(f->d, NOW, nonce);
	struct cred c = { .user_hdr = "alice", .user_plain = "alice", .pass = "alice-secret",
			  .nonce = nonce, .alg_hdr = "MD5", .alg_hash = "MD5" };
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_OK);
	c.pass = "wrong";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);
	/* Without qop only MD5 (old phones) is accepted. */
	c.pass = "alice-secret";
	c.alg_hdr = c.alg_hash = "SHA-256";
	assert_int_equal(verify_cred(f, &c, NOW), SP_DIGEST_FAIL);

	/* And not at all when the configuration says no. */
	struct fx g = { 0 };
	struct sp_digest_config cfg = { .realm = SP_STR(REALM) };
	assert_int_equal(sp_digest_new(&cfg, &g.d), 0);
	new_nonce(g.d, NOW, nonce);
	c.alg_hdr = c.alg_hash = "MD5";
	assert_int_equal(verify_cred(&g, &c, NOW), SP_DIGEST_FAIL);
	sp_digest_free(g.d);
}

static void test_precheck_and_given_secret(void **state)
{
	struct fx *f = *state;
	char nonce[SP_DIGEST_NONCE_LEN + 1], resp[SP_DIGEST_HEX_MAX + 1], text[512];
	struct sp_auth a;
	new_nonce(f->d, NOW, nonce);
	client_response("SHA-256", "carol", REALM, "carol-pass", "REGISTER", "sip:" REALM, nonce,
			"00000001", "x", resp);
	snprintf(text, sizeof(text),
		 "Digest username=\"carol\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:" REALM
		 "\", response=\"%s\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"x\"",
		 nonce, resp);
	assert_int_equal(sp_auth_parse(sp_str_cstr(text), &a), 0);
	/* Worth a look-up, even once expired; not with a bad nonce. */
	assert_int_equal(sp_digest_precheck(f->d, &a, NOW), SP_DIGEST_OK);
	assert_int_equal(sp_digest_precheck(f->d, &a, NOW + TTL + 1), SP_DIGEST_OK);
	assert_int_equal(sp_digest_precheck(f->d, &a, NOW - 60), SP_DIGEST_FAIL);

	/* The caller looked carol up itself. */
	struct sp_digest_secret unknown_pw = { .password = SP_STR("not-carols") };
	assert_int_equal(sp_digest_verify_secret(f->d, &a, SP_STR("REGISTER"), NOW, NULL),
			 SP_DIGEST_FAIL);
	assert_int_equal(sp_digest_verify_secret(f->d, &a, SP_STR("REGISTER"), NOW, &unknown_pw),
			 SP_DIGEST_FAIL);
	struct sp_digest_secret s = { 0 };
	char ha1[SP_DIGEST_HEX_MAX + 1];
	assert_int_equal(sp_digest_ha1(SP_DIGEST_SHA256, SP_STR("carol"), SP_STR(REALM),
				       SP_STR("carol-pass"), ha1), 0);
	s.ha1[SP_DIGEST_SHA256] = sp_str_cstr(ha1);
	assert_int_equal(sp_digest_verify_secret(f->d, &a, SP_STR("REGISTER"), NOW, &s),
			 SP_DIGEST_OK);
	/* The wrong method changes HA2. */
	struct sp_auth b;
	snprintf(text, sizeof(text),
		 "Digest username=\"carol\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:" REALM
		 "\", response=\"%s\", algorithm=SHA-256, qop=auth, nc=00000002, cnonce=\"x\"",
		 nonce, resp);
	assert_int_equal(sp_auth_parse(sp_str_cstr(text), &b), 0);
	assert_int_equal(sp_digest_verify_secret(f->d, &b, SP_STR("INVITE"), NOW, &s),
			 SP_DIGEST_FAIL);

	struct sp_auth m;
	assert_int_equal(sp_auth_parse(SP_STR("Digest username=\"carol\""), &m), 0);
	assert_int_equal(sp_digest_precheck(f->d, &m, NOW), SP_DIGEST_MALFORMED);
}

static void test_find_cred(void **state)
{
	struct fx *f = *state;
	static const char text[] =
		"INVITE sip:bob@ssp-b.test SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
		"Max-Forwards: 70\r\n"
		"From: <sip:alice@" REALM ">;tag=1\r\n"
		"To: <sip:bob@ssp-b.test>\r\n"
		"Call-ID: c1@127.0.0.1\r\n"
		"CSeq: 2 INVITE\r\n"
		"Proxy-Authorization: Digest username=\"alice\", realm=\"other.test\", "
		"nonce=\"n1\", uri=\"sip:bob@ssp-b.test\", response=\"00\"\r\n"
		"Proxy-Authorization: Bearer abc\r\n"
		"Proxy-Authorization: Digest garbage\r\n"
		"Proxy-Authorization: Digest username=\"alice\", realm=\"" REALM "\", "
		"nonce=\"n2\", uri=\"sip:bob@ssp-b.test\", response=\"01\"\r\n"
		"Authorization: Digest username=\"alice\", realm=\"" REALM "\", "
		"nonce=\"n3\", uri=\"sip:bob@ssp-b.test\", response=\"02\"\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sp_msg *m = calloc(1, sizeof(*m));
	struct sp_sip_error err;
	struct sp_auth a;
	assert_non_null(m);
	assert_int_equal(sp_msg_parse(m, text, sizeof(text) - 1, SP_PARSE_DATAGRAM, &err), 0);
	assert_int_equal(sp_digest_find_cred(f->d, m, SP_HDR_PROXY_AUTHORIZATION, &a), 0);
	assert_true(sp_str_eq_c(a.nonce, "n2"));
	assert_int_equal(sp_digest_find_cred(f->d, m, SP_HDR_AUTHORIZATION, &a), 0);
	assert_true(sp_str_eq_c(a.nonce, "n3"));

	struct sp_digest *other = digest_new("third.test", NULL, 0, 0);
	assert_int_equal(sp_digest_find_cred(other, m, SP_HDR_PROXY_AUTHORIZATION, &a), SP_ENOENT);
	sp_digest_free(other);
	free(m);
}

static void test_nc_table_bound(void **state)
{
	(void)state;
	/* Directly: a million nonces through a 1024-slot table. */
	struct sp_nc_table t;
	assert_int_equal(sp_nc_init(&t, 1000, SP_DIGEST_NC_SLOTS_MAX), 0);
	assert_int_equal(t.mask + 1, 1024);
	struct sp_nonce_info last = { 0 };
	for (uint64_t i = 1; i <= 1000000; i++) {
		struct sp_nonce_info info = { .issued = NOW + i / 1000, .id = i * 0x9e3779b97f4a7c15ull };
		assert_true(sp_nc_accept(&t, &info, 1, NOW + i / 1000, TTL));
		last = info;
	}
	assert_int_equal(sp_nc_used(&t), 1024);
	/* The newest nonce is remembered: its nc cannot go back. */
	assert_false(sp_nc_accept(&t, &last, 1, NOW + 1000, TTL));
	assert_true(sp_nc_accept(&t, &last, 2, NOW + 1000, TTL));
	sp_nc_free(&t);

	/* Through verification: many nonces on a small table, each used once;
	 * the table stays full, never larger, and recent nonces keep their nc. */
	struct fx f = { 0 };
	f.d = digest_new(REALM, NULL, SP_DIGEST_ALG_BIT(SP_DIGEST_MD5), 64);
	char nonce[SP_DIGEST_NONCE_LEN + 1];
	struct cred c = { .user_hdr = "alice", .user_plain = "alice", .pass = "alice-secret",
			  .nc = "00000001", .cnonce = "x", .alg_hdr = "MD5", .alg_hash = "MD5" };
	for (unsigned i = 0; i < 2000; i++) {
		new_nonce(f.d, NOW + i / 10, nonce);
		c.nonce = nonce;
		assert_int_equal(verify_cred(&f, &c, NOW + i / 10), SP_DIGEST_OK);
	}
	assert_int_equal(verify_cred(&f, &c, NOW + 200), SP_DIGEST_STALE);
	sp_digest_free(f.d);
}

static void test_nc_eviction_prefers_expired(void **state)
{
	(void)state;
	/* A table of one window: the expired entry goes before the live ones. */
	struct sp_nc_table t;
	assert_int_equal(sp_nc_init(&t, SP_NC_WINDOW, SP_DIGEST_NC_SLOTS_MAX), 0);
	struct sp_nonce_info n[SP_NC_WINDOW + 1];
	for (unsigned i = 0; i < SP_NC_WINDOW; i++) {
		n[i] = (struct sp_nonce_info){ .issued = i == 3 ? NOW - 1000 : NOW + i, .id = i + 1 };
		assert_true(sp_nc_accept(&t, &n[i], 5, NOW + 10, TTL));
	}
	n[SP_NC_WINDOW] = (struct sp_nonce_info){ .issued = NOW + 10, .id = 99 };
	assert_true(sp_nc_accept(&t, &n[SP_NC_WINDOW], 1, NOW + 10, TTL));
	for (unsigned i = 0; i < SP_NC_WINDOW; i++)
		if (i != 3)
			assert_false(sp_nc_accept(&t, &n[i], 5, NOW + 10, TTL));
	/* The evicted one is unknown again: accepted once. */
	assert_true(sp_nc_accept(&t, &n[3], 5, NOW + 10, TTL));
	sp_nc_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7616_vectors),
		cmocka_unit_test(test_rfc2617_vector),
		cmocka_unit_test(test_alg_parse),
		cmocka_unit_test_setup_teardown(test_challenge, setup, teardown),
		cmocka_unit_test(test_config_refused),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test(test_shared_secret_and_sha512),
		cmocka_unit_test_setup_teardown(test_wrong_password_and_unknown_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_ha1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_nonce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_nonces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_realm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escapes_and_case, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc2069, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precheck_and_given_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_cred, setup, teardown),
		cmocka_unit_test(test_nc_table_bound),
		cmocka_unit_test(test_nc_eviction_prefers_expired),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
