/*
 * config_ini.c: libFuzzer target for etc/socorro.ini handling
 * (libcommon/config.c): the input is written to a file, loaded with
 * config_load, and a config that loads is then resolved every way the
 * commands use it (every ROLE-ENV, every env key, suggestions for a
 * mistyped name), since loading promises that all of that works.
 * Seeds: etc/socorro.ini and the unit tests' configs.  Built and run by
 * scripts/fuzz (`make fuzz`); alone: FUZZ_TARGETS=config_ini scripts/fuzz 60
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

static struct config cfg; /* large: static, as main does */

static void
walk(const struct config *c)
{
	struct role_info ri, again;
	char suggest[3][CFG_VALUE_MAX];
	const char *k, *v;
	for (size_t i = 0; i < 64 && config_roleenv_at(c, NULL, false, i, &ri) == 0; i++) {
		/* Every name the iteration gives must resolve, to the same role. */
		if (config_resolve(c, ri.roleenv, &again) != 0 || strcmp(again.role, ri.role) != 0)
			abort();
		(void)config_env_value(c, ri.env, "region");
		for (size_t j = 0; config_env_key_at(c, ri.env, j, &k, &v) == 0; j++)
			if (config_env_value(c, ri.env, k) == NULL)
				abort();
		(void)config_roleenv_at(c, ri.env, true, 0, &again);
	}
	(void)config_suggest(c, "socorroweb-stag", suggest, 3);
	(void)config_has_env(c, "prod");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("socorro.ini", data, size);
	memset(&cfg, 0, sizeof(cfg));
	if (config_load(&cfg, path) == 0)
		walk(&cfg);
	else if (cfg.error[0] == '\0')
		abort(); /* a refusal must say why */
	config_free(&cfg);
	return 0;
}
