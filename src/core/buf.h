/* buf.h: a growable byte buffer with a hard maximum size, for building output. */
#ifndef SP_CORE_BUF_H
#define SP_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/str.h"

/* The buffer owns p (heap). Appends that would grow len past max fail with
 * SP_E2BIG and leave the buffer as it was. An optional caller-provided
 * initial storage (sp_buf_init_static) avoids any heap use until it overflows. */
struct sp_buf {
	char *p;
	size_t len;
	size_t cap;
	size_t max;
	char *fixed; /* caller storage, not freed */
};

void sp_buf_init(struct sp_buf *b, size_t max);
void sp_buf_init_static(struct sp_buf *b, char *storage, size_t size, size_t max);
void sp_buf_free(struct sp_buf *b);
void sp_buf_reset(struct sp_buf *b);
int sp_buf_reserve(struct sp_buf *b, size_t extra);
int sp_buf_append(struct sp_buf *b, const void *p, size_t len);
int sp_buf_append_str(struct sp_buf *b, struct sp_str s);
int sp_buf_append_c(struct sp_buf *b, const char *cstr);
int sp_buf_append_u64(struct sp_buf *b, unsigned long long v);
int sp_buf_printf(struct sp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline struct sp_str sp_buf_str(const struct sp_buf *b)
{
	return sp_str_make(b->p, b->len);
}

#endif
