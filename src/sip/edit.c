/* edit.c: edit lists over a parsed message's original bytes, and their serialization. */
#include "sip/edit.h"

#include <string.h>

#include "core/charset.h"
#include "core/err.h"
#include "sip/lws.h"
#include "sip/param.h"
#include "sip/via.h"

void sp_edit_init(struct sp_edit *e)
{
	e->nops = 0;
	e->seq = 0;
	e->arena_len = 0;
}

/* Operations are drafted on the stack, then committed together so that a
 * composite edit (body plus Content-Length) is added whole or not at all. */
static void op_init(struct sp_edit_op *o, size_t off, size_t del)
{
	memset(o, 0, sizeof(*o));
	o->off = (uint32_t)off;
	o->del = (uint32_t)del;
}

static void op_add(struct sp_edit_op *o, struct sp_str s)
{
	/* Callers never draft more than SP_EDIT_MAX_PARTS parts. */
	if (s.len == 0 || o->nparts >= SP_EDIT_MAX_PARTS)
		return;
	o->part[o->nparts].p = s.p;
	o->part[o->nparts].len = (uint32_t)s.len;
	o->nparts++;
}

/* Writes v in decimal into the arena and adds it as a part. The arena
 * length is rolled back by the caller when the edit is not committed. */
static int op_add_u64(struct sp_edit *e, struct sp_edit_op *o, unsigned long long v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (e->arena_len + n > SP_EDIT_ARENA || o->nparts >= SP_EDIT_MAX_PARTS)
		return SP_E2BIG;
	memcpy(e->arena + e->arena_len, tmp + sizeof(tmp) - n, n);
	o->part[o->nparts].p = NULL;
	o->part[o->nparts].len = (uint32_t)n;
	o->part[o->nparts].arena_off = e->arena_len;
	o->nparts++;
	e->arena_len = (uint16_t)(e->arena_len + n);
	return 0;
}

enum { OK_DISTINCT, CONFLICT, DUPLICATE };

static int op_relation(const struct sp_edit_op *a, const struct sp_edit_op *b)
{
	if (a->del && b->del) {
		if (a->off == b->off && a->del == b->del && !a->nparts && !b->nparts)
			return DUPLICATE;
		if (a->off < b->off + b->del && b->off < a->off + a->del)
			return CONFLICT;
		return OK_DISTINCT;
	}
	if (a->del && b->off > a->off && b->off < a->off + a->del)
		return CONFLICT;
	if (b->del && a->off > b->off && a->off < b->off + b->del)
		return CONFLICT;
	return OK_DISTINCT;
}

/* Adds n drafted operations, all or none. arena_mark is the arena length
 * before the drafts wrote into it, restored on failure. */
static int commit(struct sp_edit *e, struct sp_edit_op *ops, size_t n, uint16_t arena_mark)
{
	bool skip[SP_EDIT_MAX_OPS];
	size_t add = 0;
	int err = 0;

	if (n > SP_EDIT_MAX_OPS) {
		err = SP_E2BIG;
		goto out;
	}
	memset(skip, 0, sizeof(skip));

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < e->nops + i; j++) {
			const struct sp_edit_op *o = j < e->nops ? &e->op[j] : &ops[j - e->nops];
			if (j >= e->nops && skip[j - e->nops])
				continue;
			int r = op_relation(o, &ops[i]);
			if (r == CONFLICT) {
				err = SP_EINVAL;
				goto out;
			}
			if (r == DUPLICATE)
				skip[i] = true;
		}
		if (!skip[i])
			add++;
	}
	if (e->nops + add > SP_EDIT_MAX_OPS) {
		err = SP_E2BIG;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (skip[i])
			continue;
		ops[i].seq = e->seq++;
		e->op[e->nops++] = ops[i];
	}
out:
	if (err)
		e->arena_len = arena_mark;
	return err;
}

static int commit1(struct sp_edit *e, struct sp_edit_op *o)
{
	return commit(e, o, 1, e->arena_len);
}

static size_t off_of(const struct sp_msg *m, const char *p)
{
	return (size_t)(p - m->buf);
}

/* Offset of the first header line: right after the start line's CRLF. */
static size_t top_off(const struct sp_msg *m)
{
	return off_of(m, m->start_line.p) + m->start_line.len + 2;
}

