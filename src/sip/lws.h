/* lws.h: skipping linear white space inside header values (folding already checked). */
#ifndef SP_SIP_LWS_H
#define SP_SIP_LWS_H

#include "core/charset.h"
#include "core/str.h"

/* Header values reach the value parsers with their folding intact; the
 * message indexer has already checked that every CR/LF inside a value is
 * part of CRLF 1*WSP, so here CR and LF simply count as white space. */
static inline size_t sp_lws_skip(struct sp_str s, size_t i)
{
	while (i < s.len && sp_is_lws(s.p[i]))
		i++;
	return i;
}

static inline struct sp_str sp_str_from(struct sp_str s, size_t i)
{
	return sp_str_make(s.p + i, s.len - i);
}

#endif
