/* test_config.c: unit tests of the configuration loader: every key of DESIGN.md section 3, defaults, errors at LINE:COL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/err.h"
#include "testutil.h"

static struct sp_config_diag g_diag;

static void dump_diag(void)
{
	sp_config_diag_print(&g_diag, stderr);
}

static struct sp_config *load_ok(const char *yaml)
{
	struct sp_config *cfg = NULL;
	int err = sp_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &g_diag);

	if (err) {
		dump_diag();
		fail_msg("expected to load, got %d", err);
	}
	assert_int_equal(g_diag.count, 0);
	return cfg;
}

/* Loads yaml, which must fail, and returns how many errors it gave. */
static size_t load_bad(const char *yaml)
{
	struct sp_config *cfg = NULL;
	int err = sp_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &g_diag);

	assert_int_equal(err, SP_EINVAL);
	assert_null(cfg);
	assert_true(g_diag.count > 0);
	return g_diag.count;
}

static bool has_error(unsigned line, unsigned col, const char *msg)
{
	size_t i;

	for (i = 0; i < g_diag.count; i++)
		if (g_diag.errors[i].line == line && g_diag.errors[i].col == col &&
		    strstr(g_diag.errors[i].msg, msg))
			return true;
	return false;
}

/* yaml must fail with, among its errors, msg at line:col. */
static void expect_error(const char *yaml, unsigned line, unsigned col, const char *msg)
{
	load_bad(yaml);
	if (!has_error(line, col, msg)) {
		dump_diag();
		fail_msg("expected %u:%u: ...%s...", line, col, msg);
	}
}

static const char *src_dir(void)
{
	const char *s = getenv("SIPEER_SRC");

	return s ? s : ".";
}

static void check_addr(const struct sp_sockaddr *a, int family, const char *ip, unsigned port)
{
	char buf[64];
	const void *raw = family == AF_INET ? (const void *)&a->u.in.sin_addr
					    : (const void *)&a->u.in6.sin6_addr;

	assert_int_equal(a->u.sa.sa_family, family);
	assert_non_null(inet_ntop(family, raw, buf, sizeof(buf)));
	assert_string_equal(buf, ip);
	assert_int_equal(ntohs(family == AF_INET ? a->u.in.sin_port : a->u.in6.sin6_port), port);
	assert_int_equal(a->len, family == AF_INET ? sizeof(a->u.in) : sizeof(a->u.in6));
}

/* --- the full example --------------------------------------------------- */

