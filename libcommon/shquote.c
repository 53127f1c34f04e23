/* shquote.c: quoting values for eval-safe KEY=value lines. */
#include "shquote.h"

#include <errno.h>
#include <string.h>

static bool
is_plain(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("_-./:@%+,=", c) != NULL;
}

int
sh_quote(struct buf *b, const char *value)
{
	bool plain = *value != '\0';
	for (const char *p = value; *p && plain; p++)
		plain = is_plain(*p);
	if (plain)
		return buf_puts(b, value);
	if (buf_putc(b, '\'') == -1)
		return -1;
	for (const char *p = value; *p; p++) {
		int r = *p == '\'' ? buf_puts(b, "'\\''") : buf_putc(b, *p);
		if (r == -1)
			return -1;
	}
	return buf_putc(b, '\'');
}

bool
sh_is_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

int
sh_assign(struct buf *b, const char *key, const char *value)
{
	if (!sh_is_name(key)) {
		errno = EINVAL;
		return -1;
	}
	if (buf_puts(b, key) == -1 || buf_putc(b, '=') == -1 ||
	    sh_quote(b, value) == -1 || buf_putc(b, '\n') == -1)
		return -1;
	return 0;
}
