/* str.h: string slices (pointer + length) into buffers owned by someone else. */
#ifndef SP_CORE_STR_H
#define SP_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A slice never owns its bytes and is never NUL-terminated by contract. */
struct sp_str {
	const char *p;
	size_t len;
};

#define SP_STR(lit) ((struct sp_str){ (lit), sizeof(lit) - 1 })
#define SP_STR_NULL ((struct sp_str){ NULL, 0 })
/* For printf: printf("%.*s", SP_STR_FMT(s)). */
#define SP_STR_FMT(s) (int)(s).len, (s).p

static inline struct sp_str sp_str_make(const char *p, size_t len)
{
	struct sp_str s = { p, len };
	return s;
}

struct sp_str sp_str_cstr(const char *cstr);
bool sp_str_eq(struct sp_str a, struct sp_str b);
bool sp_str_caseeq(struct sp_str a, struct sp_str b);
/* Case-insensitive compare with a NUL-terminated literal. */
bool sp_str_caseeq_c(struct sp_str a, const char *lit);
bool sp_str_eq_c(struct sp_str a, const char *lit);
/* The same against a string literal, without strlen. */
#define sp_str_caseeq_l(s, lit) sp_str_caseeq((s), SP_STR(lit))
bool sp_str_has_prefix_case(struct sp_str s, const char *lit);
/* Trims SP, HTAB, CR and LF on both ends. */
struct sp_str sp_str_trim(struct sp_str s);
/* Returns the index of the first c in s, or -1. */
ptrdiff_t sp_str_chr(struct sp_str s, char c);

/* Parses an unsigned decimal of 1..n digits with no sign or space; fails with
 * SP_ERANGE when the value exceeds max and SP_EINVAL on any other byte. */
int sp_str_to_u32(struct sp_str s, uint32_t max, uint32_t *out);
int sp_str_to_u64(struct sp_str s, uint64_t max, uint64_t *out);

#endif