static void test_design_example(void **state)
{
	char path[4200], dir[4096], want[8192], *real;
	struct sp_config *cfg = NULL;
	const struct sp_config_peer *p;
	const struct sp_config_federation *f;
	int err;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/unit/config", src_dir());
	snprintf(path, sizeof(path), "%s/design.yaml", dir);
	err = sp_config_load(path, &cfg, &g_diag);
	if (err)
		dump_diag();
	assert_int_equal(err, 0);
	real = realpath(dir, NULL);
	assert_non_null(real);

	assert_int_equal(cfg->listen_count, 4);
	assert_string_equal(cfg->listen[0].uri, "udp://127.0.0.1:5060");
	assert_int_equal(cfg->listen[0].proto, SP_PROTO_UDP);
	assert_int_equal(cfg->listen[0].role, SP_ROLE_ACCESS);
	check_addr(&cfg->listen[0].addr, AF_INET, "127.0.0.1", 5060);
	assert_int_equal(cfg->listen[1].proto, SP_PROTO_TCP);
	assert_int_equal(cfg->listen[2].proto, SP_PROTO_TLS);
	assert_int_equal(cfg->listen[2].role, SP_ROLE_PEERING);
	check_addr(&cfg->listen[2].addr, AF_INET, "127.0.0.1", 5061);
	check_addr(&cfg->listen[3].addr, AF_INET6, "::1", 5060);

	snprintf(want, sizeof(want), "%s/certs/node.pem", real);
	assert_string_equal(cfg->tls.cert, want);
	snprintf(want, sizeof(want), "%s/certs/node.key", real);
	assert_string_equal(cfg->tls.key, want);
	assert_string_equal(cfg->tls.ca, "/etc/ssl/ca.pem");
	assert_int_equal(cfg->store.kind, SP_CONFIG_STORE_SQLITE);
	snprintf(want, sizeof(want), "%s/sipeer.db", real);
	assert_string_equal(cfg->store.path, want);

	assert_int_equal(cfg->domain_count, 2);
	assert_string_equal(cfg->domains[0], "ssp-a.test");
	assert_string_equal(cfg->domains[1], "ssp-a2.test"); /* folded to lower case */
	assert_int_equal(cfg->number_count, 1);
	assert_string_equal(cfg->numbers[0], "+4721");
	assert_int_equal(cfg->trusted_count, 2);
	assert_int_equal(cfg->trusted[0].prefix_len, 24);
	check_addr(&cfg->trusted[0].addr, AF_INET, "10.0.0.0", 0);
	assert_int_equal(cfg->trusted[1].prefix_len, 32);
	check_addr(&cfg->trusted[1].addr, AF_INET6, "2001:db8::", 0);

	assert_int_equal(cfg->user_count, 2);
	assert_string_equal(cfg->users[0].user, "alice");
	assert_string_equal(cfg->users[0].password, "alice-secret");
	assert_string_equal(cfg->users[0].number, "+4721000001");
	assert_string_equal(cfg->users[1].user, "bob");
	assert_null(cfg->users[1].number);
	assert_string_equal(cfg->numbering.country_code, "47");
	assert_string_equal(cfg->numbering.national_prefix, "0");
	assert_string_equal(cfg->numbering.international_prefix, "00");

	assert_int_equal(cfg->route_count, 4);
	assert_int_equal(cfg->routes[0].match, SP_CONFIG_MATCH_PREFIX);
	assert_string_equal(cfg->routes[0].value, "+4722");
	assert_int_equal(cfg->routes[0].to, SP_CONFIG_TO_URI);
	assert_string_equal(cfg->routes[0].target, "sip:127.0.0.1:5090");
	assert_int_equal(cfg->routes[1].match, SP_CONFIG_MATCH_DOMAIN);
	assert_string_equal(cfg->routes[1].value, "ssp-b.test");
	assert_int_equal(cfg->routes[1].to, SP_CONFIG_TO_PEER);
	assert_string_equal(cfg->routes[1].target, "ssp-b");
	assert_int_equal(cfg->routes[1].peer, 0);
	assert_string_equal(cfg->routes[2].value, "+");
	assert_int_equal(cfg->routes[2].to, SP_CONFIG_TO_ENUM);
	assert_int_equal(cfg->routes[3].match, SP_CONFIG_MATCH_ANY);
	assert_null(cfg->routes[3].value);
	assert_int_equal(cfg->routes[3].to, SP_CONFIG_TO_DNS);

	assert_int_equal(cfg->peer_count, 2);
	p = &cfg->peers[0];
	assert_string_equal(p->name, "ssp-b");
	assert_int_equal(p->domain_count, 1);
	assert_string_equal(p->domains[0], "ssp-b.test");
	assert_int_equal(p->number_count, 1);
	assert_string_equal(p->numbers[0], "+4722");
	assert_int_equal(p->host_count, 3);
	assert_string_equal(p->hosts[0].uri, "sip:127.0.0.2:5061;transport=tls");
	assert_int_equal(p->hosts[0].proto, SP_PROTO_TLS);
	assert_true(p->hosts[0].numeric);
	assert_int_equal(p->hosts[0].port, 5061);
	check_addr(&p->hosts[0].addr, AF_INET, "127.0.0.2", 5061);
	assert_int_equal(p->hosts[1].proto, SP_PROTO_UDP);
	assert_string_equal(p->hosts[1].host, "::2");
	assert_int_equal(p->hosts[1].port, 0);
	check_addr(&p->hosts[1].addr, AF_INET6, "::2", 5060); /* default port filled */
	assert_int_equal(p->hosts[2].proto, SP_PROTO_TLS);
	assert_false(p->hosts[2].numeric);
	assert_string_equal(p->hosts[2].host, "sbe.ssp-b.test");
	assert_int_equal(p->source_count, 2);
	assert_int_equal(p->sources[0].prefix_len, 32);
	assert_int_equal(p->sources[1].prefix_len, 128);
	assert_int_equal(p->san_count, 2);
	assert_string_equal(p->san[0], "sbe.ssp-b.test");
	assert_string_equal(p->san[1], "*.ssp-b.test");
	assert_true(p->trusted);
	assert_false(p->transit);
	p = &cfg->peers[1];
	assert_string_equal(p->name, "ssp-c");
	assert_false(p->trusted); /* untrusted unless said */
	assert_true(p->transit);
	assert_int_equal(sp_config_peer_find(cfg, "ssp-c"), 1);
	assert_int_equal(sp_config_peer_find(cfg, "nope"), -1);

	assert_int_equal(cfg->federation_count, 2);
	f = &cfg->federations[0];
	assert_string_equal(f->name, "nordic");
	assert_int_equal(f->member_count, 2);
	assert_string_equal(f->members[1], "ssp-c");
	assert_int_equal(f->member_peers[0], 0);
	assert_int_equal(f->member_peers[1], 1);
	snprintf(want, sizeof(want), "%s/certs/nordic-ca.pem", real);
	assert_string_equal(f->ca, want);
	assert_int_equal(f->enum_suffix_count, 1);
	assert_string_equal(f->enum_suffixes[0], "e164.nordic.test");
	assert_true(f->require_tls);
	f = &cfg->federations[1];
	assert_string_equal(f->name, "minimal");
	assert_int_equal(f->member_count, 0);
	assert_null(f->ca);
	assert_false(f->require_tls);

	assert_true(cfg->enum_.has_resolver);
	check_addr(&cfg->enum_.resolver, AF_INET, "127.0.0.1", 5353);
	assert_int_equal(cfg->enum_.suffix_count, 1);
	assert_string_equal(cfg->enum_.suffixes[0], "e164.arpa");
	assert_int_equal(cfg->enum_.timeout_ms, 800);
	assert_true(cfg->control_enabled);
	check_addr(&cfg->control_listen, AF_INET, "127.0.0.1", 8090);

	assert_int_equal(cfg->log_level, SP_LOG_DEBUG);
	assert_int_equal(cfg->registrar.min_expires, 30);
	assert_int_equal(cfg->registrar.max_expires, 7200);
	assert_int_equal(cfg->registrar.default_expires, 600);
	assert_int_equal(cfg->registrar.max_bindings, 5);
	assert_string_equal(cfg->auth.realm, "ssp-a.test");
	assert_int_equal(cfg->auth.nonce_ttl, 120);
	assert_string_equal(cfg->auth.secret, "0123456789abcdef0123");
	assert_false(cfg->auth.secret_generated);
	assert_int_equal(cfg->limits.transactions, 5000);
	assert_int_equal(cfg->limits.connections, 200);
	assert_int_equal(cfg->limits.connections_per_source, 8);
	assert_int_equal(cfg->limits.stream_idle_timeout, 60);
	assert_int_equal(cfg->limits.stream_message_size, 32768);
	assert_int_equal(cfg->timers.t1, 250);
	assert_int_equal(cfg->timers.t2, 2000);
	assert_int_equal(cfg->timers.t4, 2500);
	assert_int_equal(cfg->workers, 2);
	assert_string_equal(cfg->name, path);
	free(real);
	sp_config_free(cfg);
}

