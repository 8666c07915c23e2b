/* hdr.h: the header fields sipeer knows by name: ids, full and compact names. */
#ifndef SP_SIP_HDR_H
#define SP_SIP_HDR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

/* Known header fields. SP_HDR_OTHER is any other (kept, never refused for its
 * name). The order is not part of any contract. */
enum sp_hdr_id {
	SP_HDR_OTHER = 0,
	SP_HDR_VIA,                 /* v */
	SP_HDR_FROM,                /* f */
	SP_HDR_TO,                  /* t */
	SP_HDR_CALL_ID,             /* i */
	SP_HDR_CSEQ,
	SP_HDR_MAX_FORWARDS,
	SP_HDR_CONTACT,             /* m */
	SP_HDR_ROUTE,
	SP_HDR_RECORD_ROUTE,
	SP_HDR_CONTENT_LENGTH,      /* l */
	SP_HDR_CONTENT_TYPE,        /* c */
	SP_HDR_CONTENT_ENCODING,    /* e */
	SP_HDR_EXPIRES,
	SP_HDR_MIN_EXPIRES,
	SP_HDR_AUTHORIZATION,
	SP_HDR_PROXY_AUTHORIZATION,
	SP_HDR_WWW_AUTHENTICATE,
	SP_HDR_PROXY_AUTHENTICATE,
	SP_HDR_REQUIRE,
	SP_HDR_PROXY_REQUIRE,
	SP_HDR_SUPPORTED,           /* k */
	SP_HDR_UNSUPPORTED,
	SP_HDR_ALLOW,
	SP_HDR_P_ASSERTED_IDENTITY,
	SP_HDR_P_PREFERRED_IDENTITY,
	SP_HDR_PRIVACY,
	SP_HDR_IDENTITY,            /* y */
	SP_HDR_REASON,
	SP_HDR_RETRY_AFTER,
	SP_HDR_DATE,
	SP_HDR_PATH,
	SP_HDR_SUBJECT,             /* s */
	SP_HDR_EVENT,               /* o */
	SP_HDR_ALLOW_EVENTS,        /* u */
	SP_HDR_REFER_TO,            /* r */
	SP_HDR_REFERRED_BY,         /* b */
	SP_HDR_SESSION_EXPIRES,     /* x */
	SP_HDR_WARNING,
	SP_HDR_TIMESTAMP,
	SP_HDR_CALL_INFO,
	SP_HDR_ACCEPT,
	SP_HDR__COUNT
};

/* sp_hdr_lookup maps a header name (full or compact, any case) to its id. */
enum sp_hdr_id sp_hdr_lookup(struct sp_str name);

/* sp_hdr_name returns the canonical full name of a known id ("Via"...). */
const char *sp_hdr_name(enum sp_hdr_id id);

/* sp_hdr_is_list says whether the field's grammar allows several
 * comma-separated values on one line (Via, Contact, Route, Require...). */
bool sp_hdr_is_list(enum sp_hdr_id id);

/* sp_hdr_is_single says whether a message may carry the field only once
 * (From, To, Call-ID, CSeq, Max-Forwards, Content-Length, ...): a second
 * occurrence, or a comma-separated second value, makes the message invalid. */
bool sp_hdr_is_single(enum sp_hdr_id id);

/* sp_hdr_check validates one header field value of a known id against its
 * grammar. Returns 0, SP_EINVAL or SP_ERANGE (a number over its limit). */
int sp_hdr_check(enum sp_hdr_id id, struct sp_str value);

#endif
