/* resolver.h: asynchronous DNS look-ups on c-ares, driven by a worker's event loop, with a TTL cache, negative caching and coalescing of identical queries. */
#ifndef SP_DNS_RESOLVER_H
#define SP_DNS_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"
#include "io/loop.h"
#include "transport/tp.h"

struct sp_resolver;
struct sp_dns_query;

struct sp_resolver_cfg {
	/* The servers queries go to, in order (c-ares moves on to the next
	 * when one fails); none: the servers of resolv.conf. */
	const struct sp_sockaddr *servers;
	size_t nservers;
	uint32_t timeout_ms;  /* per query, retries included (default 800) */
	size_t max_entries;   /* cache entries (default 4096); the oldest go first */
	uint32_t max_ttl;     /* a longer TTL is cut to this (default 86400 s) */
	uint32_t max_neg_ttl; /* NXDOMAIN/NODATA kept at most this long (default 300 s) */
};

enum sp_dns_status {
	SP_DNS_OK = 0,       /* an answer; n may be 0 (NODATA: the name exists) */
	SP_DNS_NONAME = 1,   /* NXDOMAIN: the name does not exist */
	SP_DNS_FAILED = 2,   /* timeout, unreachable server, SERVFAIL/REFUSED, a
			      * malformed answer: no answer, try elsewhere */
};

/* What a query gives: the answer-section records of the type asked (a
 * CNAME chain the server followed is left out), valid during the callback
 * only. */
struct sp_dns_result {
	enum sp_dns_status status;
	const struct sp_dns_rr *rr;
	size_t n;
	bool cached;   /* from the cache, without a packet */
	uint32_t ttl;  /* seconds it is (still) valid */
	const char *why; /* for FAILED: "timeout", "SERVFAIL", "malformed answer"... */
};

/* The records of a result as an answer, for the functions that read one
 * (sp_srv_order, sp_enum_choices...): a copy in a per-thread buffer, valid
 * until the next call. */
const struct sp_dns_answer *sp_dns_result_answer(const struct sp_dns_result *r);

/* Called once per query, unless it is cancelled first. */
typedef void (*sp_dns_h)(void *arg, const struct sp_dns_result *res);

/* The resolver of one loop (not thread-safe). */
int sp_resolver_create(struct sp_loop *loop, const struct sp_resolver_cfg *cfg,
		       struct sp_resolver **out);
/* Frees it; queries not yet answered are dropped without their callback
 * (their owners cancel them first, or go away with the loop). */
void sp_resolver_destroy(struct sp_resolver *res);

/* Looks up name (text form, no trailing dot) for a record type.
 * - In the cache: cb runs before this returns, with cached set, and *q is
 *   NULL. (Callers must allow for that.)
 * - Otherwise a query is sent, or joined when the same name and type is
 *   already on its way (one packet for every waiter); *q is set before
 *   anything is sent and cleared by the resolver just before cb runs, so a
 *   caller may keep the handle in *q and cancel it until then.
 * Returns 0, SP_EINVAL (a name that is not a host name), SP_ENOMEM or
 * SP_E2BIG (too many queries on their way: see SP_DNS_MAX_PENDING). */
#define SP_DNS_MAX_PENDING 4096
int sp_resolver_query(struct sp_resolver *res, const char *name, uint16_t type, sp_dns_h cb,
		      void *arg, struct sp_dns_query **q);
/* Forgets a query's callback (the packet, if any, still fills the cache);
 * clears *q. Harmless when *q is NULL. */
void sp_dns_query_cancel(struct sp_dns_query **q);

struct sp_resolver_stats {
	uint64_t queries;       /* sp_resolver_query calls */
	uint64_t cache_hits;    /* answered from the cache (negative included) */
	uint64_t coalesced;     /* joined a query already on its way */
	uint64_t sent;          /* packets c-ares was asked to send */
	uint64_t failures;      /* queries that ended SP_DNS_FAILED */
	uint64_t malformed;     /* answers refused by the parser */
	uint64_t evictions;     /* cache entries dropped for room */
	size_t entries;         /* in the cache now */
	size_t pending;         /* on their way now */
};
const struct sp_resolver_stats *sp_resolver_stats(const struct sp_resolver *res);

/* Drops every cache entry (a reload, sipeerctl). */
void sp_resolver_flush(struct sp_resolver *res);

/* "NAPTR", "SRV", "A"... for logs. */
const char *sp_dns_type_name(uint16_t type);

#endif
