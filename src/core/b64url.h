/* b64url.h: base64url without padding (RFC 4648 section 5), for tokens carried in SIP parameters. */
#ifndef SP_CORE_B64URL_H
#define SP_CORE_B64URL_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* Characters sp_b64url_encode writes for n bytes (no NUL counted). */
#define SP_B64URL_LEN(n) (((n) * 4 + 2) / 3)

/* Encodes in[0..n) into out (SP_B64URL_LEN(n) characters, not
 * NUL-terminated); returns that length. */
size_t sp_b64url_encode(const uint8_t *in, size_t n, char *out);

/* Decodes s into out (at most size bytes), setting *len. Refuses any other
 * character, a length that no byte count gives, and non-zero padding bits,
 * so exactly one text maps to each byte string: SP_EINVAL, or SP_E2BIG when
 * out is too small. */
int sp_b64url_decode(struct sp_str s, uint8_t *out, size_t size, size_t *len);

#endif
