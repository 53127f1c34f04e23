#!/bin/sh
# setup-postgres benchmark (run by tests/bench/run, `make bench`): on a
# throwaway PostgreSQL 15 cluster (tests/helpers/pg-cluster.sh), over the
# Unix socket,
#   1. the shipped migrations applied to an empty database by
#      setup-postgres (with its bookkeeping: lock, schema_migrations,
#      SHA-256, one transaction per migration) versus `psql -1 -f` of the
#      same files;
#   2. the whole setup (roles, database, migrations, partitions) once;
#   3. the no-change re-run on a set-up server (goal: under 100 ms), over
#      the socket and over TCP with TLS and SCRAM-SHA-256.
# Prints a markdown section.  BENCH_PG_N sets the runs (default 10).
set -eu
cd "$(dirname "$0")/../.."
. tests/helpers/pg-cluster.sh
N=${BENCH_PG_N:-10}
SP=bin/setup-postgres
MIG=etc/postgres/migrations

if ! command -v psql >/dev/null || [ ! -x "$PG_BIN/initdb" ]; then
	echo "## setup-postgres"
	echo
	echo "Not measured: PostgreSQL 15 is not installed (scripts/packages/setup-postgres.list)."
	exit 0
fi
trap 'pg_cluster_stop' EXIT INT TERM
pg_cluster_start >/dev/null
ADMIN="host=$PGC_SOCK port=$PGC_PORT user=postgres"
export PG_RW_PASSWORD=bench-rw PG_RO_PASSWORD=bench-ro
unset PGPASSWORD PGHOST PGPORT PGUSER PGDATABASE

now_ms() { echo $(($(date +%s%N) / 1000000)); }

fresh_db() { # fresh_db NAME: an empty database owned by breakpad_rw, with citext
	pg_psql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" \
		-c "CREATE DATABASE $1 OWNER breakpad_rw TEMPLATE template0 ENCODING 'UTF8'" >/dev/null
	pg_psql -d "$1" -c 'CREATE EXTENSION citext' >/dev/null
}

# The roles exist before either way is timed.
"$SP" -q -d "$ADMIN" --database bench_setup --weeks 2 >/dev/null

set --
for f in "$MIG"/*.sql; do set -- "$@" -f "$f"; done
ours=0 theirs=0 i=0
while [ "$i" -lt "$N" ]; do
	fresh_db bench_a
	t=$(now_ms)
	"$SP" -q -d "$ADMIN" --database bench_a --no-partitions >/dev/null
	ours=$((ours + $(now_ms) - t))
	fresh_db bench_b
	t=$(now_ms)
	PGOPTIONS='-c socorro.ro_role=breakpad_ro -c socorro.rw_role=breakpad_rw' \
		psql -X -q -1 -v ON_ERROR_STOP=1 -h "$PGC_SOCK" -p "$PGC_PORT" -U breakpad_rw \
		-d bench_b "$@" >/dev/null
	theirs=$((theirs + $(now_ms) - t))
	i=$((i + 1))
done

pg_psql -d postgres -c 'DROP DATABASE bench_setup' >/dev/null
t=$(now_ms)
"$SP" -q -d "$ADMIN" --database bench_setup --weeks 2 >/dev/null
full=$(($(now_ms) - t))

rerun=0 i=0
while [ "$i" -lt "$N" ]; do
	t=$(now_ms)
	"$SP" -q -d "$ADMIN" --database bench_setup --weeks 2 >/dev/null
	rerun=$((rerun + $(now_ms) - t))
	i=$((i + 1))
done
tls=0 i=0
while [ "$i" -lt "$N" ]; do
	t=$(now_ms)
	PGPASSWORD=$PGC_ADMIN_PW "$SP" -q -d "host=127.0.0.1 port=$PGC_PORT user=postgres sslmode=require" \
		--database bench_setup --weeks 2 >/dev/null
	tls=$((tls + $(now_ms) - t))
	i=$((i + 1))
done

avg() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.1f", t / n }'; }
echo "## setup-postgres"
echo
echo "PostgreSQL $(pg_psql -d postgres -Atc 'SHOW server_version' | cut -d' ' -f1), Unix socket, $N runs each."
echo
echo "| benchmark | runs | total ms | per run ms |"
echo "|---|---|---|---|"
printf '| setup-postgres: shipped migrations on an empty database | %s | %s | %s |\n' "$N" "$ours" "$(avg "$ours" "$N")"
printf '| psql -1 -f of the same files | %s | %s | %s |\n' "$N" "$theirs" "$(avg "$theirs" "$N")"
printf '| setup-postgres: whole setup (roles, database, citext, migrations, 12 partitions) | 1 | %s | %s |\n' "$full" "$full"
printf '| setup-postgres: no-change re-run (goal < 100 ms) | %s | %s | %s |\n' "$N" "$rerun" "$(avg "$rerun" "$N")"
printf '| the same over TCP with TLS and SCRAM-SHA-256 | %s | %s | %s |\n' "$N" "$tls" "$(avg "$tls" "$N")"
echo
awk -v a="$theirs" -v b="$ours" 'BEGIN { if (b > 0) printf "Migrations: setup-postgres takes %.2fx the time of psql -f.\n", b / a }'