static bool hdr_of(const struct sp_msg *m, const struct sp_hdr *h)
{
	return h && h >= m->hdr && h < m->hdr + m->nhdrs;
}

static bool has_crlf(struct sp_str s)
{
	return s.len && (memchr(s.p, '\r', s.len) || memchr(s.p, '\n', s.len));
}

/* Drafts the insertion of a whole "name: value\r\n" line at off. */
static int line_insert(struct sp_edit *e, size_t off, struct sp_str name, struct sp_str value)
{
	struct sp_edit_op o;

	if (name.len == 0 || has_crlf(name) || has_crlf(value))
		return SP_EINVAL;
	op_init(&o, off, 0);
	op_add(&o, name);
	op_add(&o, SP_STR(": "));
	op_add(&o, value);
	op_add(&o, SP_STR("\r\n"));
	return commit1(e, &o);
}

int sp_edit_via_prepend(struct sp_edit *e, const struct sp_msg *m, struct sp_str value)
{
	const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_VIA);
	size_t off = h ? h->line_off : top_off(m);
	return line_insert(e, off, SP_STR("Via"), value);
}

int sp_edit_via_pop(struct sp_edit *e, const struct sp_msg *m)
{
	const struct sp_hdr *h = sp_msg_hdr(m, SP_HDR_VIA);
	struct sp_edit_op o;
	struct sp_via via;

	if (!h)
		return SP_ENOENT;
	struct sp_str cur = h->value;
	if (sp_via_next(&cur, &via) != 0)
		return SP_EINVAL;
	/* cur now starts at the LWS and comma before the next value, if any. */
	size_t i = sp_lws_skip(cur, 0);
	if (i >= cur.len) {
		op_init(&o, h->line_off, h->line_len);
	} else {
		if (cur.p[i] != ',')
			return SP_EINVAL;
		i = sp_lws_skip(cur, i + 1);
		if (i >= cur.len)
			return SP_EINVAL;
		op_init(&o, off_of(m, h->value.p), (size_t)(cur.p + i - h->value.p));
	}
	return commit1(e, &o);
}

int sp_edit_hdr_add(struct sp_edit *e, const struct sp_msg *m, enum sp_edit_where where,
		    struct sp_str name, struct sp_str value)
{
	return line_insert(e, where == SP_EDIT_TOP ? top_off(m) : m->hdrs_end, name, value);
}

int sp_edit_hdr_add_before(struct sp_edit *e, const struct sp_msg *m, enum sp_hdr_id id,
			   struct sp_str name, struct sp_str value)
{
	const struct sp_hdr *h = id != SP_HDR_OTHER ? sp_msg_hdr(m, id) : NULL;
	if (!h)
		return SP_ENOENT;
	return line_insert(e, h->line_off, name, value);
}

int sp_edit_hdr_remove(struct sp_edit *e, const struct sp_msg *m, const struct sp_hdr *h)
{
	struct sp_edit_op o;

	if (!hdr_of(m, h))
		return SP_EINVAL;
	op_init(&o, h->line_off, h->line_len);
	return commit1(e, &o);
}

int sp_edit_hdr_remove_all(struct sp_edit *e, const struct sp_msg *m, enum sp_hdr_id id)
{
	struct sp_edit_op ops[SP_EDIT_MAX_OPS];
	size_t n = 0;
	int err = 0;

	if (id == SP_HDR_OTHER || id >= SP_HDR__COUNT)
		return SP_EINVAL;
	for (const struct sp_hdr *h = sp_msg_hdr(m, id); h; h = sp_msg_hdr_next(m, h)) {
		if (n == SP_EDIT_MAX_OPS)
			return SP_E2BIG;
		op_init(&ops[n++], h->line_off, h->line_len);
	}
	err = commit(e, ops, n, e->arena_len);
	return err;
}

int sp_edit_hdr_value(struct sp_edit *e, const struct sp_msg *m, const struct sp_hdr *h,
		      struct sp_str value)
{
	struct sp_edit_op o;

	if (!hdr_of(m, h) || has_crlf(value))
		return SP_EINVAL;
	if (h->value.len == 0) {
		/* "Name:" with nothing after it: write " value" before the CRLF. */
		op_init(&o, h->line_off + h->line_len - 2, 0);
		if (value.len)
			op_add(&o, SP_STR(" "));
	} else {
		op_init(&o, off_of(m, h->value.p), h->value.len);
	}
	op_add(&o, value);
	return commit1(e, &o);
}

