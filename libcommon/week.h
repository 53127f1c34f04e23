/*
 * week.h: calendar days and week numbers for weekly partitions, the way
 * Socorro names them: Elasticsearch crash indices (socorroYYYYWW) and
 * PostgreSQL weekly partitions (reports_YYYYMMDD, the week's Monday).
 *
 * A day is a count of days since 1970-01-01 (proleptic Gregorian, no time
 * zone: callers decide which day "today" is, usually in UTC).  Two week
 * numberings are offered, because Socorro's history mixes them:
 *
 *   ISO 8601 (strftime %G%V): weeks start on Monday; week 01 is the week
 *     with the year's first Thursday; the week-year can differ from the
 *     calendar year near 1 January (2024-12-30 is 2025-W01, 2021-01-01 is
 *     2020-W53).  Every week has exactly one name.
 *   Socorro's %Y%W (strftime %Y%W): the calendar year, and the number of
 *     Mondays so far this year (00 before the first Monday, up to 53).  A
 *     week that spans 1 January has two names (2024-12-30 is 202453,
 *     2025-01-01 is 202500).
 *
 * Pure functions: no clock, no locale, no allocation.
 */
#ifndef SB_WEEK_H
#define SB_WEEK_H

/* week_days: days since 1970-01-01 of year-month-day (any valid date). */
long week_days(int year, int month, int day);
/* week_civil: the inverse of week_days. */
void week_civil(long days, int *year, int *month, int *day);
/*
 * week_parse_date reads a strict "YYYY-MM-DD" (years 1970-9999, a real
 * calendar date) into *days.  0, or -1 for anything else.
 */
int week_parse_date(const char *s, long *days);
/* week_weekday: 0 Monday ... 6 Sunday. */
int week_weekday(long days);
/* week_monday: the Monday on or before days. */
long week_monday(long days);
/* week_iso: the ISO 8601 week-year and week (1-53) of days (%G and %V). */
void week_iso(long days, int *year, int *week);
/* week_yw: the calendar year and Monday-based week (0-53) of days (%Y %W). */
void week_yw(long days, int *year, int *week);

#endif
