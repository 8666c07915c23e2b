/* misc_hdr.h: small header grammars: Retry-After, Reason, Identity, Event, Session-Expires, Subject. */
#ifndef SP_SIP_MISC_HDR_H
#define SP_SIP_MISC_HDR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

/* All parsers below take a header value as the message indexer gives it
 * (trimmed, folding allowed wherever LWS is), fill their out-params with
 * slices of that value (nothing is owned or allocated) only on success, and
 * return 0, SP_EINVAL (malformed), SP_ERANGE (a number over 2^32-1) or
 * SP_E2BIG (more than SP_PARAM_MAX parameters). Raw parameter lists
 * (`params`) start at their first ';' and follow SP_PARAM_HEADER grammar,
 * for sp_param_find; {NULL, 0} when there is none. */

/* Deepest nesting of parentheses accepted in a Retry-After comment. */
#define SP_COMMENT_MAX_DEPTH 8

/* sp_retry_after_parse parses `delta-seconds [comment] *(SEMI retry-param)`
 * (RFC 3261 section 20.33), retry-param being duration=delta-seconds or a
 * generic-param. Sets *seconds; *comment (when not NULL) to the comment with
 * its parentheses or {NULL, 0}; *duration (when not NULL) to the duration
 * parameter or 0 when absent. */
int sp_retry_after_parse(struct sp_str value, uint32_t *seconds, struct sp_str *comment,
			 uint32_t *duration);

/* One reason-value of a Reason header (RFC 3326): protocol ("SIP", "Q.850",
 * or another token); cause when has_cause; text with its quotes stripped but
 * escapes left in place ({NULL, 0} when absent); params raw. */
struct sp_reason {
	struct sp_str protocol;
	bool has_cause;
	uint32_t cause;
	struct sp_str text;
	struct sp_str params;
};

/* sp_reason_next reads the next reason-value of a comma-separated Reason
 * value from *cur (initially the whole value) and advances *cur past it and
 * its comma. cause must be digits, text a quoted-string, neither twice.
 * Returns 0, SP_ENOENT when *cur holds nothing more, or an error. */
int sp_reason_next(struct sp_str *cur, struct sp_reason *out);

/* sp_reason_check validates a whole Reason value (at least one value). */
int sp_reason_check(struct sp_str value);

/* A parsed Identity header (RFC 8224 section 9). digest is the PASSporT in
 * compact JWS form, split into its three base64url parts (payload empty
 * when the claims were left out, RFC 8224 section 7.2). info is the URI
 * without its angle brackets; alg and ppt are given without quotes, {NULL, 0}
 * when absent. */
struct sp_identity {
	struct sp_str digest;
	struct sp_str jws_header;
	struct sp_str jws_payload;
	struct sp_str jws_signature;
	struct sp_str info;
	struct sp_str alg;
	struct sp_str ppt;
	struct sp_str params;
};

/* sp_identity_parse parses `signed-identity-digest SEMI ident-info *(SEMI
 * ident-info-params)`. The digest must have exactly two dots with non-empty
 * header and signature parts of base64url (the RFC's "+" and "/" are
 * accepted too); info=<absoluteURI> is mandatory (in any position); info,
 * alg and ppt may appear once each; ppt is a token, or a quoted-string as
 * some signers send it. */
int sp_identity_parse(struct sp_str value, struct sp_identity *out);

/* A parsed Event header (RFC 6665 section 8.4): type is event-package
 * *("." event-template); id is the id parameter or {NULL, 0}. */
struct sp_event {
	struct sp_str type;
	struct sp_str id;
	struct sp_str params;
};

/* sp_event_parse parses `event-type *(SEMI event-param)`; id must be a token. */
int sp_event_parse(struct sp_str value, struct sp_event *out);

/* sp_event_check validates an Event value without keeping its parts. */
int sp_event_check(struct sp_str value);

/* The refresher parameter of Session-Expires (RFC 4028 section 4). */
enum sp_refresher {
	SP_REFRESHER_NONE = 0, /* absent: to be chosen by the negotiation */
	SP_REFRESHER_UAC,
	SP_REFRESHER_UAS,
};

/* sp_session_expires_parse parses `delta-seconds *(SEMI se-params)` and sets
 * *seconds and *refresher (when not NULL); refresher must be uac or uas
 * (case-insensitive) and appear once. The RFC 4028 minimum of 90 seconds is
 * policy (422 Session Interval Too Small) and is not checked here. */
int sp_session_expires_parse(struct sp_str value, uint32_t *seconds,
			     enum sp_refresher *refresher);

/* sp_subject_check validates a Subject value: empty, or TEXT-UTF8 (printable
 * US-ASCII, UTF-8 sequences and LWS). */
int sp_subject_check(struct sp_str value);

#endif
