/* hash.h: an intrusive chained hash table and a keyed hash (SipHash-1-3) against hash flooding. */
#ifndef SP_CORE_HASH_H
#define SP_CORE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* Embed one node in each object. The table never owns the objects. */
struct sp_hnode {
	struct sp_hnode *next;
	uint64_t hash;
};

/* Buckets grow (doubling) as entries are added; the table itself has no cap:
 * each owner enforces its own limit (transactions, connections, bindings)
 * before inserting. Not thread-safe. */
struct sp_htab {
	struct sp_hnode **bucket;
	size_t nbuckets;   /* a power of two */
	size_t n;
};

void sp_htab_init(struct sp_htab *h);
void sp_htab_free(struct sp_htab *h);
/* Inserts node under hash. Growth failure is not an error: the chains get longer. */
void sp_htab_insert(struct sp_htab *h, struct sp_hnode *node, uint64_t hash);
/* Removes node, which must be in h. */
void sp_htab_remove(struct sp_htab *h, struct sp_hnode *node);
/* Walks the nodes with exactly this hash: first, then next until NULL.
 * The caller compares its keys. */
struct sp_hnode *sp_htab_first(const struct sp_htab *h, uint64_t hash);
struct sp_hnode *sp_htab_next(const struct sp_hnode *node);

/* Every node, for sweeps: visit returns false to stop. Removing the visited
 * node inside visit is allowed. */
void sp_htab_foreach(struct sp_htab *h, bool (*visit)(struct sp_hnode *node, void *arg), void *arg);

/* The process key is drawn from getrandom() by sp_hash_seed (main calls it
 * once; until then a fixed key is used, which tests may rely on). */
void sp_hash_seed(void);
uint64_t sp_hash(const void *p, size_t len);
/* The same over the ASCII-lowercased bytes (case-insensitive keys). */
uint64_t sp_hash_case(const void *p, size_t len);
static inline uint64_t sp_hash_str(struct sp_str s)
{
	return sp_hash(s.p, s.len);
}
/* Mixes a second value into a hash (for composite keys). */
static inline uint64_t sp_hash_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

#endif