/* Delimits the first value of a header value v: *pstart is the index of its
 * first top-level ';' (or *vend when it has no parameters), *vend the end of
 * the value before any ',' of a list and trailing LWS. Quoted strings and
 * <...> are skipped, so a display name or a URI's own ';' do not count. */
static int first_value(struct sp_str v, bool list, size_t *pstart, size_t *vend)
{
	size_t i = 0, ps = (size_t)-1, n;

	while (i < v.len) {
		char c = v.p[i];
		if (c == '"') {
			if (sp_quoted_scan(sp_str_from(v, i), &n))
				return SP_EINVAL;
			i += n;
			continue;
		}
		if (c == '<') {
			const char *gt = memchr(v.p + i, '>', v.len - i);
			if (!gt)
				return SP_EINVAL;
			i = (size_t)(gt - v.p) + 1;
			continue;
		}
		if (c == ';' && ps == (size_t)-1)
			ps = i;
		if (c == ',' && list)
			break;
		i++;
	}
	while (i > 0 && sp_is_lws(v.p[i - 1]))
		i--;
	*vend = i;
	*pstart = ps == (size_t)-1 || ps > i ? i : ps;
	return 0;
}

/* Finds parameter name in the first value of h. On 0, *span is the
 * parameter from the end of the previous one (its leading LWS included),
 * *semi where its ';' is, and *end the end of the parameter list. Returns
 * SP_ENOENT (with *end set) when absent, SP_EINVAL when the list is bad. */
static int param_find(const struct sp_hdr *h, struct sp_str name, const char **from,
		      const char **semi, const char **to, const char **end)
{
	size_t ps, ve;
	struct sp_str pn, pv;
	int err, found = SP_ENOENT;

	if ((err = first_value(h->value, sp_hdr_is_list((enum sp_hdr_id)h->id), &ps, &ve)) != 0)
		return err;
	struct sp_str cur = sp_str_make(h->value.p + ps, ve - ps);
	for (;;) {
		const char *before = cur.p;
		err = sp_param_next(&cur, SP_PARAM_HEADER, &pn, &pv);
		if (err == SP_ENOENT)
			break;
		if (err)
			return SP_EINVAL;
		if (found == 0 || !sp_str_caseeq(pn, name))
			continue;
		const char *s = before;
		while (*s != ';')
			s++;
		*from = before;
		*semi = s;
		*to = cur.p;
		found = 0;
	}
	if (cur.len != 0)
		return SP_EINVAL;
	*end = cur.p;
	return found;
}

static int param_set(struct sp_edit *e, const struct sp_msg *m, const struct sp_hdr *h,
		     struct sp_str name, struct sp_str value, bool number, uint32_t num)
{
	const char *from, *semi, *to, *end;
	struct sp_edit_op o;
	uint16_t mark = e->arena_len;
	int err;

	if (!hdr_of(m, h) || name.len == 0 || has_crlf(name) || has_crlf(value))
		return SP_EINVAL;
	for (size_t i = 0; i < name.len; i++)
		if (!sp_is_token(name.p[i]))
			return SP_EINVAL;
	err = param_find(h, name, &from, &semi, &to, &end);
	if (err == 0)
		op_init(&o, off_of(m, semi), (size_t)(to - semi));
	else if (err == SP_ENOENT)
		op_init(&o, off_of(m, end), 0);
	else
		return err;
	op_add(&o, SP_STR(";"));
	op_add(&o, name);
	if (number) {
		op_add(&o, SP_STR("="));
		if ((err = op_add_u64(e, &o, num)) != 0)
			return err;
	} else if (value.p) {
		op_add(&o, SP_STR("="));
		op_add(&o, value);
	}
	return commit(e, &o, 1, mark);
}

int sp_edit_param_set(struct sp_edit *e, const struct sp_msg *m, const struct sp_hdr *h,
		      struct sp_str name, struct sp_str value)
{
	return param_set(e, m, h, name, value, false, 0);
}

int sp_edit_param_set_u32(struct sp_edit *e, const struct sp_msg *m, const struct sp_hdr *h,
			  struct sp_str name, uint32_t value)
{
	return param_set(e, m, h, name, SP_STR_NULL, true, value);
}

int sp_edit_param_remove(struct sp_edit *e, const struct sp_msg *m, const struct sp_hdr *h,
			 struct sp_str name)
{
	const char *from, *semi, *to, *end;
	struct sp_edit_op o;
	int err;

