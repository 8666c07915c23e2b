/* srv.c: the RFC 2782 order of SRV targets and the SIP transports a NAPTR answer offers (RFC 3263 section 4.1). */
#include "dns/srv.h"

#include <string.h>
#include <strings.h>

/* Sort key within the SRV records: priority, and within one priority the
 * weight-0 records first, as the RFC 2782 selection wants them. */
static bool srv_before(const struct sp_dns_rr *x, const struct sp_dns_rr *y)
{
	if (x->u.srv.priority != y->u.srv.priority)
		return x->u.srv.priority < y->u.srv.priority;
	return x->u.srv.weight == 0 && y->u.srv.weight != 0;
}

/* RFC 2782, "Usage rules": within one priority, sum the weights of the
 * records not yet ordered, draw a number in [0, sum], and take the first
 * record (weight-0 records placed first) whose running sum reaches it;
 * repeat with the rest. With every remaining weight 0 the draw can only be
 * 0, so rnd is not called and the received order stands. A target of "."
 * (the root, "" here) says the service is not offered there: such a
 * record is never a target, so a lone one gives no targets. */
size_t sp_srv_order(const struct sp_dns_answer *a, struct sp_srv_target *out, size_t max,
		    uint32_t (*rnd)(void *arg), void *arg)
{
	size_t idx[SP_DNS_MAX_RR], k = 0, n = 0;

	for (size_t i = 0; i < a->n && i < SP_DNS_MAX_RR; i++) {
		const struct sp_dns_rr *r = &a->rr[i];
		if (r->type != SP_DNS_SRV || !r->u.srv.target[0])
			continue;
		size_t j = k++;
		while (j > 0 && srv_before(r, &a->rr[idx[j - 1]])) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}

	for (size_t g = 0; g < k && n < max;) {
		size_t e = g;
		while (e < k && a->rr[idx[e]].u.srv.priority == a->rr[idx[g]].u.srv.priority)
			e++;
		/* idx[g..e) is the priority group still unordered; each pick is
		 * moved to idx[g] and the group shrinks from the front. */
		for (; g < e && n < max; g++) {
			uint32_t sum = 0, run = 0, r = 0;
			size_t pick = g;
			for (size_t j = g; j < e; j++)
				sum += a->rr[idx[j]].u.srv.weight;
			if (sum && rnd)
				r = rnd(arg) % (sum + 1);
			for (size_t j = g; j < e; j++) {
				run += a->rr[idx[j]].u.srv.weight;
				if (run >= r) {
					pick = j;
					break;
				}
			}
			size_t chosen = idx[pick];
			memmove(&idx[g + 1], &idx[g], (pick - g) * sizeof(idx[0]));
			idx[g] = chosen;

			const struct sp_dns_rr *rr = &a->rr[chosen];
			out[n].priority = rr->u.srv.priority;
			out[n].weight = rr->u.srv.weight;
			out[n].port = rr->u.srv.port;
			memcpy(out[n].target, rr->u.srv.target, sizeof(out[n].target));
			n++;
		}
		g = e;
	}
	return n;
}

/* The transport of a NAPTR services field, or 0 when it is not one of the
 * three RFC 3263 resolves to. */
static enum sp_proto sip_service(const char *s)
{
	if (strcasecmp(s, "SIP+D2U") == 0)
		return SP_PROTO_UDP;
	if (strcasecmp(s, "SIP+D2T") == 0)
		return SP_PROTO_TCP;
	if (strcasecmp(s, "SIPS+D2T") == 0)
		return SP_PROTO_TLS;
	return 0;
}

size_t sp_sip_naptr_choices(const struct sp_dns_answer *a, bool sips_only,
			    struct sp_sip_naptr *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n && i < SP_DNS_MAX_RR; i++) {
		const struct sp_dns_rr *r = &a->rr[i];
		enum sp_proto p;
		if (r->type != SP_DNS_NAPTR || strcasecmp(r->u.naptr.flags, "s") != 0 ||
		    r->u.naptr.regexp[0] || !r->u.naptr.replacement[0])
			continue;
		p = sip_service(r->u.naptr.services);
		if (!p || (sips_only && p != SP_PROTO_TLS))
			continue;
		/* Insertion into out, stable by order then preference; when out
		 * is full a record that sorts last is dropped, else the last
		 * one written is. */
		size_t j = n < max ? n++ : max;
		while (j > 0 && (out[j - 1].order > r->u.naptr.order ||
				 (out[j - 1].order == r->u.naptr.order &&
				  out[j - 1].preference > r->u.naptr.preference))) {
			if (j < max)
				out[j] = out[j - 1];
			j--;
		}
		if (j == max)
			continue;
		out[j].proto = p;
		out[j].order = r->u.naptr.order;
		out[j].preference = r->u.naptr.preference;
		memcpy(out[j].srv, r->u.naptr.replacement, sizeof(out[j].srv));
	}
	return n;
}
