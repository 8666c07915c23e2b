/* number.c: E.164 normalization with the provider's national and international prefixes. */
#include "routing/number.h"

#include <string.h>

static bool is_visual(char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')' || c == ' ';
}

static bool has_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return n > 0 && strncmp(s, prefix, n) == 0;
}

bool sp_number_normalize(const struct sp_numbering *plan, struct sp_str user, char *out,
			 size_t size)
{
	char digits[SP_NUMBER_MAX + 1];
	size_t n = 0;
	bool plus = false;

	for (size_t i = 0; i < user.len; i++) {
		char c = user.p[i];
		if (i == 0 && c == '+') {
			plus = true;
			continue;
		}
		if (is_visual(c))
			continue;
		if (c < '0' || c > '9' || n >= SP_NUMBER_MAX)
			return false;
		digits[n++] = c;
	}
	if (n == 0 || size < n + 2 + sizeof(plan->country_code))
		return false;
	digits[n] = '\0';
	if (plus) {
		out[0] = '+';
		memcpy(out + 1, digits, n + 1);
	} else if (has_prefix(digits, plan->international_prefix)) {
		size_t skip = strlen(plan->international_prefix);
		out[0] = '+';
		memcpy(out + 1, digits + skip, n - skip + 1);
	} else if (has_prefix(digits, plan->national_prefix) && plan->country_code[0]) {
		size_t skip = strlen(plan->national_prefix);
		size_t cc = strlen(plan->country_code);
		out[0] = '+';
		memcpy(out + 1, plan->country_code, cc);
		memcpy(out + 1 + cc, digits + skip, n - skip + 1);
	} else {
		memcpy(out, digits, n + 1);
	}
	return true;
}
