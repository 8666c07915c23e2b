/* handover.h: handing a received message to the worker that owns its Call-ID (DESIGN.md "Threads and state"). */
#ifndef SP_TRANSPORT_HANDOVER_H
#define SP_TRANSPORT_HANDOVER_H

#include <stddef.h>

#include "core/str.h"
#include "io/loop.h"
#include "transport/transport.h"

/* Every worker thread runs its own loop and owns the transactions and
 * dialogs of the Call-IDs that hash to it. A message that arrives at another
 * worker is copied and posted to the owner's loop, whose handler then takes
 * it exactly as if its own transport had received it. */
struct sp_workers;

/* Called on the owner's thread with a copy of the message; rx and what it
 * points to live until the handler returns. */
typedef void (*sp_handover_h)(void *arg, const struct sp_rx *rx);

/* n workers (1..64). max_queued caps the bytes in flight towards one
 * worker: beyond it sp_handover refuses (the caller drops the message and
 * counts it; the sender retransmits) instead of growing without bound. */
int sp_workers_create(unsigned n, size_t max_queued, struct sp_workers **out);
/* Frees the registry. Stop handing over and let every loop run its posted
 * work first: sp_loop_destroy drops work still queued, and the copies with
 * it. */
void sp_workers_destroy(struct sp_workers *ws);
/* Worker i's loop and handler, set before any message is handed to it. */
void sp_workers_set(struct sp_workers *ws, unsigned i, struct sp_loop *loop, sp_handover_h h,
		    void *arg);
unsigned sp_workers_count(const struct sp_workers *ws);

/* The worker that owns a Call-ID: a keyed hash (sp_hash), so every worker
 * agrees on it and a sender cannot aim its calls at one worker. */
unsigned sp_workers_owner(const struct sp_workers *ws, struct sp_str call_id);

/* Copies rx (the bytes, the source, the peer's TLS names) and queues it to
 * worker `to`. Thread-safe. Returns 0, SP_EINVAL (no such worker),
 * SP_E2BIG (that worker's queue is full) or SP_ENOMEM. */
int sp_handover(struct sp_workers *ws, unsigned to, const struct sp_rx *rx);

#endif