/* The example exactly as DESIGN.md prints it. */
static void test_design_verbatim(void **state)
{
	char path[4200], dir[4096], want[8192], *real;
	struct sp_config *cfg = NULL;
	int err;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/unit/config", src_dir());
	snprintf(path, sizeof(path), "%s/design_verbatim.yaml", dir);
	err = sp_config_load(path, &cfg, &g_diag);
	if (err)
		dump_diag();
	assert_int_equal(err, 0);
	real = realpath(dir, NULL);
	assert_non_null(real);
	assert_int_equal(cfg->listen_count, 3);
	assert_int_equal(cfg->listen[2].role, SP_ROLE_PEERING);
	snprintf(want, sizeof(want), "%s/certs/ca.pem", real);
	assert_string_equal(cfg->tls.ca, want);
	assert_string_equal(cfg->domains[0], "ssp-a.test");
	assert_int_equal(cfg->trusted_count, 1);
	assert_int_equal(cfg->user_count, 1);
	assert_int_equal(cfg->route_count, 4);
	assert_int_equal(cfg->routes[1].to, SP_CONFIG_TO_PEER);
	assert_int_equal(cfg->peer_count, 1);
	assert_int_equal(cfg->peers[0].host_count, 1);
	assert_int_equal(cfg->peers[0].hosts[0].proto, SP_PROTO_TLS);
	assert_int_equal(cfg->federation_count, 1);
	assert_int_equal(cfg->federations[0].member_peers[0], 0);
	assert_true(cfg->enum_.has_resolver);
	assert_true(cfg->control_enabled);
	assert_string_equal(cfg->auth.realm, "ssp-a.test");
	free(real);
	sp_config_free(cfg);
}

/* The example in docs/config.md (the first yaml block) is valid. */
static void test_docs_example(void **state)
{
	char path[4200];
	struct sp_config *cfg = NULL;
	const char *start, *end;
	size_t len = 0;
	char *text;

	(void)state;
	snprintf(path, sizeof(path), "%s/docs/config.md", src_dir());
	text = tu_read_file(path, &len);
	assert_non_null(text);
	start = strstr(text, "```yaml\n");
	assert_non_null(start);
	start += 8;
	end = strstr(start, "```");
	assert_non_null(end);
	if (sp_config_load_string(path, start, (size_t)(end - start), &cfg, &g_diag) != 0)
		dump_diag();
	assert_non_null(cfg);
	assert_int_equal(cfg->listen_count, 3);
	assert_int_equal(cfg->limits.stream_message_size, 65536);
	assert_false(cfg->auth.secret_generated);
	sp_config_free(cfg);
	free(text);
}

static void test_defaults(void **state)
{
	struct sp_config *cfg = load_ok("listen: [udp://127.0.0.1:5060]\n");

	(void)state;
	assert_int_equal(cfg->listen_count, 1);
	assert_null(cfg->tls.cert);
	assert_int_equal(cfg->store.kind, SP_CONFIG_STORE_SQLITE);
	assert_string_equal(cfg->store.path, "sipeer.db");
	assert_int_equal(cfg->domain_count, 0);
	assert_int_equal(cfg->user_count, 0);
	assert_int_equal(cfg->route_count, 0);
	assert_int_equal(cfg->peer_count, 0);
	assert_null(cfg->numbering.country_code);
	assert_string_equal(cfg->numbering.national_prefix, "0");
	assert_string_equal(cfg->numbering.international_prefix, "00");
	assert_false(cfg->enum_.has_resolver);
	assert_int_equal(cfg->enum_.suffix_count, 1);
	assert_string_equal(cfg->enum_.suffixes[0], "e164.arpa");
	assert_int_equal(cfg->enum_.timeout_ms, 800);
	assert_false(cfg->control_enabled);
	assert_int_equal(cfg->log_level, SP_LOG_NOTICE);
	assert_int_equal(cfg->registrar.min_expires, 60);
	assert_int_equal(cfg->registrar.max_expires, 3600);
	assert_int_equal(cfg->registrar.default_expires, 3600);
	assert_int_equal(cfg->registrar.max_bindings, 10);
	assert_string_equal(cfg->auth.realm, "sipeer");
	assert_int_equal(cfg->auth.nonce_ttl, 300);
	assert_true(cfg->auth.secret_generated);
	assert_int_equal(strlen(cfg->auth.secret), 64);
	assert_int_equal(cfg->limits.transactions, 400000);
	assert_int_equal(cfg->limits.connections, 10000);
	assert_int_equal(cfg->limits.connections_per_source, 64);
	assert_int_equal(cfg->limits.stream_idle_timeout, 120);
	assert_int_equal(cfg->limits.stream_message_size, 65536);
	assert_int_equal(cfg->timers.t1, 500);
	assert_int_equal(cfg->timers.t2, 4000);
	assert_int_equal(cfg->timers.t4, 5000);
	assert_int_equal(cfg->workers, 1);
	sp_config_free(cfg);

	/* Empty sections are empty, not errors; an explicit empty suffix list
	 * turns public ENUM off. The realm follows the first domain. */
	cfg = load_ok("listen: [udp://127.0.0.1:5060]\npeers:\nroutes: []\nlog: {}\n"
		      "enum: { suffixes: [] }\ndomains: [a.test, b.test]\n");
	assert_int_equal(cfg->peer_count, 0);
	assert_int_equal(cfg->enum_.suffix_count, 0);
	assert_string_equal(cfg->auth.realm, "a.test");
	sp_config_free(cfg);

	/* Anchors in a top-level x- key, merged into entries. */
	cfg = load_ok("x-peer: &p { trust: trusted, transit: true }\n"
		      "listen: [udp://127.0.0.1:5060]\n"
		      "peers:\n  - { <<: *p, name: b }\n  - { <<: *p, name: c, trust: untrusted }\n");
	assert_int_equal(cfg->peer_count, 2);
	assert_true(cfg->peers[0].trusted);
	assert_true(cfg->peers[0].transit);
	assert_false(cfg->peers[1].trusted);
	sp_config_free(cfg);
	/* Only at the top level. */
	expect_error("listen: [udp://127.0.0.1:5060]\nlog: { x-level: debug }\n", 2, 8,
		     "log: unknown key \"x-level\"");
	expect_error("listen: [udp://127.0.0.1:5060]\nusers:\n  - user: carol\n    password:\n",
		     4, 5, "users[0].password: expected a string, got nothing");
}

