/* hash.c: chained hash table with power-of-two buckets; SipHash-1-3 with a per-process key. */
#include "core/hash.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/charset.h"

static uint64_t key0 = 0x0706050403020100ull, key1 = 0x0f0e0d0c0b0a0908ull;

void sp_hash_seed(void)
{
	uint64_t k[2];
	if (getrandom(k, sizeof(k), 0) == (ssize_t)sizeof(k)) {
		key0 = k[0];
		key1 = k[1];
	}
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                   \
	do {                                                                       \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);          \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                             \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                             \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);          \
	} while (0)

/* SipHash-1-3 (one compression round, three finalization rounds): keyed,
 * so a sender cannot aim many keys at one bucket. */
static uint64_t siphash13(const unsigned char *in, size_t len, bool lower)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ key0, v1 = 0x646f72616e646f6dull ^ key1;
	uint64_t v2 = 0x6c7967656e657261ull ^ key0, v3 = 0x7465646279746573ull ^ key1;
	uint64_t b = (uint64_t)len << 56;
	size_t i = 0;
	unsigned char w[8];

	for (; i + 8 <= len; i += 8) {
		uint64_t m = 0;
		for (int j = 0; j < 8; j++) {
			unsigned char c = in[i + j];
			m |= (uint64_t)(lower ? sp_lower_tab[c] : c) << (8 * j);
		}
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	memset(w, 0, sizeof(w));
	for (size_t j = 0; i + j < len; j++) {
		unsigned char c = in[i + j];
		w[j] = lower ? sp_lower_tab[c] : c;
	}
	for (int j = 0; j < 7; j++)
		b |= (uint64_t)w[j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t sp_hash(const void *p, size_t len)
{
	return siphash13(p, len, false);
}

uint64_t sp_hash_case(const void *p, size_t len)
{
	return siphash13(p, len, true);
}

void sp_htab_init(struct sp_htab *h)
{
	h->bucket = NULL;
	h->nbuckets = 0;
	h->n = 0;
}

void sp_htab_free(struct sp_htab *h)
{
	free(h->bucket);
	sp_htab_init(h);
}

static void grow(struct sp_htab *h)
{
	size_t nb = h->nbuckets ? h->nbuckets * 2 : 64;
	struct sp_hnode **b = calloc(nb, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct sp_hnode *n = h->bucket[i], *next;
		for (; n; n = next) {
			next = n->next;
			size_t j = n->hash & (nb - 1);
			n->next = b[j];
			b[j] = n;
		}
	}
	free(h->bucket);
	h->bucket = b;
	h->nbuckets = nb;
}

void sp_htab_insert(struct sp_htab *h, struct sp_hnode *node, uint64_t hash)
{
	if (h->n >= h->nbuckets)
		grow(h);
	node->hash = hash;
	if (!h->nbuckets) { /* not even the first bucket array: keep a chain of one */
		grow(h);
		if (!h->nbuckets)
			abort(); /* 512 bytes could not be allocated: nothing sane remains */
	}
	struct sp_hnode **slot = &h->bucket[hash & (h->nbuckets - 1)];
	node->next = *slot;
	*slot = node;
	h->n++;
}

void sp_htab_remove(struct sp_htab *h, struct sp_hnode *node)
{
	struct sp_hnode **pp = &h->bucket[node->hash & (h->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->next) {
		if (*pp == node) {
			*pp = node->next;
			node->next = NULL;
			h->n--;
			return;
		}
	}
}

struct sp_hnode *sp_htab_first(const struct sp_htab *h, uint64_t hash)
{
	if (!h->nbuckets)
		return NULL;
	struct sp_hnode *n = h->bucket[hash & (h->nbuckets - 1)];
	while (n && n->hash != hash)
		n = n->next;
	return n;
}

struct sp_hnode *sp_htab_next(const struct sp_hnode *node)
{
	uint64_t hash = node->hash;
	struct sp_hnode *n = node->next;
	while (n && n->hash != hash)
		n = n->next;
	return n;
}

void sp_htab_foreach(struct sp_htab *h, bool (*visit)(struct sp_hnode *node, void *arg), void *arg)
{
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct sp_hnode *n = h->bucket[i], *next;
		for (; n; n = next) {
			next = n->next;
			if (!visit(n, arg))
				return;
		}
	}
}
