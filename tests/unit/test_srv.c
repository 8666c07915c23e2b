/* test_srv.c: the RFC 2782 SRV order with a fixed random sequence, and the RFC 3263 NAPTR choices. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dns/srv.h"

static struct sp_dns_answer ans;

static void add_srv(uint16_t prio, uint16_t weight, uint16_t port, const char *target)
{
	struct sp_dns_rr *rr = &ans.rr[ans.n++];
	memset(rr, 0, sizeof(*rr));
	rr->type = SP_DNS_SRV;
	strcpy(rr->name, "_sip._udp.ssp-b.test");
	rr->u.srv.priority = prio;
	rr->u.srv.weight = weight;
	rr->u.srv.port = port;
	strcpy(rr->u.srv.target, target);
}

/* A fixed sequence of "random" values; counts the calls. */
struct seq {
	const uint32_t *v;
	size_t n, i;
};

static uint32_t seq_next(void *arg)
{
	struct seq *s = arg;
	assert_true(s->i < s->n);
	return s->v[s->i++];
}

static void test_priority(void **state)
{
	struct sp_srv_target t[8];
	struct seq s = { NULL, 0, 0 };

	memset(&ans, 0, sizeof(ans));
	add_srv(20, 0, 5060, "c.test");
	add_srv(10, 0, 5060, "a.test");
	ans.rr[ans.n++].type = SP_DNS_A; /* not SRV: ignored */
	add_srv(10, 0, 5062, "b.test");
	add_srv(30, 0, 5060, "d.test");
	/* All weights 0: no draw at all, received order within a priority. */
	assert_int_equal(sp_srv_order(&ans, t, 8, seq_next, &s), 4);
	assert_string_equal(t[0].target, "a.test");
	assert_string_equal(t[1].target, "b.test");
	assert_int_equal(t[1].port, 5062);
	assert_string_equal(t[2].target, "c.test");
	assert_int_equal(t[2].priority, 20);
	assert_string_equal(t[3].target, "d.test");
	assert_int_equal(s.i, 0);
	/* max caps the output. */
	assert_int_equal(sp_srv_order(&ans, t, 2, seq_next, &s), 2);
	assert_string_equal(t[1].target, "b.test");
	assert_int_equal(sp_srv_order(&ans, t, 0, seq_next, &s), 0);
}

static void test_weighted(void **state)
{
	struct sp_srv_target t[8];

	/* Priority 10: A 10, B 20, C 0, D 70. Weight 0 first: C(0) A(10) B(30)
	 * D(100), sum 100, draws are taken modulo sum + 1.
	 * 35 -> D. Left C(0) A(10) B(30): 5 -> A. Left C(0) B(20): 21 % 21 = 0
	 * -> C. Left B(20): 7 -> B. Then priority 20 with one record: a draw
	 * in [0, 5], 3 -> E. */
	memset(&ans, 0, sizeof(ans));
	add_srv(20, 5, 5060, "e.test");
	add_srv(10, 10, 5060, "a.test");
	add_srv(10, 20, 5060, "b.test");
	add_srv(10, 0, 5060, "c.test");
	add_srv(10, 70, 5060, "d.test");
	const uint32_t v[] = { 35, 5, 21, 7, 3 };
	struct seq s = { v, 5, 0 };
	assert_int_equal(sp_srv_order(&ans, t, 8, seq_next, &s), 5);
	assert_string_equal(t[0].target, "d.test");
	assert_string_equal(t[1].target, "a.test");
	assert_string_equal(t[2].target, "c.test");
	assert_string_equal(t[3].target, "b.test");
	assert_string_equal(t[4].target, "e.test");
	assert_int_equal(t[4].weight, 5);
	assert_int_equal(s.i, 5);

	/* Boundaries: a draw of exactly a running sum takes that record, and
	 * 0 the weight-0 one. 10 -> A; then C(0) B(20) D(90): 91 % 91 = 0 ->
	 * C; then B(20) D(90): 20 -> B; then D alone, whatever the draw. */
	const uint32_t w[] = { 10, 91, 20, 4294967295u, 0 };
	s = (struct seq){ w, 5, 0 };
	assert_int_equal(sp_srv_order(&ans, t, 8, seq_next, &s), 5);
	assert_string_equal(t[0].target, "a.test");
	assert_string_equal(t[1].target, "c.test");
	assert_string_equal(t[2].target, "b.test");
	assert_string_equal(t[3].target, "d.test");
	assert_string_equal(t[4].target, "e.test");

	/* Only as many draws as records written. */
	s = (struct seq){ v, 5, 0 };
	assert_int_equal(sp_srv_order(&ans, t, 1, seq_next, &s), 1);
	assert_string_equal(t[0].target, "d.test");
	assert_int_equal(s.i, 1);
}

