/* sipeerctl.c: the operator's tool: `sipeerctl -c FILE cdr` lists the call records of the node's store. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/err.h"
#include "store/store.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: sipeerctl -c FILE cdr [--limit N] [--json]\n"
		   "  cdr   the call records in the node's store, oldest first: start (UTC),\n"
		   "        duration, status, caller, callee, ingress, egress, end reason\n"
		   "        (--limit N: the newest N; --json: one JSON object per line)\n");
}

struct opts {
	bool json;
	size_t rows;
};

static void fmt_time(uint64_t ms, char *buf, size_t size)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	if (!ms || !gmtime_r(&s, &tm)) {
		snprintf(buf, size, "-");
		return;
	}
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03uZ", (unsigned)(ms % 1000));
}

static void json_str(const char *k, struct sp_str v, bool last)
{
	printf("\"%s\":\"", k);
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	printf("\"%s", last ? "" : ",");
}

static int print_cdr(const struct sp_store_cdr *r, void *arg)
{
	struct opts *o = arg;
	uint64_t dur = r->answer_ms && r->end_ms > r->answer_ms ? r->end_ms - r->answer_ms : 0;
	o->rows++;
	if (o->json) {
		printf("{");
		json_str("id", r->id, false);
		printf("\"start_ms\":%" PRIu64 ",\"answer_ms\":%" PRIu64 ",\"end_ms\":%" PRIu64
		       ",\"duration_ms\":%" PRIu64 ",\"status\":%u,",
		       r->start_ms, r->answer_ms, r->end_ms, dur, r->status);
		json_str("caller", r->caller, false);
		json_str("callee", r->callee, false);
		json_str("ingress", r->ingress, false);
		json_str("egress", r->egress, false);
		json_str("federation", r->federation, false);
		json_str("reason", r->reason, true);
		printf("}\n");
		return 0;
	}
	char start[40];
	fmt_time(r->start_ms, start, sizeof(start));
	printf("%-24s %9.3f %3u %-20.*s %-20.*s %-22.*s %-22.*s %.*s\n", start, (double)dur / 1000.0,
	       r->status, SP_STR_FMT(r->caller), SP_STR_FMT(r->callee), SP_STR_FMT(r->ingress),
	       SP_STR_FMT(r->egress), r->reason.len ? (int)r->reason.len : 4,
	       r->reason.len ? r->reason.p : "open");
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *cmd = NULL;
	struct opts o = { false, 0 };
	size_t limit = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			o.json = true;
		else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (*end || v == 0) {
				fprintf(stderr, "sipeerctl: --limit wants a positive number\n");
				return 2;
			}
			limit = v;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (!cmd)
			cmd = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (!path || !cmd || strcmp(cmd, "cdr") != 0) {
		usage(stderr);
		return 2;
	}
	struct sp_config *cfg;
	struct sp_config_diag *diag = calloc(1, sizeof(*diag));
	if (!diag)
		return 1;
	if (sp_config_load(path, &cfg, diag) != 0) {
		sp_config_diag_print(diag, stderr);
		free(diag);
		return 1;
	}
	free(diag);
	if (cfg->store.kind != SP_CONFIG_STORE_SQLITE) {
		fprintf(stderr, "sipeerctl: cdr reads a sqlite: store only\n");
		sp_config_free(cfg);
		return 1;
	}
	if (!o.json)
		printf("%-24s %9s %3s %-20s %-20s %-22s %-22s %s\n", "start (UTC)", "duration", "st",
		       "caller", "callee", "ingress", "egress", "end");
	int err = sp_store_cdr_list(cfg->store.path, limit, print_cdr, &o);
	sp_config_free(cfg);
	if (err) {
		fprintf(stderr, "sipeerctl: cannot read the call records: %s\n", sp_strerror(err));
		return 1;
	}
	return 0;
}
