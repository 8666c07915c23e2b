/* test_router.c: the route walk without a network: users by name and number (the index), static peer ranges and domains for enum and dns routes, fixed routes, 404/503, and the trace sipeerctl resolve prints. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "routing/router.h"

static const char yaml[] =
	"listen: [udp://127.0.0.1:5060]\n"
	"domains: [ssp-a.test]\n"
	"numbering: { country_code: \"47\", national_prefix: \"0\", international_prefix: \"00\" }\n"
	"users:\n"
	"  - { user: alice, password: a, number: \"+4721000001\" }\n"
	"  - { user: bob, password: b }\n"
	"  - { user: carol, password: c, number: \"+4721000003\" }\n"
	"peers:\n"
	"  - name: ssp-b\n"
	"    domains: [ssp-b.test]\n"
	"    numbers: [\"+4722\"]\n"
	"    hosts: [\"sip:127.0.0.2:5061;transport=tls\", \"sip:127.0.0.3\"]\n"
	"  - name: ssp-c\n"
	"    numbers: [\"+47223\"]\n"
	"    hosts: [\"sip:127.0.0.4\"]\n"
	"    trust: trusted\n"
	"federations:\n"
	"  - { name: nordic, enum: [e164.nordic.test] }\n"
	"  - { name: baltic, enum: [e164.baltic.test, e164.b2.test] }\n"
	"enum: { suffixes: [e164.arpa] }\n"
	"routes:\n"
	"  - match: { prefix: \"+4799\" }\n"
	"    to: \"sip:127.0.0.9:5090\"\n"
	"  - match: { prefix: \"+\" }\n"
	"    to: enum\n"
	"  - match: { any: true }\n"
	"    to: dns\n";

struct walk {
	char out[8192];
	size_t len;
	int status;
	int calls;
};

static void trace(void *arg, const char *line)
{
	struct walk *w = arg;
	int n = snprintf(w->out + w->len, sizeof(w->out) - w->len, "%s\n", line);
	if (n > 0 && w->len + (size_t)n < sizeof(w->out))
		w->len += (size_t)n;
}

static void done(void *arg, uint16_t status)
{
	struct walk *w = arg;
	w->status = status;
	w->calls++;
}

struct fx {
	struct sp_config *cfg;
	struct sp_router *rt;
};

static bool is_ours(void *arg, struct sp_str host)
{
	return sp_str_caseeq_c(host, "ssp-a.test");
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sp_config_diag diag;
	memset(&diag, 0, sizeof(diag));
	if (sp_config_load_string("t.yaml", yaml, strlen(yaml), &f->cfg, &diag) != 0) {
		sp_config_diag_print(&diag, stderr);
		fail();
	}
	assert_int_equal(sp_router_create(f->cfg, NULL, &f->rt), 0);
	sp_router_set_ours(f->rt, is_ours, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sp_router_destroy(f->rt);
	sp_config_free(f->cfg);
	free(f);
	return 0;
}

/* Without a resolver every answer is at once: done runs inside. */
static struct walk *resolve(struct fx *f, const char *target)
{
	static struct walk w;
	memset(&w, 0, sizeof(w));
	w.status = -1;
	assert_int_equal(sp_router_resolve(f->rt, target, UINT64_MAX, trace, &w, done, &w), 0);
	assert_int_equal(w.calls, 1);
	return &w;
}

static void test_users(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sp_router_user_by_name(f->rt, SP_STR("alice")), 0);
	assert_int_equal(sp_router_user_by_name(f->rt, SP_STR("bob")), 1);
	assert_int_equal(sp_router_user_by_name(f->rt, SP_STR("carol")), 2);
	assert_int_equal(sp_router_user_by_name(f->rt, SP_STR("Alice")), -1);
	assert_int_equal(sp_router_user_by_name(f->rt, SP_STR("alic")), -1);
	assert_int_equal(sp_router_user_by_name(f->rt, SP_STR("")), -1);
	assert_true(sp_router_number_is_ours(f->rt, "+4721000003"));
	assert_false(sp_router_number_is_ours(f->rt, "+4721000002"));
}

static void test_many_users(void **state)
{
	/* The index against the scan it replaced, on 2,000 users. */
	size_t n = 2000, len = 0, cap = 200000;
	char *y = malloc(cap);
	len += (size_t)snprintf(y + len, cap - len, "listen: [udp://127.0.0.1:5060]\nusers:\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(y + len, cap - len,
					"  - { user: u%zu, password: p, number: \"+47%08zu\" }\n", i, i);
	struct sp_config *cfg;
	struct sp_config_diag diag;
	struct sp_router *rt;
	memset(&diag, 0, sizeof(diag));
	assert_int_equal(sp_config_load_string("t.yaml", y, len, &cfg, &diag), 0);
	assert_int_equal(sp_router_create(cfg, NULL, &rt), 0);
	for (size_t i = 0; i < n; i++) {
		char name[16], num[16];
		snprintf(name, sizeof(name), "u%zu", i);
		snprintf(num, sizeof(num), "+47%08zu", i);
		assert_int_equal(sp_router_user_by_name(rt, sp_str_cstr(name)), (ptrdiff_t)i);
		assert_true(sp_router_number_is_ours(rt, num));
	}
	assert_int_equal(sp_router_user_by_name(rt, SP_STR("u2000")), -1);
	assert_false(sp_router_number_is_ours(rt, "+4700002000"));
	sp_router_destroy(rt);
	sp_config_free(cfg);
	free(y);
}

