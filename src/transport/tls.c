/* tls.c: OpenSSL 3 contexts and non-blocking TLS over stream connections; the verified peer's names. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/err.h"
#include "io/loop.h"
#include "transport/tpi.h"

/* The OpenSSL error queue is per thread and must be empty before each call
 * whose result SSL_get_error interprets; this also writes what it held. */
static void log_ssl_errors(struct sp_transport *t, const char *what, const struct sp_sockaddr *a)
{
	char reason[256] = "no detail";
	unsigned long e, last = 0;
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last)
		ERR_error_string_n(last, reason, sizeof(reason));
	uint64_t supp = 0;
	if (!sp_log_ratelimit(&t->rl_tls, sp_loop_now(t->loop), &supp))
		return;
	char s[SP_SOCKADDR_STRLEN] = "-";
	if (a)
		sp_sockaddr_fmt(a, true, false, s, sizeof(s));
	sp_log(SP_LOG_NOTICE, "TLS %s %s: %s (%llu similar suppressed)", what, s, reason,
	       (unsigned long long)supp);
}

static SSL_CTX *make_ctx(struct sp_transport *t, bool server)
{
	const struct sp_transport_cfg *cfg = &t->cfg;
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	STACK_OF(X509_NAME) *names = NULL;
	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Partial writes and a moving buffer let the write queue compact
	 * itself between retries; released buffers keep idle connections small. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	if (cfg->tls_cert && cfg->tls_key) {
		if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			log_ssl_errors(t, "certificate/key", NULL);
			sp_log(SP_LOG_ERR, "TLS: cannot load certificate %s / key %s", cfg->tls_cert,
			       cfg->tls_key);
			goto fail;
		}
	} else if (server) {
		sp_log(SP_LOG_ERR, "TLS: a tls listener needs tls cert and key");
		goto fail;
	}
	if (server)
		names = sk_X509_NAME_new_null();
	/* Every anchor verifies in both directions; which one a chain ends at
	 * is the admission layer's business (sp_tls_peer.ca). */
	for (size_t i = 0; i <= cfg->ntls_extra_ca; i++) {
		const char *file = i == 0 ? cfg->tls_ca : cfg->tls_extra_ca[i - 1];
		if (!file)
			continue;
		if (SSL_CTX_load_verify_locations(ctx, file, NULL) != 1) {
			log_ssl_errors(t, "CA", NULL);
			sp_log(SP_LOG_ERR, "TLS: cannot load CA %s", file);
			goto fail;
		}
		if (names)
			SSL_add_file_cert_subjects_to_stack(names, file);
	}
	if (server) {
		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
		names = NULL;
		/* No session resumption: a resumed session has no verified chain
		 * to tell which federation's CA vouched for the peer, and every
		 * connection of a peer is checked in full anyway. */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
		static const unsigned char sid[] = "sipeer";
		SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	}
	/* Access listeners ask phones for a certificate only when tls.ca is
	 * set; peering listeners always do (sp_tls_conn_start); outgoing
	 * connections verify the server whenever an anchor is loaded. */
	if (server && cfg->tls_ca)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else if (!server && (cfg->tls_ca || cfg->ntls_extra_ca))
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
fail:
	if (names)
		sk_X509_NAME_pop_free(names, X509_NAME_free);
	SSL_CTX_free(ctx);
	return NULL;
}

/* Keeps the certificates of every extra CA file, to recognise the anchor a
 * verified chain ends at. */
static int load_anchors(struct sp_transport *t)
{
	for (size_t i = 0; i < t->cfg.ntls_extra_ca; i++) {
		FILE *f = fopen(t->cfg.tls_extra_ca[i], "r");
		X509 *x;
		if (!f)
			return SP_ENOENT;
		while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
			struct sp_tls_anchor *a =
				realloc(t->anchors, (t->nanchors + 1) * sizeof(*t->anchors));
			if (!a) {
				X509_free(x);
				fclose(f);
				return SP_ENOMEM;
			}
			t->anchors = a;
			t->anchors[t->nanchors].cert = x;
			t->anchors[t->nanchors].ca = (int)i;
			t->nanchors++;
		}
		fclose(f);
	}
	ERR_clear_error(); /* PEM_read_X509 ends with "no start line" */
	return 0;
}

