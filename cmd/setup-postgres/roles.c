/*
 * roles.c: the login roles, the database and its extensions.
 *
 * A role's password goes to the server only as a SCRAM-SHA-256 verifier
 * made here with a fresh random salt, so the clear text is never in a
 * statement, a server log or pg_stat_statements.  An existing role keeps
 * its password unless --reset-passwords; with it, a password that already
 * matches (checked against the stored verifier, when this user may read
 * pg_authid) is left alone, so a re-run still changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exits.h"
#include "pg_auth.h"
#include "setup-postgres.h"

/* The verifiers live as long as the log may see them (it keeps pointers). */
static char verifiers[2][PG_SCRAM_VERIFIER_MAX];

static void
make_verifier(struct run *r, const char *password, char *out)
{
	unsigned char salt[PG_SCRAM_SALT_LEN];
	if (pg_random(salt, sizeof(salt)) == -1)
		log_die(r->lg, EX_SOFTWARE, "no random bytes for a SCRAM salt");
	if (pg_scram_verifier(password, salt, sizeof(salt), PG_SCRAM_ITERATIONS, out) == -1)
		log_die(r->lg, EX_DATAERR, "a role password must be ASCII (SCRAM's SASLprep is "
		    "not applied here, so other characters might not match what clients send)");
	log_add_secret(r->lg, out);
}

/* stored_password: 1 matches, 0 differs, -1 cannot tell (not readable). */
static int
stored_password(struct run *r, const char *role, const char *password)
{
	struct pg_result res;
	struct buf sql;
	int verdict = -1;
	pg_result_init(&res);
	buf_init(&sql, 4096);
	buf_puts(&sql, "SELECT rolpassword FROM pg_authid WHERE rolname = ");
	q_literal(r, &sql, role);
	if (sql_try(r, buf_str(&sql), &res) == 0 && res.nrows == 1) {
		const char *v = pg_value(&res, 0, 0);
		verdict = v == NULL ? 0 : pg_scram_verifier_matches(v, password) == 1;
	} else {
		log_debug(r->lg, "cannot read %s's stored password (%s)", role, r->c->error);
	}
	pg_result_free(&res);
	buf_free(&sql);
	return verdict;
}

static void
create_role(struct run *r, const char *role, const char *password, char *verifier)
{
	struct buf sql, shown;
	buf_init(&sql, 4096);
	buf_init(&shown, 4096);
	buf_puts(&sql, "CREATE ROLE ");
	q_ident(r, &sql, role);
	buf_puts(&sql, " LOGIN");
	buf_puts(&shown, buf_str(&sql));
	if (password != NULL) {
		make_verifier(r, password, verifier);
		buf_puts(&sql, " PASSWORD ");
		q_literal(r, &sql, verifier);
		buf_puts(&shown, " PASSWORD '<redacted>'");
	}
	sql_change(r, buf_str(&sql), buf_str(&shown), "created role %s%s", role,
	    password ? " (password set as a SCRAM-SHA-256 verifier)" : " (no password)");
	buf_free(&sql);
	buf_free(&shown);
}

static void
reset_password(struct run *r, const char *role, const char *password, char *verifier)
{
	struct buf sql, shown;
	buf_init(&sql, 4096);
	buf_init(&shown, 4096);
	buf_puts(&sql, "ALTER ROLE ");
	q_ident(r, &sql, role);
	buf_puts(&shown, buf_str(&sql));
	make_verifier(r, password, verifier);
	buf_puts(&sql, " PASSWORD ");
	q_literal(r, &sql, verifier);
	buf_puts(&shown, " PASSWORD '<redacted>'");
	sql_change(r, buf_str(&sql), buf_str(&shown), "set the password of role %s", role);
	buf_free(&sql);
	buf_free(&shown);
}

static void
ensure_role(struct run *r, const char *role, const char *password, char *verifier)
{
	struct pg_result res;
	struct buf sql;
	pg_result_init(&res);
	buf_init(&sql, 4096);
	buf_puts(&sql, "SELECT rolcanlogin FROM pg_roles WHERE rolname = ");
	q_literal(r, &sql, role);
	sql_query(r, buf_str(&sql), &res);
	if (res.nrows == 0) {
		create_role(r, role, password, verifier);
	} else {
		if (strcmp(pg_value(&res, 0, 0), "t") != 0) {
			buf_reset(&sql);
			buf_puts(&sql, "ALTER ROLE ");
			q_ident(r, &sql, role);
			buf_puts(&sql, " LOGIN");
			sql_change(r, buf_str(&sql), NULL, "allowed role %s to log in", role);
		}
		int same = password ? stored_password(r, role, password) : 1;
		if (same != 1 && r->reset_passwords)
			reset_password(r, role, password, verifier);
		else if (same == 0)
			log_warn(r->lg, "role %s exists with another password; it is kept "
			    "(--reset-passwords sets it)", role);
		else
			log_debug(r->lg, "role %s exists%s", role, same == 1 && password ?
			    " with this password" : "; its password is kept");
	}
	pg_result_free(&res);
	buf_free(&sql);
}

