/* store.h: the durable location store: one backend-neutral interface (SQLite, memory; Redis later). */
#ifndef SP_STORE_STORE_H
#define SP_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* The store keeps registrar bindings durable. The in-memory location table
 * of the registrar is the source of truth for look-ups; the store is what
 * survives a restart. Writes never run on the caller's thread: they are
 * queued to a store thread that owns the backend connection, applied in one
 * transaction per batch (several queued batches share one transaction and
 * one fsync: group commit), and their completion is reported back through a
 * file descriptor the caller's event loop watches.
 *
 * Thread contract: sp_store_write, sp_store_dispatch, sp_store_fd,
 * sp_store_load and sp_store_close are called from one thread (the loop
 * that owns the registrar). Done callbacks run on that thread, inside
 * sp_store_dispatch (or sp_store_close). */

/* Caps (every size has one). Longer fields are refused with SP_E2BIG. */
#define SP_STORE_MAX_AOR 1024u
#define SP_STORE_MAX_CONTACT 4096u
#define SP_STORE_MAX_PATH 8192u
#define SP_STORE_MAX_FIELD 1024u /* call_id, received, instance, user_agent */
#define SP_STORE_MAX_OPS 256u    /* operations in one batch */
#define SP_STORE_DEFAULT_QUEUE 4096u
#define SP_STORE_GROUP_MAX 256u  /* batches sharing one transaction */

/* One binding (RFC 3261 section 10: an AoR bound to a contact address).
 * The slices are borrowed: the store copies what it keeps. */
struct sp_store_binding {
	struct sp_str aor;        /* canonical AoR, e.g. "sip:alice@ssp-a.test" */
	struct sp_str contact;    /* the Contact URI text */
	struct sp_str path;       /* Path header values, comma-separated, in order; may be empty */
	struct sp_str call_id;
	uint32_t cseq;
	uint64_t expires_at;      /* absolute, unix seconds */
	uint16_t q;               /* 0..1000 (q=1.0 is 1000) */
	struct sp_str received;   /* source "udp:192.0.2.1:5060", "tcp:[2001:db8::1]:5061"; may be empty */
	struct sp_str instance;   /* +sip.instance value as written; may be empty */
	struct sp_str user_agent; /* may be empty */
	uint64_t updated_at;      /* unix seconds */
};

/* One call record (settlement): a call attempt from start to end. Times
 * are unix milliseconds, 0 when not (yet) reached. Slices are borrowed. */
struct sp_store_cdr {
	struct sp_str id;         /* unique: "<start_ms>-<Call-ID>" */
	struct sp_str call_id;
	uint64_t start_ms, answer_ms, end_ms;
	uint16_t status;          /* final SIP status of the INVITE */
	struct sp_str caller;     /* E.164 where known, else the user@host */
	struct sp_str callee;
	struct sp_str ingress;    /* "peer NAME", "on-demand (FEDERATION)", "local" */
	struct sp_str egress;
	struct sp_str federation; /* may be empty */
	struct sp_str reason;     /* "bye", "failed", "cancelled", "timeout", "shutdown", "" while open */
};

enum sp_store_op_kind {
	SP_STORE_PUT = 1, /* insert or replace the binding (aor, contact) */
	SP_STORE_DEL = 2, /* delete (aor, contact); only aor and contact are read; absent is fine */
	SP_STORE_CDR = 3, /* insert or replace the call record cdr (by id); b is not read */
};

struct sp_store_op {
	enum sp_store_op_kind kind;
	struct sp_store_binding b;
	struct sp_store_cdr cdr;
};

/* Lists the call records of the SQLite store FILE (opened read-only, also
 * while a daemon runs on it), oldest first, at most limit (0: all) of the
 * newest. cb's slices live during the call. Returns 0, or SP_EINVAL /
 * SP_ENOENT when the file cannot be read. */
typedef int (*sp_store_cdr_h)(const struct sp_store_cdr *r, void *arg);
int sp_store_cdr_list(const char *file, size_t limit, sp_store_cdr_h cb, void *arg);

struct sp_store;

/* Completion of one sp_store_write batch: result is 0 once the batch is
 * durable (committed, fsynced), or a negative SP_E* when it was not applied
 * at all (the batch is atomic). Runs on the caller's thread. */
