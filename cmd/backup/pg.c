/*
 * pg.c: PostgreSQL through its own well-kept tools, pg_dump and
 * pg_restore, run as child processes and streamed through pipes, so a
 * dump of any size never touches the local disk.
 *
 *   backup:  pg_dump -Fc -w                      stdout -> the store
 *   restore: pg_restore -w --single-transaction --dbname=  the store -> stdin
 *
 * Connection settings reach them only through the environment (PGHOST,
 * PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, ..., and ~/.pgpass),
 * never through argv, where any user could read them (ps).  -w: never
 * prompt.  PGCONNECT_TIMEOUT is 10 s unless set.
 *
 * pg_dump's exit status decides: the end of its output is reported to
 * the store (which then completes the upload) only after pg_dump exited
 * 0, so a failed dump is never stored.  Their stderr lines are relayed to
 * ours ("backup: pg_dump: ..."), through the log's redaction.
 *
 * Restore is one transaction: if pg_restore fails, or the bytes turn out
 * not to match the manifest, nothing of the backup is left in the
 * database.  The last piece read is held back until the whole object's
 * SHA-256 has been checked (see holdback in stream.c), so pg_restore
 * cannot commit a backup that fails the check.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backup.h"
#include "exits.h"

struct child {
	pid_t pid;
	int data_fd;         /* pg_dump's stdout, or pg_restore's stdin */
	int err_fd;          /* its stderr (and pg_restore's stdout) */
	char line[1024];
	size_t ll;
	char last_error[512];
	const char *tool;
	char path[1024];
	struct log *lg;
	int rc;              /* set once it failed */
	bool reaped;
};

/* find_tool: flag's path, or name on $PATH. */
static int
find_tool(const char *flag, const char *name, char *out, size_t outsize, struct log *lg)
{
	if (flag != NULL) {
		if (access(flag, X_OK) == 0 && str_copy(out, outsize, flag) == 0)
			return 0;
		log_error(lg, "--%s %s: %s", name, flag, strerror(errno));
		return EX_CONFIG;
	}
	const char *path = getenv("PATH");
	char dir[1024];
	for (const char *p = path && *path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		if (n > 0 && n < sizeof(dir)) {
			memcpy(dir, p, n);
			dir[n] = '\0';
			if (str_fmt(out, outsize, "%s/%s", dir, name) == 0 && access(out, X_OK) == 0)
				return 0;
		}
		p += n + (p[n] == ':');
	}
	log_error(lg, "%s not found on PATH: install the PostgreSQL client (Debian: "
		      "postgresql-client) or give --%s PATH", name, name);
	return EX_CONFIG;
}

