/*
 * backup_manifest.c: libFuzzer target for backup's manifest reader
 * (cmd/backup/catalog.c manifest_parse, what list and restore read from
 * the bucket for each backup) and its object-name parser
 * (parse_backup_name, which decides what a listing holds).  A manifest
 * that parses is written back (manifest_text) and parsed again: the same
 * fields must come back.  Each line of the input is also tried as an
 * object name for every service.
 * Seeds: manifests in the shape backup writes (socorro-backup/1).
 * Built and run by scripts/fuzz; alone: FUZZ_TARGETS=backup_manifest scripts/fuzz 60
 *
 * fuzz-build: cmd/backup/catalog.c cmd/backup/store.c cmd/backup/stream.c
 * fuzz-build: cmd/backup/s3par.c cmd/backup/web.c tests/fuzz/lib/fake_http.c
 */
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "fuzz.h"

/* main.c's, which cannot be linked (it has main): never set here. */
volatile sig_atomic_t bk_interrupted;

static void
names(const uint8_t *data, size_t size)
{
	char line[512], stamp[15];
	for (size_t i = 0; i < size;) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (data + i)) : size - i;
		if (n < sizeof(line)) {
			memcpy(line, data + i, n);
			line[n] = '\0';
			for (int s = 0; s < SVC_N; s++)
				if (parse_backup_name((enum svc)s, line, stamp) &&
				    memchr(stamp, '\0', sizeof(stamp)) == NULL)
					abort();
		}
		i += n + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct log *lg = fuzz_log();
	struct manifest m, again;
	names(data, size);
	if (manifest_parse(&m, (const char *)data, size, "fuzz.manifest.json", lg) != 0)
		return 0;
	char *text = manifest_text(&m);
	if (text == NULL)
		abort();
	if (manifest_parse(&again, text, strlen(text), "again", lg) != 0 ||
	    strcmp(m.object, again.object) != 0 || strcmp(m.sha256, again.sha256) != 0 ||
	    m.size != again.size || strcmp(m.service, again.service) != 0)
		abort();
	manifest_free(&again);
	free(text);
	manifest_free(&m);
	return 0;
}