static void test_default_is_example(void **state)
{
	char path[4096];
	size_t len = 0;
	char *text;
	struct sp_config *cfg = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/examples/sipeer.yaml", src_dir());
	text = tu_read_file(path, &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(sp_config_default_yaml));
	assert_memory_equal(text, sp_config_default_yaml, len);
	free(text);

	assert_int_equal(sp_config_load_default(&cfg, &g_diag), 0);
	assert_string_equal(g_diag.file, "<built-in>");
	assert_int_equal(cfg->listen_count, 2);
	assert_int_equal(cfg->listen[0].proto, SP_PROTO_UDP);
	assert_int_equal(cfg->listen[1].proto, SP_PROTO_TCP);
	check_addr(&cfg->listen[1].addr, AF_INET, "127.0.0.1", 5060);
	assert_string_equal(cfg->store.path, "sipeer.db"); /* relative to the cwd */
	assert_int_equal(cfg->domain_count, 1);
	assert_string_equal(cfg->domains[0], "sipeer.test");
	assert_int_equal(cfg->user_count, 2);
	assert_string_equal(cfg->users[0].user, "alice");
	assert_string_equal(cfg->users[0].number, "+4721000001");
	assert_string_equal(cfg->users[1].user, "bob");
	assert_string_equal(cfg->users[1].number, "+4721000002");
	assert_string_equal(cfg->numbering.country_code, "47");
	assert_string_equal(cfg->auth.realm, "sipeer.test");
	sp_config_free(cfg);

	/* The example file itself also loads, relative to examples/. */
	assert_int_equal(sp_config_load(path, &cfg, &g_diag), 0);
	assert_non_null(strstr(cfg->store.path, "/examples/sipeer.db"));
	sp_config_free(cfg);
}

/* --- each class of error, at its LINE:COL -------------------------------- */

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error("listen: [udp://127.0.0.1:5060]\nlsiten: 1\n", 2, 1,
		     "unknown key \"lsiten\" (did you mean listen?)");
	expect_error("listen: [udp://127.0.0.1:5060]\nzzz: 1\n", 2, 1, "unknown key \"zzz\"");
	assert_null(strstr(g_diag.errors[0].msg, "did you mean"));
	expect_error("listen: [udp://127.0.0.1:5060]\npeers:\n  - name: x\n    hots: []\n", 4, 5,
		     "peers[0]: unknown key \"hots\"");
	expect_error("listen:\n  - { uri: \"udp://127.0.0.1:5060\", rol: peering }\n", 2, 36,
		     "listen[0]: unknown key \"rol\"");
	expect_error("listen: [udp://127.0.0.1:5060]\nregistrar: { maxexpires: 5 }\n", 2, 14,
		     "registrar: unknown key \"maxexpires\"");
}

static void test_wrong_type(void **state)
{
	(void)state;
	expect_error("listen: [udp://127.0.0.1:5060]\nregistrar:\n  min_expires: abc\n", 3, 16,
		     "registrar.min_expires: expected an integer, got \"abc\"");
	expect_error("listen: udp://127.0.0.1:5060\n", 1, 9, "listen: expected a list, got a scalar");
	expect_error("listen: [udp://127.0.0.1:5060]\ndomains: { a: b }\n", 2, 10,
		     "domains: expected a list, got a mapping");
	expect_error("listen: [udp://127.0.0.1:5060]\npeers:\n  - { name: x, transit: maybe }\n",
		     3, 25, "peers[0].transit: expected true or false");
	expect_error("listen: [udp://127.0.0.1:5060]\nworkers: 0\n", 2, 10,
		     "workers: 0 is out of range (1..1024)");
	expect_error("listen: [udp://127.0.0.1:5060]\nlog: { level: loud }\n", 2, 15,
		     "log.level: expected err, warn, notice, info or debug");
	expect_error("listen: [udp://127.0.0.1:5060]\ntls: [a]\n", 2, 6,
		     "tls: expected a mapping, got a list");
	expect_error("- a\n", 1, 1, "must be a mapping");
}

/* enum: one resolver or a list of them, budget and cache size, with
 * errors at their place. */
static void test_enum_resolvers(void **state)
{
	struct sp_config *cfg = load_ok("listen: [udp://127.0.0.1:5060]\n"
					"enum:\n  resolver: [\"127.0.0.1:5353\", \"[::1]:53\"]\n"
					"  budget_ms: 2500\n  cache_size: 0\n");
	assert_true(cfg->enum_.has_resolver);
	assert_int_equal(cfg->enum_.resolver_count, 2);
	check_addr(&cfg->enum_.resolvers[0], AF_INET, "127.0.0.1", 5353);
	check_addr(&cfg->enum_.resolver, AF_INET, "127.0.0.1", 5353);
	check_addr(&cfg->enum_.resolvers[1], AF_INET6, "::1", 53);
	assert_int_equal(cfg->enum_.budget_ms, 2500);
	assert_int_equal(cfg->enum_.cache_size, 0);
	sp_config_free(cfg);
	cfg = load_ok("listen: [udp://127.0.0.1:5060]\n");
	assert_int_equal(cfg->enum_.resolver_count, 0);
	assert_int_equal(cfg->enum_.budget_ms, 3000);
	assert_int_equal(cfg->enum_.cache_size, 10000);
	sp_config_free(cfg);
	expect_error("listen: [udp://127.0.0.1:5060]\nenum: { resolver: [\"127.0.0.1:53\", \"nope\"] }\n",
		     2, 36, "enum.resolver[1]: bad address \"nope\"");
	expect_error("listen: [udp://127.0.0.1:5060]\nenum: { budget_ms: 0 }\n", 2, 20, "budget_ms");
}

