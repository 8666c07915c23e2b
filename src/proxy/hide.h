/* hide.h: private to src/proxy/: sealed tokens that carry hidden addresses (topology hiding) in URIs we hand to other providers. */
#ifndef SP_PROXY_HIDE_H
#define SP_PROXY_HIDE_H

#include <stddef.h>

#include "core/str.h"

/* What goes through the peering side must not show the provider's inner
 * addresses (user devices' Contacts, inner Record-Route hops), yet
 * in-dialog requests must find them again, also after a restart. So the
 * addresses travel with the dialog, sealed: ChaCha20-Poly1305 under a key
 * derived from auth.secret, with the Call-ID as associated data (a token
 * opens only in its own dialog), written as base64url so it fits in a URI
 * parameter. No state is kept; a restart with the same secret opens them. */

#define SP_HIDE_PLAIN_MAX 1024 /* longest hidden text */
#define SP_HIDE_TOKEN_MAX 1400 /* longest token (base64url of nonce, text, tag) */

/* Seals plain into out (NUL-terminated). Returns 0, SP_E2BIG (plain over
 * SP_HIDE_PLAIN_MAX or out too small) or SP_ENOMEM. */
int sp_hide_seal(const char *secret, struct sp_str call_id, struct sp_str plain, char *out,
		 size_t size);

/* Opens a token into out (NUL-terminated, *len without the NUL). Returns 0,
 * or SP_EINVAL for anything not sealed by us for this Call-ID. */
int sp_hide_open(const char *secret, struct sp_str call_id, struct sp_str token, char *out,
		 size_t size, size_t *len);

#endif
