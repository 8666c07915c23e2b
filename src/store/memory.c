/* memory.c: the in-process store backend ("store: memory"): same contract as SQLite, nothing durable. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "store/store_be.h"

/* One stored binding, its strings in the same allocation. */
struct mem_entry {
	struct sp_hnode node;
	struct sp_store_binding b;
};

struct mem_be {
	struct sp_htab tab;
};

static uint64_t key_hash(struct sp_str aor, struct sp_str contact)
{
	return sp_hash_mix(sp_hash_str(aor), sp_hash_str(contact));
}

static struct mem_entry *find(struct mem_be *be, struct sp_str aor, struct sp_str contact)
{
	for (struct sp_hnode *n = sp_htab_first(&be->tab, key_hash(aor, contact)); n;
	     n = sp_htab_next(n)) {
		struct mem_entry *e = (struct mem_entry *)n;
		if (sp_str_eq(e->b.aor, aor) && sp_str_eq(e->b.contact, contact))
			return e;
	}
	return NULL;
}

static struct sp_str put_str(char **pos, struct sp_str s)
{
	struct sp_str r = { *pos, s.len };
	if (s.len)
		memcpy(*pos, s.p, s.len);
	*pos += s.len;
	return r;
}

static struct mem_entry *entry_new(const struct sp_store_binding *b)
{
	size_t bytes = b->aor.len + b->contact.len + b->path.len + b->call_id.len +
		       b->received.len + b->instance.len + b->user_agent.len;
	struct mem_entry *e = malloc(sizeof(*e) + bytes);
	if (!e)
		return NULL;
	char *pos = (char *)(e + 1);
	e->b = *b;
	e->b.aor = put_str(&pos, b->aor);
	e->b.contact = put_str(&pos, b->contact);
	e->b.path = put_str(&pos, b->path);
	e->b.call_id = put_str(&pos, b->call_id);
	e->b.received = put_str(&pos, b->received);
	e->b.instance = put_str(&pos, b->instance);
	e->b.user_agent = put_str(&pos, b->user_agent);
	return e;
}

static void apply_batch(struct mem_be *be, struct sp_store_batch *b)
{
	struct mem_entry *fresh[SP_STORE_MAX_OPS];

	/* Allocate first, then change: the batch is applied whole or not at all. */
	for (size_t i = 0; i < b->n; i++) {
		fresh[i] = NULL;
		if (b->ops[i].kind != SP_STORE_PUT)
			continue; /* call records are not kept in memory */
		fresh[i] = entry_new(&b->ops[i].b);
		if (!fresh[i]) {
			for (size_t k = 0; k < i; k++)
				free(fresh[k]);
			b->result = SP_ENOMEM;
			return;
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct sp_store_binding *ob = &b->ops[i].b;
		if (b->ops[i].kind == SP_STORE_CDR)
			continue;
		struct mem_entry *old = find(be, ob->aor, ob->contact);
		if (old) {
			sp_htab_remove(&be->tab, &old->node);
			free(old);
		}
		if (fresh[i])
			sp_htab_insert(&be->tab, &fresh[i]->node, key_hash(ob->aor, ob->contact));
	}
	b->result = 0;
}

static void memory_apply(void *arg, struct sp_store_batch **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		apply_batch(arg, v[i]);
}

struct load_ctx {
	uint64_t now_s;
	sp_store_load_h cb;
	void *arg;
	int rc;
};

static bool load_one(struct sp_hnode *n, void *arg)
{
	struct load_ctx *c = arg;
	struct mem_entry *e = (struct mem_entry *)n;
	if (e->b.expires_at <= c->now_s)
		return true;
	c->rc = c->cb(&e->b, c->arg);
	return c->rc >= 0;
}

static int memory_load(void *arg, uint64_t now_s, sp_store_load_h cb, void *cb_arg)
{
	struct mem_be *be = arg;
	struct load_ctx c = { now_s, cb, cb_arg, 0 };
	sp_htab_foreach(&be->tab, load_one, &c);
	return c.rc < 0 ? c.rc : 0;
}

static bool free_one(struct sp_hnode *n, void *arg)
{
	struct mem_be *be = arg;
	sp_htab_remove(&be->tab, n);
	free(n);
	return true;
}

static void memory_close(void *arg)
{
	struct mem_be *be = arg;
	sp_htab_foreach(&be->tab, free_one, be);
	sp_htab_free(&be->tab);
	free(be);
}

static const struct sp_store_be_ops memory_ops = {
	.apply = memory_apply,
	.load = memory_load,
	.close = memory_close,
};

int sp_store_memory_open(void **out, const struct sp_store_be_ops **ops)
{
	struct mem_be *be = calloc(1, sizeof(*be));
	if (!be)
		return SP_ENOMEM;
	sp_htab_init(&be->tab);
	*out = be;
	*ops = &memory_ops;
	return 0;
}
