/* framer.c: a resumable state machine that finds SIP frame boundaries in a byte stream. */
#include "sip/framer.h"

#include "core/charset.h"
#include "core/err.h"

/* One state per place a byte can land; a call resumes in the state the last
 * call stopped in, at the offset it stopped at, like nginx's HTTP parser. */
enum {
	ST_BOUNDARY = 0, /* before the first byte of a frame */
	ST_KA_CR,        /* "\r" */
	ST_KA_CRLF,      /* "\r\n": a pong, or the first half of a ping */
	ST_KA_CRLFCR,    /* "\r\n\r" */
	/* From here on the frame is a message; the header cap applies. */
	ST_LINE,         /* inside a line whose name does not matter */
	ST_LINE_CR,      /* CR ending a line */
	ST_LINE_START,   /* first byte of a line: a name, folding or the blank line */
	ST_NAME,         /* inside a header name */
	ST_NAME_WS,      /* white space between a name and its colon */
	ST_VALUE,        /* inside a Content-Length value */
	ST_END_CR,       /* CR of the blank line */
	ST_BODY,         /* headers done; waiting for the body bytes */
};

#define NAME_NONE 0xff /* the name is not "content-length" */

static const char clen_name[] = "content-length";
#define CLEN_NAME_LEN (sizeof(clen_name) - 1)

void sp_framer_init(struct sp_framer *f, size_t max_msg)
{
	f->max_msg = max_msg ? max_msg : SP_FRAMER_DEFAULT_MAX;
	sp_framer_reset(f);
}

void sp_framer_reset(struct sp_framer *f)
{
	size_t max_msg = f->max_msg;

	*f = (struct sp_framer){ 0 };
	f->max_msg = max_msg;
	f->state = ST_BOUNDARY;
}

const char *sp_framer_error(const struct sp_framer *f)
{
	return f->err ? f->reason : "no error";
}

bool sp_framer_crlf_pending(const struct sp_framer *f)
{
	return f->err == 0 && f->state == ST_KA_CRLF;
}

static int fail(struct sp_framer *f, int err, const char *reason)
{
	f->err = err;
	f->reason = reason;
	return err;
}

/* Hands one frame out and starts over at the byte after it, which the next
 * call sees at buf[0]. */
static int frame(struct sp_framer *f, enum sp_frame_kind k, size_t n,
		 enum sp_frame_kind *kind, size_t *frame_len)
{
	*kind = k;
	*frame_len = n;
	sp_framer_reset(f);
	return 0;
}

/* A line other than a folded continuation starts: the Content-Length value
 * that may have been continued so far is complete. */
static int clen_close(struct sp_framer *f)
{
	if (!f->in_clen)
		return 0;
	f->in_clen = false;
	if (!f->clen_digits)
		return fail(f, SP_EINVAL, "empty Content-Length");
	return 0;
}

/* The colon after a header name: only Content-Length (or its compact form
 * "l") is read further; any other header is skipped to its line end. */
static int name_done(struct sp_framer *f)
{
	bool is_clen = f->name_match == CLEN_NAME_LEN || (f->name_len == 1 && f->name_is_l);

	if (!is_clen) {
		f->state = ST_LINE;
		return 0;
	}
	/* Two Content-Length values, even equal ones, leave two readings of
	 * where the message ends: refuse rather than pick one. */
	if (f->have_clen)
		return fail(f, SP_EINVAL, "duplicate Content-Length");
	f->have_clen = true;
	f->in_clen = true;
	f->clen = 0;
	f->clen_digits = false;
	f->clen_ended = false;
	f->state = ST_VALUE;
	return 0;
}

/* Invariant: buf[0..f->pos) was examined by earlier calls and is summed up
 * by the state; only buf[f->pos..len) is read now, so the total work for a
 * frame is linear in its size however the bytes are split. */
int sp_framer_feed(struct sp_framer *f, const char *buf, size_t len,
		   enum sp_frame_kind *kind, size_t *frame_len)
{
	size_t i;
	int err;

	if (f->err)
		return f->err;
	if (len < f->pos)
		return fail(f, SP_EINVAL, "buffer shorter than the bytes already seen");

