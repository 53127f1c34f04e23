/*
 * text.c: reading .conf and vars files line by line, the way both are
 * read: whole files, UTF-8 checked, `key=value` split at the first `=`,
 * one level of shell quotes removed; and writing a value back so that a
 * line reads it as it was.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consul-load.h"
#include "exits.h"

bool
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p++;
		int more;
		unsigned min, cp;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			more = 1, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			more = 2, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			more = 3, min = 0x10000, cp = c & 0x07;
		else
			return false;
		if (end - p < more)
			return false;
		for (int i = 0; i < more; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += more;
	}
	return true;
}

bool
placeholder_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* read_file: the whole file into b; EX_NOINPUT (message in why) or 0. */
int
text_read_file(const char *path, struct buf *b, char *why, size_t whysize)
{
	FILE *f = fopen(path, "r");
	char chunk[65536];
	size_t n;
	int rc = 0;
	if (f == NULL) {
		str_fmt_clip(why, whysize, "%s", strerror(errno));
		return EX_NOINPUT;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(b, chunk, n) == -1) {
			str_fmt_clip(why, whysize, "larger than %u MiB", FILE_MAX >> 20);
			rc = EX_DATAERR;
			break;
		}
	if (rc == 0 && ferror(f)) {
		str_fmt_clip(why, whysize, "read error: %s", strerror(errno));
		rc = EX_NOINPUT;
	}
	fclose(f);
	secure_wipe(chunk, sizeof(chunk));
	return rc;
}

/*
 * next_line cuts the next line out of b at *pos (in place).  Lines with a
 * NUL or a byte that is not UTF-8 are reported and skipped.
 */
bool
text_next_line(struct buf *b, size_t *pos, struct line *ln, struct problems *p)
{
	while (*pos < b->len) {
		char *s = b->data + *pos;
		char *nl = memchr(s, '\n', b->len - *pos);
		size_t n = nl ? (size_t)(nl - s) : b->len - *pos;
		*pos += n + (nl != NULL);
		ln->no++;
		if (nl)
			*nl = '\0';
		if (memchr(s, '\0', n) != NULL) {
			problem(p, "%s:%d: NUL byte in the line", ln->path, ln->no);
			continue;
		}
		if (!utf8_valid(s, n)) {
			problem(p, "%s:%d: a byte that is not UTF-8; .conf files are UTF-8 text",
			    ln->path, ln->no);
			continue;
		}
		ln->text = s;
		ln->len = n;
		return true;
	}
	return false;
}

static size_t
rtrim_len(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return n;
}

/*
 * unquote removes one level of matching quotes from s[0..*n), in place, as
 * a shell would: '...' verbatim; "..." with \\ \" \$ \` unescaped.
 */
void
text_unquote(char *s, size_t *n)
{
	size_t len = *n, o = 0;
	if (len < 2 || (s[0] != '\'' && s[0] != '"') || s[len - 1] != s[0])
		return;
	char q = s[0];
	for (size_t i = 1; i < len - 1; i++) {
		if (q == '"' && s[i] == '\\' && i + 1 < len - 1 && strchr("\\\"$`", s[i + 1]))
			i++;
		s[o++] = s[i];
	}
	s[o] = '\0';
	*n = o;
}

/* split_line: blank and comment lines are false; else key and value (0 or -1). */
int
text_split_line(const struct line *ln, const char *comments, char **key, size_t *klen, char **val,
    size_t *vlen, struct problems *p)
{
	char *s = ln->text;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || strchr(comments, *s) != NULL)
		return 1;
	char *eq = strchr(s, '=');
	if (eq == NULL) {
		problem(p, "%s:%d: no '=' in the line (want key=value)", ln->path, ln->no);
		return -1;
	}
	*key = s;
	*klen = rtrim_len(s, (size_t)(eq - s));
	if (*klen == 0) {
		problem(p, "%s:%d: empty key before '='", ln->path, ln->no);
		return -1;
	}
	*val = eq + 1;
	*vlen = rtrim_len(*val, ln->len - (size_t)(*val - ln->text));
	(*val)[*vlen] = '\0';
	return 0;
}

/*
 * conf_quote_value writes value so that a .conf line reads it back as it
 * is: bare when that is exact, else in double quotes with \ " $ `
 * escaped.  A value with a newline cannot be a line: -1.
 */
int
conf_quote_value(struct buf *b, const char *value, size_t n)
{
	if (memchr(value, '\n', n) != NULL || memchr(value, '\0', n) != NULL)
		return -1;
	bool quoted = n >= 2 && (value[0] == '\'' || value[0] == '"') && value[n - 1] == value[0];
	bool trailing = n > 0 && isspace((unsigned char)value[n - 1]);
	if (!quoted && !trailing)
		return buf_append(b, value, n);
	if (buf_putc(b, '"') == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((strchr("\\\"$`", value[i]) != NULL && buf_putc(b, '\\') == -1) ||
		    buf_putc(b, value[i]) == -1)
			return -1;
	return buf_putc(b, '"');
}