	if (!hdr_of(m, h))
		return SP_EINVAL;
	if ((err = param_find(h, name, &from, &semi, &to, &end)) != 0)
		return err;
	/* The first parameter's span starts at its ';': take the LWS before
	 * it too, as later parameters' spans do. */
	while (from > h->value.p && sp_is_lws(from[-1]))
		from--;
	op_init(&o, off_of(m, from), (size_t)(to - from));
	return commit1(e, &o);
}

int sp_edit_ruri(struct sp_edit *e, const struct sp_msg *m, struct sp_str uri)
{
	struct sp_edit_op o;

	if (!m->request || !m->ruri_raw.p || uri.len == 0 || has_crlf(uri) ||
	    memchr(uri.p, ' ', uri.len))
		return SP_EINVAL;
	op_init(&o, off_of(m, m->ruri_raw.p), m->ruri_raw.len);
	op_add(&o, uri);
	return commit1(e, &o);
}

int sp_edit_body(struct sp_edit *e, const struct sp_msg *m, struct sp_str body)
{
	const struct sp_hdr *cl = sp_msg_hdr(m, SP_HDR_CONTENT_LENGTH);
	struct sp_edit_op ops[2];
	uint16_t mark = e->arena_len;
	int err;

	if (body.len > SP_MSG_MAX_LEN)
		return SP_E2BIG;
	op_init(&ops[0], off_of(m, m->body.p), m->body.len);
	op_add(&ops[0], body);
	if (cl) {
		op_init(&ops[1], off_of(m, cl->value.p), cl->value.len);
	} else {
		op_init(&ops[1], m->hdrs_end, 0);
		op_add(&ops[1], SP_STR("Content-Length: "));
	}
	if ((err = op_add_u64(e, &ops[1], body.len)) != 0) {
		e->arena_len = mark;
		return err;
	}
	if (!cl)
		op_add(&ops[1], SP_STR("\r\n"));
	return commit(e, ops, 2, mark);
}

static bool op_before(const struct sp_edit_op *a, const struct sp_edit_op *b)
{
	return a->off < b->off || (a->off == b->off && a->seq < b->seq);
}

/* The output is built in one pass: the original bytes from the start line
 * to the end of the body, with each operation's deleted range skipped and
 * its parts written at its offset. Operations never overlap (commit
 * refuses that), so the cursor only moves forward. */
int sp_edit_serialize(const struct sp_msg *m, struct sp_edit *e, struct sp_buf *out)
{
	size_t start = off_of(m, m->start_line.p), end = m->len, total, cur;
	size_t saved = out->len;
	int err = 0;

	/* Insertion sort: at most SP_EDIT_MAX_OPS, usually a handful. */
	for (size_t i = 1; i < e->nops; i++) {
		struct sp_edit_op t = e->op[i];
		size_t j = i;
		while (j > 0 && op_before(&t, &e->op[j - 1])) {
			e->op[j] = e->op[j - 1];
			j--;
		}
		e->op[j] = t;
	}

	total = end - start;
	for (size_t i = 0; i < e->nops; i++) {
		const struct sp_edit_op *o = &e->op[i];
		if (o->off < start || o->off + o->del > end)
			return SP_EINVAL;
		total -= o->del;
		for (size_t k = 0; k < o->nparts; k++)
			total += o->part[k].len;
	}
	if (total > SP_MSG_MAX_LEN)
		return SP_E2BIG;
	if ((err = sp_buf_reserve(out, total)) != 0)
		return err;

	cur = start;
	for (size_t i = 0; i < e->nops; i++) {
		const struct sp_edit_op *o = &e->op[i];
		if (o->off > cur && (err = sp_buf_append(out, m->buf + cur, o->off - cur)) != 0)
			goto out;
		if (o->off > cur)
			cur = o->off;
		for (size_t k = 0; k < o->nparts; k++) {
			const struct sp_edit_part *p = &o->part[k];
			const char *src = p->p ? p->p : e->arena + p->arena_off;
			if ((err = sp_buf_append(out, src, p->len)) != 0)
				goto out;
		}
		if (o->off + o->del > cur)
			cur = o->off + o->del;
	}
	err = sp_buf_append(out, m->buf + cur, end - cur);
out:
	if (err)
		out->len = saved;
	return err;
}
