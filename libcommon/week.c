/*
 * week.c: civil-date arithmetic on day counts (after Howard Hinnant's
 * days_from_civil/civil_from_days, public domain algorithms), and the ISO
 * and %Y%W week numbers derived from it.
 */
#include "week.h"

#include <ctype.h>

/* floor division, so days before 1970 still land in the right era */
static long
floordiv(long a, long b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

long
week_days(int year, int month, int day)
{
	long y = year - (month <= 2);
	long era = floordiv(y, 400);
	long yoe = y - era * 400;                                        /* [0, 399] */
	long doy = (153L * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1; /* [0, 365] */
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void
week_civil(long days, int *year, int *month, int *day)
{
	long z = days + 719468;
	long era = floordiv(z, 146097);
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	long d = doy - (153 * mp + 2) / 5 + 1;
	long m = mp < 10 ? mp + 3 : mp - 9;
	*year = (int)(yoe + era * 400 + (m <= 2));
	*month = (int)m;
	*day = (int)d;
}

static int
digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
week_parse_date(const char *s, long *days)
{
	int y, m, d, yy, mm, dd;
	for (int i = 0; i < 10; i++)
		if (s[i] == '\0')
			return -1;
	if (s[10] != '\0' || s[4] != '-' || s[7] != '-')
		return -1;
	y = digits(s, 4);
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	/* A date that does not round-trip (2023-02-30) is not a real one. */
	long n = week_days(y, m, d);
	week_civil(n, &yy, &mm, &dd);
	if (yy != y || mm != m || dd != d)
		return -1;
	*days = n;
	return 0;
}

int
week_weekday(long days)
{
	/* 1970-01-01 was a Thursday: 3 with Monday as 0. */
	long r = (days + 3) % 7;
	return (int)(r < 0 ? r + 7 : r);
}

long
week_monday(long days)
{
	return days - week_weekday(days);
}

void
week_iso(long days, int *year, int *week)
{
	/* The week belongs to the year its Thursday is in. */
	long thursday = week_monday(days) + 3;
	int m, d;
	week_civil(thursday, year, &m, &d);
	*week = (int)((thursday - week_days(*year, 1, 1)) / 7 + 1);
}

void
week_yw(long days, int *year, int *week)
{
	int m, d;
	week_civil(days, year, &m, &d);
	long yday = days - week_days(*year, 1, 1);
	/* glibc's %W: (tm_yday + 7 - Monday-based weekday) / 7 */
	*week = (int)((yday + 7 - week_weekday(days)) / 7);
}