int sp_tls_init(struct sp_transport *t, bool server)
{
	ERR_clear_error();
	t->any_ca = t->cfg.tls_ca || t->cfg.ntls_extra_ca;
	if (!t->anchors && load_anchors(t) != 0) {
		sp_log(SP_LOG_ERR, "TLS: cannot read the federation CA files");
		return SP_EINVAL;
	}
	if (server && !t->srv_ctx) {
		t->srv_ctx = make_ctx(t, true);
		if (!t->srv_ctx)
			return SP_EINVAL;
	}
	if (!t->cli_ctx) {
		t->cli_ctx = make_ctx(t, false);
		if (!t->cli_ctx)
			return SP_EINVAL;
	}
	return 0;
}

void sp_tls_fini(struct sp_transport *t)
{
	for (size_t i = 0; i < t->nanchors; i++)
		X509_free(t->anchors[i].cert);
	free(t->anchors);
	t->anchors = NULL;
	t->nanchors = 0;
	sp_transport_tls_expect_clear(t);
	SSL_CTX_free(t->srv_ctx);
	SSL_CTX_free(t->cli_ctx);
	t->srv_ctx = t->cli_ctx = NULL;
}

int sp_tls_conn_start(struct sp_conn *c)
{
	SSL_CTX *ctx = c->incoming ? c->t->srv_ctx : c->t->cli_ctx;
	if (!ctx)
		return SP_ENOENT;
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		return SP_ENOMEM;
	}
	/* Other providers are admitted by their certificate: a peering
	 * listener insists on one whenever there is an anchor to check it. */
	if (c->incoming && c->role == SP_ROLE_PEERING && c->t->any_ca)
		SSL_set_verify(c->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (c->incoming)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	return 0;
}

/* Keeps the verified certificate's DNS subjectAltNames, or its CN when it
 * has none, for sp_rx.tls. */
static void take_names(struct sp_conn *c)
{
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	if (!cert)
		return;
	c->tls_verified = SSL_get_verify_result(c->ssl) == X509_V_OK &&
			  SSL_get_verify_mode(c->ssl) != SSL_VERIFY_NONE;
	size_t n = 0;
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && n < SP_TLS_MAX_SAN; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		const unsigned char *p = ASN1_STRING_get0_data(g->d.dNSName);
		int len = ASN1_STRING_length(g->d.dNSName);
		/* A NUL inside a name is an attack on C strings: skip it. */
		if (len <= 0 || len > SP_TLS_MAX_NAME || memchr(p, 0, (size_t)len))
			continue;
		c->san[n] = strndup((const char *)p, (size_t)len);
		if (c->san[n])
			n++;
	}
	GENERAL_NAMES_free(gens);
	if (n == 0) {
		char cn[SP_TLS_MAX_NAME + 1];
		int len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
						    sizeof(cn));
		if (len > 0 && (size_t)len < sizeof(cn) && strlen(cn) == (size_t)len) {
			c->san[0] = strndup(cn, (size_t)len);
			if (c->san[0])
				n = 1;
		}
	}
	X509_free(cert);
	c->tls.san = (const char *const *)c->san;
	c->tls.nsan = n;
	c->tls.ca = -1;
	if (c->tls_verified) {
		STACK_OF(X509) *chain = SSL_get0_verified_chain(c->ssl);
		int len = chain ? sk_X509_num(chain) : 0;
		X509 *top = len > 0 ? sk_X509_value(chain, len - 1) : NULL;
		for (size_t i = 0; top && i < c->t->nanchors; i++)
			if (X509_cmp(top, c->t->anchors[i].cert) == 0) {
				c->tls.ca = c->t->anchors[i].ca;
				break;
			}
	}
}

static const struct sp_tls_expect *expect_find(const struct sp_transport *t,
					       const struct sp_sockaddr *a)
{
	for (size_t i = 0; i < t->nexpect; i++)
		if (sp_sockaddr_eq(&t->expect[i].addr, a))
			return &t->expect[i];
	return NULL;
}

/* An outgoing connection reached the peer it was meant for: a verified
 * certificate with one of the names expected of that address. */
static bool expected_peer(struct sp_conn *c)
{
	const struct sp_tls_expect *e = expect_find(c->t, &c->peer);
	if (!e)
		return true;
	if (c->tls_verified)
		for (size_t i = 0; i < e->n; i++)
			for (size_t k = 0; k < c->tls.nsan; k++)
				if (sp_tls_name_match(e->names[i], c->tls.san[k]))
					return true;
	uint64_t supp = 0;
	if (sp_log_ratelimit(&c->t->rl_tls, sp_loop_now(c->t->loop), &supp)) {
		char a[SP_SOCKADDR_STRLEN];
		sp_sockaddr_fmt(&c->peer, true, false, a, sizeof(a));
		sp_log(SP_LOG_NOTICE,
		       "TLS to %s: the certificate (%s) is not the peer's (expected %s%s) (%llu similar suppressed)",
		       a, c->tls.nsan ? c->tls.san[0] : "no name", e->names[0],
		       e->n > 1 ? ", ..." : "", (unsigned long long)supp);
	}
	return false;
}

