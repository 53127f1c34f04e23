/*
 * pem_key.c: libFuzzer target for create-rpm's signing key reader
 * (cmd/create-rpm/pgp.c pgp_key_load: the PEM armour, BearSSL's key
 * decoder, the DER walk for n and e of PKCS#1 and PKCS#8 keys, the
 * consistency check); a key that loads then signs and exports its
 * public key, as --sign-key does.  The input is written to a file.
 * Seeds: small RSA keys (1024 bits, PKCS#1 and PKCS#8) made for the
 * corpus, and non-key PEM and an encrypted key's header.
 * Built and run by scripts/fuzz; alone: FUZZ_TARGETS=pem_key scripts/fuzz 60
 *
 * fuzz-build: cmd/create-rpm/pgp.c
 */
#include <stdlib.h>
#include <string.h>

#include "create-rpm.h"
#include "fuzz.h"

static struct pgp_key key; /* large */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERR_MAX], fpr[41];
	err[0] = '\0';
	int rc = pgp_key_load(&key, fuzz_file("key.pem", data, size), 1700000000, err, sizeof(err));
	if (rc != 0) {
		if (err[0] == '\0')
			abort(); /* a refusal must say why */
		return 0;
	}
	struct buf out;
	br_sha256_context ctx;
	buf_init(&out, 1u << 16);
	pgp_sig_begin(&ctx);
	br_sha256_update(&ctx, "payload", 7);
	if (pgp_sig_finish(&key, &ctx, 1700000001, &out) != 0 ||
	    pgp_export(&key, "Socorro <socorro@example.com>", 1700000000, &out) != 0)
		abort(); /* a key that loaded must sign */
	pgp_fpr_hex(&key, fpr);
	buf_free(&out);
	pgp_key_wipe(&key);
	return 0;
}
