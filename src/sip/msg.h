/* msg.h: a parsed SIP message: start line, indexed headers, body, lazy header parsing. */
#ifndef SP_SIP_MSG_H
#define SP_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "sip/addr.h"
#include "sip/hdr.h"
#include "sip/uri.h"
#include "sip/via.h"

/* Limits (DESIGN.md "Limits"). Crossing one makes the message invalid. */
#define SP_MSG_MAX_LEN 65535u       /* bytes of one message */
#define SP_MSG_MAX_HDRS 256u        /* header lines */
#define SP_MSG_MAX_HDR_LINE 8192u   /* bytes of one header field, folding included */
#define SP_MSG_MAX_CSEQ 2147483647u /* RFC 3261 section 8.1.1.5: less than 2^31 */

enum sp_method {
	SP_METHOD_OTHER = 0,
	SP_METHOD_INVITE,
	SP_METHOD_ACK,
	SP_METHOD_BYE,
	SP_METHOD_CANCEL,
	SP_METHOD_OPTIONS,
	SP_METHOD_REGISTER,
	SP_METHOD_MESSAGE,
	SP_METHOD_SUBSCRIBE,
	SP_METHOD_NOTIFY,
	SP_METHOD_PUBLISH,
	SP_METHOD_INFO,
	SP_METHOD_UPDATE,
	SP_METHOD_PRACK,
	SP_METHOD_REFER,
};

enum sp_method sp_method_lookup(struct sp_str name);

/* Why a message was refused: the status a server should answer (400, 413,
 * 416, 505...) and a short static reason for the reason phrase, a Warning
 * and the log. */
struct sp_sip_error {
	uint16_t status;
	const char *reason;
};

/* One header line as found in the message. value is trimmed of the leading
 * and trailing LWS and may contain folding (CRLF followed by SP/HTAB), which
 * every value parser treats as LWS. line covers the header from its name to
 * its terminating CRLF included (used by the editor). */
struct sp_hdr {
	struct sp_str name;
	struct sp_str value;
	uint32_t line_off;
	uint32_t line_len;
	uint8_t id;     /* enum sp_hdr_id */
	int16_t next;   /* index of the next header with the same id, or -1 */
};

enum sp_parse_flags {
	/* The bytes are one UDP datagram: a missing Content-Length means "the
	 * rest of the datagram", and bytes past Content-Length are discarded
	 * (RFC 3261 section 18.3). Without it (stream), Content-Length is
	 * required and the buffer must hold exactly one framed message. */
	SP_PARSE_DATAGRAM = 1 << 0,
};

/* A parsed message. Every slice points into buf, which the caller keeps alive
 * (and unmodified) for as long as the message is used. sp_msg_parse fills
 * the start line, the header index and the body; the parsed forms of the
 * common headers are computed on first use by the accessors below and cached
 * in the struct. The struct is large (the header index is inline, so parsing
 * never allocates): keep it off small stacks. */
struct sp_msg {
	const char *buf;
	size_t len;           /* end of this message in buf: the offset just past the body
			       * (CRLFs tolerated before the start line are inside it) */
	bool request;

	struct sp_str start_line; /* without CRLF */
	struct sp_str method;     /* request: method; response: empty */
	enum sp_method method_id;
	struct sp_str ruri_raw;
	struct sp_str version;    /* "SIP/2.0" */
	uint16_t status;          /* response only */
	struct sp_str reason;     /* response only, may be empty */

	uint32_t hdrs_end;        /* offset of the blank line ending the headers */
	struct sp_str body;
	int64_t content_length;   /* -1 when the header is absent */

	uint16_t nhdrs;
	int16_t first[SP_HDR__COUNT];
	int16_t last[SP_HDR__COUNT];
	struct sp_hdr hdr[SP_MSG_MAX_HDRS];

	/* Lazy caches: bit i of parsed/bad says field i was parsed/found bad. */
	uint32_t parsed;
	uint32_t bad;
	struct sp_uri ruri;
	struct sp_via via;
	struct sp_addr from;
	struct sp_addr to;
	struct sp_addr contact;
	struct sp_cseq {
		uint32_t num;
		struct sp_str method;
		enum sp_method method_id;
	} cseq;
	uint32_t max_forwards;
};

/* sp_cseq_parse parses a CSeq value: a number under 2^31, LWS, a method. */
int sp_cseq_parse(struct sp_str value, struct sp_cseq *out);

/* sp_msg_parse parses buf[0..len) into *m: the start line, every header line
 * (name identified, value delimited, folding checked, limits enforced), the
 * Content-Length and the body. It does not parse header values beyond
 * Content-Length; call sp_msg_validate for a full check. Returns 0, or
 * SP_EINVAL / SP_E2BIG with *err set (status and reason). */
int sp_msg_parse(struct sp_msg *m, const char *buf, size_t len, unsigned flags,
		 struct sp_sip_error *err);

/* sp_msg_validate checks what a well-formed message needs beyond framing:
 * the mandatory headers (Via, From, To, Call-ID, CSeq, and Max-Forwards
 * where RFC 3261 says), single-valued fields not repeated, CSeq method equal
 * to the request method, every known header's value against its grammar,
 * and an application/sdp body against RFC 8866. Returns 0 or SP_EINVAL with
 * *err set. */
int sp_msg_validate(struct sp_msg *m, struct sp_sip_error *err);

/* Header index. */
const struct sp_hdr *sp_msg_hdr(const struct sp_msg *m, enum sp_hdr_id id);
const struct sp_hdr *sp_msg_hdr_next(const struct sp_msg *m, const struct sp_hdr *h);
/* Looks a header up by name (full or compact); works for unknown names too. */
const struct sp_hdr *sp_msg_hdr_by_name(const struct sp_msg *m, struct sp_str name);
unsigned sp_msg_hdr_count(const struct sp_msg *m, enum sp_hdr_id id);

/* Lazy accessors: parse on first use, cache, return NULL when the header is
 * absent or malformed. The returned pointers live as long as *m. */
const struct sp_uri *sp_msg_ruri(struct sp_msg *m);
const struct sp_via *sp_msg_via(struct sp_msg *m);       /* the topmost Via value */
const struct sp_addr *sp_msg_from(struct sp_msg *m);
const struct sp_addr *sp_msg_to(struct sp_msg *m);
const struct sp_addr *sp_msg_contact(struct sp_msg *m);  /* the first Contact value */
const struct sp_cseq *sp_msg_cseq(struct sp_msg *m);
struct sp_str sp_msg_call_id(struct sp_msg *m);          /* {NULL,0} when absent */
/* Max-Forwards: 0 and *out set, SP_ENOENT when absent, SP_EINVAL/SP_ERANGE. */
int sp_msg_max_forwards(struct sp_msg *m, uint32_t *out);

#endif
