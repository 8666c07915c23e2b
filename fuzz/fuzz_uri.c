/* fuzz_uri.c: libFuzzer harness for the URI parser: whatever parses must compare equal to itself. */
#include <stdint.h>
#include <stdlib.h>

#include "core/str.h"
#include "sip/param.h"
#include "sip/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_uri u, v;
	struct sp_str s = sp_str_make((const char *)data, size);
	size_t qlen;

	/* The same bytes also exercise the header parameter and quoted-string
	 * scanners, which share the URI's helpers. */
	(void)sp_param_list_check(s, SP_PARAM_HEADER);
	(void)sp_param_find(s, SP_PARAM_HEADER, "branch", NULL);
	if (size && data[0] == '"' && sp_quoted_scan(s, &qlen) == 0 && (qlen < 2 || qlen > size))
		abort();

	if (sp_uri_parse(s, &u) != 0)
		return 0;
	if (!sp_uri_eq(&u, &u))
		abort();
	/* A second parse of the same bytes must give an equal URI, and the
	 * parameter list the parser accepted must pass the list check too. */
	if (sp_uri_parse(s, &v) != 0 || !sp_uri_eq(&u, &v) || !sp_uri_eq(&v, &u))
		abort();
	if (sp_param_list_check(u.params, SP_PARAM_URI) != 0)
		abort();
	/* Every part must lie inside the input. */
	const struct sp_str *parts[] = { &u.scheme, &u.user, &u.password, &u.host,
					 &u.port_str, &u.params, &u.headers };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const struct sp_str *p = parts[i];
		if (p->p && (p->p < s.p || p->p + p->len > s.p + s.len))
			abort();
	}
	char out[SP_URI_MAX_LEN];
	size_t n;
	if (u.scheme_id == SP_URI_SIP || u.scheme_id == SP_URI_SIPS) {
		/* Accepted userinfo and headers hold only well-formed escapes. */
		if (sp_uri_unescape(u.user, out, sizeof(out), &n) != 0 ||
		    sp_uri_unescape(u.password, out, sizeof(out), &n) != 0 ||
		    sp_uri_unescape(u.headers, out, sizeof(out), &n) != 0)
			abort();
	}
	return 0;
}
