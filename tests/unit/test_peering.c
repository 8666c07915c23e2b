/* test_peering.c: admission of other providers by address, certificate name and federation CA; the origin tag; certificate name patterns. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "peering/peering.h"

static const char yaml[] =
	"listen: [udp://127.0.0.1:5060]\n"
	"peers:\n"
	"  - name: ssp-b\n"
	"    sources: [\"192.0.2.0/28\"]\n"
	"    certificate: { san: [\"*.ssp-b.test\"] }\n"
	"    trust: trusted\n"
	"  - name: ssp-c\n"
	"    sources: [\"198.51.100.7/32\"]\n"
	"    transit: true\n"
	"  - name: ssp-d\n"
	"    sources: [\"203.0.113.9/32\"]\n"
	"federations:\n"
	"  - { name: open, members: [ssp-d] }\n"
	"  - { name: nordic, members: [ssp-b, ssp-c], ca: nordic-ca.pem, require: { tls: true } }\n"
	"  - { name: baltic, members: [ssp-d], ca: baltic-ca.pem }\n";

struct fixture {
	struct sp_config *cfg;
	struct sp_peering *pg;
};

static int setup(void **state)
{
	static struct fixture f;
	struct sp_config_diag diag;
	if (sp_config_load_string("peering.yaml", yaml, sizeof(yaml) - 1, &f.cfg, &diag) != 0) {
		sp_config_diag_print(&diag, stderr);
		return -1;
	}
	if (sp_peering_create(f.cfg, &f.pg) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	sp_peering_destroy(f->pg);
	sp_config_free(f->cfg);
	return 0;
}

static struct sp_dest src(const char *ip, enum sp_proto proto)
{
	struct sp_dest d;
	memset(&d, 0, sizeof(d));
	d.proto = proto;
	assert_int_equal(sp_sockaddr_from_host(sp_str_cstr(ip), 40000, &d.addr), 0);
	return d;
}

static void test_extra_cas(void **state)
{
	struct fixture *f = *state;
	size_t n;
	const char *const *cas = sp_peering_extra_cas(f->pg, &n);
	assert_int_equal(n, 2); /* open has no CA */
	assert_string_equal(cas[0], "nordic-ca.pem");
	assert_string_equal(cas[1], "baltic-ca.pem");
}

static void test_by_address(void **state)
{
	struct fixture *f = *state;
	struct sp_peer_origin o;
	struct sp_dest d = src("203.0.113.9", SP_PROTO_UDP);

	/* ssp-d: its federation does not require TLS. */
	assert_int_equal(sp_peering_classify(f->pg, &d, NULL, &o), SP_ADMIT_PEER);
	assert_int_equal(o.peer, 2);
	assert_int_equal(o.federation, 0);
	assert_false(o.trusted);
	assert_false(o.transit);
	/* ssp-c over UDP: nordic requires TLS. */
	d = src("198.51.100.7", SP_PROTO_UDP);
	assert_int_equal(sp_peering_classify(f->pg, &d, NULL, &o), SP_ADMIT_NEED_TLS);
	d = src("198.51.100.7", SP_PROTO_TCP);
	assert_int_equal(sp_peering_classify(f->pg, &d, NULL, &o), SP_ADMIT_NEED_TLS);
	/* Over TLS the address is enough for a peer without certificate.san. */
	d = src("198.51.100.7", SP_PROTO_TLS);
	assert_int_equal(sp_peering_classify(f->pg, &d, NULL, &o), SP_ADMIT_PEER);
	assert_int_equal(o.peer, 1);
	assert_true(o.transit);
	/* Outside every source block. */
	d = src("192.0.2.200", SP_PROTO_UDP);
	assert_int_equal(sp_peering_classify(f->pg, &d, NULL, &o), SP_ADMIT_UNKNOWN);
	d = src("2001:db8::1", SP_PROTO_UDP);
	assert_int_equal(sp_peering_classify(f->pg, &d, NULL, &o), SP_ADMIT_UNKNOWN);
}

