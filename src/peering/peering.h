/* peering.h: the SBE's view of other providers: who a request on the peering side comes from (admission), and how each peer is treated. */
#ifndef SP_PEERING_PEERING_H
#define SP_PEERING_PEERING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "transport/transport.h"

struct sp_peering;

/* Who sent a request, once admitted. */
struct sp_peer_origin {
	int peer;       /* index in cfg->peers, or -1 for an on-demand peer */
	int federation; /* the federation that admitted an on-demand peer (else -1) */
	bool trusted;   /* inside the trust domain (RFC 3325) */
	bool transit;   /* may ask for destinations beyond this provider */
};

enum sp_admission {
	SP_ADMIT_PEER = 0,    /* a configured peer, by address or certificate */
	SP_ADMIT_ONDEMAND,    /* a certificate that chains to a federation's CA */
	SP_ADMIT_UNKNOWN,     /* nobody we peer with */
	SP_ADMIT_NEED_TLS,    /* a peer whose federation requires TLS, over UDP/TCP */
	SP_ADMIT_WRONG_CERT,  /* a peer's address, over TLS, with another's certificate */
};

/* The peering table of one configuration: cfg must outlive it (a reload
 * makes a new one). extra_ca_federation[i] is the federation whose CA is
 * the transport's extra CA i (see sp_peering_extra_cas). */
int sp_peering_create(const struct sp_config *cfg, struct sp_peering **out);
void sp_peering_destroy(struct sp_peering *pg);

/* The federations' CA files, in the order the transport is given them
 * (sp_transport_cfg.tls_extra_ca); the array lives as long as pg. */
const char *const *sp_peering_extra_cas(const struct sp_peering *pg, size_t *n);

/* Classifies the source of a request that came in on the peering side:
 * - a peer whose `sources` hold the address, or whose certificate.san names
 *   the verified TLS certificate (tls); over TLS a peer with certificate.san
 *   must also present such a certificate;
 * - else, over TLS, a certificate that chains to a federation's ca: an
 *   on-demand peer of that federation;
 * - a peer of a federation with require.tls that came without TLS is
 *   refused.
 * Sets *out for SP_ADMIT_PEER and SP_ADMIT_ONDEMAND. */
enum sp_admission sp_peering_classify(const struct sp_peering *pg, const struct sp_dest *src,
				      const struct sp_tls_peer *tls, struct sp_peer_origin *out);

/* Packs an origin into sp_proxy_req.origin and back (0 is "not a peer"). */
uint32_t sp_peering_origin_pack(const struct sp_peer_origin *o);
bool sp_peering_origin_unpack(uint32_t v, struct sp_peer_origin *out);

/* The configured peer a next hop address belongs to (one of its hosts),
 * or -1: in-dialog requests leave towards peers too. */
int sp_peering_peer_by_host(const struct sp_peering *pg, const struct sp_sockaddr *addr);

/* The first federation peer p is a member of, or -1. */
int sp_peering_peer_federation(const struct sp_peering *pg, size_t peer);

/* Does peer p's federation require TLS? */
bool sp_peering_requires_tls(const struct sp_peering *pg, size_t peer);

/* A short description for logs: "peer ssp-b", "on-demand (nordic)". */
void sp_peering_origin_name(const struct sp_peering *pg, const struct sp_peer_origin *o,
			    char *buf, size_t size);

#endif
