# pg-cluster.sh: a throwaway PostgreSQL 15 cluster for tests and benchmarks.
# Sourced (POSIX sh).  Needs Debian's postgresql-15 and openssl.
#
#   pg_cluster_start     initdb + start on 127.0.0.1 and a free port, with TLS
#                        and one pg_hba.conf line per authentication method;
#                        sets PGC_DIR PGC_PORT PGC_SOCK PGC_CERTS PGC_LOG
#   pg_cluster_stop      pg_ctl stop -m fast -w, then remove PGC_DIR
#   pg_psql ARGS...      psql as the superuser over the Unix socket (trust)
#
# initdb refuses to run as root, so as root the server runs as the postgres
# user (runuser), in a directory of its own under /tmp that it can write.
#
# Users (pg_hba.conf, first match wins):
#   postgres   superuser; password in $PGC_ADMIN_PW; scram-sha-256 over TCP,
#              trust over the socket
#   u_md5      md5 (its password is stored as md5, else the server uses SCRAM)
#   u_clear    password (clear text)
#   u_trust    trust
#   u_ssl      scram-sha-256, over TLS only (hostssl; hostnossl rejects)
#   anyone     scram-sha-256
# Every statement is logged (log_statement=all) to $PGC_LOG.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PGC_ADMIN_PW=${PGC_ADMIN_PW:-admin-pw-$$}

pg_as() { # run a command as the cluster's owner
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_cluster_start() {
	PGC_DIR=$(mktemp -d /tmp/sb-pg.XXXXXX)
	PGC_PORT=$(pg_free_port)
	PGC_SOCK=$PGC_DIR/sock
	PGC_CERTS=$PGC_DIR/certs
	PGC_LOG=$PGC_DIR/server.log
	mkdir -p "$PGC_SOCK" "$PGC_CERTS"
	sh "$(dirname "$0")/../helpers/mkcerts.sh" "$PGC_CERTS" 2>/dev/null ||
		sh tests/helpers/mkcerts.sh "$PGC_CERTS"
	printf '%s\n' "$PGC_ADMIN_PW" >"$PGC_DIR/pwfile"
	chmod 0755 "$PGC_DIR"
	[ "$(id -u)" -eq 0 ] && chown -R postgres "$PGC_DIR"
	chmod 0600 "$PGC_CERTS/localhost.key"
	pg_as "$PG_BIN/initdb" -D "$PGC_DIR/data" -U postgres --pwfile="$PGC_DIR/pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --no-locale \
		>"$PGC_DIR/initdb.log" 2>&1 || { cat "$PGC_DIR/initdb.log" >&2; return 1; }
	cat >>"$PGC_DIR/data/postgresql.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		port = $PGC_PORT
		unix_socket_directories = '$PGC_SOCK'
		ssl = on
		ssl_cert_file = '$PGC_CERTS/localhost.pem'
		ssl_key_file = '$PGC_CERTS/localhost.key'
		log_statement = 'all'
		log_min_messages = warning
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_connections = 40
		shared_buffers = 32MB
	EOF
	cat >"$PGC_DIR/data/pg_hba.conf" <<-EOF
		local     all all                  trust
		hostssl   all u_ssl   127.0.0.1/32 scram-sha-256
		hostnossl all u_ssl   127.0.0.1/32 reject
		host      all u_md5   127.0.0.1/32 md5
		host      all u_clear 127.0.0.1/32 password
		host      all u_trust 127.0.0.1/32 trust
		host      all all     127.0.0.1/32 scram-sha-256
	EOF
	pg_as "$PG_BIN/pg_ctl" -D "$PGC_DIR/data" -l "$PGC_LOG" -w -t 60 start >/dev/null ||
		{ cat "$PGC_LOG" >&2; return 1; }
}

pg_cluster_stop() {
	[ -n "${PGC_DIR-}" ] || return 0
	if [ -f "$PGC_DIR/data/postmaster.pid" ]; then
		pg_as "$PG_BIN/pg_ctl" -D "$PGC_DIR/data" stop -m fast -w >/dev/null 2>&1 || true
	fi
	rm -rf "$PGC_DIR"
	PGC_DIR=
}

pg_psql() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$PGC_SOCK" -p "$PGC_PORT" -U postgres "$@"
}
