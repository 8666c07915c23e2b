/* cdr.h: call records for settlement: one per call attempt, from the INVITE to its final answer and, once answered, to the BYE. */
#ifndef SP_DIALOG_CDR_H
#define SP_DIALOG_CDR_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "store/store.h"

struct sp_cdr;

/* What is known of an attempt when it starts. Strings are copied. */
struct sp_cdr_info {
	const char *caller;     /* E.164 where known, else user@host */
	const char *callee;
	const char *ingress;    /* "peer ssp-b", "on-demand (nordic)", "local" */
	const char *federation; /* NULL or "" when none */
};

/* Records go to store (durable: SQLite) and, when jsonl is not NULL, as
 * one JSON object per line appended to that file. max_open caps the
 * attempts followed at once (beyond it new ones are not recorded, and
 * that is logged once per interval). max_call_ms ends an answered call that
 * never saw its BYE (reason "timeout"). */
int sp_cdr_create(struct sp_store *store, const char *jsonl, size_t max_open,
		  uint64_t max_call_ms, struct sp_cdr **out);
/* Frees the table. Answered calls stay open in the store (they were
 * written when answered): the next start takes them back with
 * sp_cdr_restore, so a call that outlives a restart still ends with its
 * BYE. Their JSON line comes when they end. */
void sp_cdr_destroy(struct sp_cdr *t);

/* At start: an answered call the store holds open (end_ms 0) is followed
 * again. */
void sp_cdr_restore(struct sp_cdr *t, const struct sp_store_cdr *r);

/* A new INVITE (no To tag) was admitted. A second start for the same
 * Call-ID (a retry after a 407) replaces an unanswered one. */
void sp_cdr_start(struct sp_cdr *t, struct sp_str call_id, const struct sp_cdr_info *info,
		  uint64_t now_ms);
/* The final answer sent upstream for that INVITE; egress names where the
 * answer came from ("peer ssp-b", "local", "" when answered here). A 2xx
 * opens the call (written at once, so it survives a crash); anything else
 * ends the attempt, except 401/407 (the retry with credentials is the
 * same attempt). federation (the egress peer's), when not NULL, fills a
 * record whose ingress named none. */
void sp_cdr_final(struct sp_cdr *t, struct sp_str call_id, uint16_t status, const char *egress,
		  const char *federation, uint64_t now_ms);
/* A BYE of the call went through: the call ends. */
void sp_cdr_bye(struct sp_cdr *t, struct sp_str call_id, uint64_t now_ms);
/* Ends answered calls older than max_call_ms and forgets attempts left
 * without a final answer for 5 minutes (a 407 whose retry never came). */
void sp_cdr_sweep(struct sp_cdr *t, uint64_t now_ms);

struct sp_cdr_stats {
	uint64_t written, dropped_cap, write_errors;
	size_t open;
};
void sp_cdr_stats(const struct sp_cdr *t, struct sp_cdr_stats *out);

#endif
