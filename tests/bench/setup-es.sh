#!/bin/sh
# tests/bench/setup-es.sh: setup-es against the fake Elasticsearch, wall
# time per whole run (fresh cluster: version, health, template, two weekly
# indices, alias, snapshot repository) and per no-change re-run; and, when
# Debian's python3-elasticsearch is there, the same requests made the way
# the original did (a Python process driving the official client).
# Prints a markdown section; run by tests/bench/run (make bench).
set -eu
cd "$(dirname "$0")/../.."
N=${BENCH_N:-50}
SE=bin/setup-es
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench.XXXXXX")
"$PY" tests/fakes/elasticsearch/fake_es.py --port-file "$T/port" --path-repo "$T" >/dev/null 2>&1 &
FAKE_PID=$!
trap 'kill "$FAKE_PID" 2>/dev/null; rm -rf "$T"' EXIT INT TERM
i=0
while [ ! -s "$T/port" ] && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
ES=http://127.0.0.1:$(cat "$T/port")
ctl() { "$PY" tests/fakes/elasticsearch/esctl.py "$ES" "$@" >/dev/null; }

now_ns() { date +%s%N; }
ARGS="--url $ES --template etc/elasticsearch/socorro_crash.json --alias socorro_current --date 2026-01-05 --snapshot-repo backups --snapshot-type fs --snapshot-setting location=$T/b -q"

# fresh: N whole runs, the fake reset (outside the timing) before each.
fresh=0
i=0
while [ "$i" -lt "$N" ]; do
	ctl POST /_fake/reset
	start=$(now_ns)
	# shellcheck disable=SC2086
	"$SE" $ARGS >/dev/null
	fresh=$((fresh + $(now_ns) - start))
	i=$((i + 1))
done

# re-run: N runs against the set-up cluster; each changes nothing.
ctl DELETE /_fake/log
start=$(now_ns)
i=0
while [ "$i" -lt "$N" ]; do
	# shellcheck disable=SC2086
	"$SE" $ARGS >/dev/null
	i=$((i + 1))
done
rerun=$(($(now_ns) - start))
requests=$("$PY" tests/fakes/elasticsearch/esctl.py "$ES" GET /_fake/log |
	"$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))')

# The original's way: a Python process with the official client, per run.
orig=
if "$PY" -c 'import elasticsearch' 2>/dev/null; then
	cat >"$T/orig.py" <<'EOF'
import sys
from elasticsearch import Elasticsearch
es = Elasticsearch([sys.argv[1]])
es.cluster.health(wait_for_status="yellow", timeout="60s")
for name in ("socorro202602", "socorro202603"):
    if not es.indices.exists(index=name):
        es.indices.create(index=name, body={"settings": {"number_of_shards": 10}})
EOF
	start=$(now_ns)
	i=0
	while [ "$i" -lt "$N" ]; do
		"$PY" "$T/orig.py" "$ES"
		i=$((i + 1))
	done
	orig=$(($(now_ns) - start))
fi

ms() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.2f", t / n / 1000000 }'; }
echo "## setup-es"
echo
echo "Against tests/fakes/elasticsearch (playing 7.17) on loopback; wall time per run."
echo
echo "| benchmark | runs | ms per run |"
echo "|---|---|---|"
printf '| setup-es, fresh cluster: 5 changes (template, 2 indices, alias, repository) | %s | %s |\n' "$N" "$(ms "$fresh" "$N")"
printf '| setup-es, no-change re-run (%s requests, all reads) | %s | %s |\n' "$((requests / N))" "$N" "$(ms "$rerun" "$N")"
if [ -n "$orig" ]; then
	printf '| original style: python3-elasticsearch, health + 2 index checks (no template, alias, repository) | %s | %s |\n' "$N" "$(ms "$orig" "$N")"
fi
