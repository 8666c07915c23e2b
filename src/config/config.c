/* config.c: loads the YAML configuration with libfyaml, checks every key and value, builds struct sp_config. */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libfyaml.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "config/config_int.h"
#include "core/err.h"
#include "sip/uri.h"

/* Everything a configuration owns hangs off one list of blocks, so that a
 * half-built configuration is freed the same way as a complete one. */
struct cfg_blk {
	struct cfg_blk *next;
	max_align_t data[];
};

void *sp_cfg_alloc(struct sp_cfg_ld *ld, size_t size)
{
	struct cfg_blk *b;

	if (size > SIZE_MAX - sizeof(*b)) {
		ld->oom = true;
		return NULL;
	}
	b = calloc(1, sizeof(*b) + size);
	if (!b) {
		ld->oom = true;
		return NULL;
	}
	b->next = ld->cfg->mem_;
	ld->cfg->mem_ = b;
	return b->data;
}

char *sp_cfg_strdup(struct sp_cfg_ld *ld, const char *p, size_t len)
{
	char *s = sp_cfg_alloc(ld, len + 1);

	if (s && len)
		memcpy(s, p, len);
	return s;
}

void sp_config_free(struct sp_config *cfg)
{
	struct cfg_blk *b, *next;

	if (!cfg)
		return;
	for (b = cfg->mem_; b; b = next) {
		next = b->next;
		free(b);
	}
	free(cfg);
}

/* --- positions and errors --------------------------------------------- */

/* libfyaml 0.7 has no public node-mark getter; a node report into a private
 * collecting diag carries the node's 1-based position, which is the public
 * way to obtain it. Only used on the error path. */
static bool node_report_pos(struct fy_node *n, unsigned *line, unsigned *col)
{
	struct fy_diag_cfg dc;
	struct fy_diag *d;
	struct fy_diag_error *e;
	void *it = NULL;
	int l = 0, c = 0;

	fy_diag_cfg_default(&dc);
	dc.fp = NULL;
	dc.colorize = false;
	d = fy_diag_create(&dc);
	if (!d)
		return false;
	fy_diag_set_collect_errors(d, true);
	fy_diag_node_report(d, n, FYET_ERROR, "position");
	while ((e = fy_diag_errors_iterate(d, &it)) != NULL) {
		l = e->line;
		c = e->column;
	}
	fy_diag_destroy(d);
	if (l <= 0)
		return false;
	*line = (unsigned)l;
	*col = c > 0 ? (unsigned)c : 1;
	return true;
}

/* Block collections carry no token of their own: their first child's
 * position stands for them. Bounded by the nesting depth of the file. */
static bool node_pos(struct fy_node *n, unsigned *line, unsigned *col, int depth)
{
	void *it = NULL;

	if (!n || depth > 64)
		return false;
	if (node_report_pos(n, line, col)) {
		enum fy_node_style st = fy_node_get_style(n);

		/* A quoted scalar's mark is its first character inside the quote;
		 * the operator looks for the quote. */
		if ((st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED) && *col > 1)
			(*col)--;
		return true;
	}
	if (fy_node_is_mapping(n)) {
		struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
		return p && node_pos(fy_node_pair_key(p), line, col, depth + 1);
	}
	if (fy_node_is_sequence(n))
		return node_pos(fy_node_sequence_iterate(n, &it), line, col, depth + 1);
	return false;
}

static void slot_pos(const struct sp_cfg_slot *s, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	if (s && node_pos(s->val, line, col, 0))
		return;
	if (s && s->key)
		node_pos(s->key, line, col, 0);
}

unsigned sp_cfg_line(const struct sp_cfg_slot *s)
{
	unsigned line, col;

	slot_pos(s, &line, &col);
	return line;
}

