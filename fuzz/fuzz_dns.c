/* fuzz_dns.c: libFuzzer harness for the DNS answer parser, the ENUM rewrite and the RFC 3263/2782 choices built on them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "dns/enum.h"
#include "dns/msg.h"
#include "dns/srv.h"

/* A fixed xorshift sequence: the same input always gives the same order. */
static uint32_t fixed_rnd(void *arg)
{
	uint32_t *s = arg;
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* Whatever the parser accepted must hold only NUL-terminated, bounded text. */
static void check_answer(const struct sp_dns_answer *a)
{
	if (a->n > SP_DNS_MAX_RR)
		abort();
	for (size_t i = 0; i < a->n; i++) {
		const struct sp_dns_rr *r = &a->rr[i];
		if (strlen(r->name) > 253)
			abort();
		if (r->type == SP_DNS_CNAME && strlen(r->u.cname) > 253)
			abort();
		if (r->type == SP_DNS_SRV && strlen(r->u.srv.target) > 253)
			abort();
		if (r->type == SP_DNS_NAPTR &&
		    (!terminated(r->u.naptr.flags, sizeof(r->u.naptr.flags)) ||
		     !terminated(r->u.naptr.services, sizeof(r->u.naptr.services)) ||
		     !terminated(r->u.naptr.regexp, sizeof(r->u.naptr.regexp)) ||
		     strlen(r->u.naptr.replacement) > 253))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sp_dns_answer a;
	struct sp_enum_choice ec[SP_ENUM_MAX_CHOICES];
	struct sp_srv_target st[SP_DNS_MAX_RR];
	struct sp_sip_naptr sn[SP_DNS_MAX_RR];
	size_t bad;

	if (sp_dns_parse(data, size, &a) == 0) {
		check_answer(&a);
		size_t n = sp_enum_choices(&a, "+4721000001", ec, SP_ENUM_MAX_CHOICES, &bad);
		for (size_t i = 0; i < n; i++)
			if (strlen(ec[i].value) > SP_ENUM_URI_MAX)
				abort();
		(void)sp_sip_naptr_choices(&a, false, sn, SP_DNS_MAX_RR);
		(void)sp_sip_naptr_choices(&a, true, sn, 2);
		uint32_t seed = 0x9e3779b9u;
		n = sp_srv_order(&a, st, SP_DNS_MAX_RR, fixed_rnd, &seed);
		/* Every SRV record with a target comes out exactly once. */
		size_t want = 0;
		for (size_t i = 0; i < a.n; i++)
			if (a.rr[i].type == SP_DNS_SRV && a.rr[i].u.srv.target[0])
				want++;
		if (n != want)
			abort();
		for (size_t i = 1; i < n; i++)
			if (st[i].priority < st[i - 1].priority)
				abort();
	}

	/* The same bytes as "regexp NUL aus", for the rewrite on its own. */
	const uint8_t *nul = memchr(data, '\0', size);
	if (!nul)
		return 0;
	size_t rl = (size_t)(nul - data), al = size - rl - 1;
	char *rx = malloc(rl + 1), *aus = malloc(al + 1);
	char out[SP_ENUM_URI_MAX + 1];
	if (!rx || !aus)
		abort();
	memcpy(rx, data, rl + 1);
	memcpy(aus, nul + 1, al);
	aus[al] = '\0';
	int err = sp_enum_rewrite(rx, aus, out, sizeof(out));
	if (err == 0 && strlen(out) > SP_ENUM_URI_MAX)
		abort();
	if (err != 0 && err != SP_EINVAL && err != SP_ENOENT && err != SP_E2BIG)
		abort();
	free(rx);
	free(aus);
	return 0;
}