static void test_by_certificate(void **state)
{
	struct fixture *f = *state;
	struct sp_peer_origin o;
	const char *const good[] = { "sbe.ssp-b.test" };
	const char *const other[] = { "sbe.ssp-x.test" };
	const char *const deep[] = { "a.sbe.ssp-b.test" };
	struct sp_tls_peer tls_good = { good, 1, -1 }, tls_other = { other, 1, 0 };
	struct sp_tls_peer tls_deep = { deep, 1, -1 };
	struct sp_dest d = src("10.9.9.9", SP_PROTO_TLS);

	/* The certificate names the peer: admitted from any address. */
	assert_int_equal(sp_peering_classify(f->pg, &d, &tls_good, &o), SP_ADMIT_PEER);
	assert_int_equal(o.peer, 0);
	assert_true(o.trusted);
	assert_int_equal(o.federation, 1);
	/* The wildcard covers one label only. */
	assert_int_equal(sp_peering_classify(f->pg, &d, &tls_deep, &o), SP_ADMIT_UNKNOWN);
	/* From ssp-b's address with another name: the address does not stand
	 * in for the certificate. */
	d = src("192.0.2.3", SP_PROTO_TLS);
	assert_int_equal(sp_peering_classify(f->pg, &d, &tls_deep, &o), SP_ADMIT_WRONG_CERT);
	assert_int_equal(sp_peering_classify(f->pg, &d, NULL, &o), SP_ADMIT_WRONG_CERT);
	/* ...and over UDP, nordic wants TLS. */
	d = src("192.0.2.3", SP_PROTO_UDP);
	assert_int_equal(sp_peering_classify(f->pg, &d, NULL, &o), SP_ADMIT_NEED_TLS);
	/* A certificate of nordic's CA naming nobody configured: on demand. */
	d = src("10.9.9.9", SP_PROTO_TLS);
	assert_int_equal(sp_peering_classify(f->pg, &d, &tls_other, &o), SP_ADMIT_ONDEMAND);
	assert_int_equal(o.peer, -1);
	assert_int_equal(o.federation, 1);
	assert_false(o.trusted);
	/* Another federation's CA cannot vouch for ssp-b: a certificate from
	 * baltic's CA naming ssp-b is only an on-demand member of baltic. */
	struct sp_tls_peer tls_forged = { good, 1, 1 };
	assert_int_equal(sp_peering_classify(f->pg, &d, &tls_forged, &o), SP_ADMIT_ONDEMAND);
	assert_int_equal(o.peer, -1);
	assert_int_equal(o.federation, 2);
	assert_false(o.trusted);
	/* From nordic's CA it is ssp-b itself. */
	tls_forged.ca = 0;
	assert_int_equal(sp_peering_classify(f->pg, &d, &tls_forged, &o), SP_ADMIT_PEER);
	assert_int_equal(o.peer, 0);
	/* Chained to tls.ca only (ca -1): not a federation member. */
	tls_other.ca = -1;
	assert_int_equal(sp_peering_classify(f->pg, &d, &tls_other, &o), SP_ADMIT_UNKNOWN);
	/* A certificate over something that is not TLS counts for nothing. */
	d = src("10.9.9.9", SP_PROTO_TCP);
	assert_int_equal(sp_peering_classify(f->pg, &d, &tls_good, &o), SP_ADMIT_UNKNOWN);
}

static void test_origin_pack(void **state)
{
	struct fixture *f = *state;
	struct sp_peer_origin in = { 2, 0, false, true }, out;
	char name[64];

	assert_false(sp_peering_origin_unpack(0, &out)); /* 0: the access side */
	assert_true(sp_peering_origin_unpack(sp_peering_origin_pack(&in), &out));
	assert_int_equal(out.peer, 2);
	assert_int_equal(out.federation, 0);
	assert_false(out.trusted);
	assert_true(out.transit);
	sp_peering_origin_name(f->pg, &out, name, sizeof(name));
	assert_string_equal(name, "peer ssp-d");
	in = (struct sp_peer_origin){ -1, 1, false, false };
	assert_true(sp_peering_origin_unpack(sp_peering_origin_pack(&in), &out));
	assert_int_equal(out.peer, -1);
	assert_int_equal(out.federation, 1);
	sp_peering_origin_name(f->pg, &out, name, sizeof(name));
	assert_string_equal(name, "on-demand peer (nordic)");
}

static void test_name_match(void **state)
{
	assert_true(sp_tls_name_match("sbe.ssp-b.test", "SBE.ssp-b.TEST"));
	assert_false(sp_tls_name_match("sbe.ssp-b.test", "sbe.ssp-b.test.evil"));
	assert_true(sp_tls_name_match("*.ssp-b.test", "x.ssp-b.test"));
	assert_false(sp_tls_name_match("*.ssp-b.test", "ssp-b.test"));
	assert_false(sp_tls_name_match("*.ssp-b.test", ".ssp-b.test"));
	assert_false(sp_tls_name_match("*.ssp-b.test", "a.b.ssp-b.test"));
	assert_false(sp_tls_name_match("*.ssp-b.test", "x.evil-ssp-b.test"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extra_cas),
		cmocka_unit_test(test_by_address),
		cmocka_unit_test(test_by_certificate),
		cmocka_unit_test(test_origin_pack),
		cmocka_unit_test(test_name_match),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