	for (i = f->pos; i < len && f->state != ST_BODY; i++) {
		char c = buf[i];

		switch (f->state) {
		case ST_BOUNDARY:
			if (c == '\r')
				f->state = ST_KA_CR;
			else if (c == '\n')
				return frame(f, SP_FRAME_KEEPALIVE_PONG, 1, kind, frame_len);
			else
				f->state = ST_LINE; /* the start line */
			break;
		case ST_KA_CR:
			if (c != '\n')
				return fail(f, SP_EINVAL, "bare CR between messages");
			f->state = ST_KA_CRLF;
			break;
		case ST_KA_CRLF:
			if (c != '\r')
				return frame(f, SP_FRAME_KEEPALIVE_PONG, 2, kind, frame_len);
			f->state = ST_KA_CRLFCR;
			break;
		case ST_KA_CRLFCR:
			if (c == '\n')
				return frame(f, SP_FRAME_KEEPALIVE_PING, 4, kind, frame_len);
			/* The first CRLF was a pong; the next call finds the CR
			 * that follows it bare and fails there. */
			return frame(f, SP_FRAME_KEEPALIVE_PONG, 2, kind, frame_len);

		case ST_LINE: {
			/* Most header bytes land here and change nothing: skip to
			 * the line end without the per-byte dispatch, stopping short
			 * of max_msg so the cap check below still sees it. */
			size_t lim = len < f->max_msg ? len : f->max_msg;
			while (c != '\r' && c != '\n' && i + 1 < lim)
				c = buf[++i];
			if (c == '\r')
				f->state = ST_LINE_CR;
			else if (c == '\n')
				f->state = ST_LINE_START; /* tolerated bare LF line end */
			break;
		}
		case ST_LINE_CR:
			if (c != '\n')
				return fail(f, SP_EINVAL, "bare CR in the header section");
			f->state = ST_LINE_START;
			break;
		case ST_LINE_START:
			if (sp_is_wsp(c)) {
				/* Folding continues the previous line's value. */
				if (f->in_clen) {
					f->clen_ended = f->clen_digits;
					f->state = ST_VALUE;
				} else {
					f->state = ST_LINE;
				}
				break;
			}
			err = clen_close(f);
			if (err)
				return err;
			if (c == '\r') {
				f->state = ST_END_CR;
			} else if (c == '\n') {
				f->hdr_end = i + 1;
				f->state = ST_BODY;
			} else if (sp_is_token(c)) {
				f->name_len = 1;
				f->name_match = sp_lower(c) == clen_name[0] ? 1 : NAME_NONE;
				f->name_is_l = sp_lower(c) == 'l';
				f->state = ST_NAME;
			} else {
				f->state = ST_LINE; /* not a header name; the parser judges */
			}
			break;
		case ST_NAME:
			if (sp_is_token(c)) {
				if (f->name_len < 2)
					f->name_len++;
				if (f->name_match < CLEN_NAME_LEN &&
				    sp_lower(c) == clen_name[f->name_match])
					f->name_match++;
				else
					f->name_match = NAME_NONE;
				break;
			}
			if (c == ':') {
				err = name_done(f);
				if (err)
					return err;
				break;
			}
			if (sp_is_wsp(c))
				f->state = ST_NAME_WS;
			else if (c == '\r')
				f->state = ST_LINE_CR;
			else if (c == '\n')
				f->state = ST_LINE_START;
			else
				f->state = ST_LINE;
			break;
		case ST_NAME_WS:
			if (sp_is_wsp(c))
				break;
			if (c == ':') {
				err = name_done(f);
				if (err)
					return err;
				break;
			}
			if (c == '\r')
				f->state = ST_LINE_CR;
			else if (c == '\n')
				f->state = ST_LINE_START;
			else
				f->state = ST_LINE;
			break;
		case ST_VALUE:
			if (sp_is_digit(c)) {
				if (f->clen_ended)
					return fail(f, SP_EINVAL, "Content-Length is not a number");
				f->clen = f->clen * 10 + (uint64_t)(c - '0');
				/* Checked per digit, so clen never wraps. */
				if (f->clen > UINT32_MAX)
					return fail(f, SP_EINVAL, "Content-Length out of range");
				f->clen_digits = true;
			} else if (sp_is_wsp(c)) {
				f->clen_ended = f->clen_digits;
			} else if (c == '\r') {
				f->state = ST_LINE_CR;
			} else if (c == '\n') {
				f->state = ST_LINE_START;
			} else {
				return fail(f, SP_EINVAL, "Content-Length is not a number");
			}
			break;
		case ST_END_CR:
			if (c != '\n')
				return fail(f, SP_EINVAL, "bare CR in the header section");
			f->hdr_end = i + 1;
			f->state = ST_BODY;
			break;
		}

		/* A header section still open after max_msg bytes cannot end
		 * in a message of at most max_msg bytes. */
		if (f->state >= ST_LINE && f->state != ST_BODY && i + 1 >= f->max_msg)
			return fail(f, SP_E2BIG, "header section exceeds the message size limit");
		if (f->state == ST_BODY) {
			if (!f->have_clen)
				return fail(f, SP_EINVAL, "missing Content-Length");
			if (f->clen > f->max_msg - f->hdr_end)
				return fail(f, SP_E2BIG, "Content-Length exceeds the message size limit");
		}
	}
	f->pos = i;

	if (f->state == ST_BODY && len - f->hdr_end >= f->clen)
		return frame(f, SP_FRAME_MESSAGE, f->hdr_end + (size_t)f->clen, kind, frame_len);
	return SP_EAGAIN;
}
