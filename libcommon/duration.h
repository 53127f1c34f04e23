/*
 * duration.h: durations as operators write them: "90s", "15m", "1h30m",
 * "2d", or a bare number of seconds.
 */
#ifndef SB_DURATION_H
#define SB_DURATION_H

/* duration_parse: 0 and *seconds set, or -1 for anything malformed,
 * negative, or past ten years. */
int duration_parse(const char *s, long *seconds);

/* duration_format writes "1h02m03s"-style text (at most 32 bytes). */
void duration_format(long seconds, char out[32]);

#endif
