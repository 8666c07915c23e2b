/* enum_query.h: the ENUM look-up of one number, the LUF: each tree in order, NAPTR rules followed to a small depth. */
#ifndef SP_DNS_ENUM_QUERY_H
#define SP_DNS_ENUM_QUERY_H

#include <stddef.h>

#include "dns/enum.h"
#include "dns/locate.h"
#include "dns/resolver.h"

#define SP_ENUM_MAX_DEPTH 4 /* non-terminal rules followed for one number */

struct sp_enum_query_result {
	/* 0: uri is set; SP_ENOENT: no tree has a SIP record for the number;
	 * SP_EAGAIN: none found, and a tree could not be asked (timeout...). */
	int status;
	size_t suffix;                     /* index of the tree that answered */
	char uri[SP_ENUM_URI_MAX + 1];
};

struct sp_enum_query;
typedef void (*sp_enum_query_h)(void *arg, const struct sp_enum_query_result *r);

/* Looks the E.164 number up under each suffix in order (the private trees
 * first, the caller decides). The first tree with a usable E2U+sip record
 * answers; a tree without one (NXDOMAIN, NODATA, no SIP service, a rewrite
 * that fails) gives way to the next. Like sp_locate_start: *slot holds the
 * job until cb, which may run before this returns. The suffixes must stay
 * valid until cb or cancel. */
int sp_enum_query_start(struct sp_resolver *res, const char *e164, const char *const *suffixes,
			size_t nsuffixes, sp_enum_query_h cb, void *arg, sp_dns_trace_h trace,
			void *trace_arg, struct sp_enum_query **slot);
void sp_enum_query_cancel(struct sp_enum_query **slot);

#endif
