/* buf.c: growable byte buffer with a hard cap. */
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void sp_buf_init(struct sp_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void sp_buf_init_static(struct sp_buf *b, char *storage, size_t size, size_t max)
{
	sp_buf_init(b, max);
	b->p = storage;
	b->fixed = storage;
	b->cap = size;
}

void sp_buf_free(struct sp_buf *b)
{
	if (b->p != b->fixed)
		free(b->p);
	b->p = b->fixed;
	b->cap = b->fixed ? b->cap : 0;
	b->len = 0;
}

void sp_buf_reset(struct sp_buf *b)
{
	b->len = 0;
}

int sp_buf_reserve(struct sp_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return SP_E2BIG;
	size_t need = b->len + extra;
	if (need <= b->cap)
		return 0;
	size_t ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max)
		ncap = b->max;
	char *np;
	if (b->p == b->fixed) {
		np = malloc(ncap);
		if (np && b->len)
			memcpy(np, b->p, b->len);
	} else {
		np = realloc(b->p, ncap);
	}
	if (!np)
		return SP_ENOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

int sp_buf_append(struct sp_buf *b, const void *p, size_t len)
{
	int err = sp_buf_reserve(b, len);
	if (err)
		return err;
	if (len)
		memcpy(b->p + b->len, p, len);
	b->len += len;
	return 0;
}

int sp_buf_append_str(struct sp_buf *b, struct sp_str s)
{
	return sp_buf_append(b, s.p, s.len);
}

int sp_buf_append_c(struct sp_buf *b, const char *cstr)
{
	return sp_buf_append(b, cstr, strlen(cstr));
}

int sp_buf_append_u64(struct sp_buf *b, unsigned long long v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return sp_buf_append(b, tmp + sizeof(tmp) - n, n);
}

int sp_buf_printf(struct sp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return SP_EINVAL;
	/* One more byte for vsnprintf's terminator; it is not counted in len. */
	int err = sp_buf_reserve(b, (size_t)n + 1);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}
