/*
 * userdata.c: the user data a builder boots with.  The operator's
 * provisioning script runs unchanged inside a wrapper that reports its
 * exit status on the console (where GetConsoleOutput can read it, with no
 * SSH and no agent) and then powers the machine off, which, with
 * InstanceInitiatedShutdownBehavior=stop, is how create-ami knows it ended.
 */
#include <stdlib.h>
#include <string.h>

#include "create-ami.h"
#include "exits.h"

#define DELIM "SOCORRO_BOOTSTRAP_PROVISION_END"
#define USER_DATA_MAX 16384 /* EC2's limit on user data before base64 */

static const char head[] =
    "#!/bin/sh\n"
    "# create-ami builder (socorro-bootstrap): runs the provisioning script\n"
    "# below, reports its exit status on the console, and powers off.\n"
    "mkdir -p /var/lib/socorro-bootstrap\n"
    "cat >/var/lib/socorro-bootstrap/provision <<'" DELIM "'\n";

static const char tail[] =
    DELIM "\n"
    "chmod 0700 /var/lib/socorro-bootstrap/provision\n"
    "/var/lib/socorro-bootstrap/provision </dev/null >/dev/console 2>&1\n"
    "status=$?\n"
    "echo \"" STATUS_MARKER "$status\" >/dev/console\n"
    "sync\n"
    "poweroff || shutdown -h now\n";

int
userdata_wrap(const char *script, size_t len, struct buf *out, char *err, size_t errsize)
{
	if (len == 0) {
		str_fmt_clip(err, errsize, "the provisioning script is empty");
		return EX_DATAERR;
	}
	if (memchr(script, '\0', len) != NULL) {
		str_fmt_clip(err, errsize, "the provisioning script contains a NUL byte");
		return EX_DATAERR;
	}
	/* A line equal to the delimiter would end the here-document early. */
	for (const char *p = script; p < script + len;) {
		const char *nl = memchr(p, '\n', (size_t)(script + len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(script + len - p);
		if (n == sizeof(DELIM) - 1 && memcmp(p, DELIM, n) == 0) {
			str_fmt_clip(err, errsize, "the provisioning script contains the line " DELIM);
			return EX_DATAERR;
		}
		p += n + 1;
	}
	buf_reset(out);
	if (buf_puts(out, head) == -1 || buf_append(out, script, len) == -1 ||
	    (script[len - 1] != '\n' && buf_putc(out, '\n') == -1) || buf_puts(out, tail) == -1 ||
	    out->len > USER_DATA_MAX) {
		str_fmt_clip(err, errsize, "the wrapped provisioning script is over EC2's %d-byte user data limit",
		    USER_DATA_MAX);
		return EX_DATAERR;
	}
	return 0;
}

/*
 * console_status finds the last status line on the console: 0 with
 * *status set, or -1 if the wrapper has not printed one (yet).
 */
int
console_status(const char *console, int *status)
{
	const char *found = NULL;
	for (const char *p = strstr(console, STATUS_MARKER); p; p = strstr(p + 1, STATUS_MARKER))
		found = p;
	if (found == NULL)
		return -1;
	char *end;
	long v = strtol(found + sizeof(STATUS_MARKER) - 1, &end, 10);
	if (end == found + sizeof(STATUS_MARKER) - 1 || v < 0 || v > 255)
		return -1;
	*status = (int)v;
	return 0;
}
