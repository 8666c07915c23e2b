/* peering.c: admission of other providers by source address, TLS certificate and federation CA. */
#include "peering/peering.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

struct sp_peering {
	const struct sp_config *cfg;
	const char **cas;  /* federations' CA files, in extra-CA order */
	int *ca_fed;       /* the federation of each */
	size_t ncas;
	bool *need_tls;    /* per peer: a federation of it requires TLS */
	int *first_fed;    /* per peer: the first federation it is a member of, or -1 */
};

int sp_peering_create(const struct sp_config *cfg, struct sp_peering **out)
{
	struct sp_peering *pg = calloc(1, sizeof(*pg));
	if (!pg)
		return SP_ENOMEM;
	pg->cfg = cfg;
	size_t np = cfg->peer_count ? cfg->peer_count : 1, nf = cfg->federation_count ? cfg->federation_count : 1;
	pg->cas = calloc(nf, sizeof(*pg->cas));
	pg->ca_fed = calloc(nf, sizeof(*pg->ca_fed));
	pg->need_tls = calloc(np, sizeof(*pg->need_tls));
	pg->first_fed = calloc(np, sizeof(*pg->first_fed));
	if (!pg->cas || !pg->ca_fed || !pg->need_tls || !pg->first_fed) {
		sp_peering_destroy(pg);
		return SP_ENOMEM;
	}
	for (size_t i = 0; i < cfg->peer_count; i++)
		pg->first_fed[i] = -1;
	for (size_t f = 0; f < cfg->federation_count; f++) {
		const struct sp_config_federation *fed = &cfg->federations[f];
		if (fed->ca) {
			pg->cas[pg->ncas] = fed->ca;
			pg->ca_fed[pg->ncas] = (int)f;
			pg->ncas++;
		}
		for (size_t m = 0; m < fed->member_count; m++) {
			size_t p = fed->member_peers[m];
			pg->need_tls[p] |= fed->require_tls;
			if (pg->first_fed[p] < 0)
				pg->first_fed[p] = (int)f;
		}
	}
	*out = pg;
	return 0;
}

void sp_peering_destroy(struct sp_peering *pg)
{
	if (!pg)
		return;
	free(pg->cas);
	free(pg->ca_fed);
	free(pg->need_tls);
	free(pg->first_fed);
	free(pg);
}

const char *const *sp_peering_extra_cas(const struct sp_peering *pg, size_t *n)
{
	*n = pg->ncas;
	return (const char *const *)pg->cas;
}

static bool cert_names_peer(const struct sp_config_peer *peer, const struct sp_tls_peer *tls)
{
	if (!tls)
		return false;
	for (size_t i = 0; i < peer->san_count; i++)
		for (size_t k = 0; k < tls->nsan; k++)
			if (sp_tls_name_match(peer->san[i], tls->san[k]))
				return true;
	return false;
}

static bool is_member(const struct sp_config *cfg, size_t peer, int fed)
{
	if (fed < 0 || (size_t)fed >= cfg->federation_count)
		return false;
	const struct sp_config_federation *f = &cfg->federations[fed];
	for (size_t m = 0; m < f->member_count; m++)
		if (f->member_peers[m] == peer)
			return true;
	return false;
}

static void fill_peer(const struct sp_peering *pg, size_t i, struct sp_peer_origin *out)
{
	out->peer = (int)i;
	out->federation = pg->first_fed[i];
	out->trusted = pg->cfg->peers[i].trusted;
	out->transit = pg->cfg->peers[i].transit;
}

