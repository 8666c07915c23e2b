/* locate.h: RFC 3263 server location, the LRF: a SIP URI's host, port and transport become the ordered list of addresses to try. */
#ifndef SP_DNS_LOCATE_H
#define SP_DNS_LOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/resolver.h"
#include "transport/tp.h"

#define SP_LOCATE_MAX 8 /* addresses kept: the failover list */

struct sp_locate_target {
	enum sp_proto proto;
	struct sp_sockaddr addr;        /* with its port */
	char host[SP_DNS_NAME_MAX];     /* the name it was found under */
};

struct sp_locate_result {
	/* 0: targets found; SP_ENOENT: the DNS says there is nothing; SP_EAGAIN:
	 * nothing found and a look-up failed (timeout, SERVFAIL...). */
	int status;
	size_t n;
	struct sp_locate_target t[SP_LOCATE_MAX];
};

struct sp_locate_req {
	const char *host;       /* a name or a numeric address (IPv6 without brackets) */
	uint16_t port;          /* 0: none in the URI */
	enum sp_proto proto;    /* 0: no ;transport= in the URI */
	bool sips;              /* a sips: URI: TLS only */
};

/* Each step of a look-up as one line of text (sipeerctl resolve, debug logs). */
typedef void (*sp_dns_trace_h)(void *arg, const char *line);

struct sp_locate;
typedef void (*sp_locate_h)(void *arg, const struct sp_locate_result *r);

/* Starts locating req (RFC 3263 section 4): a numeric host needs no DNS;
 * an explicit port skips NAPTR and SRV (A/AAAA only); an explicit transport
 * skips NAPTR; otherwise NAPTR (SIP+D2U, SIP+D2T, SIPS+D2T), else SRV for
 * _sip._udp, _sip._tcp, _sips._tcp (a sips: URI: _sips._tcp only), the
 * first that has records; else A/AAAA on 5060 over UDP (5061 over TLS for
 * sips:). SRV targets come in RFC 2782 order, each target's A then AAAA
 * addresses. *slot holds the job until cb, which is called exactly once
 * (possibly before this returns, when the cache knows everything) unless
 * sp_locate_cancel is called first. trace may be NULL. Returns 0 or
 * SP_ENOMEM (cb is then not called). */
int sp_locate_start(struct sp_resolver *res, const struct sp_locate_req *req, sp_locate_h cb,
		    void *arg, sp_dns_trace_h trace, void *trace_arg, struct sp_locate **slot);
void sp_locate_cancel(struct sp_locate **slot);

#endif
