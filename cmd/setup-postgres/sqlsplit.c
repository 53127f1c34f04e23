/*
 * sqlsplit.c: where the statements of a migration start, and which line a
 * character is on, so a server error can be reported as file:line.  The
 * server gives a character position for most errors (syntax, unknown
 * names); for the others, the number of statements that completed before
 * the failing one tells which it was.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "setup-postgres.h"

/* skip_dollar: past a $tag$...$tag$ body starting at sql[i], or i if
 * sql[i] does not open one. */
static size_t
skip_dollar(const char *sql, size_t i)
{
	size_t j = i + 1;
	while (isalnum((unsigned char)sql[j]) || sql[j] == '_')
		j++;
	if (sql[j] != '$' || isdigit((unsigned char)sql[i + 1]))
		return i;
	size_t taglen = j - i + 1;
	const char *end = sql + j + 1;
	while ((end = strchr(end, '$')) != NULL) {
		if (strncmp(end, sql + i, taglen) == 0)
			return (size_t)(end - sql) + taglen;
		end++;
	}
	return strlen(sql);
}

/* skip_token: past a quoted string or comment at sql[i], or i. */
static size_t
skip_token(const char *sql, size_t i)
{
	char c = sql[i];
	if (c == '\'' || c == '"') {
		for (size_t j = i + 1; sql[j]; j++)
			if (sql[j] == c) {
				if (sql[j + 1] != c)
					return j + 1;
				j++; /* a doubled quote */
			} else if (c == '\'' && sql[j] == '\\' && i > 0 &&
			    (sql[i - 1] == 'E' || sql[i - 1] == 'e') && sql[j + 1]) {
				j++; /* E'...\'...' */
			}
		return strlen(sql);
	}
	if (c == '-' && sql[i + 1] == '-') {
		const char *nl = strchr(sql + i, '\n');
		return nl ? (size_t)(nl - sql) + 1 : strlen(sql);
	}
	if (c == '/' && sql[i + 1] == '*') {
		int depth = 1;
		size_t j = i + 2;
		while (sql[j] && depth > 0) {
			if (sql[j] == '/' && sql[j + 1] == '*')
				depth++, j += 2;
			else if (sql[j] == '*' && sql[j + 1] == '/')
				depth--, j += 2;
			else
				j++;
		}
		return j;
	}
	if (c == '$')
		return skip_dollar(sql, i);
	return i;
}

size_t
stmt_starts(const char *sql, size_t *starts, size_t max)
{
	size_t n = 0, i = 0;
	bool in_stmt = false;
	while (sql[i]) {
		size_t j = skip_token(sql, i);
		bool comment = (sql[i] == '-' && sql[i + 1] == '-') ||
		    (sql[i] == '/' && sql[i + 1] == '*');
		if (!in_stmt && !comment && !isspace((unsigned char)sql[i]) && sql[i] != ';') {
			if (n < max)
				starts[n] = i;
			n++;
			in_stmt = true;
		}
		if (j > i) {
			i = j;
			continue;
		}
		if (sql[i] == ';')
			in_stmt = false;
		i++;
	}
	return n;
}

static int
line_at(const char *sql, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off && sql[i]; i++)
		line += sql[i] == '\n';
	return line;
}

int
stmt_line(const char *sql, int n)
{
	size_t count = stmt_starts(sql, NULL, 0);
	if (n < 0 || (size_t)n >= count)
		return 0;
	size_t *starts = malloc(count * sizeof(*starts));
	if (starts == NULL)
		return 0;
	stmt_starts(sql, starts, count);
	int line = line_at(sql, starts[n]);
	free(starts);
	return line;
}

int
char_line(const char *sql, long pos)
{
	long chars = 0;
	size_t i = 0;
	/* Characters, not bytes: UTF-8 continuation bytes do not count. */
	for (; sql[i]; i++) {
		if (((unsigned char)sql[i] & 0xc0) != 0x80 && ++chars == pos)
			break;
	}
	return line_at(sql, i);
}
