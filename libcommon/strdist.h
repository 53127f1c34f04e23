/* strdist.h: edit distance, for "did you mean" suggestions. */
#ifndef SB_STRDIST_H
#define SB_STRDIST_H

#include <stddef.h>

/*
 * str_distance: the Levenshtein distance between a and b.  Strings past
 * STRDIST_MAX bytes compare as far apart (SIZE_MAX): suggestions are for
 * names, not documents.
 */
#define STRDIST_MAX 255
size_t str_distance(const char *a, const char *b);

#endif
