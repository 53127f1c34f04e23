/*
 * pg_auth.h: PostgreSQL password authentication, computed here: MD5
 * (md5 of md5(password||user) and the server's salt), SCRAM-SHA-256 (RFC
 * 5802, RFC 7677) as a client, with the server's signature checked so a
 * server that does not know the verifier cannot pass as the real one, and
 * SCRAM verifiers in PostgreSQL's stored form, computed locally so that a
 * role's password can be set without the clear text ever reaching the
 * server (what psql's \password does).
 *
 * SCRAM, as the client:
 *
 *	struct pg_scram s;
 *	pg_scram_init(&s);
 *	pg_scram_first(&s, "", NULL, &out);          // client-first-message
 *	... send it, receive server-first into sf ...
 *	pg_scram_final(&s, password, sf, sflen, &out); // client-final-message
 *	... send it, receive server-final into ff ...
 *	if (pg_scram_verify(&s, ff, fflen) == -1) ... the server is not genuine
 *	pg_scram_free(&s);                           // wipes the keys
 *
 * Passwords are used as the bytes given: SASLprep is not applied.  For an
 * ASCII password that is exactly what SASLprep gives; a non-ASCII one may
 * differ from what libpq sends, so pg_scram_verifier refuses it.
 *
 * Hashes come from BearSSL (SHA-256, HMAC, MD5); the PBKDF2 loop (Hi) is
 * here.  Functions return 0, or -1 with errno: EINVAL for bad input or a
 * malformed server message, EBADMSG when the server's SCRAM message fails
 * a check, EACCES when its signature is wrong, ENOMEM.
 */
#ifndef SB_PG_AUTH_H
#define SB_PG_AUTH_H

#include <stddef.h>

#include "buf.h"

#define PG_SCRAM_MECH "SCRAM-SHA-256"
#define PG_SCRAM_ITERATIONS 4096        /* what PostgreSQL uses by default */
#define PG_SCRAM_MAX_ITERATIONS 10000000 /* a server asking more is refused */
#define PG_SCRAM_SALT_LEN 16
#define PG_MD5_PASSWORD_SIZE 36          /* "md5" + 32 hex digits + NUL */
#define PG_SCRAM_VERIFIER_MAX 256

struct pg_scram {
	char client_nonce[64];
	struct buf first_bare;   /* client-first-message-bare */
	struct buf auth_message; /* for the server signature */
	unsigned char server_key[32];
	unsigned char salted[32];
	int state;               /* 0 new, 1 first sent, 2 final sent, 3 verified */
};

void pg_scram_init(struct pg_scram *s);
void pg_scram_free(struct pg_scram *s);
/*
 * pg_scram_first appends the client-first-message ("n,,n=USER,r=NONCE") to
 * out.  PostgreSQL ignores the user name here, so libpq sends "".  nonce
 * NULL draws 18 random bytes (24 base64 characters); tests pass the RFC's.
 */
int pg_scram_first(struct pg_scram *s, const char *user, const char *nonce, struct buf *out);
/* pg_scram_final reads server-first-message sf[0..n) and appends the
 * client-final-message with its proof to out. */
int pg_scram_final(struct pg_scram *s, const char *password, const char *sf, size_t n,
    struct buf *out);
/* pg_scram_verify checks server-final-message ff[0..n): 0 when its
 * signature proves the server holds the verifier. */
int pg_scram_verify(struct pg_scram *s, const char *ff, size_t n);

/*
 * pg_scram_verifier writes PostgreSQL's stored form of password:
 * "SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY" (base64), into out
 * (PG_SCRAM_VERIFIER_MAX bytes).  Non-ASCII passwords are refused (EINVAL),
 * see above.
 */
int pg_scram_verifier(const char *password, const unsigned char *salt, size_t saltlen,
    int iterations, char out[PG_SCRAM_VERIFIER_MAX]);
/*
 * pg_scram_verifier_matches: 1 if verifier (as stored by the server) was
 * made from password, 0 if not, -1 if verifier is not a SCRAM-SHA-256
 * verifier.  Used so a re-run leaves an unchanged password alone.
 */
int pg_scram_verifier_matches(const char *verifier, const char *password);

/* pg_md5_password: "md5" + md5hex(md5hex(password || user) || salt). */
int pg_md5_password(const char *user, const char *password, const unsigned char salt[4],
    char out[PG_MD5_PASSWORD_SIZE]);

/* pg_pbkdf2_sha256 is Hi() of RFC 5802: PBKDF2-HMAC-SHA-256, one block. */
void pg_pbkdf2_sha256(const void *password, size_t plen, const void *salt, size_t slen,
    int iterations, unsigned char out[32]);

/* pg_random fills p with n bytes from the kernel's random source. */
int pg_random(void *p, size_t n);

#endif