/* spawn runs argv with the pipes: to_child makes data_fd its stdin. */
static int
spawn(struct child *c, char *const argv[], bool to_child, const char *database)
{
	int data[2], err[2];
	if (pipe2(data, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1) {
		log_error(c->lg, "cannot make a pipe for %s: %s", c->tool, strerror(errno));
		return EX_SOFTWARE;
	}
	c->pid = fork();
	if (c->pid == -1) {
		log_error(c->lg, "cannot start %s: %s", c->path, strerror(errno));
		return EX_SOFTWARE;
	}
	if (c->pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		signal(SIGPIPE, SIG_DFL);
		if (database != NULL)
			setenv("PGDATABASE", database, 1);
		if (getenv("PGCONNECT_TIMEOUT") == NULL)
			setenv("PGCONNECT_TIMEOUT", "10", 1);
		setenv("PGAPPNAME", "socorro-backup", 0);
		dup2(to_child ? data[0] : devnull, 0);
		dup2(to_child ? err[1] : data[1], 1);
		dup2(err[1], 2);
		execv(c->path, argv);
		dprintf(err[1], "cannot run %s: %s\n", c->path, strerror(errno));
		_exit(127);
	}
	close(to_child ? data[0] : data[1]);
	close(err[1]);
	c->data_fd = to_child ? data[1] : data[0];
	c->err_fd = err[0];
	/* Fewer, larger reads and writes for a dump of gigabytes (best effort). */
	fcntl(c->data_fd, F_SETPIPE_SZ, 1 << 20);
	fcntl(c->data_fd, F_SETFL, fcntl(c->data_fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* relay logs the child's complete stderr lines (and the rest at the end). */
static void
relay(struct child *c, const char *p, size_t n, bool end)
{
	for (size_t i = 0; i <= n; i++) {
		bool eol = i < n && p[i] == '\n';
		if (i < n && !eol && c->ll < sizeof(c->line) - 1)
			c->line[c->ll++] = p[i];
		if (!eol && !(end && i == n && c->ll > 0))
			continue;
		c->line[c->ll] = '\0';
		c->ll = 0;
		if (c->line[0] == '\0')
			continue;
		const char *t = strncmp(c->line, c->tool, strlen(c->tool)) == 0 ? "" : c->tool;
		log_info(c->lg, "%s%s%s", t, *t ? ": " : "", c->line);
		if (strstr(c->line, "error") || strstr(c->line, "FATAL") || c->last_error[0] == '\0')
			str_copy(c->last_error, sizeof(c->last_error), c->line);
	}
}

/* read_err takes what stderr has; false at its end. */
static bool
read_err(struct child *c)
{
	char b[4096];
	ssize_t n = read(c->err_fd, b, sizeof(b));
	if (n == -1 && errno == EINTR)
		return true;
	if (n <= 0) {
		relay(c, "", 0, true);
		close(c->err_fd);
		c->err_fd = -1;
		return false;
	}
	relay(c, b, (size_t)n, false);
	return true;
}

/* classify: an exit code for the failure pg's last error line describes. */
static int
classify(const char *e)
{
	if (strstr(e, "authentication failed") || strstr(e, "no password supplied") ||
	    strstr(e, "permission denied") || strstr(e, "pg_hba.conf"))
		return EX_NOPERM;
	if (strstr(e, "does not exist"))
		return EX_NOINPUT;
	if (strstr(e, "already exists"))
		return EX_DATAERR;
	return EX_UNAVAILABLE;
}

/* reap waits for the child; its failure, if any, becomes c->rc. */
static int
reap(struct child *c, bool kill_it)
{
	int st = 0;
	if (c->data_fd != -1)
		close(c->data_fd);
	c->data_fd = -1;
	if (kill_it && !c->reaped)
		kill(c->pid, SIGTERM);
	while (c->err_fd != -1 && read_err(c))
		;
	while (!c->reaped && waitpid(c->pid, &st, 0) == -1 && errno == EINTR)
		;
	if (c->reaped)
		return c->rc;
	c->reaped = true;
	if (kill_it)
		return c->rc;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		log_error(c->lg, "%s failed (exit %d)%s%s", c->tool, WEXITSTATUS(st),
		    c->last_error[0] ? ": " : "", c->last_error);
	else
		log_error(c->lg, "%s was killed by signal %d", c->tool, WTERMSIG(st));
	c->rc = WIFEXITED(st) ? classify(c->last_error) : EX_UNAVAILABLE;
	return c->rc;
}

/* wait_io polls data_fd for ev and stderr; 0 when data_fd is ready. */
static int
wait_io(struct child *c, short ev)
{
	for (;;) {
		struct pollfd pf[2] = { { c->data_fd, ev, 0 }, { c->err_fd, POLLIN, 0 } };
		if (bk_interrupted)
			return -1;
		if (poll(pf, c->err_fd != -1 ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (c->err_fd != -1 && (pf[1].revents & (POLLIN | POLLHUP)))
			read_err(c);
		if (pf[0].revents)
			return 0;
	}
}

/* --- backup ----------------------------------------------------------------- */

static size_t
dump_read(void *ctx, char *b, size_t n)
{
	struct child *c = ctx;
	while (c->rc == 0 && c->data_fd != -1) {
		if (wait_io(c, POLLIN) == -1)
			break;
		ssize_t got = read(c->data_fd, b, n);
		if (got > 0)
			return (size_t)got;
		if (got == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		/* The end of the dump: it counts only if pg_dump says it went well. */
		return reap(c, false) == 0 ? 0 : (size_t)-1;
	}
	if (c->rc == 0 && c->reaped)
		return 0;
	if (c->rc == 0) {
		log_error(c->lg, "%s: interrupted", c->tool);
		c->rc = EX_TEMPFAIL;
	}
	return (size_t)-1;
}

/* tool_version: the first line of `tool --version`. */
static void
tool_version(const char *path, struct log *lg, char *out, size_t outsize)
{
	struct child c = { .tool = "pg_dump", .lg = lg, .data_fd = -1, .err_fd = -1 };
	char *argv[] = { (char *)path, "--version", NULL };
	str_copy(out, outsize, "unknown");
	if (str_copy(c.path, sizeof(c.path), path) == -1 || spawn(&c, argv, false, NULL) != 0)
		return;
	size_t n = 0;
	while (n < outsize - 1 && wait_io(&c, POLLIN) == 0) {
		ssize_t got = read(c.data_fd, out + n, outsize - 1 - n);
		if (got <= 0 && !(got == -1 && errno == EAGAIN))
			break;
		n += got > 0 ? (size_t)got : 0;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	reap(&c, false);
}

static json_t *
pg_source(const struct options *o, const char *path, const char *version)
{
	const char *db = o->database ? o->database : getenv("PGDATABASE");
	const char *host = getenv("PGHOST"), *port = getenv("PGPORT"), *user = getenv("PGUSER");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "host", host ? host : "",
	    "port", port ? port : "", "user", user ? user : "", "database", db ? db : "",
	    "tool", path, "tool_version", version, "format", "custom");
}

int
pg_backup_start(struct job *j)
{
	struct child *c = calloc(1, sizeof(*c));
	char version[256];
	if (c == NULL)
		return EX_SOFTWARE;
	*c = (struct child){ .tool = "pg_dump", .lg = j->lg, .data_fd = -1, .err_fd = -1 };
	j->svc_state = c;
	secret_hold(j->lg, getenv("PGPASSWORD"));
	int r = find_tool(j->o->pg_dump, "pg_dump", c->path, sizeof(c->path), j->lg);
	if (r != 0)
		return r;
	tool_version(c->path, j->lg, version, sizeof(version));
	char *argv[] = { c->path, "-Fc", "-w", NULL };
	if ((r = spawn(c, argv, false, j->o->database)) != 0)
		return r;
	log_debug(j->lg, "started %s (%s), pid %ld", c->path, version, (long)c->pid);
	j->content = "pg_dump-custom";
	j->source = pg_source(j->o, c->path, version);
	j->read = dump_read;
	j->read_ctx = c;
	return 0;
}

int
pg_backup_end(struct job *j, bool ok)
{
	struct child *c = j->svc_state;
	int r = 0;
	if (c != NULL && c->pid > 0)
		r = reap(c, !ok);
	free(c);
	j->svc_state = NULL;
	return r;
}

/* --- restore ---------------------------------------------------------------- */

static int
restore_db(const struct options *o, const char **db, struct log *lg)
{
	*db = o->database ? o->database : getenv("PGDATABASE");
	if (*db == NULL || **db == '\0') {
		log_error(lg, "give the database to restore into: --database NAME or PGDATABASE");
		return EX_USAGE;
	}
	/* A name with '=' or a URI would be read as connection settings. */
	if (strchr(*db, '=') || strstr(*db, "://")) {
		log_error(lg, "--database: a plain database name, please (connection settings "
			      "go in PG* variables)");
		return EX_USAGE;
	}
	return 0;
}

/*
 * restore_argv: pg_restore's arguments (argv[0] is path).  --dbname= is
 * empty: pg_restore must be told to connect, and an empty name sends it
 * to PGDATABASE, so even the database's name stays out of argv.
 */
static void
restore_argv(const struct options *o, char *path, char *argv[8])
{
	int n = 0;
	argv[n++] = path;
	argv[n++] = "-w";
	argv[n++] = "--single-transaction";
	if (o->overwrite) {
		argv[n++] = "--clean";
		argv[n++] = "--if-exists";
	}
	if (o->no_owner)
		argv[n++] = "--no-owner";
	argv[n++] = "--dbname=";
	argv[n] = NULL;
}

void
pg_restore_plan(const struct options *o, struct buf *out)
{
	const char *db = o->database ? o->database : getenv("PGDATABASE");
	char *argv[8];
	restore_argv(o, o->pg_restore ? (char *)o->pg_restore : "pg_restore", argv);
	buf_printf(out, "postgres: would run PGDATABASE=%s", db ? db : "?");
	for (int i = 0; argv[i]; i++)
		buf_printf(out, " %s", argv[i]);
	buf_puts(out, " <backup\n");
}

int
pg_restore_start(struct job *j)
{
	struct child *c = calloc(1, sizeof(*c));
	const char *db;
	char *argv[8];
	if (c == NULL)
		return EX_SOFTWARE;
	*c = (struct child){ .tool = "pg_restore", .lg = j->lg, .data_fd = -1, .err_fd = -1 };
	j->svc_state = c;
	secret_hold(j->lg, getenv("PGPASSWORD"));
	int r = restore_db(j->o, &db, j->lg);
	if (r == 0)
		r = find_tool(j->o->pg_restore, "pg_restore", c->path, sizeof(c->path), j->lg);
	if (r != 0)
		return r;
	restore_argv(j->o, c->path, argv);
	if ((r = spawn(c, argv, true, db)) != 0)
		return r;
	log_debug(j->lg, "started %s into database %s, pid %ld", c->path, db, (long)c->pid);
	return 0;
}

int
pg_restore_push(void *ctx, const char *p, size_t n)
{
	struct job *j = ctx;
	struct child *c = j->svc_state;
	while (n > 0 && c->rc == 0) {
		if (wait_io(c, POLLOUT) == -1) {
			log_error(c->lg, "%s: interrupted", c->tool);
			return c->rc = EX_TEMPFAIL;
		}
		ssize_t w = write(c->data_fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w == -1 && errno != EAGAIN && errno != EINTR) {
			/* It stopped reading: its exit status says why. */
			if (reap(c, false) == 0) {
				log_error(c->lg, "%s ended before reading the whole backup", c->tool);
				c->rc = EX_DATAERR;
			}
		}
	}
	return c->rc;
}

int
pg_restore_end(struct job *j, bool ok)
{
	struct child *c = j->svc_state;
	int r = 0;
	if (c != NULL && c->pid > 0)
		r = reap(c, !ok);
	free(c);
	j->svc_state = NULL;
	return r;
}