enum sp_admission sp_peering_classify(const struct sp_peering *pg, const struct sp_dest *src,
				      const struct sp_tls_peer *tls, struct sp_peer_origin *out)
{
	const struct sp_config *cfg = pg->cfg;
	bool is_tls = src->proto == SP_PROTO_TLS;
	enum sp_admission verdict = SP_ADMIT_UNKNOWN;

	/* A certificate that names a peer is the strongest evidence: first,
	 * when it chains to tls.ca or to a CA of a federation the peer is a
	 * member of (another federation's CA cannot vouch for this peer). */
	if (is_tls && tls) {
		for (size_t i = 0; i < cfg->peer_count; i++)
			if (cert_names_peer(&cfg->peers[i], tls) &&
			    (tls->ca < 0 || ((size_t)tls->ca < pg->ncas &&
					     is_member(cfg, i, pg->ca_fed[tls->ca])))) {
				fill_peer(pg, i, out);
				return SP_ADMIT_PEER;
			}
	}
	for (size_t i = 0; i < cfg->peer_count; i++) {
		const struct sp_config_peer *peer = &cfg->peers[i];
		if (!sp_config_cidr_match_any(peer->sources, peer->source_count, &src->addr))
			continue;
		if (!is_tls && pg->need_tls[i]) {
			verdict = SP_ADMIT_NEED_TLS;
			continue;
		}
		/* Over TLS, a peer known by its certificate must show it: an
		 * address alone does not stand in for a wrong certificate. */
		if (is_tls && peer->san_count) {
			verdict = SP_ADMIT_WRONG_CERT;
			continue;
		}
		fill_peer(pg, i, out);
		return SP_ADMIT_PEER;
	}
	if (verdict == SP_ADMIT_UNKNOWN && is_tls && tls && tls->ca >= 0 &&
	    (size_t)tls->ca < pg->ncas) {
		out->peer = -1;
		out->federation = pg->ca_fed[tls->ca];
		out->trusted = false; /* nothing agreed beyond membership */
		out->transit = false;
		return SP_ADMIT_ONDEMAND;
	}
	return verdict;
}

#define ORIGIN_VALID (1u << 31)
#define ORIGIN_TRUSTED (1u << 29)
#define ORIGIN_TRANSIT (1u << 28)
#define ORIGIN_PEER_MASK 0xfffffu /* peer index + 1 (0: on-demand) */
#define ORIGIN_FED_SHIFT 20        /* federation index + 1 in 8 bits (0: none) */

uint32_t sp_peering_origin_pack(const struct sp_peer_origin *o)
{
	uint32_t v = ORIGIN_VALID;
	if (o->peer >= 0 && (uint32_t)o->peer < ORIGIN_PEER_MASK)
		v |= (uint32_t)o->peer + 1;
	if (o->federation >= 0 && o->federation < 255)
		v |= ((uint32_t)o->federation + 1) << ORIGIN_FED_SHIFT;
	if (o->trusted)
		v |= ORIGIN_TRUSTED;
	if (o->transit)
		v |= ORIGIN_TRANSIT;
	return v;
}

bool sp_peering_origin_unpack(uint32_t v, struct sp_peer_origin *out)
{
	if (!(v & ORIGIN_VALID))
		return false;
	out->peer = (int)(v & ORIGIN_PEER_MASK) - 1;
	out->federation = (int)((v >> ORIGIN_FED_SHIFT) & 0xff) - 1;
	out->trusted = v & ORIGIN_TRUSTED;
	out->transit = v & ORIGIN_TRANSIT;
	return true;
}

int sp_peering_peer_by_host(const struct sp_peering *pg, const struct sp_sockaddr *addr)
{
	for (size_t i = 0; i < pg->cfg->peer_count; i++) {
		const struct sp_config_peer *peer = &pg->cfg->peers[i];
		for (size_t h = 0; h < peer->host_count; h++)
			if (peer->hosts[h].numeric && sp_sockaddr_eq(&peer->hosts[h].addr, addr))
				return (int)i;
	}
	return -1;
}

int sp_peering_peer_federation(const struct sp_peering *pg, size_t peer)
{
	return peer < pg->cfg->peer_count ? pg->first_fed[peer] : -1;
}

bool sp_peering_requires_tls(const struct sp_peering *pg, size_t peer)
{
	return peer < pg->cfg->peer_count && pg->need_tls[peer];
}

void sp_peering_origin_name(const struct sp_peering *pg, const struct sp_peer_origin *o,
			    char *buf, size_t size)
{
	const struct sp_config *cfg = pg->cfg;
	if (o->peer >= 0 && (size_t)o->peer < cfg->peer_count)
		snprintf(buf, size, "peer %s", cfg->peers[o->peer].name);
	else if (o->federation >= 0 && (size_t)o->federation < cfg->federation_count)
		snprintf(buf, size, "on-demand peer (%s)", cfg->federations[o->federation].name);
	else
		snprintf(buf, size, "unknown");
}
