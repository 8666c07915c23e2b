/* cdr.c: the table of call attempts in progress, and writing each record to the store and a JSON-lines file. */
#include "dialog/cdr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"

#define CID_MAX 256
#define UNANSWERED_MS (5u * 60u * 1000u) /* longer Call-IDs are followed by their first bytes */

struct rec {
	struct sp_hnode node;
	char call_id[CID_MAX + 1];
	char id[CID_MAX + 32];
	uint64_t start_ms, answer_ms;
	uint16_t status;
	char *caller, *callee, *ingress, *egress, *federation;
};

struct sp_cdr {
	struct sp_store *store;
	FILE *jsonl;
	size_t max_open;
	uint64_t max_call_ms;
	struct sp_htab open;
	struct sp_cdr_stats st;
	struct sp_log_ratelimit rl;
};

static struct sp_str cid_key(struct sp_str call_id)
{
	return sp_str_make(call_id.p, call_id.len > CID_MAX ? CID_MAX : call_id.len);
}

static struct rec *find(const struct sp_cdr *t, struct sp_str call_id)
{
	struct sp_str k = cid_key(call_id);
	for (struct sp_hnode *n = sp_htab_first(&t->open, sp_hash_str(k)); n; n = sp_htab_next(n)) {
		struct rec *r = (struct rec *)n;
		if (strlen(r->call_id) == k.len && memcmp(r->call_id, k.p, k.len) == 0)
			return r;
	}
	return NULL;
}

static void rec_free(struct rec *r)
{
	free(r->caller);
	free(r->callee);
	free(r->ingress);
	free(r->egress);
	free(r->federation);
	free(r);
}

static void written(int result, void *arg)
{
	struct sp_cdr *t = arg;
	if (result != 0) {
		t->st.write_errors++;
		sp_log(SP_LOG_ERR, "call record not stored: %s", sp_strerror(result));
	}
}

/* JSON string body: quotes, backslashes and control characters escaped. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void write_rec(struct sp_cdr *t, const struct rec *r, uint64_t end_ms, const char *reason)
{
	struct sp_store_op op;
	memset(&op, 0, sizeof(op));
	op.kind = SP_STORE_CDR;
	op.cdr.id = sp_str_cstr(r->id);
	op.cdr.call_id = sp_str_cstr(r->call_id);
	op.cdr.start_ms = r->start_ms;
	op.cdr.answer_ms = r->answer_ms;
	op.cdr.end_ms = end_ms;
	op.cdr.status = r->status;
	op.cdr.caller = sp_str_cstr(r->caller ? r->caller : "");
	op.cdr.callee = sp_str_cstr(r->callee ? r->callee : "");
	op.cdr.ingress = sp_str_cstr(r->ingress ? r->ingress : "");
	op.cdr.egress = sp_str_cstr(r->egress ? r->egress : "");
	op.cdr.federation = sp_str_cstr(r->federation ? r->federation : "");
	op.cdr.reason = sp_str_cstr(reason);
	if (t->store) {
		int err = sp_store_write(t->store, &op, 1, written, t);
		if (err) {
			t->st.write_errors++;
			sp_log(SP_LOG_ERR, "call record not stored: %s", sp_strerror(err));
		}
	}
	/* The JSON line is written once, when the record is final. */
	if (t->jsonl && end_ms) {
		uint64_t dur = r->answer_ms && end_ms > r->answer_ms ? end_ms - r->answer_ms : 0;
		fprintf(t->jsonl, "{\"id\":");
		json_str(t->jsonl, r->id);
		fprintf(t->jsonl, ",\"call_id\":");
		json_str(t->jsonl, r->call_id);
		fprintf(t->jsonl,
			",\"start_ms\":%" PRIu64 ",\"answer_ms\":%" PRIu64 ",\"end_ms\":%" PRIu64
			",\"duration_ms\":%" PRIu64 ",\"status\":%u,\"caller\":",
			r->start_ms, r->answer_ms, end_ms, dur, r->status);
		json_str(t->jsonl, r->caller);
		fprintf(t->jsonl, ",\"callee\":");
		json_str(t->jsonl, r->callee);
		fprintf(t->jsonl, ",\"ingress\":");
		json_str(t->jsonl, r->ingress);
		fprintf(t->jsonl, ",\"egress\":");
		json_str(t->jsonl, r->egress);
		fprintf(t->jsonl, ",\"federation\":");
		json_str(t->jsonl, r->federation);
		fprintf(t->jsonl, ",\"reason\":");
		json_str(t->jsonl, reason);
		fprintf(t->jsonl, "}\n");
		fflush(t->jsonl);
	}
	if (end_ms)
		t->st.written++;
}

static void end(struct sp_cdr *t, struct rec *r, uint64_t now_ms, const char *reason)
{
	write_rec(t, r, now_ms ? now_ms : 1, reason);
	sp_htab_remove(&t->open, &r->node);
	rec_free(r);
}

int sp_cdr_create(struct sp_store *store, const char *jsonl, size_t max_open,
		  uint64_t max_call_ms, struct sp_cdr **out)
{
	struct sp_cdr *t = calloc(1, sizeof(*t));
	if (!t)
		return SP_ENOMEM;
	t->store = store;
	t->max_open = max_open ? max_open : 100000;
	t->max_call_ms = max_call_ms ? max_call_ms : 12ull * 3600 * 1000;
	t->rl.interval_ms = 10000;
	sp_htab_init(&t->open);
	if (jsonl && !(t->jsonl = fopen(jsonl, "a"))) {
		sp_log(SP_LOG_ERR, "call records: cannot open %s for appending", jsonl);
		sp_htab_free(&t->open);
		free(t);
		return SP_ENOENT;
	}
	*out = t;
	return 0;
}