static void test_bad_listen_uri(void **state)
{
	(void)state;
	expect_error("listen:\n  - sctp://127.0.0.1:5060\n", 2, 5, "listen[0]: bad listen URI");
	/* A wildcard cannot go into Via and Record-Route. */
	expect_error("listen:\n  - udp://0.0.0.0:5060\n", 2, 5, "listen[0]: bad listen URI");
	expect_error("listen:\n  - tcp://[::]:5060\n", 2, 5, "listen[0]: bad listen URI");
	expect_error("listen:\n  - udp://sip.example.com:5060\n", 2, 5,
		     "not a numeric IPv4 address");
	expect_error("listen:\n  - udp://127.0.0.1:0\n", 2, 5, "port must be a number 1..65535");
	expect_error("listen:\n  - udp://127.0.0.1\n", 2, 5, "missing :port");
	expect_error("listen:\n  - udp://::1:5060\n", 2, 5, "must be written in brackets");
	expect_error("listen:\n  - udp://127.0.0.1:5060\n  - udp://127.0.0.1:5060\n", 3, 5,
		     "uses the same socket as \"udp://127.0.0.1:5060\" (line 2)");
	/* TCP and TLS on one address:port collide; UDP beside TCP does not. */
	expect_error("tls: { cert: a, key: b }\nlisten:\n  - tcp://127.0.0.1:5060\n"
		     "  - tls://127.0.0.1:5060\n",
		     4, 5, "uses the same socket");
	sp_config_free(load_ok("listen: [udp://127.0.0.1:5060, tcp://127.0.0.1:5060, "
			       "\"udp://[::1]:5060\"]\n"));
	expect_error("listen: []\n", 1, 9, "at least one socket");
	expect_error("domains: [a.test]\n", 1, 1, "listen is required");
}

static void test_bad_peer_and_route_uris(void **state)
{
	(void)state;
	expect_error("listen: [udp://127.0.0.1:5060]\npeers:\n  - name: b\n"
		     "    hosts: [\"tel:+4722\"]\n",
		     4, 13, "peers[0].hosts[0]: bad SIP URI \"tel:+4722\": the scheme must be sip:");
	expect_error("listen: [udp://127.0.0.1:5060]\npeers:\n  - name: b\n"
		     "    hosts: [\"sip:bob@127.0.0.2\"]\n",
		     4, 13, "no user part");
	expect_error("listen: [udp://127.0.0.1:5060]\npeers:\n  - name: b\n"
		     "    hosts: [\"sip:127.0.0.2;transport=sctp\"]\n",
		     4, 13, "transport must be udp, tcp or tls");
	expect_error("listen: [udp://127.0.0.1:5060]\npeers:\n  - name: b\n"
		     "    hosts: [\"sips:127.0.0.2;transport=udp\"]\n",
		     4, 13, "sips: cannot use transport=udp");
	expect_error("listen: [udp://127.0.0.1:5060]\nroutes:\n  - match: { any: true }\n"
		     "    to: \"sip:127.0.0.1:99999\"\n",
		     4, 9, "routes[0].to: bad SIP URI");
	expect_error("listen: [udp://127.0.0.1:5060]\nroutes:\n  - match: { any: true }\n"
		     "    to: somewhere\n",
		     4, 9, "expected a sip:/sips: URI, peer:NAME, enum or dns");
	expect_error("listen: [udp://127.0.0.1:5060]\nroutes:\n  - match: { any: true, prefix: \"+1\" }\n"
		     "    to: dns\n",
		     3, 12, "needs exactly one of prefix, domain or any");
	expect_error("listen: [udp://127.0.0.1:5060]\nroutes:\n  - match: { prefix: \"4722\" }\n"
		     "    to: dns\n",
		     3, 22, "must be '+' followed by digits");
	expect_error("listen: [udp://127.0.0.1:5060]\nroutes:\n  - to: dns\n", 3, 5,
		     "match is required");
}

static void test_bad_cidr(void **state)
{
	(void)state;
	expect_error("listen: [udp://127.0.0.1:5060]\ntrusted: [\"10.0.0.1/24\"]\n", 2, 11,
		     "trusted[0]: bad CIDR \"10.0.0.1/24\": address has bits set beyond the prefix");
	expect_error("listen: [udp://127.0.0.1:5060]\ntrusted:\n  - 10.0.0.0/8\n  - 10.0.0.0/33\n",
		     4, 5, "trusted[1]: bad CIDR \"10.0.0.0/33\": prefix length must be 0..32");
	expect_error("listen: [udp://127.0.0.1:5060]\ntrusted: [pbx.example]\n", 2, 11,
		     "not a numeric IPv4 address");
	expect_error("listen: [udp://127.0.0.1:5060]\npeers:\n  - name: b\n    sources: [\"::1/129\"]\n",
		     4, 15, "peers[0].sources[0]: bad CIDR \"::1/129\": prefix length must be 0..128");
}

