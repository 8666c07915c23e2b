/* ctype.h: the Content-Type header's media-type (RFC 3261 section 20.15 and 25.1). */
#ifndef SP_SIP_CTYPE_H
#define SP_SIP_CTYPE_H

#include <stdbool.h>

#include "core/str.h"

/* A parsed media-type. Slices point into the parsed value; nothing is owned.
 * params is the raw parameter list from its first ';' ({NULL, 0} when there
 * is none), in SP_PARAM_HEADER grammar: look parameters up with
 * sp_param_find(ct.params, SP_PARAM_HEADER, "charset", &v); a quoted value
 * comes back with its quotes. */
struct sp_ctype {
	struct sp_str type;
	struct sp_str subtype;
	struct sp_str params;
};

/* sp_ctype_parse parses `m-type SLASH m-subtype *(SEMI m-attribute EQUAL
 * m-value)` where m-value is a token or a quoted-string. Returns 0, SP_EINVAL,
 * or SP_E2BIG (more than SP_PARAM_MAX parameters). */
int sp_ctype_parse(struct sp_str value, struct sp_ctype *out);

/* sp_ctype_is compares type and subtype case-insensitively; subtype NULL
 * matches any subtype. No wildcard matching: "*" is compared as written. */
bool sp_ctype_is(const struct sp_ctype *ct, const char *type, const char *subtype);

#endif
