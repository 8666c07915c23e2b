/* store_be.h: private to src/store/: the queued batch and the table a store backend implements. */
#ifndef SP_STORE_STORE_BE_H
#define SP_STORE_STORE_BE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* One sp_store_write call: the ops and every byte they point to live in the
 * same allocation as the batch, so the caller's buffers are not needed. */
struct sp_store_batch {
	struct sp_store_batch *next;
	sp_store_done_h done;
	void *arg;
	int result;
	size_t n;
	struct sp_store_op *ops;
};

/* A backend is used by one thread at a time: apply on the store thread,
 * load on the caller's thread while the store thread is idle. */
struct sp_store_be_ops {
	/* Applies v[0..n) in one transaction; each batch is atomic on its own and
	 * gets its result in v[i]->result (0 once durable). */
	void (*apply)(void *be, struct sp_store_batch **v, size_t n);
	int (*load)(void *be, uint64_t now_s, sp_store_load_h cb, void *arg);
	/* sp_store_keep: the value stored under key, or value stored there now
	 * when there was none (durably). NULL: not kept (the memory store). */
	int (*keep)(void *be, const char *key, const char *value, char *out, size_t size);
	void (*close)(void *be);
};

int sp_store_sqlite_open(const char *file, const struct sp_store_opts *opts, void **be,
			 const struct sp_store_be_ops **ops);
int sp_store_memory_open(void **be, const struct sp_store_be_ops **ops);

#endif