static void test_unknown_peer_references(void **state)
{
	(void)state;
	expect_error("listen: [udp://127.0.0.1:5060]\nroutes:\n  - match: { domain: c.test }\n"
		     "    to: peer:ssp-c\npeers:\n  - name: ssp-b\n",
		     4, 9, "routes[0].to: route to unknown peer \"ssp-c\"");
	expect_error("listen: [udp://127.0.0.1:5060]\npeers: [{ name: ssp-b }]\nfederations:\n"
		     "  - name: nordic\n    members: [ssp-b, ssp-x]\n",
		     5, 22, "federations[0].members[1]: federation member \"ssp-x\" is not a configured peer");
	expect_error("listen: [udp://127.0.0.1:5060]\nfederations:\n  - members: []\n", 3, 5,
		     "federations[0]: name is required");
	expect_error("listen: [udp://127.0.0.1:5060]\npeers:\n  - name: b\n  - name: b\n", 4, 11,
		     "duplicate peer \"b\" (first at line 3)");
}

static void test_tls_listener_without_cert(void **state)
{
	(void)state;
	expect_error("listen:\n  - udp://127.0.0.1:5060\n"
		     "  - { uri: \"tls://127.0.0.1:5061\", role: peering }\n",
		     3, 5, "listen[1]: tls listener \"tls://127.0.0.1:5061\" needs tls.cert and tls.key");
	expect_error("listen:\n  - tls://127.0.0.1:5061\ntls: { cert: a.pem }\n", 3, 6,
		     "cert and key go together");
}

static void test_yaml_syntax_error(void **state)
{
	(void)state;
	expect_error("listen: [udp://127.0.0.1:5060\ndomains: [a]\n", 3, 1, "flow sequence");
	expect_error("listen:\n  - udp://127.0.0.1:5060\ndomains: \"a\n", 3, 11,
		     "double-quoted scalar without closing quote");
	expect_error("listen: [udp://127.0.0.1:5060]\nlisten: [udp://127.0.0.1:5061]\n", 2, 1,
		     "duplicate key");
	expect_error("listen: [udp://127.0.0.1:5060]\n---\nlisten: []\n", 3, 1,
		     "only one YAML document");
	expect_error("", 1, 1, "empty");
}

static void test_duplicate_user(void **state)
{
	(void)state;
	expect_error("listen: [udp://127.0.0.1:5060]\nusers:\n"
		     "  - { user: alice, password: one }\n"
		     "  - { user: alice, password: two }\n",
		     4, 13, "users[1]: duplicate user \"alice\" (first at line 3)");
	expect_error("listen: [udp://127.0.0.1:5060]\nusers:\n"
		     "  - { user: alice, password: one, number: \"+4721\" }\n"
		     "  - { user: bob, password: two, number: \"+4721\" }\n",
		     4, 41, "number +4721 is already user alice's");
	expect_error("listen: [udp://127.0.0.1:5060]\nusers:\n  - { user: \"al ice\", password: x }\n",
		     3, 13, "not a SIP user name");
	expect_error("listen: [udp://127.0.0.1:5060]\nusers:\n  - { user: carol, password: \"\" }\n",
		     3, 30, "users[0].password: must not be empty");
	expect_error("listen: [udp://127.0.0.1:5060]\nusers:\n  - { user: carol }\n", 3, 5,
		     "users[0]: password is required");
	expect_error("listen: [udp://127.0.0.1:5060]\nusers:\n"
		     "  - { user: carol, password: x, number: 4721 }\n",
		     3, 41, "must be '+' followed by digits");
}

static void test_registrar_order(void **state)
{
	(void)state;
	expect_error("listen: [udp://127.0.0.1:5060]\nregistrar:\n  min_expires: 7200\n"
		     "  max_expires: 60\n",
		     3, 16, "registrar: min_expires (7200) is greater than max_expires (60)");
	expect_error("listen: [udp://127.0.0.1:5060]\nregistrar: { default_expires: 10 }\n", 2, 31,
		     "default_expires (10) must lie between min_expires (60) and max_expires (3600)");
	expect_error("listen: [udp://127.0.0.1:5060]\nregistrar: { min_expires: 0 }\n", 2, 27,
		     "out of range");
	expect_error("listen: [udp://127.0.0.1:5060]\nauth: { secret: short }\n", 2, 17,
		     "auth.secret: must be at least 16 characters");
	expect_error("listen: [udp://127.0.0.1:5060]\ntimers: { t1: 5000 }\n", 2, 15,
		     "t1 (5000 ms) is greater than t2 (4000 ms)");
}

