/* enum.h: ENUM (RFC 6116, RFC 3402/3403): the domain of an E.164 number and the SIP URIs its NAPTR records give. */
#ifndef SP_DNS_ENUM_H
#define SP_DNS_ENUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"

#define SP_ENUM_URI_MAX 512      /* a rewritten URI longer than this is refused (SP_E2BIG) */
#define SP_ENUM_MAX_CHOICES 8

/* "+4721000001", "e164.arpa" -> "1.0.0.0.0.0.1.2.7.4.e164.arpa". The number
 * is '+' and 1..15 digits (visual separators are not accepted here: the
 * router normalizes first). SP_EINVAL for anything else, SP_E2BIG when
 * out is too small. */
int sp_enum_domain(const char *e164, const char *suffix, char *out, size_t size);

/* Does a NAPTR services field name the SIP enumservice? "E2U+sip",
 * case-insensitively, also inside the combined form that lists several
 * ("E2U+sip+h323", "E2U+h323+sip"), and as a subtype ("E2U+voice:sip").
 * The old "sip+E2U" form of RFC 2916 is accepted too. */
bool sp_enum_service_sip(const char *services);

/* Applies a NAPTR regexp field, the substitution expression of RFC 3402
 * section 3.2 (delim ere delim repl delim flags), to the Application
 * Unique String (for ENUM the number itself, "+4721000001"). The delimiter
 * is the first character (any but a digit, backslash or flag 'i'); in the
 * repl part "\\1".."\\9" are back-references and "\\\\" / "\\<delim>" are
 * literal; flag "i" makes the match case-insensitive. The ERE is POSIX
 * extended (regcomp). Returns 0 with the result in out, SP_ENOENT when the
 * expression does not match the string, SP_EINVAL when it is malformed or
 * does not compile, SP_E2BIG when the result would exceed
 * min(size - 1, SP_ENUM_URI_MAX). */
int sp_enum_rewrite(const char *regexp, const char *aus, char *out, size_t size);

enum sp_enum_kind {
	SP_ENUM_URI = 1,   /* a terminal rule ("u"): value is the URI */
	SP_ENUM_NEXT = 2,  /* a non-terminal rule (empty flags): value is the next
			    * domain to ask for NAPTR records (the replacement, or
			    * the regexp's result when the replacement is ".") */
};
struct sp_enum_choice {
	enum sp_enum_kind kind;
	uint16_t order, preference;
	char value[SP_ENUM_URI_MAX + 1];
};

/* The usable NAPTR records of an answer for the AUS, best first (RFC 3403
 * section 4.1 / RFC 6116 section 3.4): records with an unknown flag are
 * ignored; "u" records count only with the SIP enumservice and a URI
 * result with a sip: or sips: scheme; empty-flag records are non-terminal.
 * Only the lowest order that has a usable record is kept, sorted by
 * preference (stable). Records whose regexp fails (SP_EINVAL, SP_E2BIG)
 * are skipped and counted in *bad (may be NULL). Returns how many were
 * written to out (at most max). */
size_t sp_enum_choices(const struct sp_dns_answer *a, const char *aus,
		       struct sp_enum_choice *out, size_t max, size_t *bad);

#endif