static void add_error(struct sp_cfg_ld *ld, unsigned line, unsigned col, const char *msg)
{
	struct sp_config_diag *d = ld->diag;
	struct sp_config_error *e;

	ld->nerr++;
	if (d->count >= SP_CONFIG_DIAG_MAX) {
		d->dropped++;
		return;
	}
	e = &d->errors[d->count++];
	e->line = line;
	e->col = col;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

void sp_cfg_err(struct sp_cfg_ld *ld, const struct sp_cfg_slot *at, const char *fmt, ...)
{
	char msg[SP_CONFIG_MSG_MAX];
	unsigned line, col;
	size_t off = 0;
	va_list ap;

	if (ld->plen) {
		int n = snprintf(msg, sizeof(msg), "%s: ", ld->path);
		off = n > 0 && (size_t)n < sizeof(msg) ? (size_t)n : 0;
	}
	va_start(ap, fmt);
	vsnprintf(msg + off, sizeof(msg) - off, fmt, ap);
	va_end(ap);
	slot_pos(at, &line, &col);
	add_error(ld, line, col, msg);
}

size_t sp_cfg_push(struct sp_cfg_ld *ld, const char *key)
{
	size_t mark = ld->plen;
	int n = snprintf(ld->path + ld->plen, sizeof(ld->path) - ld->plen, "%s%s",
			 ld->plen ? "." : "", key);

	if (n > 0)
		ld->plen = ld->plen + (size_t)n < sizeof(ld->path) ? ld->plen + (size_t)n
								   : sizeof(ld->path) - 1;
	return mark;
}

size_t sp_cfg_push_index(struct sp_cfg_ld *ld, size_t i)
{
	size_t mark = ld->plen;
	int n = snprintf(ld->path + ld->plen, sizeof(ld->path) - ld->plen, "[%zu]", i);

	if (n > 0)
		ld->plen = ld->plen + (size_t)n < sizeof(ld->path) ? ld->plen + (size_t)n
								   : sizeof(ld->path) - 1;
	return mark;
}

void sp_cfg_pop(struct sp_cfg_ld *ld, size_t mark)
{
	ld->plen = mark;
	ld->path[mark] = '\0';
}

/* --- typed access to nodes -------------------------------------------- */

static bool scalar_text(struct fy_node *n, struct sp_str *out)
{
	const char *p;
	size_t len = 0;

	if (!n || !fy_node_is_scalar(n))
		return false;
	p = fy_node_get_scalar(n, &len);
	*out = sp_str_make(p ? p : "", p ? len : 0);
	return true;
}

bool sp_cfg_is_null(const struct sp_cfg_slot *s)
{
	struct sp_str t;

	if (!s->val)
		return true;
	if (fy_node_get_style(s->val) != FYNS_PLAIN || !scalar_text(s->val, &t))
		return false;
	return t.len == 0 || sp_str_eq_c(t, "~") || sp_str_eq_c(t, "null") ||
	       sp_str_eq_c(t, "Null") || sp_str_eq_c(t, "NULL");
}

static const char *kind_name(struct fy_node *n)
{
	if (!n)
		return "nothing";
	if (fy_node_is_mapping(n))
		return "a mapping";
	if (fy_node_is_sequence(n))
		return "a list";
	return "a scalar";
}

bool sp_cfg_scalar(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, const char *want,
		   struct sp_str *out)
{
	struct sp_str t;

	if (sp_cfg_is_null(s)) {
		sp_cfg_err(ld, s, "expected %s, got nothing", want);
		return false;
	}
	if (!scalar_text(s->val, &t)) {
		sp_cfg_err(ld, s, "expected %s, got %s", want, kind_name(s->val));
		return false;
	}
	if (t.len > SP_CONFIG_SCALAR_MAX) {
		sp_cfg_err(ld, s, "value longer than %d bytes", SP_CONFIG_SCALAR_MAX);
		return false;
	}
	if (memchr(t.p, '\0', t.len)) {
		sp_cfg_err(ld, s, "value contains a NUL byte");
		return false;
	}
	*out = t;
	return true;
}

bool sp_cfg_string(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, char **out)
{
	struct sp_str t;

	if (!sp_cfg_scalar(ld, s, "a string", &t))
		return false;
	if (t.len == 0) {
		sp_cfg_err(ld, s, "must not be empty");
		return false;
	}
	*out = sp_cfg_strdup(ld, t.p, t.len);
	return *out != NULL;
}

bool sp_cfg_u32(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, uint32_t min, uint32_t max,
		uint32_t *out)
{
	struct sp_str t;
	uint32_t v;
	int err;

	if (!sp_cfg_scalar(ld, s, "an integer", &t))
		return false;
	err = sp_str_to_u32(t, UINT32_MAX, &v);
	if (err == SP_EINVAL) {
		sp_cfg_err(ld, s, "expected an integer, got \"%.*s\"", SP_STR_FMT(t));
		return false;
	}
	if (err || v < min || v > max) {
		sp_cfg_err(ld, s, "%.*s is out of range (%u..%u)", SP_STR_FMT(t), min, max);
		return false;
	}
	*out = v;
	return true;
}

bool sp_cfg_bool(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, bool *out)
{
	struct sp_str t;

	if (!sp_cfg_scalar(ld, s, "true or false", &t))
		return false;
	if (sp_str_caseeq_c(t, "true")) {
		*out = true;
		return true;
	}
	if (sp_str_caseeq_c(t, "false")) {
		*out = false;
		return true;
	}
	sp_cfg_err(ld, s, "expected true or false, got \"%.*s\"", SP_STR_FMT(t));
	return false;
}

bool sp_cfg_list(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, size_t *count)
{
	int n;

	*count = 0;
	if (sp_cfg_is_null(s))
		return true;
	if (!fy_node_is_sequence(s->val)) {
		sp_cfg_err(ld, s, "expected a list, got %s", kind_name(s->val));
		return false;
	}
	n = fy_node_sequence_item_count(s->val);
	if (n < 0)
		return false;
	if ((size_t)n > SP_CONFIG_LIST_MAX) {
		sp_cfg_err(ld, s, "more than %d items", SP_CONFIG_LIST_MAX);
		return false;
	}
	*count = (size_t)n;
	return true;
}

struct sp_cfg_slot sp_cfg_item(const struct sp_cfg_slot *list, void **it)
{
	struct sp_cfg_slot s = { NULL, NULL, false };

	s.val = fy_node_sequence_iterate(list->val, it);
	s.set = s.val != NULL;
	return s;
}

/* Edit distance of a typed key to a known one, for "did you mean"; keys
 * are short, so the quadratic table is bounded by 64 x 64. */
static size_t edit_distance(struct sp_str a, const char *b)
{
	size_t row[65], bl = strlen(b), i, j;

	if (a.len > 64 || bl > 64)
		return SIZE_MAX;
	for (j = 0; j <= bl; j++)
		row[j] = j;
	for (i = 1; i <= a.len; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= bl; j++) {
			size_t up = row[j], best = diag + (a.p[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[bl];
}

static const char *nearest_key(struct sp_str name, const char *const keys[])
{
	const char *best = NULL;
	size_t i, d, bestd = 3;

	for (i = 0; keys[i]; i++) {
		d = edit_distance(name, keys[i]);
		/* Two edits in a short word make any word: only suggest when the
		 * typed key is mostly right. */
		if (d < bestd && d * 3 <= name.len) {
			bestd = d;
			best = keys[i];
		}
	}
	return best;
}

bool sp_cfg_map(struct sp_cfg_ld *ld, const struct sp_cfg_slot *s, const char *const keys[],
		struct sp_cfg_slot *slots)
{
	struct fy_node_pair *p;
	void *it = NULL;
	size_t n;

	for (n = 0; keys[n]; n++)
		slots[n] = (struct sp_cfg_slot){ NULL, NULL, false };
	if (sp_cfg_is_null(s))
		return true;
	if (!fy_node_is_mapping(s->val)) {
		sp_cfg_err(ld, s, "expected a mapping, got %s", kind_name(s->val));
		return false;
	}
	while ((p = fy_node_mapping_iterate(s->val, &it)) != NULL) {
		struct sp_cfg_slot k = { NULL, fy_node_pair_key(p), true };
		struct sp_str name;
		size_t i;

		if (!scalar_text(k.val, &name)) {
			sp_cfg_err(ld, &k, "a key must be a plain name, got %s", kind_name(k.val));
			continue;
		}
		/* Top-level "x-" keys are the operator's own (YAML anchors to
		 * share between entries), never ours: skipped on purpose. */
		if (ld->plen == 0 && sp_str_has_prefix_case(name, "x-"))
			continue;
		for (i = 0; keys[i]; i++)
			if (sp_str_eq_c(name, keys[i]))
				break;
		if (!keys[i]) {
			const char *near = nearest_key(name, keys);

			sp_cfg_err(ld, &k, "unknown key \"%.*s\"%s%s%s",
				   (int)(name.len > 64 ? 64 : name.len), name.p,
				   near ? " (did you mean " : "", near ? near : "", near ? "?)" : "");
			continue;
		}
		slots[i].key = k.val;
		slots[i].val = fy_node_pair_value(p);
		slots[i].set = true;
	}
	return true;
}

/* --- loading ---------------------------------------------------------- */

static int cmp_error(const void *a, const void *b)
{
	const struct sp_config_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return 0;
}

/* Sorting by position keeps the order of errors found at the same node. */
static void sort_errors(struct sp_config_diag *d)
{
	size_t i, j;

	for (i = 1; i < d->count; i++) {
		struct sp_config_error tmp = d->errors[i];

		for (j = i; j > 0 && cmp_error(&d->errors[j - 1], &tmp) > 0; j--)
			d->errors[j] = d->errors[j - 1];
		d->errors[j] = tmp;
	}
}

/* Parses text into one document, turning libfyaml's diagnostics into ours. */
static struct fy_document *parse_yaml(struct sp_cfg_ld *ld, const char *text, size_t len,
				      struct fy_parser **fypp)
{
	struct fy_diag_cfg dc;
	struct fy_diag *fyd;
	struct fy_parse_cfg pc;
	struct fy_parser *fyp = NULL;
	struct fy_document *doc = NULL, *extra;
	struct fy_diag_error *e;
	void *it = NULL;
	bool failed = false;

	fy_diag_cfg_default(&dc);
	dc.fp = NULL;
	dc.colorize = false;
	fyd = fy_diag_create(&dc);
	if (!fyd) {
		ld->oom = true;
		return NULL;
	}
	fy_diag_set_collect_errors(fyd, true);
	memset(&pc, 0, sizeof(pc));
	pc.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT;
	pc.diag = fyd;
	fyp = fy_parser_create(&pc);
	if (!fyp || fy_parser_set_string(fyp, text, len) != 0) {
		ld->oom = true;
		goto out;
	}
	doc = fy_parse_load_document(fyp);
	if (doc && !fy_diag_got_error(fyd)) {
		extra = fy_parse_load_document(fyp);
		if (extra) {
			struct sp_cfg_slot s = { NULL, fy_document_root(extra), true };

			sp_cfg_err(ld, &s, "only one YAML document is allowed");
			fy_parse_document_destroy(fyp, extra);
		}
	}
	while ((e = fy_diag_errors_iterate(fyd, &it)) != NULL) {
		if (e->type < FYET_ERROR)
			continue;
		add_error(ld, e->line > 0 ? (unsigned)e->line : 1,
			  e->column > 0 ? (unsigned)e->column : 1, e->msg ? e->msg : "YAML error");
		failed = true;
	}
	if (!failed && (fy_diag_got_error(fyd) || (!doc && len > 0 && ld->nerr == 0))) {
		add_error(ld, 1, 1, "invalid YAML");
		failed = true;
	}
	if (failed && doc) {
		fy_parse_document_destroy(fyp, doc);
		doc = NULL;
	}
out:
	if (!doc && fyp) {
		fy_parser_destroy(fyp);
		fyp = NULL;
	}
	*fypp = fyp;
	fy_diag_destroy(fyd);
	return doc;
}

static int load(const char *name, const char *base, const char *text, size_t len,
		struct sp_config **out, struct sp_config_diag *diag)
{
	struct sp_cfg_ld ld;
	struct sp_config *cfg;
	struct fy_parser *fyp = NULL;
	struct fy_document *doc = NULL;
	int err = 0;

	memset(&ld, 0, sizeof(ld));
	ld.diag = diag;
	ld.base = base;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return SP_ENOMEM;
	ld.cfg = cfg;
	cfg->name = sp_cfg_strdup(&ld, name, strlen(name));
	doc = parse_yaml(&ld, text, len, &fyp);
	if (doc) {
		struct sp_cfg_slot root = { NULL, fy_document_root(doc), true };

		sp_cfg_build(&ld, &root);
	} else if (ld.nerr == 0 && !ld.oom) {
		add_error(&ld, 1, 1, "the file is empty: at least `listen` is required");
	}
	if (ld.oom)
		err = SP_ENOMEM;
	else if (ld.nerr)
		err = SP_EINVAL;
	if (doc)
		fy_parse_document_destroy(fyp, doc);
	if (fyp)
		fy_parser_destroy(fyp);
	sort_errors(diag);
	if (err) {
		sp_config_free(cfg);
		return err;
	}
	*out = cfg;
	return 0;
}

static void diag_reset(struct sp_config_diag *d, const char *name)
{
	d->count = 0;
	d->dropped = 0;
	snprintf(d->file, sizeof(d->file), "%s", name);
}

int sp_config_load_string(const char *name, const char *text, size_t len,
			  struct sp_config **out, struct sp_config_diag *diag)
{
	struct sp_config_diag *mine = NULL;
	int err;

	if (!diag) {
		mine = malloc(sizeof(*mine));
		if (!mine)
			return SP_ENOMEM;
		diag = mine;
	}
	diag_reset(diag, name);
	err = len > SP_CONFIG_FILE_MAX ? SP_E2BIG : load(name, NULL, text, len, out, diag);
	free(mine);
	return err;
}

int sp_config_load_default(struct sp_config **out, struct sp_config_diag *diag)
{
	return sp_config_load_string("<built-in>", sp_config_default_yaml,
				     strlen(sp_config_default_yaml), out, diag);
}

/* Reads at most SP_CONFIG_FILE_MAX bytes; a larger file is an error. */
static int read_file(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;
	int err = 0;

	if (!f)
		return errno == ENOENT ? SP_ENOENT : SP_EINVAL;
	buf = malloc(SP_CONFIG_FILE_MAX + 1);
	if (!buf) {
		err = SP_ENOMEM;
		goto out;
	}
	n = fread(buf, 1, SP_CONFIG_FILE_MAX + 1, f);
	if (ferror(f)) {
		err = SP_EINVAL;
		goto out;
	}
	if (n > SP_CONFIG_FILE_MAX) {
		err = SP_E2BIG;
		goto out;
	}
	*text = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return err;
}

/* The directory of path, absolute, so that a reload after a chdir or a
 * daemon started elsewhere still finds the same files. Caller frees. */
static char *base_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	size_t n;

	if (!slash)
		return realpath(".", NULL);
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return NULL;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return realpath(dir, NULL);
}

int sp_config_load(const char *path, struct sp_config **out, struct sp_config_diag *diag)
{
	struct sp_config_diag *mine = NULL;
	char *text = NULL, *base = NULL;
	size_t len = 0;
	int err;

	if (!diag) {
		mine = malloc(sizeof(*mine));
		if (!mine)
			return SP_ENOMEM;
		diag = mine;
	}
	diag_reset(diag, path);
	err = read_file(path, &text, &len);
	if (err) {
		struct sp_cfg_ld ld = { .diag = diag };
		char msg[SP_CONFIG_MSG_MAX];

		if (err == SP_E2BIG)
			snprintf(msg, sizeof(msg), "the file is larger than %d bytes",
				 SP_CONFIG_FILE_MAX);
		else
			snprintf(msg, sizeof(msg), "cannot read the file: %s", strerror(errno));
		add_error(&ld, 1, 1, msg);
		goto out;
	}
	base = base_dir(path);
	if (!base) {
		struct sp_cfg_ld ld = { .diag = diag };
		char msg[SP_CONFIG_MSG_MAX];

		err = errno == ENOMEM ? SP_ENOMEM : SP_EINVAL;
		snprintf(msg, sizeof(msg), "cannot resolve the file's directory: %s",
			 strerror(errno));
		add_error(&ld, 1, 1, msg);
		goto out;
	}
	err = load(path, base, text, len, out, diag);
out:
	free(base);
	free(text);
	free(mine);
	return err;
}

void sp_config_diag_print(const struct sp_config_diag *diag, FILE *out)
{
	size_t i;

	for (i = 0; i < diag->count; i++)
		fprintf(out, "%s:%u:%u: %s\n", diag->file, diag->errors[i].line,
			diag->errors[i].col, diag->errors[i].msg);
	if (diag->dropped && diag->count)
		fprintf(out, "%s:%u:%u: %zu more errors not shown\n", diag->file,
			diag->errors[diag->count - 1].line, diag->errors[diag->count - 1].col,
			diag->dropped);
}

int sp_config_check_cmd(const char *path, FILE *err)
{
	struct sp_config_diag *diag = malloc(sizeof(*diag));
	struct sp_config *cfg = NULL;
	int rc;

	if (!diag) {
		fprintf(err, "%s:1:1: out of memory\n", path);
		return 1;
	}
	rc = sp_config_load(path, &cfg, diag);
	if (rc == SP_ENOMEM && diag->count == 0)
		fprintf(err, "%s:1:1: out of memory\n", path);
	sp_config_diag_print(diag, err);
	sp_config_free(cfg);
	free(diag);
	return rc == 0 ? 0 : 1;
}

/* A random auth secret: 32 bytes from the kernel, hex. */
bool sp_cfg_random_secret(struct sp_cfg_ld *ld, char **out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[32];
	size_t got = 0, i;
	char *s;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	s = sp_cfg_alloc(ld, sizeof(raw) * 2 + 1);
	if (!s)
		return false;
	for (i = 0; i < sizeof(raw); i++) {
		s[2 * i] = hex[raw[i] >> 4];
		s[2 * i + 1] = hex[raw[i] & 15];
	}
	*out = s;
	return true;
}

int sp_config_peering_listener(const struct sp_config *cfg, enum sp_proto proto, int family)
{
	for (size_t i = 0; i < cfg->listen_count; i++)
		if (cfg->listen[i].role == SP_ROLE_PEERING && cfg->listen[i].proto == proto &&
		    cfg->listen[i].addr.u.sa.sa_family == family)
			return (int)i;
	return -1;
}
