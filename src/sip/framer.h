/* framer.h: splits a SIP byte stream (TCP, TLS) into messages and RFC 5626 keep-alives. */
#ifndef SP_SIP_FRAMER_H
#define SP_SIP_FRAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Used when sp_framer_init is given 0: a little above the 65535 bytes the
 * message parser accepts, so the parser, not the framer, names the limit. */
#define SP_FRAMER_DEFAULT_MAX 65536u

enum sp_frame_kind {
	/* A start line, headers up to the blank line, Content-Length body bytes. */
	SP_FRAME_MESSAGE,
	/* CRLF CRLF between messages (RFC 5626 section 3.5.1): a client's
	 * keep-alive; a server answers it with a single CRLF. 4 bytes. */
	SP_FRAME_KEEPALIVE_PING,
	/* One empty line between messages: the CRLF pong of RFC 5626, or a stray
	 * CRLF (or bare LF) before a start line, which RFC 3261 section 7.5 says
	 * to ignore. 2 bytes (1 for a bare LF). */
	SP_FRAME_KEEPALIVE_PONG,
};

/* Resumable state for one connection's stream. The transport owns the
 * receive buffer; the framer only remembers how far it has looked, so each
 * byte is examined once however the stream is split. Fields other than
 * max_msg are private. */
struct sp_framer {
	size_t max_msg;       /* largest message accepted, headers and body */
	size_t pos;           /* bytes of the current frame already examined */
	size_t hdr_end;       /* offset just past the blank line, 0 until found */
	uint64_t clen;        /* Content-Length value being read or read */
	const char *reason;   /* why the last error, static */
	int err;              /* sticky error: 0 or an SP_E* code */
	uint8_t state;        /* private enum in framer.c */
	uint8_t name_match;   /* bytes of "content-length" matched so far */
	uint8_t name_len;     /* bytes of the header name seen, capped */
	bool name_is_l;       /* the header name so far is the compact "l" */
	bool in_clen;         /* the current header line is Content-Length */
	bool have_clen;       /* a Content-Length header was seen */
	bool clen_digits;     /* the value has at least one digit */
	bool clen_ended;      /* white space followed the digits */
};

/* sp_framer_init prepares *f for a new stream. max_msg caps a message,
 * headers and body together; 0 means SP_FRAMER_DEFAULT_MAX. */
void sp_framer_init(struct sp_framer *f, size_t max_msg);

/* sp_framer_reset forgets the current frame and any error, keeping max_msg.
 * For a caller that discards its buffer; after a returned frame the framer
 * has already reset itself. */
void sp_framer_reset(struct sp_framer *f);

/* sp_framer_feed looks at buf[0..len): the stream's unconsumed bytes, that
 * is the bytes given to the previous call (less any frame returned) followed
 * by the bytes received since. The framer never keeps buf.
 *
 * Returns 0 with *kind and *frame_len set when buf starts with a complete
 * frame; the caller consumes frame_len bytes (the message is
 * buf[0..frame_len), byte for byte) and calls again, since buf may hold more
 * frames. Returns SP_EAGAIN when more bytes are needed; SP_EINVAL when the
 * stream cannot be framed (a header section without Content-Length, which
 * RFC 3261 section 18.3 makes mandatory on streams; a Content-Length that is
 * repeated, empty, not a number or above 2^32 - 1; a bare CR); SP_E2BIG as
 * soon as the headers show the message would exceed max_msg. After an error
 * the stream has lost its framing: every later call returns the same error
 * until sp_framer_reset, and the caller should close the connection. */
int sp_framer_feed(struct sp_framer *f, const char *buf, size_t len,
		   enum sp_frame_kind *kind, size_t *frame_len);

/* sp_framer_error returns a static description of the last error for the
 * log, or "no error". */
const char *sp_framer_error(const struct sp_framer *f);

/* A pong is a lone CRLF and a ping begins with one, so the framer reports a
 * CRLF only once the next byte shows which it was: that keeps the frames
 * independent of how the stream was split. A client that sent a ping and
 * got SP_EAGAIN asks this: true when the unconsumed bytes are exactly one
 * CRLF at a message boundary, which it may take as the pong (the framer
 * still reports those bytes later, as a pong or as part of a ping). */
bool sp_framer_crlf_pending(const struct sp_framer *f);

#endif
