/*
 * setup-postgres.h: what the files of setup-postgres share.  main.c
 * tells the story; exec.c runs (or, with --dry-run, prints) statements;
 * roles.c ensures roles, the database and extensions; migrate.c and
 * sqlsplit.c apply versioned migrations; partitions.c makes weekly
 * partitions.
 */
#ifndef SETUP_POSTGRES_H
#define SETUP_POSTGRES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "log.h"
#include "pg_conn.h"
#include "pg_conninfo.h"

/* The advisory lock every run holds while it changes anything: one key,
 * so two runs against one server take turns. */
#define SP_LOCK_KEY 7021557305513246797LL /* "setup-pg" as a number */
#define SP_MAX_EXTENSIONS 16

struct migration {
	long version;
	char name[256];   /* "0001_core_schema": the file name less ".sql" */
	char path[1024];
	char sha256[65];
	struct buf sql;
};

struct run {
	struct log *lg;
	/* what was asked */
	bool dry_run, json, reset_passwords, allow_changed, no_partitions;
	const char *database, *rw_role, *ro_role;
	const char *rw_password, *ro_password; /* NULL: none given */
	const char *migrations_dir;
	const char *extensions[SP_MAX_EXTENSIONS];
	size_t nextensions;
	int weeks;
	long start_day;                        /* days since 1970-01-01, UTC */
	struct pg_conninfo admin;
	/* state */
	struct pg_conn *c;                     /* the connection statements go to */
	bool db_exists;                        /* (dry run) the database is there */
	struct migration *mig;
	size_t nmig;
	long schema_version;
	int nchanges;
	struct buf out;                        /* stdout, written at the end */
	json_t *changes;                       /* --json: what was changed */
};

/* exec.c */
/* sql_query runs a statement that changes nothing; a failure ends the run. */
void sql_query(struct run *r, const char *sql, struct pg_result *res);
/* sql_try runs it and returns 0 or the failure's exit code (c->err set). */
int sql_try(struct run *r, const char *sql, struct pg_result *res);
/*
 * sql_change runs sql, a change, and logs what (printf-style): with
 * --dry-run it appends shown (sql with any password replaced by
 * <redacted>; NULL: sql itself) to the plan instead.
 */
void sql_change(struct run *r, const char *sql, const char *shown, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* plan_note appends "-- text" to the plan (dry run only). */
void plan_note(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* die_sql ends the run over the connection's last error, with what it was doing. */
_Noreturn void die_sql(struct run *r, int rc, const char *what);
/* fail_code: the exit code for a server error's SQLSTATE. */
int fail_code(const struct pg_conn *c, int rc);
/* one-liners for SQL text: a quoted identifier or literal, on b */
void q_ident(struct run *r, struct buf *b, const char *name);
void q_literal(struct run *r, struct buf *b, const char *text);
/* connect_to opens c to database dbname with the admin settings. */
void connect_to(struct run *r, struct pg_conn *c, const char *dbname);
/* take_lock holds the advisory lock on r->c, saying so if it must wait. */
void take_lock(struct run *r);

/* roles.c */
void ensure_roles(struct run *r);
void ensure_membership(struct run *r);
void ensure_database(struct run *r);
void ensure_extensions(struct run *r);

/* migrate.c */
/* load_migrations reads and checks every file before anything connects. */
void load_migrations(struct run *r);
void apply_migrations(struct run *r);
void free_migrations(struct run *r);

/* sqlsplit.c */
/*
 * stmt_starts writes to starts[] (at most max) the offsets where the
 * statements of sql begin (their first character that is not a space or
 * a comment), and returns how many there are.  It knows quotes, dollar
 * quotes and comments, enough to find the ';' that end statements.
 */
size_t stmt_starts(const char *sql, size_t *starts, size_t max);
/* stmt_line: the line (1-based) where statement number n (0-based) of
 * sql starts, or 0 if there is no such statement. */
int stmt_line(const char *sql, int n);
/* char_line: the line of the pos-th character (1-based, UTF-8) of sql. */
int char_line(const char *sql, long pos);

/* partitions.c */
void ensure_partitions(struct run *r);

#endif
