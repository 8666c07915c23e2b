/* addr.h: name-addr / addr-spec values: From, To, Contact, Route, Record-Route, Path, P-*-Identity. */
#ifndef SP_SIP_ADDR_H
#define SP_SIP_ADDR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"
#include "sip/uri.h"

enum sp_addr_flags {
	SP_ADDR_STAR = 1 << 0,     /* Contact: a lone "*" is allowed */
	SP_ADDR_NAMEADDR = 1 << 1, /* the URI must be in <> (Route, Record-Route, Path) */
};

/* One address value. Slices point into the header value. */
struct sp_addr {
	struct sp_str raw;     /* the whole value */
	struct sp_str display; /* as written, quotes included; empty when absent */
	struct sp_uri uri;
	bool angle;            /* the URI was written in <> */
	bool star;             /* Contact: * */
	struct sp_str params;  /* header parameters after the URI (raw, from ';') */
	struct sp_str tag;     /* From/To tag; {NULL,0} when absent */
};

/* sp_addr_next parses one value at the start of *cur and advances *cur past
 * it and the comma that follows (lists: Contact, Route...). Returns 0,
 * SP_ENOENT when no value is left, or SP_EINVAL / SP_ERANGE / SP_E2BIG. */
int sp_addr_next(struct sp_str *cur, unsigned flags, struct sp_addr *addr);

/* sp_addr_parse parses a value that must hold exactly one address (From, To). */
int sp_addr_parse(struct sp_str value, unsigned flags, struct sp_addr *addr);

#endif
