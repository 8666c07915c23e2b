/* param.h: generic ";name=value" parameter lists of SIP headers and URIs. */
#ifndef SP_SIP_PARAM_H
#define SP_SIP_PARAM_H

#include "core/str.h"

/* Parameter lists are kept as one raw slice (starting at the first ';', or
 * empty) and searched on demand, so nothing is allocated per parameter. */

/* Which grammar a parameter list follows. */
enum sp_param_kind {
	SP_PARAM_HEADER, /* generic-param of header fields: token [ = token / host / quoted-string ] */
	SP_PARAM_URI,    /* uri-parameter: paramchar names and values, no quoting, no LWS */
};

/* The most parameters one list may carry before it is refused. */
#define SP_PARAM_MAX 64

/* sp_param_next reads one parameter from *cur, which must start with ';'
 * (after optional LWS for header lists), and advances *cur past it.
 * name and value are slices of the input; a parameter without '=' gives
 * value = {NULL, 0}; a quoted value is returned with its quotes.
 * Returns 0, SP_ENOENT when *cur holds no more parameters (empty, or the next
 * byte is not ';'), or SP_EINVAL when the parameter is malformed. */
int sp_param_next(struct sp_str *cur, enum sp_param_kind kind, struct sp_str *name,
		  struct sp_str *value);

/* sp_param_list_check checks a whole list: every parameter well-formed, at
 * most SP_PARAM_MAX of them; when the list is a URI's, no duplicates. */
int sp_param_list_check(struct sp_str params, enum sp_param_kind kind);

/* sp_param_find looks name up (case-insensitive) in a raw list already
 * checked. Returns 0 and sets *value (possibly {NULL,0} for a flag parameter),
 * or SP_ENOENT. value may be NULL when only presence matters. */
int sp_param_find(struct sp_str params, enum sp_param_kind kind, const char *name,
		  struct sp_str *value);

/* sp_param_find_s is sp_param_find with the name as a slice, which may be
 * %-escaped for URI lists (from another URI being compared). */
int sp_param_find_s(struct sp_str params, enum sp_param_kind kind, struct sp_str name,
		    struct sp_str *value);

/* sp_param_escaped_eq compares two slices after decoding their %HH escapes
 * (RFC 3261 19.1.4: escaped and unescaped characters are equivalent),
 * ASCII case-insensitively when icase. */
bool sp_param_escaped_eq(struct sp_str a, struct sp_str b, bool icase);

/* sp_quoted_scan checks a quoted-string at the start of s (s.p[0] == '"'),
 * handling quoted-pair escapes, and returns its length including both quotes
 * in *len. Returns SP_EINVAL when it is unterminated or holds a bad byte. */
int sp_quoted_scan(struct sp_str s, size_t *len);

#endif