void
ensure_roles(struct run *r)
{
	ensure_role(r, r->rw_role, r->rw_password, verifiers[0]);
	ensure_role(r, r->ro_role, r->ro_password, verifiers[1]);
}

/*
 * ensure_membership: the migrations run as the rw role (SET ROLE), so what
 * they create belongs to it.  A superuser may do that as it is; another
 * admin (RDS's master user) must be a member of the role first.
 */
void
ensure_membership(struct run *r)
{
	struct pg_result res;
	struct buf sql;
	pg_result_init(&res);
	buf_init(&sql, 4096);
	buf_puts(&sql, "SELECT rolsuper, CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE "
		       "rolname = ");
	q_literal(r, &sql, r->rw_role);
	buf_puts(&sql, ") THEN pg_has_role(current_user, ");
	q_literal(r, &sql, r->rw_role);
	buf_puts(&sql, ", 'MEMBER') ELSE false END FROM pg_roles WHERE rolname = current_user");
	sql_query(r, buf_str(&sql), &res);
	if (res.nrows == 1 && strcmp(pg_value(&res, 0, 0), "t") != 0 &&
	    strcmp(pg_value(&res, 0, 1), "t") != 0) {
		buf_reset(&sql);
		buf_puts(&sql, "GRANT ");
		q_ident(r, &sql, r->rw_role);
		buf_puts(&sql, " TO CURRENT_USER");
		sql_change(r, buf_str(&sql), NULL, "made the admin user a member of %s, to "
		    "create objects owned by it", r->rw_role);
	}
	pg_result_free(&res);
	buf_free(&sql);
}

static void
alter_database(struct run *r, const char *tail, const char *what)
{
	struct buf sql;
	buf_init(&sql, 4096);
	buf_puts(&sql, "ALTER DATABASE ");
	q_ident(r, &sql, r->database);
	buf_puts(&sql, tail);
	sql_change(r, buf_str(&sql), NULL, "%s: %s", r->database, what);
	buf_free(&sql);
}

void
ensure_database(struct run *r)
{
	struct pg_result res;
	struct buf sql;
	pg_result_init(&res);
	buf_init(&sql, 4096);
	buf_puts(&sql, "SELECT pg_encoding_to_char(d.encoding), pg_get_userbyid(d.datdba), "
		       "(SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s "
		       "WHERE s.setdatabase = d.oid AND s.setrole = 0) FROM pg_database d "
		       "WHERE datname = ");
	q_literal(r, &sql, r->database);
	sql_query(r, buf_str(&sql), &res);
	r->db_exists = res.nrows == 1;
	buf_reset(&sql);
	if (!r->db_exists) {
		buf_puts(&sql, "CREATE DATABASE ");
		q_ident(r, &sql, r->database);
		buf_puts(&sql, " OWNER ");
		q_ident(r, &sql, r->rw_role);
		buf_puts(&sql, " ENCODING 'UTF8' TEMPLATE template0");
		sql_change(r, buf_str(&sql), NULL, "created database %s (UTF8, owner %s)",
		    r->database, r->rw_role);
		alter_database(r, " SET timezone TO 'UTC'", "time zone set to UTC");
	} else {
		const char *enc = pg_value(&res, 0, 0), *owner = pg_value(&res, 0, 1);
		const char *conf = pg_value(&res, 0, 2);
		if (strcmp(enc, "UTF8") != 0)
			log_die(r->lg, EX_DATAERR, "%s: database %s exists with encoding %s; "
			    "Socorro needs UTF8 (rename or drop it, then run again)", r->c->where,
			    r->database, enc);
		if (strcmp(owner, r->rw_role) != 0) {
			buf_puts(&sql, " OWNER TO ");
			q_ident(r, &sql, r->rw_role);
			alter_database(r, buf_str(&sql), "owner set to the rw role");
		}
		if (conf == NULL || strcasestr(conf, "timezone=utc") == NULL)
			alter_database(r, " SET timezone TO 'UTC'", "time zone set to UTC");
	}
	pg_result_free(&res);
	buf_free(&sql);
}

void
ensure_extensions(struct run *r)
{
	struct pg_result res;
	struct buf sql;
	pg_result_init(&res);
	buf_init(&sql, 4096);
	for (size_t i = 0; i < r->nextensions; i++) {
		buf_reset(&sql);
		buf_puts(&sql, "SELECT installed_version IS NOT NULL FROM "
			       "pg_available_extensions WHERE name = ");
		q_literal(r, &sql, r->extensions[i]);
		sql_query(r, buf_str(&sql), &res);
		if (res.nrows == 0) {
			log_warn(r->lg, "extension %s is not available on %s; migrations that "
			    "use it will fail", r->extensions[i], r->c->where);
			continue;
		}
		if (strcmp(pg_value(&res, 0, 0), "t") == 0)
			continue;
		buf_reset(&sql);
		buf_puts(&sql, "CREATE EXTENSION IF NOT EXISTS ");
		q_ident(r, &sql, r->extensions[i]);
		sql_change(r, buf_str(&sql), NULL, "created extension %s in %s",
		    r->extensions[i], r->database);
	}
	pg_result_free(&res);
	buf_free(&sql);
}