static void test_root_target(void **state)
{
	struct sp_srv_target t[4];
	struct seq s = { NULL, 0, 0 };

	/* "." alone: the service is decidedly not available. */
	memset(&ans, 0, sizeof(ans));
	add_srv(0, 0, 0, "");
	assert_int_equal(sp_srv_order(&ans, t, 4, seq_next, &s), 0);
	/* Among others it is never a target. */
	add_srv(10, 0, 5060, "a.test");
	assert_int_equal(sp_srv_order(&ans, t, 4, seq_next, &s), 1);
	assert_string_equal(t[0].target, "a.test");
	/* No SRV at all. */
	memset(&ans, 0, sizeof(ans));
	assert_int_equal(sp_srv_order(&ans, t, 4, seq_next, &s), 0);
}

static void add_naptr(uint16_t order, uint16_t pref, const char *flags, const char *svc,
		      const char *rx, const char *repl)
{
	struct sp_dns_rr *rr = &ans.rr[ans.n++];
	memset(rr, 0, sizeof(*rr));
	rr->type = SP_DNS_NAPTR;
	strcpy(rr->name, "example.com");
	rr->u.naptr.order = order;
	rr->u.naptr.preference = pref;
	strcpy(rr->u.naptr.flags, flags);
	strcpy(rr->u.naptr.services, svc);
	strcpy(rr->u.naptr.regexp, rx);
	strcpy(rr->u.naptr.replacement, repl);
}

static void test_naptr(void **state)
{
	struct sp_sip_naptr c[8];

	memset(&ans, 0, sizeof(ans));
	add_naptr(100, 50, "s", "SIP+D2U", "", "_sip._udp.example.com");
	add_naptr(90, 50, "s", "SIP+D2T", "", "_sip._tcp.example.com");
	add_naptr(50, 50, "s", "SIPS+D2T", "", "_sips._tcp.example.com");
	add_naptr(50, 40, "S", "sip+d2t", "", "_sip._tcp.b.example.com");
	/* Unusable: other services, flags, a regexp, the root as replacement. */
	add_naptr(1, 1, "s", "SIP+D2S", "", "_sip._sctp.example.com");
	add_naptr(1, 1, "s", "SIPS+D2U", "", "_sips._udp.example.com");
	add_naptr(1, 1, "u", "SIP+D2U", "", "_sip._udp.example.com");
	add_naptr(1, 1, "a", "SIP+D2U", "", "sip.example.com");
	add_naptr(1, 1, "", "SIP+D2U", "", "sip.example.com");
	add_naptr(1, 1, "s", "SIP+D2U", "!^.*$!x!", "_sip._udp.example.com");
	add_naptr(1, 1, "s", "SIP+D2U", "", "");
	add_naptr(1, 1, "s", "E2U+sip", "", "x.example.com");
	/* Same order and preference as the first UDP one: after it. */
	add_naptr(100, 50, "s", "SIP+D2U", "", "_sip._udp.c.example.com");

	assert_int_equal(sp_sip_naptr_choices(&ans, false, c, 8), 5);
	assert_int_equal(c[0].proto, SP_PROTO_TCP);
	assert_int_equal(c[0].order, 50);
	assert_int_equal(c[0].preference, 40);
	assert_string_equal(c[0].srv, "_sip._tcp.b.example.com");
	assert_int_equal(c[1].proto, SP_PROTO_TLS);
	assert_string_equal(c[1].srv, "_sips._tcp.example.com");
	assert_int_equal(c[2].proto, SP_PROTO_TCP);
	assert_int_equal(c[2].order, 90);
	assert_int_equal(c[3].proto, SP_PROTO_UDP);
	assert_string_equal(c[3].srv, "_sip._udp.example.com");
	assert_string_equal(c[4].srv, "_sip._udp.c.example.com");

	/* A full out keeps the best, whatever the order received. */
	assert_int_equal(sp_sip_naptr_choices(&ans, false, c, 2), 2);
	assert_string_equal(c[0].srv, "_sip._tcp.b.example.com");
	assert_string_equal(c[1].srv, "_sips._tcp.example.com");
	assert_int_equal(sp_sip_naptr_choices(&ans, false, c, 0), 0);

	/* sips: TLS only. */
	assert_int_equal(sp_sip_naptr_choices(&ans, true, c, 8), 1);
	assert_int_equal(c[0].proto, SP_PROTO_TLS);
	assert_string_equal(c[0].srv, "_sips._tcp.example.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_weighted),
		cmocka_unit_test(test_root_target),
		cmocka_unit_test(test_naptr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