static void test_static_number_range(void **state)
{
	struct fx *f = *state;
	/* National number, normalized; the longest prefix wins (ssp-c). */
	struct walk *w = resolve(f, "022300001");
	assert_int_equal(w->status, 0);
	assert_non_null(strstr(w->out, "static number range of peer ssp-c"));
	assert_non_null(strstr(w->out, "target 1: udp 127.0.0.4:5060 uri sip:+4722300001@127.0.0.4;user=phone"));
	assert_null(strstr(w->out, "outside the trust domain"));

	w = resolve(f, "+4722000001");
	assert_int_equal(w->status, 0);
	assert_non_null(strstr(w->out, "target 1: tls 127.0.0.2:5061 uri sip:+4722000001@ssp-b.test;user=phone (outside the trust domain)"));
	assert_non_null(strstr(w->out, "target 2: udp 127.0.0.3:5060"));
}

static bool all_down(void *arg, size_t peer, size_t host)
{
	return false;
}

/* Every host of a peer is believed down (probes): each is tried all the
 * same, in order, rather than refusing the call. */
static void test_all_hosts_down(void **state)
{
	struct fx *f = *state;
	sp_router_set_health(f->rt, all_down, NULL);
	struct walk *w = resolve(f, "+4722000001");
	assert_int_equal(w->status, 0);
	assert_non_null(strstr(w->out, "target 1: tls 127.0.0.2:5061"));
	assert_non_null(strstr(w->out, "target 2: udp 127.0.0.3:5060"));
}

static void test_fixed_route_then_enum(void **state)
{
	struct fx *f = *state;
	struct walk *w = resolve(f, "+4799123");
	assert_int_equal(w->status, 0);
	assert_non_null(strstr(w->out, "target 1: udp 127.0.0.9:5090\n"));
	/* The enum route matches too, but there is no resolver: said so. */
	assert_non_null(strstr(w->out, "no ENUM tree to ask"));
}

static void test_dns_peer_domain(void **state)
{
	struct fx *f = *state;
	struct walk *w = resolve(f, "sip:bob@ssp-b.test");
	assert_int_equal(w->status, 0);
	assert_non_null(strstr(w->out, "domain of peer ssp-b"));
	assert_non_null(strstr(w->out, "target 1: tls 127.0.0.2:5061"));
}

/* The trees a caller may use: every federation's for our own side, only
 * its own federations' for a transit request, and the public ones. */
static void test_trees(void **state)
{
	struct fx *f = *state;
	struct walk *w = resolve(f, "+4755555555");
	assert_non_null(strstr(w->out, "ENUM tree 1: e164.nordic.test\n"
					"  ENUM tree 2: e164.baltic.test\n"
					"  ENUM tree 3: e164.b2.test\n"
					"  ENUM tree 4: e164.arpa\n"));
	static struct walk w2;
	w2.status = -1;
	assert_int_equal(sp_router_resolve(f->rt, "+4755555555", 1u << 1, trace, &w2, done, &w2), 0);
	assert_non_null(strstr(w2.out, "ENUM tree 1: e164.baltic.test\n"
					 "  ENUM tree 2: e164.b2.test\n"
					 "  ENUM tree 3: e164.arpa\n"));
	assert_null(strstr(w2.out, "nordic"));
	static struct walk w3;
	assert_int_equal(sp_router_resolve(f->rt, "+4755555555", 0, trace, &w3, done, &w3), 0);
	assert_non_null(strstr(w3.out, "ENUM tree 1: e164.arpa\n"));
	assert_null(strstr(w3.out, "ENUM tree 2"));
}

static void test_nothing(void **state)
{
	struct fx *f = *state;
	/* Local users come first. */
	struct walk *lw = resolve(f, "021000003");
	assert_int_equal(lw->status, 0);
	assert_non_null(strstr(lw->out, "local user carol"));
	lw = resolve(f, "sip:bob@ssp-a.test");
	assert_non_null(strstr(lw->out, "local user bob"));
	/* A number nobody serves, and no resolver to ask: 503 (a route could
	 * not be used), not 404. */
	struct walk *w = resolve(f, "+4755555555");
	assert_int_equal(w->status, 503);
	/* Our own domain, no such user: the dns route has nothing to do. */
	w = resolve(f, "sip:nobody@ssp-a.test");
	assert_int_equal(w->status, 404);
	assert_non_null(strstr(w->out, "names this provider"));
	/* A numeric host needs no resolver. */
	w = resolve(f, "sip:x@192.0.2.7:5070;transport=tcp");
	assert_int_equal(w->status, 0);
	assert_non_null(strstr(w->out, "target 1: tcp 192.0.2.7:5070"));
	/* Garbage is refused. */
	assert_int_equal(sp_router_resolve(f->rt, "sip:", UINT64_MAX, trace, NULL, done, NULL),
			 SP_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test(test_many_users),
		cmocka_unit_test_setup_teardown(test_static_number_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fixed_route_then_enum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_hosts_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_peer_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
