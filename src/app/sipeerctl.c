/* sipeerctl.c: the operator's tool: `sipeerctl -c FILE cdr` lists the call records of the node's store; `resolve` shows how a number or URI would be routed, step by step. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/err.h"
#include "dns/resolver.h"
#include "io/loop.h"
#include "routing/router.h"
#include "store/store.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: sipeerctl -c FILE cdr [--limit N] [--json]\n"
		   "       sipeerctl -c FILE resolve TARGET [--federation NAME]\n"
		   "  cdr      the call records in the node's store, oldest first: start (UTC),\n"
		   "           duration, status, caller, callee, ingress, egress, end reason\n"
		   "           (--limit N: the newest N; --json: one JSON object per line)\n"
		   "  resolve  routes TARGET (a number, +E.164 or national, or a sip:/sips:/tel:\n"
		   "           URI) the way a call from one of our users would go, asking the\n"
		   "           configured DNS, and prints each step: routes, static peer entries,\n"
		   "           ENUM trees and NAPTR records, RFC 3263 NAPTR/SRV/A, then the\n"
		   "           targets in failover order (\"target N: PROTO ADDRESS\").\n"
		   "           Exit 0 when a target is found. --federation NAME: only that\n"
		   "           federation's private trees, as for a request from its members.\n");
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

/* ---- resolve ------------------------------------------------------------------ */

struct resolve_ctx {
	struct sp_loop *loop;
	const struct sp_config *cfg;
	uint16_t status;
	bool done;
};

static void print_step(void *arg, const char *line)
{
	printf("%s\n", line);
}

static void resolved(void *arg, uint16_t status)
{
	struct resolve_ctx *c = arg;
	c->status = status;
	c->done = true;
	if (status)
		printf("no target: a call would be answered %u\n", status);
	sp_loop_stop(c->loop);
}

static bool ctl_is_ours(void *arg, struct sp_str host)
{
	const struct sp_config *cfg = arg;
	for (size_t i = 0; i < cfg->domain_count; i++)
		if (sp_str_caseeq_c(host, cfg->domains[i]))
			return true;
	for (size_t i = 0; i < cfg->listen_count; i++) {
		struct sp_sockaddr a;
		if (sp_sockaddr_from_host(host, 0, &a) == 0 &&
		    sp_sockaddr_eq_host(&a, &cfg->listen[i].addr))
			return true;
	}
	return false;
}

static int resolve(const struct sp_config *cfg, const char *target, const char *federation)
{
	struct resolve_ctx c = { .cfg = cfg };
	struct sp_resolver *res = NULL;
	struct sp_router *rt = NULL;
	uint64_t mask = UINT64_MAX;
	int ret = 1;

	if (federation) {
		mask = 0;
		for (size_t f = 0; f < cfg->federation_count && f < 64; f++)
			if (strcmp(cfg->federations[f].name, federation) == 0)
				mask = 1ull << f;
		if (!mask) {
			fprintf(stderr, "sipeerctl: no federation %s in the configuration\n", federation);
			return 2;
		}
	}
	struct sp_resolver_cfg rc = { .servers = cfg->enum_.resolvers,
				      .nservers = cfg->enum_.resolver_count,
				      .timeout_ms = cfg->enum_.timeout_ms, .max_entries = 1000 };
	if (sp_loop_create(1024, &c.loop) != 0 || sp_resolver_create(c.loop, &rc, &res) != 0 ||
	    sp_router_create(cfg, NULL, &rt) != 0) {
		fprintf(stderr, "sipeerctl: cannot start the resolver\n");
		goto out;
	}
	sp_router_set_dns(rt, res, sp_loop_timers(c.loop), cfg->enum_.budget_ms);
	sp_router_set_ours(rt, ctl_is_ours, (void *)cfg);
	if (sp_router_resolve(rt, target, mask, print_step, NULL, resolved, &c) != 0) {
		fprintf(stderr, "sipeerctl: %s is neither a number nor a SIP URI\n", target);
		ret = 2;
		goto out;
	}
	if (!c.done)
		sp_loop_run(c.loop);
	ret = c.done && c.status == 0 ? 0 : 1;
out:
	fflush(stdout);
	sp_router_destroy(rt);
	sp_resolver_destroy(res);
	if (c.loop)
		sp_loop_destroy(c.loop);
	return ret;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *cmd = NULL, *target = NULL, *federation = NULL;
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
		} else if (strcmp(argv[i], "--federation") == 0 && i + 1 < argc) {
			federation = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (!cmd) {
			cmd = argv[i];
		} else if (!target && strcmp(cmd, "resolve") == 0) {
			target = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!path || !cmd || (strcmp(cmd, "cdr") != 0 && strcmp(cmd, "resolve") != 0) ||
	    (strcmp(cmd, "resolve") == 0 && !target)) {
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
	if (strcmp(cmd, "resolve") == 0) {
		int ret = resolve(cfg, target, federation);
		sp_config_free(cfg);
		return ret;
	}
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
