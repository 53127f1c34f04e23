/* cli.c: common options and --version. */
#include "cli.h"

#include <string.h>

#include "deps_versions.h"

void
cli_common_init(struct cli_common *c)
{
	memset(c, 0, sizeof(*c));
}

bool
cli_common_option(struct cli_common *c, int opt, const char *arg)
{
	switch (opt) {
	case 'h':
		c->help = true;
		return true;
	case 'V':
		c->version = true;
		return true;
	case 'v':
		if (c->verbosity < 0)
			c->verbosity = 0;
		c->verbosity++;
		return true;
	case 'q':
		c->verbosity = -1;
		return true;
	case 'c':
		c->config = arg;
		return true;
	case CLI_DRY_RUN:
		c->dry_run = true;
		return true;
	case CLI_JSON:
		c->json = true;
		return true;
	}
	return false;
}

/* print the line of SB_DEPS_VERSIONS that names lib, if any. */
static void
print_dep(FILE *out, const char *lib)
{
	size_t n = strlen(lib);
	for (const char *p = SB_DEPS_VERSIONS; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > n && strncmp(p, lib, n) == 0 && p[n] == ' ')
			fprintf(out, "  %.*s (Debian source)\n", (int)len, p);
		p += len + (nl != NULL);
	}
}

int
cli_print_version(FILE *out, const char *prog, const char *const libs[])
{
	fprintf(out, "%s (socorro-bootstrap) %s\n", prog, SB_VERSION);
	if (libs != NULL && libs[0] != NULL) {
		fprintf(out, "built with:\n");
		for (int i = 0; libs[i] != NULL; i++)
			print_dep(out, libs[i]);
	}
	return ferror(out) ? -1 : 0;
}
