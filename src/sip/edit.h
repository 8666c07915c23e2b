/* edit.h: forwarding a parsed message with edits, copying every untouched byte verbatim. */
#ifndef SP_SIP_EDIT_H
#define SP_SIP_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"
#include "sip/hdr.h"
#include "sip/msg.h"

/* An edit list records operations against the original bytes of one parsed
 * message (m->buf); nothing is rewritten until sp_edit_serialize, which
 * sorts the operations by offset and copies the original bytes between
 * them. The list lives on the stack or in the transaction: no heap.
 *
 * Ownership: every slice given to an sp_edit_* function (header names,
 * values, URIs, bodies) is referenced, not copied; the caller keeps its bytes
 * alive and unchanged until sp_edit_serialize returns. Small text generated
 * here (Content-Length digits, a numeric parameter value) is copied into the
 * list's own arena. The message and its buffer must also outlive the list.
 *
 * Conflicts: two operations whose deleted ranges overlap, or an insertion
 * strictly inside another operation's deleted range, make the second call
 * fail with SP_EINVAL and leave the list as it was (an exact repeat of a
 * pure deletion, such as removing the same header twice, is accepted once).
 * Insertions at the same offset come out in the order they were added. */

#define SP_EDIT_MAX_OPS 32   /* operations per list; one more is SP_E2BIG */
#define SP_EDIT_MAX_PARTS 4  /* slices making up one insertion */
#define SP_EDIT_ARENA 256    /* bytes of generated text per list */

struct sp_edit_part {
	const char *p;   /* NULL: the bytes are at arena + arena_off */
	uint32_t len;
	uint32_t arena_off;
};

struct sp_edit_op {
	uint32_t off;    /* in m->buf */
	uint32_t del;    /* bytes of the original removed from off */
	uint16_t seq;    /* order of addition: ties at one offset keep it */
	uint8_t nparts;
	struct sp_edit_part part[SP_EDIT_MAX_PARTS]; /* inserted at off, in order */
};

struct sp_edit {
	uint16_t nops;
	uint16_t seq;
	uint16_t arena_len;
	struct sp_edit_op op[SP_EDIT_MAX_OPS];
	char arena[SP_EDIT_ARENA];
};

/* Where sp_edit_hdr_add puts a new header line. */
enum sp_edit_where {
	SP_EDIT_TOP,    /* right after the start line */
	SP_EDIT_BOTTOM, /* right before the blank line ending the headers */
};

void sp_edit_init(struct sp_edit *e);

/* Inserts "Via: <value>\r\n" before the first Via line (compact or not), or
 * right after the start line when the message has none. */
int sp_edit_via_prepend(struct sp_edit *e, const struct sp_msg *m, struct sp_str value);

/* Removes the topmost Via value: the whole first Via line when it holds one
 * value, else only the first value and its comma ("a, b" becomes "b").
 * SP_ENOENT without a Via, SP_EINVAL when the top value does not parse. */
int sp_edit_via_pop(struct sp_edit *e, const struct sp_msg *m);

/* Inserts "<name>: <value>\r\n" at the top or the bottom of the headers. */
int sp_edit_hdr_add(struct sp_edit *e, const struct sp_msg *m, enum sp_edit_where where,
		    struct sp_str name, struct sp_str value);

/* Inserts "<name>: <value>\r\n" before the first header line of id;
 * SP_ENOENT when the message has none. */
int sp_edit_hdr_add_before(struct sp_edit *e, const struct sp_msg *m, enum sp_hdr_id id,
			   struct sp_str name, struct sp_str value);

/* Removes one header line, folding included (h must belong to m). */
int sp_edit_hdr_remove(struct sp_edit *e, const struct sp_msg *m, const struct sp_hdr *h);

/* Removes every line of a known header id (e.g. SP_HDR_P_ASSERTED_IDENTITY);
 * 0 also when there is none. SP_HDR_OTHER is refused (SP_EINVAL): remove
 * unknown headers one by one with sp_msg_hdr_by_name. */
int sp_edit_hdr_remove_all(struct sp_edit *e, const struct sp_msg *m, enum sp_hdr_id id);

/* Replaces the whole value of one header (folding included), keeping its
 * name as written. value must be a valid single-line value: no CR or LF. */
int sp_edit_hdr_value(struct sp_edit *e, const struct sp_msg *m, const struct sp_hdr *h,
		      struct sp_str value);

/* Sets a parameter of the first value of header h (the topmost via-parm of
 * a Via line, the address of a From/To/Contact...): an existing parameter of
 * that name (case-insensitive) is rewritten in place as ";name=value", else
 * ";name=value" is appended after the value's last parameter. value
 * {NULL, 0} writes a flag parameter ";name". */
int sp_edit_param_set(struct sp_edit *e, const struct sp_msg *m, const struct sp_hdr *h,
		      struct sp_str name, struct sp_str value);

/* sp_edit_param_set with a decimal value written into the arena (rport). */
int sp_edit_param_set_u32(struct sp_edit *e, const struct sp_msg *m, const struct sp_hdr *h,
			  struct sp_str name, uint32_t value);

/* Removes a parameter (with its ';' and surrounding LWS) from the first value
 * of h. SP_ENOENT when it is not there. */
int sp_edit_param_remove(struct sp_edit *e, const struct sp_msg *m, const struct sp_hdr *h,
			 struct sp_str name);

/* Replaces the Request-URI (requests only, else SP_EINVAL). */
int sp_edit_ruri(struct sp_edit *e, const struct sp_msg *m, struct sp_str uri);

/* Replaces the body and makes Content-Length match it: the first
 * Content-Length value is rewritten, or "Content-Length: N" is added at the
 * bottom of the headers when there is none. Content-Type is the caller's
 * business (replace or remove it with the other operations). */
int sp_edit_body(struct sp_edit *e, const struct sp_msg *m, struct sp_str body);

/* sp_edit_serialize appends the edited message to out: the start line up to
 * the end of the body (leading CRLFs and datagram bytes past Content-Length
 * are dropped), with every operation applied. It sorts e's operations, so
 * it may be called again with the same list. Fails with SP_E2BIG when the
 * result would exceed SP_MSG_MAX_LEN or out's own cap, SP_ENOMEM; out is
 * left as it was on failure. */
int sp_edit_serialize(const struct sp_msg *m, struct sp_edit *e, struct sp_buf *out);

#endif
