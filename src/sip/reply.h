/* reply.h: building responses to a parsed request (RFC 3261 section 8.2.6). */
#ifndef SP_SIP_REPLY_H
#define SP_SIP_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"
#include "sip/msg.h"

/* sp_reply_build appends to out a response to req:
 *   SIP/2.0 <status> <reason>
 *   every Via line of req, verbatim and in order (filling in received/rport
 *     is the caller's job: parse the built response and set them on its top
 *     Via with sp_edit_param_set, or build from a request already edited),
 *   From, verbatim,
 *   To, verbatim, with ";tag=<to_tag>" appended when it has no tag, to_tag
 *     is not empty and status > 100,
 *   Call-ID and CSeq, verbatim,
 *   Timestamp, verbatim, for 100 only (RFC 3261 section 8.2.6.1),
 *   the extra headers ("Name: value" without CRLF; NULL when n_extra is 0),
 *   Content-Length: 0 and the blank line.
 * reason NULL picks the standard phrase of status. Returns 0, SP_EINVAL
 * (req is not a request or is an ACK, status outside 100..699, a reason or
 * extra header holding CR/LF or control bytes, Via/From/To/Call-ID/CSeq
 * missing), SP_E2BIG or SP_ENOMEM; out is left as it was on failure. Only the
 * first line of From, To, Call-ID and CSeq is used. The output owns no
 * reference to req. */
int sp_reply_build(struct sp_msg *req, uint16_t status, const char *reason, struct sp_str to_tag,
		   const struct sp_str *extra_headers, size_t n_extra, struct sp_buf *out);

/* sp_reply_error appends to out the stateless answer to a request refused by
 * sp_msg_parse or sp_msg_validate: status err->status (400 when it is not a
 * 4xx-6xx), err->reason as the reason phrase and in
 * `Warning: 399 sipeer "<reason>"` (control bytes become spaces; '"' and '\'
 * are escaped in the Warning), and a To tag derived from the request
 * (Call-ID, From tag, top Via branch, CSeq) so that a retransmission gets the
 * same tag (RFC 3261 section 8.2.7). It uses whatever headers are present:
 * the top Via must parse and From, To, Call-ID and CSeq must be present,
 * else nothing can be addressed and it returns SP_EINVAL. A To that does not
 * parse is copied without a tag. */
int sp_reply_error(struct sp_msg *req, const struct sp_sip_error *err, struct sp_buf *out);

/* sp_reply_phrase returns the standard reason phrase of a status code, or
 * a generic one for its class ("Client Error"...). */
const char *sp_reply_phrase(uint16_t status);

#endif
