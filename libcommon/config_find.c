/* config_find.c: where socorro.ini is looked for, in order. */
#include "config.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

static int
exists(const char *path)
{
	return access(path, R_OK) == 0;
}

int
config_find(const char *flag, char *out, size_t outsize, const char **source)
{
	const char *env = getenv("SOCORRO_CONFIG");
	if (flag != NULL) {
		*source = "--config";
		return str_copy(out, outsize, flag);
	}
	if (env != NULL && *env != '\0') {
		*source = "SOCORRO_CONFIG";
		return str_copy(out, outsize, env);
	}
	if (exists("/etc/socorro/socorro.ini")) {
		*source = "the system default";
		return str_copy(out, outsize, "/etc/socorro/socorro.ini");
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	const char *bindir = dirname(exe);
	static const char *const beside[] = {
		"../share/socorro-bootstrap/socorro.ini",
		"../etc/socorro.ini",
	};
	for (size_t i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
		char path[PATH_MAX], real[PATH_MAX];
		if (str_fmt(path, sizeof(path), "%s/%s", bindir, beside[i]) == 0 &&
		    realpath(path, real) != NULL && exists(real)) {
			*source = "the copy beside the binary";
			return str_copy(out, outsize, real);
		}
	}
	return -1;
}
