/* date.h: the Date header's SIP-date (RFC 3261 section 25.1, RFC 1123 form in GMT). */
#ifndef SP_SIP_DATE_H
#define SP_SIP_DATE_H

#include <stdint.h>

#include "core/str.h"

/* sp_date_parse parses exactly `wkday "," SP 2DIGIT SP month SP 4DIGIT SP
 * 2DIGIT ":" 2DIGIT ":" 2DIGIT SP "GMT"` (single spaces, names case-sensitive
 * as in RFC 2616 section 3.3.1) and sets *epoch to seconds since 1970-01-01
 * 00:00:00 UTC (negative before 1970). Any other zone ("EST", "UTC", "+0000")
 * is refused. Ranges are checked: day within its month (leap years counted),
 * hour 0-23, minute 0-59, second 0-60 (a leap second counts as the next
 * minute's first). The weekday must be a valid name but is not compared with
 * the date: the grammar does not tie them and a wrong one harms no one.
 * Returns 0 or SP_EINVAL. */
int sp_date_parse(struct sp_str value, int64_t *epoch);

#endif