static void test_other_values(void **state)
{
	struct sp_config *cfg;

	(void)state;
	expect_error("listen: [udp://127.0.0.1:5060]\nstore: mysql:x\n", 2, 8,
		     "expected sqlite:PATH or redis://host:port");
	expect_error("listen: [udp://127.0.0.1:5060]\nstore: \"redis://127.0.0.1\"\n", 2, 8,
		     "bad redis address");
	expect_error("listen: [udp://127.0.0.1:5060]\ndomains: [\"-bad.test\"]\n", 2, 11,
		     "not a host name");
	expect_error("listen: [udp://127.0.0.1:5060]\ndomains: [ok.test, 192.0.2.1]\n", 2, 20,
		     "domains[1]: \"192.0.2.1\": not a host name (the last label starts with a digit");
	expect_error("listen: [udp://127.0.0.1:5060]\ndomains: [a..b]\n", 2, 11, "empty label");
	expect_error("listen: [udp://127.0.0.1:5060]\ndomains: [a_b.test]\n", 2, 11,
		     "letters, digits");
	expect_error("listen: [udp://127.0.0.1:5060]\nenum: { suffixes: [\"e164.arpa.\"] }\n", 2,
		     20, "empty label");
	expect_error("listen: [udp://127.0.0.1:5060]\nnumbers: [\"+47a\"]\n", 2, 11,
		     "must be '+' followed by digits");
	expect_error("listen: [udp://127.0.0.1:5060]\nnumbering: { country_code: \"4711\" }\n", 2,
		     28, "country code is 1 to 3 digits");
	expect_error("listen: [udp://127.0.0.1:5060]\nenum: { resolver: \"dns.example:53\" }\n", 2,
		     19, "enum.resolver: bad address");
	expect_error("listen: [udp://127.0.0.1:5060]\nenum: { timeout_ms: 60001 }\n", 2, 21,
		     "out of range (1..60000)");
	expect_error("listen: [udp://127.0.0.1:5060]\ncontrol: { listen: \"127.0.0.1\" }\n", 2, 20,
		     "control.listen: bad address \"127.0.0.1\": missing :port");

	cfg = load_ok("listen: [udp://127.0.0.1:5060]\nstore: redis://127.0.0.1:6379\n"
		      "control: { listen: \"[::1]:8090\" }\n");
	assert_int_equal(cfg->store.kind, SP_CONFIG_STORE_REDIS);
	assert_string_equal(cfg->store.host, "127.0.0.1");
	assert_int_equal(cfg->store.port, 6379);
	check_addr(&cfg->control_listen, AF_INET6, "::1", 8090);
	sp_config_free(cfg);
	cfg = load_ok("listen: [udp://127.0.0.1:5060]\nstore: \"redis://[::1]:6380\"\n");
	assert_string_equal(cfg->store.host, "::1");
	assert_int_equal(cfg->store.port, 6380);
	assert_false(cfg->cdr.sync); /* the default: records do not wait for a disk sync */
	sp_config_free(cfg);
	cfg = load_ok("listen: [udp://127.0.0.1:5060]\ncdr: { sync: true }\n");
	assert_true(cfg->cdr.sync);
	sp_config_free(cfg);
	expect_error("listen: [udp://127.0.0.1:5060]\ncdr: { sync: always }\n", 2, 14, "");
}

static void test_many_errors_reported(void **state)
{
	size_t n;

	(void)state;
	n = load_bad("listen:\n"                               /* 1 */
		     "  - udp://127.0.0.1:99999\n"              /* 2 */
		     "trusted: [\"10.0.0.0/40\"]\n"             /* 3 */
		     "bogus: 1\n"                               /* 4 */
		     "routes:\n"                                /* 5 */
		     "  - { match: { any: true }, to: peer:x }\n" /* 6 */
		     "registrar: { min_expires: 10, max_expires: 5 }\n" /* 7 */
		     "workers: many\n");                        /* 8 */
	assert_int_equal(n, 6);
	/* Sorted by position, whatever order they were found in. */
	assert_true(g_diag.errors[0].line == 2 && g_diag.errors[0].col == 5);
	assert_true(g_diag.errors[1].line == 3 && g_diag.errors[1].col == 11);
	assert_true(g_diag.errors[2].line == 4 && g_diag.errors[2].col == 1);
	assert_true(g_diag.errors[3].line == 6 && g_diag.errors[3].col == 33);
	assert_true(g_diag.errors[4].line == 7 && g_diag.errors[4].col == 27);
	assert_true(g_diag.errors[5].line == 8 && g_diag.errors[5].col == 10);
}

static void test_error_cap(void **state)
{
	char *yaml = malloc(64 * 200);
	size_t off = 0, i;

	(void)state;
	assert_non_null(yaml);
	off += (size_t)snprintf(yaml + off, 64, "listen: [udp://127.0.0.1:5060]\ndomains:\n");
	for (i = 0; i < 100; i++)
		off += (size_t)snprintf(yaml + off, 64, "  - \"bad_%zu\"\n", i);
	load_bad(yaml);
	assert_int_equal(g_diag.count, SP_CONFIG_DIAG_MAX);
	assert_int_equal(g_diag.dropped, 100 - SP_CONFIG_DIAG_MAX);
	free(yaml);
}

/* --- files: check command, relative paths ------------------------------- */