void sp_transport_tls_expect_clear(struct sp_transport *t)
{
	for (size_t i = 0; i < t->nexpect; i++) {
		for (size_t k = 0; k < t->expect[i].n; k++)
			free(t->expect[i].names[k]);
		free(t->expect[i].names);
	}
	free(t->expect);
	t->expect = NULL;
	t->nexpect = 0;
}

int sp_transport_tls_expect(struct sp_transport *t, const struct sp_sockaddr *addr,
			    const char *const *names, size_t n)
{
	struct sp_tls_expect *e = (struct sp_tls_expect *)expect_find(t, addr);
	char **copy = NULL;
	if (n) {
		if (!(copy = calloc(n, sizeof(*copy))))
			return SP_ENOMEM;
		for (size_t i = 0; i < n; i++)
			if (!(copy[i] = strdup(names[i]))) {
				while (i--)
					free(copy[i]);
				free(copy);
				return SP_ENOMEM;
			}
	}
	if (e) {
		for (size_t k = 0; k < e->n; k++)
			free(e->names[k]);
		free(e->names);
		if (!n) {
			*e = t->expect[--t->nexpect];
			return 0;
		}
	} else {
		if (!n)
			return 0;
		struct sp_tls_expect *a = realloc(t->expect, (t->nexpect + 1) * sizeof(*a));
		if (!a) {
			for (size_t i = 0; i < n; i++)
				free(copy[i]);
			free(copy);
			return SP_ENOMEM;
		}
		t->expect = a;
		e = &t->expect[t->nexpect++];
		e->addr = *addr;
	}
	e->names = copy;
	e->n = n;
	return 0;
}

int sp_tls_handshake(struct sp_conn *c)
{
	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		take_names(c);
		if (!c->incoming && !expected_peer(c))
			return SP_EINVAL;
		char a[SP_SOCKADDR_STRLEN];
		sp_sockaddr_fmt(&c->peer, true, false, a, sizeof(a));
		sp_log(SP_LOG_DEBUG, "TLS connection %llu %s %s: %s, peer %s",
		       (unsigned long long)c->id, c->incoming ? "from" : "to", a,
		       SSL_get_version(c->ssl), c->tls.nsan ? c->tls.san[0] : "-");
		return 0;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return SP_EAGAIN;
	long v = SSL_get_verify_result(c->ssl);
	if (v != X509_V_OK) {
		uint64_t supp = 0;
		if (sp_log_ratelimit(&c->t->rl_tls, sp_loop_now(c->t->loop), &supp)) {
			char a[SP_SOCKADDR_STRLEN];
			sp_sockaddr_fmt(&c->peer, true, false, a, sizeof(a));
			sp_log(SP_LOG_NOTICE, "TLS handshake with %s: certificate: %s", a,
			       X509_verify_cert_error_string(v));
		}
		ERR_clear_error();
	} else {
		log_ssl_errors(c->t, "handshake with", &c->peer);
	}
	return SP_EINVAL;
}

ssize_t sp_tls_read(struct sp_conn *c, char *buf, size_t len)
{
	size_t got = 0;
	ERR_clear_error();
	int r = SSL_read_ex(c->ssl, buf, len, &got);
	if (r == 1)
		return (ssize_t)got;
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return SP_EAGAIN;
	if (e == SSL_ERROR_WANT_WRITE) {
		c->read_wants_write = true;
		return SP_EAGAIN;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	ERR_clear_error();
	return SP_ENOENT;
}

ssize_t sp_tls_write(struct sp_conn *c, const char *buf, size_t len)
{
	size_t put = 0;
	ERR_clear_error();
	int r = SSL_write_ex(c->ssl, buf, len, &put);
	if (r == 1)
		return (ssize_t)put;
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return SP_EAGAIN;
	ERR_clear_error();
	return SP_ENOENT;
}

void sp_tls_conn_free(struct sp_conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	for (size_t i = 0; i < SP_TLS_MAX_SAN; i++) {
		free(c->san[i]);
		c->san[i] = NULL;
	}
	c->tls.nsan = 0;
}
