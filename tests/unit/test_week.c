/*
 * test_week.c: day counts and week numbers.  Known answers at the year
 * boundaries that matter for weekly indices (ISO week 53, ISO week-years
 * that differ from the calendar year, %W week 00), then every day from
 * 1970 to 2100 checked against the C library's own strftime %G%V and %Y%W.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "week.h"

static long
day(const char *s)
{
	long d = -1;
	ck_assert_msg(week_parse_date(s, &d) == 0, "parse %s", s);
	return d;
}

START_TEST(days_and_civil_round_trip)
{
	int y, m, d;
	ck_assert_int_eq(week_days(1970, 1, 1), 0);
	ck_assert_int_eq(week_days(2000, 3, 1), 11017);
	ck_assert_int_eq(week_days(1969, 12, 31), -1);
	week_civil(-1, &y, &m, &d);
	ck_assert(y == 1969 && m == 12 && d == 31);
	week_civil(week_days(2024, 2, 29), &y, &m, &d);
	ck_assert(y == 2024 && m == 2 && d == 29);
	ck_assert_int_eq(week_weekday(0), 3);                  /* Thursday */
	ck_assert_int_eq(week_weekday(day("2024-12-30")), 0);  /* Monday */
	ck_assert_int_eq(week_monday(day("2025-01-05")), day("2024-12-30"));
}
END_TEST

START_TEST(parse_is_strict)
{
	long d;
	ck_assert_int_eq(week_parse_date("2024-02-29", &d), 0);
	ck_assert_int_eq(week_parse_date("2023-02-29", &d), -1);
	ck_assert_int_eq(week_parse_date("2023-13-01", &d), -1);
	ck_assert_int_eq(week_parse_date("2023-1-01", &d), -1);
	ck_assert_int_eq(week_parse_date("2023-01-01x", &d), -1);
	ck_assert_int_eq(week_parse_date("2023/01/01", &d), -1);
	ck_assert_int_eq(week_parse_date("", &d), -1);
	ck_assert_int_eq(week_parse_date("1969-12-31", &d), -1);
	ck_assert_int_eq(week_parse_date("+023-01-01", &d), -1);
}
END_TEST

static void
iso_is(const char *date, int year, int week)
{
	int y, w;
	week_iso(day(date), &y, &w);
	ck_assert_msg(y == year && w == week, "%s: ISO %d-W%02d, want %d-W%02d", date, y, w,
	    year, week);
}

static void
yw_is(const char *date, int year, int week)
{
	int y, w;
	week_yw(day(date), &y, &w);
	ck_assert_msg(y == year && w == week, "%s: %%Y%%W %d%02d, want %d%02d", date, y, w,
	    year, week);
}

START_TEST(year_boundaries)
{
	iso_is("2020-12-31", 2020, 53); /* a 53-week ISO year */
	iso_is("2021-01-03", 2020, 53);
	iso_is("2021-01-04", 2021, 1);
	iso_is("2021-12-27", 2021, 52);
	iso_is("2022-01-02", 2021, 52);
	iso_is("2022-01-03", 2022, 1);
	iso_is("2024-12-30", 2025, 1);  /* week-year ahead of the calendar */
	iso_is("2026-12-31", 2026, 53);
	iso_is("2027-01-04", 2027, 1);
	yw_is("2024-12-30", 2024, 53);
	yw_is("2025-01-01", 2025, 0);   /* before 2025's first Monday */
	yw_is("2025-01-06", 2025, 1);
	yw_is("2024-01-01", 2024, 1);   /* 1 January on a Monday: no week 00 */
	yw_is("2012-12-31", 2012, 53);
}
END_TEST

START_TEST(every_day_matches_strftime)
{
	long last = week_days(2100, 12, 31);
	for (long n = 0; n <= last; n++) {
		time_t t = (time_t)n * 86400;
		struct tm tm;
		char want[32], got[32];
		int y, w, iy, iw;
		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%G%V %Y%W %Y-%m-%d", &tm);
		week_iso(n, &iy, &iw);
		week_yw(n, &y, &w);
		int m, d, cy;
		week_civil(n, &cy, &m, &d);
		snprintf(got, sizeof(got), "%04d%02d %04d%02d %04d-%02d-%02d", iy, iw, y, w, cy, m, d);
		ck_assert_msg(strcmp(want, got) == 0, "day %ld: want %s, got %s", n, want, got);
		ck_assert_int_eq(week_weekday(n), (tm.tm_wday + 6) % 7);
	}
}
END_TEST

Suite *suite(void);
Suite *
suite(void)
{
	Suite *s = suite_create("week");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, days_and_civil_round_trip);
	tcase_add_test(tc, parse_is_strict);
	tcase_add_test(tc, year_boundaries);
	tcase_add_test(tc, every_day_matches_strftime);
	suite_add_tcase(s, tc);
	return s;
}