static char g_tmpdir[256];

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(g_tmpdir, sizeof(g_tmpdir), "/tmp/sipeer-test-config-XXXXXX");
	return mkdtemp(g_tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char path[512];
	static const char *const names[] = { "bad.yaml", "good.yaml", "sub/rel.yaml", "sub" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", g_tmpdir, names[i]);
		if (remove(path) != 0)
			(void)0; /* not every test creates every file */
	}
	return rmdir(g_tmpdir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void test_check_cmd(void **state)
{
	char path[512], want[2048], *out = NULL;
	size_t outlen = 0;
	FILE *err;

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.yaml", g_tmpdir);
	write_file(path, "listen:\n  - tls://127.0.0.1:5061\nfoo: 1\n");
	err = open_memstream(&out, &outlen);
	assert_non_null(err);
	assert_int_equal(sp_config_check_cmd(path, err), 1);
	fclose(err);
	snprintf(want, sizeof(want),
		 "%s:2:5: listen[0]: tls listener \"tls://127.0.0.1:5061\" needs tls.cert and tls.key\n"
		 "%s:3:1: unknown key \"foo\"\n",
		 path, path);
	assert_string_equal(out, want);
	free(out);

	snprintf(path, sizeof(path), "%s/good.yaml", g_tmpdir);
	write_file(path, "listen: [udp://127.0.0.1:5060]\n");
	out = NULL;
	err = open_memstream(&out, &outlen);
	assert_non_null(err);
	assert_int_equal(sp_config_check_cmd(path, err), 0);
	fclose(err);
	assert_int_equal(outlen, 0);
	free(out);

	snprintf(path, sizeof(path), "%s/missing.yaml", g_tmpdir);
	out = NULL;
	err = open_memstream(&out, &outlen);
	assert_non_null(err);
	assert_int_equal(sp_config_check_cmd(path, err), 1);
	fclose(err);
	snprintf(want, sizeof(want), "%s:1:1: cannot read the file: No such file or directory\n",
		 path);
	assert_string_equal(out, want);
	free(out);
}

static void test_relative_paths(void **state)
{
	char sub[512], path[600], want[1024], cwd[1024], *real;
	struct sp_config *cfg = NULL;
	const char *text = "listen: [\"tls://127.0.0.1:5061\"]\n"
			   "tls: { cert: certs/n.pem, key: ../n.key, ca: /abs/ca.pem }\n"
			   "federations: [{ name: f, ca: fed.pem }]\n";

	(void)state;
	snprintf(sub, sizeof(sub), "%s/sub", g_tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/rel.yaml", sub);
	write_file(path, text);
	real = realpath(sub, NULL);
	assert_non_null(real);
	if (sp_config_load(path, &cfg, &g_diag) != 0)
		dump_diag();
	assert_non_null(cfg);
	snprintf(want, sizeof(want), "%s/certs/n.pem", real);
	assert_string_equal(cfg->tls.cert, want);
	snprintf(want, sizeof(want), "%s/../n.key", real);
	assert_string_equal(cfg->tls.key, want);
	assert_string_equal(cfg->tls.ca, "/abs/ca.pem");
	snprintf(want, sizeof(want), "%s/fed.pem", real);
	assert_string_equal(cfg->federations[0].ca, want);
	snprintf(want, sizeof(want), "%s/sipeer.db", real); /* the default store too */
	assert_string_equal(cfg->store.path, want);
	sp_config_free(cfg);

	/* A relative config path is made absolute from the current directory. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(g_tmpdir), 0);
	cfg = NULL;
	assert_int_equal(sp_config_load("sub/rel.yaml", &cfg, &g_diag), 0);
	assert_int_equal(chdir(cwd), 0);
	snprintf(want, sizeof(want), "%s/certs/n.pem", real);
	assert_string_equal(cfg->tls.cert, want);
	sp_config_free(cfg);

	/* From a string, paths stay as written. */
	cfg = load_ok(text);
	assert_string_equal(cfg->tls.cert, "certs/n.pem");
	assert_string_equal(cfg->federations[0].ca, "fed.pem");
	sp_config_free(cfg);
	free(real);
}

/* --- CIDR matching ----------------------------------------------------- */

static struct sp_sockaddr ip(const char *s)
{
	struct sp_sockaddr a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':')) {
		assert_int_equal(inet_pton(AF_INET6, s, &a.u.in6.sin6_addr), 1);
		a.u.in6.sin6_family = AF_INET6;
		a.len = sizeof(a.u.in6);
	} else {
		assert_int_equal(inet_pton(AF_INET, s, &a.u.in.sin_addr), 1);
		a.u.in.sin_family = AF_INET;
		a.len = sizeof(a.u.in);
	}
	return a;
}

static void test_cidr_match(void **state)
{
	struct sp_config *cfg = load_ok("listen: [udp://127.0.0.1:5060]\n"
					"trusted: [10.1.2.0/23, \"2001:db8:a::/48\", 0.0.0.0/0, "
					"192.0.2.7, \"10.0.0.128/25\"]\n");
	struct sp_sockaddr a;

	(void)state;
	assert_int_equal(cfg->trusted_count, 5);
	a = ip("10.1.3.255");
	assert_true(sp_config_cidr_match(&cfg->trusted[0], &a));
	a = ip("10.1.4.0");
	assert_false(sp_config_cidr_match(&cfg->trusted[0], &a));
	a = ip("::ffff:10.1.2.9"); /* v4-mapped from a dual-stack socket */
	assert_true(sp_config_cidr_match(&cfg->trusted[0], &a));
	a = ip("2001:db8:a:ffff::1");
	assert_true(sp_config_cidr_match(&cfg->trusted[1], &a));
	a = ip("2001:db8:b::1");
	assert_false(sp_config_cidr_match(&cfg->trusted[1], &a));
	a = ip("10.1.2.3");
	assert_false(sp_config_cidr_match(&cfg->trusted[1], &a)); /* family mismatch */
	a = ip("203.0.113.9");
	assert_true(sp_config_cidr_match(&cfg->trusted[2], &a));
	assert_int_equal(cfg->trusted[3].prefix_len, 32);
	a = ip("192.0.2.7");
	assert_true(sp_config_cidr_match(&cfg->trusted[3], &a));
	a = ip("192.0.2.8");
	assert_false(sp_config_cidr_match(&cfg->trusted[3], &a));
	a = ip("10.0.0.200");
	assert_true(sp_config_cidr_match(&cfg->trusted[4], &a));
	a = ip("10.0.0.127");
	assert_false(sp_config_cidr_match(&cfg->trusted[4], &a));
	a = ip("10.1.2.1");
	assert_true(sp_config_cidr_match_any(cfg->trusted, 2, &a));
	a = ip("::1");
	assert_false(sp_config_cidr_match_any(cfg->trusted, 2, &a));
	sp_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_design_verbatim),
		cmocka_unit_test(test_docs_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_default_is_example),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_enum_resolvers),
		cmocka_unit_test(test_bad_listen_uri),
		cmocka_unit_test(test_bad_peer_and_route_uris),
		cmocka_unit_test(test_bad_cidr),
		cmocka_unit_test(test_unknown_peer_references),
		cmocka_unit_test(test_tls_listener_without_cert),
		cmocka_unit_test(test_yaml_syntax_error),
		cmocka_unit_test(test_duplicate_user),
		cmocka_unit_test(test_registrar_order),
		cmocka_unit_test(test_other_values),
		cmocka_unit_test(test_many_errors_reported),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_check_cmd),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_cidr_match),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
