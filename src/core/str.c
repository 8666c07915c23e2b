/* str.c: string slice helpers: comparison, trimming and bounded number parsing. */
#include "core/str.h"

#include <string.h>

#include "core/charset.h"
#include "core/err.h"

struct sp_str sp_str_cstr(const char *cstr)
{
	return sp_str_make(cstr, cstr ? strlen(cstr) : 0);
}

bool sp_str_eq(struct sp_str a, struct sp_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool sp_str_caseeq(struct sp_str a, struct sp_str b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (sp_lower(a.p[i]) != sp_lower(b.p[i]))
			return false;
	return true;
}

bool sp_str_caseeq_c(struct sp_str a, const char *lit)
{
	return sp_str_caseeq(a, sp_str_cstr(lit));
}

bool sp_str_eq_c(struct sp_str a, const char *lit)
{
	return sp_str_eq(a, sp_str_cstr(lit));
}

bool sp_str_has_prefix_case(struct sp_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len >= n && sp_str_caseeq(sp_str_make(s.p, n), sp_str_make(lit, n));
}

struct sp_str sp_str_trim(struct sp_str s)
{
	while (s.len && sp_is_lws(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && sp_is_lws(s.p[s.len - 1]))
		s.len--;
	return s;
}

ptrdiff_t sp_str_chr(struct sp_str s, char c)
{
	const char *q = s.len ? memchr(s.p, c, s.len) : NULL;
	return q ? q - s.p : -1;
}

int sp_str_to_u64(struct sp_str s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s.len == 0)
		return SP_EINVAL;
	for (size_t i = 0; i < s.len; i++) {
		if (!sp_is_digit(s.p[i]))
			return SP_EINVAL;
		unsigned d = (unsigned)(s.p[i] - '0');
		/* Check before multiplying so the value never wraps. */
		if (v > (max - d) / 10)
			return SP_ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int sp_str_to_u32(struct sp_str s, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int err = sp_str_to_u64(s, max, &v);
	if (err)
		return err;
	*out = (uint32_t)v;
	return 0;
}
