/* tokens.h: comma-separated token lists (Require, Supported, Allow...) and the Privacy header. */
#ifndef SP_SIP_TOKENS_H
#define SP_SIP_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

/* sp_token_span returns how many token bytes start at index i (0 if none). */
size_t sp_token_span(struct sp_str s, size_t i);

/* LWS (folding included) is skipped with sp_lws_skip of sip/lws.h. */

/* sp_token_list_next reads the next token of a list `token *(COMMA token)`
 * from *cur (initially the whole header value) and advances *cur past it and
 * past the comma after it. *tok is a slice of the input.
 * Returns 0, SP_ENOENT when *cur holds nothing more than LWS, or SP_EINVAL when
 * the next element is not a token or is not followed by a comma or the end
 * (empty elements "a,,b" and a trailing comma are refused). */
int sp_token_list_next(struct sp_str *cur, struct sp_str *tok);

/* sp_token_list_check validates a whole `1#token` value: Require,
 * Proxy-Require, Unsupported, Allow-Events, Content-Encoding, Allow (methods
 * are tokens). An empty value is refused: Supported and Allow, whose grammar
 * allows an empty value, must test value.len == 0 before calling. */
int sp_token_list_check(struct sp_str value);

/* Privacy header values (RFC 3323 section 4.2, "id" from RFC 3325). */
enum sp_privacy {
	SP_PRIV_HEADER = 1u << 0,
	SP_PRIV_SESSION = 1u << 1,
	SP_PRIV_USER = 1u << 2,
	SP_PRIV_NONE = 1u << 3,
	SP_PRIV_CRITICAL = 1u << 4,
	SP_PRIV_ID = 1u << 5,
	SP_PRIV_OTHER = 1u << 6, /* some other (extension) token was present */
};

/* sp_privacy_parse parses `priv-value *(";" priv-value)` (names
 * case-insensitive, LWS tolerated around ';') and sets *flags to the union of
 * enum sp_privacy bits. Combinations such as "none;user" are not judged here:
 * that is policy. Returns 0 or SP_EINVAL (empty value, bad token). */
int sp_privacy_parse(struct sp_str value, unsigned *flags);

#endif
