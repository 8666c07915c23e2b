/* date.c: parses the SIP-date of the Date header into seconds since the epoch. */
#include "sip/date.h"

#include <string.h>

#include "core/charset.h"
#include "core/err.h"

/* Reads n decimal digits at p (the caller checked the length). */
static int digits(const char *p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!sp_is_digit(p[i]))
			return SP_EINVAL;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* Returns the index of the 3-letter name at p within names, or -1. */
static int name3(const char *p, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (memcmp(p, names[i], 3) == 0)
			return i;
	return -1;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard
 * Hinnant's days_from_civil), exact for every 4-digit year. */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int sp_date_parse(struct sp_str value, int64_t *epoch)
{
	static const char *const wkdays[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	/* "Thu, 21 Feb 2002 13:02:03 GMT": the form has a fixed length, so
	 * every field sits at a fixed offset. */
	static const char shape[] = "www, dd mmm yyyy hh:mm:ss GMT";
	const char *p = value.p;
	int day, mon, year, hh, mm, ss;

	if (value.len != sizeof(shape) - 1)
		return SP_EINVAL;
	if (name3(p, wkdays, 7) < 0 || p[3] != ',' || p[4] != ' ' || p[7] != ' ' ||
	    p[11] != ' ' || p[16] != ' ' || p[19] != ':' || p[22] != ':' || p[25] != ' ' ||
	    memcmp(p + 26, "GMT", 3) != 0)
		return SP_EINVAL;
	mon = name3(p + 8, months, 12);
	if (mon < 0)
		return SP_EINVAL;
	if (digits(p + 5, 2, &day) || digits(p + 12, 4, &year) || digits(p + 17, 2, &hh) ||
	    digits(p + 20, 2, &mm) || digits(p + 23, 2, &ss))
		return SP_EINVAL;
	int dim = mdays[mon] + (mon == 1 && is_leap(year));
	if (day < 1 || day > dim || hh > 23 || mm > 59 || ss > 60)
		return SP_EINVAL;

	*epoch = days_from_civil(year, mon + 1, day) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}
