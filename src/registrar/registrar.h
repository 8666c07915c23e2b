/* registrar.h: the registrar (RFC 3261 section 10.3, Path of RFC 3327) and the in-memory location table. */
#ifndef SP_REGISTRAR_REGISTRAR_H
#define SP_REGISTRAR_REGISTRAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"
#include "sip/msg.h"
#include "store/store.h"
#include "transport/tp.h"

/* The location table lives in memory (hashed by AoR) and answers every
 * look-up; the store only makes it durable. A REGISTER that changes
 * bindings is answered once its changes are committed to the store; the
 * table changes at that moment too, so a look-up never sees a binding the
 * store could lose. Requests for one AoR are applied one at a time, in
 * arrival order (a request arriving while the AoR has a write in flight
 * waits for it), so each is judged against the bindings its predecessors
 * left, as RFC 3261 section 10.3 step 7 requires.
 *
 * Threads: not thread-safe. Everything runs on the thread of the loop that
 * watches sp_store_fd() of the store given at creation. */

/* Most Contact values one REGISTER may carry (more: 400). */
#define SP_REGISTRAR_MAX_CONTACTS 32u
/* Highest max_per_aor accepted (a 200 lists every binding of the AoR). */
#define SP_REGISTRAR_MAX_PER_AOR 64u
/* REGISTERs for one AoR waiting behind its in-flight write (more: 503). */
#define SP_REGISTRAR_MAX_AOR_QUEUE 16u

struct sp_registrar_conf {
	uint32_t default_expires;  /* no expires param, no Expires header; 0: 3600 */
	uint32_t min_expires;      /* below: 423 with Min-Expires; 0: 60 */
	uint32_t max_expires;      /* above: clamped; 0: 86400 */
	uint32_t max_per_aor;      /* bindings per AoR, above: 503; 0: 10; at most SP_REGISTRAR_MAX_PER_AOR */
	size_t max_bindings;       /* bindings in all, above: 503 with Retry-After; 0: 100000 */
	size_t max_queued;         /* REGISTERs waiting or in flight, above: 503; 0: 4096 */
	uint32_t retry_after;      /* Retry-After of a 503 for load; 0: 5 */
};

/* One current binding as reported to callers. The slices point into the
 * registrar's table: valid until the next call that may change it
 * (sp_registrar_register, _sweep, _load) or the next sp_store_dispatch. */
struct sp_registrar_binding {
	struct sp_str contact;   /* the Contact URI text, as registered */
	struct sp_str path;      /* Path values, comma-separated, to use as a Route set; may be empty */
	struct sp_str received;  /* "udp:192.0.2.1:5060" (source of the REGISTER); may be empty */
	struct sp_str instance;  /* +sip.instance as written; may be empty */
	struct sp_str user_agent;
	struct sp_str call_id;
	uint32_t cseq;
	/* The source as a destination (proto, address, connection id): the
	 * daemon sends there when the Contact is unreachable (private address,
	 * NAT). has_source is false when the source was not recorded; conn and
	 * listener are only known for bindings made since the start (a loaded
	 * binding has conn 0 and listener -1). */
	struct sp_dest source;
	bool has_source;
	uint16_t q;              /* 0..1000 */
	uint32_t expires;        /* seconds left at the time asked */
	uint64_t expires_at;     /* unix seconds */
	uint64_t updated_at;     /* unix seconds */
};

/* The answer to one REGISTER. Valid only during the done callback. */
struct sp_registrar_reply {
	uint16_t status;        /* 200, 400, 423, 500, 503 */
	const char *reason;     /* static reason phrase */
	uint32_t min_expires;   /* 423: the Min-Expires value */
	uint32_t retry_after;   /* 503 (and 500 when retrying may help): seconds, else 0 */
	uint64_t now_s;         /* the time of the request (for Date) */
	/* 200: every current binding of the AoR (after this request), in look-up order. */
	const struct sp_registrar_binding *contacts;
	size_t ncontacts;
	/* 200: the Path values to echo (RFC 3327 section 5.3: only when the
	 * REGISTER carried Path and Supported: path); empty otherwise. */
	struct sp_str path;
};

/* Called exactly once per sp_registrar_register, on the loop's thread. */
typedef void (*sp_registrar_done_h)(const struct sp_registrar_reply *reply, void *arg);

struct sp_registrar;

/* sp_registrar_create makes an empty registrar writing through store (not
 * owned: close the store first, then destroy the registrar, so that every
 * pending completion has run). conf may be NULL (defaults). */
int sp_registrar_create(const struct sp_registrar_conf *conf, struct sp_store *store,
			struct sp_registrar **out);
/* Frees the table. REGISTERs still queued behind an in-flight write are
 * dropped without their done callback. NULL is a no-op. */
void sp_registrar_destroy(struct sp_registrar *reg);

/* sp_registrar_load fills the table from store (normally the one given at
 * creation) at start: synchronous, before the loop runs. Expired bindings
 * and those beyond the caps are skipped (logged). Returns 0 or the store's
 * error. */
int sp_registrar_load(struct sp_registrar *reg, struct sp_store *store, uint64_t now_s);

/* sp_registrar_register processes REGISTER req (RFC 3261 section 10.3 steps
 * 6 to 8) for aor, the canonical AoR the caller derived from the To URI
 * after authentication ("sip:alice@ssp-a.test"). src is where the request
 * came from (copied; may be NULL). now_s is unix seconds.
 * done(reply, arg) is called exactly once: synchronously, before this
 * returns, when no store write is needed (queries, 400, 423, 500 for an
 * out-of-order request, 503 for a cap); otherwise from sp_store_dispatch,
 * after the changes are durable (200) or failed (500, or 503 when the store
 * queue is full). req and its buffer are used only during this call.
 * Returns 0, or SP_EINVAL when an argument is missing (done not called). */
int sp_registrar_register(struct sp_registrar *reg, struct sp_str aor, struct sp_msg *req,
			  const struct sp_dest *src, uint64_t now_s, sp_registrar_done_h done,
			  void *arg);

/* sp_registrar_reply_headers appends the header lines that go with reply
 * (each "Name: value\r\n"): for 200, one "Contact: <uri>;expires=N[;q=0.x]"
 * per binding, the Path values, and a Date; for 423, Min-Expires; for a
 * reply with retry_after, Retry-After. Returns 0 or SP_E2BIG (out is then
 * left as it was). The lines can be split at CRLF into the extra headers of
 * sp_reply_build. */
int sp_registrar_reply_headers(const struct sp_registrar_reply *reply, struct sp_buf *out);

/* sp_registrar_lookup fills out[0..max) with the current bindings of aor at
 * now_s, ordered by q descending, then the most recently updated first, and
 * sets *n. Returns 0 (*n may be 0) or SP_E2BIG when there were more than
 * max (the first max are given). See struct sp_registrar_binding for how
 * long the slices live. */
int sp_registrar_lookup(struct sp_registrar *reg, struct sp_str aor, uint64_t now_s,
			struct sp_registrar_binding *out, size_t max, size_t *n);

/* sp_registrar_sweep removes the bindings expired at now_s from the table
 * and deletes them from the store (one batch per AoR, not waited for).
 * AoRs with a write in flight are left for the next sweep. Returns how many
 * bindings were removed. Call it from a periodic timer (every few seconds). */
size_t sp_registrar_sweep(struct sp_registrar *reg, uint64_t now_s);

/* Counters for status and metrics. */
size_t sp_registrar_count(const struct sp_registrar *reg);     /* bindings */
size_t sp_registrar_aor_count(const struct sp_registrar *reg); /* AoRs with bindings or requests */

#endif
