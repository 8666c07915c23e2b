/* b64url.c: base64url without padding: one encoder and one strict decoder for every token. */
#include "core/b64url.h"

#include "core/err.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

size_t sp_b64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i) {
		uint32_t v = (uint32_t)in[i] << 16 | (n - i == 2 ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		if (n - i == 2)
			out[o++] = alphabet[v >> 6 & 63];
	}
	return o;
}

int sp_b64url_decode(struct sp_str s, uint8_t *out, size_t size, size_t *len)
{
	size_t o = 0;
	uint32_t v = 0;
	unsigned bits = 0;
	if (s.len % 4 == 1)
		return SP_EINVAL;
	for (size_t i = 0; i < s.len; i++) {
		int d = value((unsigned char)s.p[i]);
		if (d < 0)
			return SP_EINVAL;
		v = v << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= size)
				return SP_E2BIG;
			out[o++] = (uint8_t)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	if (v != 0) /* padding bits must be zero: one text per byte string */
		return SP_EINVAL;
	*len = o;
	return 0;
}
