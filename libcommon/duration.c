/* duration.c: "1h30m" <-> seconds. */
#include "duration.h"

#include <stdio.h>

#define TEN_YEARS (10L * 366 * 24 * 3600)

int
duration_parse(const char *s, long *seconds)
{
	long total = 0;
	int parts = 0;
	if (s == NULL || *s == '\0')
		return -1;
	while (*s) {
		long n = 0;
		int digits = 0;
		for (; *s >= '0' && *s <= '9'; s++, digits++) {
			n = n * 10 + (*s - '0');
			if (n > TEN_YEARS)
				return -1;
		}
		if (digits == 0)
			return -1;
		long unit;
		switch (*s) {
		case 'd': unit = 86400; s++; break;
		case 'h': unit = 3600; s++; break;
		case 'm': unit = 60; s++; break;
		case 's': unit = 1; s++; break;
		case '\0':
			if (parts > 0)
				return -1; /* "1h30" is ambiguous */
			unit = 1;
			break;
		default: return -1;
		}
		total += n * unit;
		if (total > TEN_YEARS)
			return -1;
		parts++;
	}
	*seconds = total;
	return 0;
}

void
duration_format(long seconds, char out[32])
{
	if (seconds < 0)
		seconds = 0;
	long h = seconds / 3600, m = seconds / 60 % 60, sec = seconds % 60;
	if (h > 0)
		snprintf(out, 32, "%ldh%02ldm%02lds", h, m, sec);
	else if (m > 0)
		snprintf(out, 32, "%ldm%02lds", m, sec);
	else
		snprintf(out, 32, "%lds", sec);
}
