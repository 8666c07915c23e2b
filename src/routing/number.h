/* number.h: normalization of dialled numbers and tel: URIs to E.164 for routing. */
#ifndef SP_ROUTING_NUMBER_H
#define SP_ROUTING_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

/* The provider's numbering plan (configuration `numbering`); empty strings
 * mean "no such prefix". */
struct sp_numbering {
	char country_code[8];         /* "47" */
	char national_prefix[8];      /* "0" */
	char international_prefix[8]; /* "00" */
};

#define SP_NUMBER_MAX 32 /* E.164 is at most 15 digits; room for "+" and dial strings */

/* sp_number_normalize turns a user part (already %-unescaped) into E.164
 * when it is a number: visual separators ("-", ".", "(", ")", " ") are
 * dropped; "+digits" stays; international_prefix + digits becomes
 * "+digits"; national_prefix + digits becomes "+" country_code digits;
 * other all-digit strings stay as they are (local short numbers). Writes a
 * NUL-terminated result into out. Returns true when the user part was a
 * number (out then holds the normalized form), false for names (out is
 * then undefined). */
bool sp_number_normalize(const struct sp_numbering *plan, struct sp_str user, char *out,
			 size_t size);

#endif