struct end_all {
	struct sp_cdr *t;
	uint64_t now_ms;
	bool sweep;
};

static bool end_one(struct sp_hnode *n, void *arg)
{
	struct end_all *ea = arg;
	struct rec *r = (struct rec *)n;
	if (!ea->sweep) { /* destroy: the store keeps the answered ones open */
		sp_htab_remove(&ea->t->open, &r->node);
		rec_free(r);
		return true;
	}
	uint64_t age = ea->now_ms > r->start_ms ? ea->now_ms - r->start_ms : 0;
	if (r->answer_ms && age > ea->t->max_call_ms) {
		end(ea->t, r, ea->now_ms, "timeout");
	} else if (!r->answer_ms && age > UNANSWERED_MS) {
		/* An INVITE transaction is over long before this (Timer C, B):
		 * an attempt still open is one whose retry never came (a 407
		 * left unanswered), not a call. */
		sp_htab_remove(&ea->t->open, &r->node);
		rec_free(r);
	}
	return true;
}

void sp_cdr_destroy(struct sp_cdr *t)
{
	if (!t)
		return;
	struct end_all ea = { t, 0, false };
	sp_htab_foreach(&t->open, end_one, &ea);
	sp_htab_free(&t->open);
	if (t->jsonl)
		fclose(t->jsonl);
	free(t);
}

static char *dup_str(struct sp_str s)
{
	return s.len ? strndup(s.p, s.len) : NULL;
}

void sp_cdr_restore(struct sp_cdr *t, const struct sp_store_cdr *in)
{
	struct sp_str k = cid_key(in->call_id);
	struct rec *r;
	if (!in->answer_ms || in->end_ms || !k.len || in->id.len >= sizeof(r->id) ||
	    find(t, in->call_id) || t->open.n >= t->max_open || !(r = calloc(1, sizeof(*r))))
		return;
	memcpy(r->call_id, k.p, k.len);
	memcpy(r->id, in->id.p, in->id.len);
	r->start_ms = in->start_ms;
	r->answer_ms = in->answer_ms;
	r->status = in->status;
	r->caller = dup_str(in->caller);
	r->callee = dup_str(in->callee);
	r->ingress = dup_str(in->ingress);
	r->egress = dup_str(in->egress);
	r->federation = dup_str(in->federation);
	sp_htab_insert(&t->open, &r->node, sp_hash_str(k));
}

void sp_cdr_sweep(struct sp_cdr *t, uint64_t now_ms)
{
	struct end_all ea = { t, now_ms, true };
	sp_htab_foreach(&t->open, end_one, &ea);
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

void sp_cdr_start(struct sp_cdr *t, struct sp_str call_id, const struct sp_cdr_info *info,
		  uint64_t now_ms)
{
	struct sp_str k = cid_key(call_id);
	struct rec *r = find(t, call_id);
	if (r) {
		if (r->answer_ms)
			return; /* an INVITE without To tag for an answered call: a retransmission */
		sp_htab_remove(&t->open, &r->node);
		rec_free(r);
	}
	if (t->open.n >= t->max_open) {
		uint64_t supp = 0;
		t->st.dropped_cap++;
		if (sp_log_ratelimit(&t->rl, now_ms, &supp))
			sp_log(SP_LOG_WARN, "call records: %zu calls followed, the cap: this one is not "
					    "recorded (%" PRIu64 " more not logged)",
			       t->max_open, supp);
		return;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return;
	memcpy(r->call_id, k.p, k.len);
	snprintf(r->id, sizeof(r->id), "%" PRIu64 "-%s", now_ms, r->call_id);
	r->start_ms = now_ms;
	r->caller = dup_or_null(info->caller);
	r->callee = dup_or_null(info->callee);
	r->ingress = dup_or_null(info->ingress);
	r->federation = dup_or_null(info->federation);
	sp_htab_insert(&t->open, &r->node, sp_hash_str(k));
}

void sp_cdr_final(struct sp_cdr *t, struct sp_str call_id, uint16_t status, const char *egress,
		  const char *federation, uint64_t now_ms)
{
	struct rec *r = find(t, call_id);
	if (!r || r->answer_ms || status < 200)
		return;
	if (status == 401 || status == 407)
		return; /* the same attempt goes on with credentials */
	r->status = status;
	free(r->egress);
	r->egress = dup_or_null(egress);
	if (!r->federation)
		r->federation = dup_or_null(federation);
	if (status < 300) {
		r->answer_ms = now_ms ? now_ms : 1;
		write_rec(t, r, 0, ""); /* open, durable: a crash leaves the start */
		return;
	}
	end(t, r, now_ms, status == 487 ? "cancelled" : "failed");
}

void sp_cdr_bye(struct sp_cdr *t, struct sp_str call_id, uint64_t now_ms)
{
	struct rec *r = find(t, call_id);
	if (r && r->answer_ms)
		end(t, r, now_ms, "bye");
}

void sp_cdr_stats(const struct sp_cdr *t, struct sp_cdr_stats *out)
{
	*out = t->st;
	out->open = t->open.n;
}
