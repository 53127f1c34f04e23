/*
 * rpm_spec.c: libFuzzer target for create-rpm's INI spec reader
 * (cmd/create-rpm/spec.c): the input is written to a file and loaded
 * with spec_load ([package], [depends] lists, [scripts], [changelog],
 * [/PATH] rules), then finished and its [E:]V-R formed as a build would.
 * Keys naming files (description_file, pre_file, ...) read them relative
 * to the temp directory; the runner gives the target /dev/null as stdin.
 * Seeds: etc/socorro.rpm.ini and the integration test's specs.
 * Built and run by scripts/fuzz; alone: FUZZ_TARGETS=rpm_spec scripts/fuzz 60
 *
 * fuzz-build: cmd/create-rpm/spec.c
 */
#include <stdlib.h>
#include <string.h>

#include "create-rpm.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spec s;
	char err[ERR_MAX], evr[512];
	spec_init(&s);
	err[0] = '\0';
	int rc = spec_load(&s, fuzz_file("spec.ini", data, size), err, sizeof(err));
	if (rc != 0 && err[0] == '\0')
		abort(); /* a refusal must say why */
	if (rc == 0 && spec_finish(&s, err, sizeof(err)) == 0) {
		(void)spec_evr(&s, evr, sizeof(evr));
		for (size_t i = 0; i < s.requires.n; i++)
			if (s.requires.v[i].name == NULL || s.requires.v[i].version == NULL)
				abort();
		for (size_t i = 0; i < s.nrules; i++)
			if (s.rules[i].pattern == NULL || s.rules[i].pattern[0] != '/')
				abort();
	}
	spec_free(&s);
	return 0;
}