typedef void (*sp_store_done_h)(int result, void *arg);
/* Called once per binding by sp_store_load. The slices live only during the
 * call. Return 0 to go on, or a negative SP_E* to stop the load with it. */
typedef int (*sp_store_load_h)(const struct sp_store_binding *b, void *arg);

struct sp_store_opts {
	size_t max_queue;        /* batches written but not yet dispatched; 0: SP_STORE_DEFAULT_QUEUE */
	unsigned busy_timeout_ms; /* SQLite busy timeout; 0: 5000 */
	/* Group commit: after the first batch of a group arrives, wait this
	 * long for more before committing them all with one disk sync (each
	 * writer's completion is delayed by up to this much). 0: commit at
	 * once (what queued meanwhile still shares the next sync). */
	unsigned commit_window_ms;
	/* SQLite: a transaction holding only call records is committed with
	 * synchronous=NORMAL (in the WAL at once, so it survives a kill -9 of
	 * the process; on disk with the next FULL commit, checkpoint or the
	 * kernel's writeback) unless this is true. Bindings are always FULL. */
	bool cdr_sync;
};

/* sp_store_open opens the store named by spec:
 *   "sqlite:FILE"  SQLite 3 database FILE (created when absent; WAL journal,
 *                  synchronous=FULL; schema created or migrated here). FILE
 *                  is used as given: the configuration layer resolves paths
 *                  relative to the configuration file before calling.
 *   "memory"       in-process, lost at exit (tests); same async contract.
 * opts may be NULL (defaults). Starts the store thread. On success *out owns
 * everything until sp_store_close. Returns 0, SP_EINVAL (unknown spec, the
 * database cannot be opened, or its schema is newer than this program's),
 * SP_ENOMEM. */
int sp_store_open(const char *spec, const struct sp_store_opts *opts, struct sp_store **out);

/* sp_store_close writes every queued batch, stops and joins the store
 * thread, runs the done callbacks still pending (on this thread), closes
 * the backend and frees the store. NULL is a no-op. */
void sp_store_close(struct sp_store *st);

/* sp_store_fd is the completion descriptor (an eventfd): watch it for
 * reading in the event loop and call sp_store_dispatch when it is ready. */
int sp_store_fd(const struct sp_store *st);

/* sp_store_dispatch runs the done callbacks of the batches finished so far,
 * in the order they were written, and clears the descriptor's readiness.
 * A callback may call sp_store_write. Returns how many callbacks ran. */
size_t sp_store_dispatch(struct sp_store *st);

/* sp_store_write queues ops[0..n) as one atomic batch (meant for one AoR)
 * and returns at once; done(result, arg) runs later from sp_store_dispatch.
 * The ops and their slices are copied: the caller may free them on return.
 * n may be 0 (done then only reports that the earlier batches are durable).
 * Returns 0 (done will run exactly once), SP_E2BIG when the queue is full
 * (max_queue) or a field or n exceeds its cap, SP_EINVAL for a bad op, or
 * SP_ENOMEM; on error done never runs. */
int sp_store_write(struct sp_store *st, const struct sp_store_op *ops, size_t n,
		   sp_store_done_h done, void *arg);

/* sp_store_load calls cb for every binding whose expires_at is after now_s,
 * synchronously, after the writes queued so far are applied. Meant for the
 * start, before the loop runs; cb must not call the store. Returns 0, the
 * callback's error, or SP_EINVAL when the backend fails. */
int sp_store_load(struct sp_store *st, uint64_t now_s, sp_store_load_h cb, void *arg);

/* sp_store_keep returns in out the value kept under key, storing value
 * first when the key has none: the first start's choice survives every
 * restart (a generated secret). Synchronous, at start like sp_store_load.
 * Returns 0, SP_E2BIG (out too small), SP_ENOENT (this store keeps
 * nothing: out is value), or SP_EINVAL. */
int sp_store_keep(struct sp_store *st, const char *key, const char *value, char *out,
		  size_t size);

/* sp_store_pending says how many batches are written but not yet dispatched. */
size_t sp_store_pending(const struct sp_store *st);

/* Counters for metrics: batches applied and the transactions (fsyncs) they
 * took; batches / transactions is the group-commit factor. */
struct sp_store_stats {
	uint64_t batches;
	uint64_t transactions;
	uint64_t failed; /* batches whose result was an error */
};
void sp_store_stats(struct sp_store *st, struct sp_store_stats *out);

#endif
