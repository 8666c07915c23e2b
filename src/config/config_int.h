/* config_int.h: private to src/config/: the loader's state and its typed accessors of YAML nodes. */
#ifndef SP_CONFIG_CONFIG_INT_H
#define SP_CONFIG_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/str.h"

struct fy_node;

/* A value and the key it was found under. val is NULL for an empty value
 * (`key:`), key is NULL for list items; errors point at val, else at key. */
struct sp_cfg_slot {
	struct fy_node *key;
	struct fy_node *val;
	bool set;
};

/* The state of one load: what is being built, where errors go, and the
 * dotted path ("peers[1].hosts[0]") that prefixes each message. */
struct sp_cfg_ld {
	struct sp_config *cfg;
	struct sp_config_diag *diag;
	const char *base; /* directory for relative paths; NULL keeps them */
	bool oom;
	size_t nerr;
	char path[256];
	size_t plen;
};

/* Zeroed memory owned by ld->cfg; NULL (and ld->oom) on failure. */
void *sp_cfg_alloc(struct sp_cfg_ld *ld, size_t size);
char *sp_cfg_strdup(struct sp_cfg_ld *ld, const char *p, size_t len);

void sp_cfg_err(struct sp_cfg_ld *ld, const struct sp_cfg_slot *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* 1-based line of a slot (for "first defined at line N"). */
unsigned sp_cfg_line(const struct sp_cfg_slot *s);
size_t sp_cfg_push(struct sp_cfg_ld *ld, const char *key);
size_t sp_cfg_push_index(struct sp_cfg_ld *ld, size_t i);
void sp_cfg_pop(struct sp_cfg_ld *ld, size_t mark);

/* Each accessor reports its own error and returns false on a wrong type or
 * value; out is set only on success. */
bool sp_cfg_is_null(const struct sp_cfg_slot *s);
bool sp_cfg_scalar(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, const char *want,
		   struct sp_str *out);
bool sp_cfg_string(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, char **out);
bool sp_cfg_u32(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, uint32_t min, uint32_t max,
		uint32_t *out);
bool sp_cfg_bool(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, bool *out);
/* A list (an empty value is an empty list); *count items. */
bool sp_cfg_list(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, size_t *count);
/* The next item of a list checked by sp_cfg_list; *it starts NULL. */
struct sp_cfg_slot sp_cfg_item(const struct sp_cfg_slot *list, void **it);
/* A mapping whose keys must be among keys[] (NULL-terminated): slots[i]
 * receives the value of keys[i]; each unknown key is an error at the key.
 * An empty value is an empty mapping. At the top level (empty path), keys
 * starting with "x-" are skipped: they hold the operator's YAML anchors. */
bool sp_cfg_map(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, const char *const keys[],
		struct sp_cfg_slot *slots);

bool sp_cfg_random_secret(struct sp_cfg_ld *ld, char **out);

/* build.c: checks the root mapping and fills ld->cfg (errors into ld). */
void sp_cfg_build(struct sp_cfg_ld *ld, const struct sp_cfg_slot *root);

#endif
