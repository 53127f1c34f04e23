#!/bin/sh
# tests/bench/consul-load.sh: consul-load against the original bulk_load.sh
# method (one `curl -X PUT` per key), both loading the same 10,000 keys into
# the same fake Consul (tests/fakes/consul) on 127.0.0.1; then consul-load's
# no-change re-run.  Prints a markdown section on stdout (make bench).
#
# BENCH_CONSUL_KEYS changes the key count; BENCH_CONSUL_RERUNS the number
# of no-change runs (the median is reported).
set -eu
cd "$(dirname "$0")/../.."
N=${BENCH_CONSUL_KEYS:-10000}
R=${BENCH_CONSUL_RERUNS:-5}
CL=bin/consul-load
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench.XXXXXX")
fake=
trap '[ -n "$fake" ] && kill "$fake" 2>/dev/null; rm -rf "$T"' EXIT INT TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
ctl() { "$PY" tests/fakes/consul/fakectl.py "$URL" "$@"; }

# The fake reads its stdin until EOF: hold it open on fd 3.
mkfifo "$T/in"
"$PY" tests/fakes/consul/consul_fake.py <"$T/in" >"$T/port" 2>"$T/fake.err" &
fake=$!
exec 3>"$T/in"
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
URL=http://127.0.0.1:$(head -n 1 "$T/port")
export CONSUL_HTTP_ADDR="$URL"

mkdir "$T/conf"
"$PY" -c '
import sys
for i in range(int(sys.argv[1])):
    print("setting.%05d=value of setting %d, with some text after it" % (i, i))' "$N" >"$T/conf/bench.conf"

# consul-load: one read, then transactions of 64 check-and-set operations.
ctl clear
t0=$(now_ms)
"$CL" -q "$T/conf" >/dev/null
t1=$(now_ms)
ours=$((t1 - t0))
ours_reqs=$(ctl log | wc -l)
loaded=$(ctl count socorro/bench/)

# No-change re-runs: one read, nothing written.
: >"$T/reruns"
i=0
while [ $i -lt "$R" ]; do
	t0=$(now_ms)
	"$CL" -q "$T/conf" >/dev/null
	t1=$(now_ms)
	echo $((t1 - t0)) >>"$T/reruns"
	i=$((i + 1))
done
rerun=$(sort -n "$T/reruns" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
rerun_all=$(sort -n "$T/reruns" | tr '\n' ' ')

# The original: bulk_load.sh's loop, one curl process and connection per key.
ctl clear
t0=$(now_ms)
while IFS= read -r line; do
	key=${line%%=*}
	curl -s -o /dev/null -X PUT --data-binary "${line#*=}" "$URL/v1/kv/socorro/bench/$key"
done <"$T/conf/bench.conf"
t1=$(now_ms)
theirs=$((t1 - t0))
theirs_reqs=$(ctl log | wc -l)
same=$("$CL" -q --dry-run "$T/conf")

per_key() { awk -v t="$1" -v n="$N" 'BEGIN { printf "%.1f", t * 1000 / n }'; }
echo "## consul-load"
echo
echo "$N keys in one .conf file, loaded into the fake Consul on 127.0.0.1"
echo "($(uname -m), $(nproc) cores, $(date -u +%Y-%m-%d); \`sh tests/bench/consul-load.sh\`)."
echo
echo "| method | keys | HTTP requests | total ms | per key µs |"
echo "|---|---|---|---|---|"
printf '| consul-load (one read, txns of 64 CAS ops) | %s | %s | %s | %s |\n' \
	"$loaded" "$ours_reqs" "$ours" "$(per_key "$ours")"
# shellcheck disable=SC2016 # the backquotes are markdown
printf '| original: one `curl -X PUT` per key | %s | %s | %s | %s |\n' \
	"$N" "$theirs_reqs" "$theirs" "$(per_key "$theirs")"
printf '| consul-load, no-change re-run (median of %s) | %s | 1 | %s | %s |\n' \
	"$R" "$N" "$rerun" "$(per_key "$rerun")"
echo
awk -v a="$theirs" -v b="$ours" 'BEGIN { if (b > 0) printf "consul-load is %.0fx faster than the per-key curl loop (goal: 100x).\n", a / b }'
echo "No-change re-runs took $rerun ms (median; all: $rerun_all; goal: under 100 ms)."
echo "After the curl loop, consul-load --dry-run plans: \`$same\`."
