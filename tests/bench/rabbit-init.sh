#!/bin/sh
# tests/bench/rabbit-init.sh: rabbit-init's wall time against a real
# RabbitMQ 3.10 started here (as in tests/integration/rabbit-init.test:
# 127.0.0.1, free ports, its own HOME, data, logs and epmd), versus the
# seed's way, rabbitmqctl add_user + set_permissions.
#
#   full run     a new vhost, user (hash computed here), permissions and
#                Socorro's three durable queues
#   re-run       the same input again: health checks, reads, no change
#   rabbitmqctl  add_user + set_permissions -p / (no queues: 3.10's
#                rabbitmqctl cannot declare one); its re-run has to be
#                change_password + set_permissions, since add_user fails
#                on an existing user
#
# Prints a markdown section on stdout.  RABBIT_BENCH_N runs each (default 20).
set -eu
cd "$(dirname "$0")/../.."
N=${RABBIT_BENCH_N:-20}
NCTL=$(((N + 3) / 4))
RI=$PWD/bin/rabbit-init
SBIN=$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin 2>/dev/null | tail -n 1)
if [ ! -x "$SBIN/rabbitmq-server" ] || [ ! -x "$RI" ]; then
	echo "## rabbit-init"
	echo
	echo "Not measured: needs bin/rabbit-init and the rabbitmq-server package."
	exit 0
fi

. tests/helpers/rabbitmq.sh
RB=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench-rabbit.XXXXXX")
trap 'rabbit_stop; rm -rf "$RB"' EXIT
trap 'exit 1' HUP INT PIPE TERM
ADMIN_PW=adm-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$ADMIN_PW" >"$RB/admin.pw"
printf 'bench-pw\n' >"$RB/user.pw"
now_ms() { echo $(($(date +%s%N) / 1000000)); }
ri() {
	"$RI" --url "$RB_URL" --admin-user admin --admin-password-file "$RB/admin.pw" \
		--password-file "$RB/user.pw" -q "$@" >/dev/null
}
ctl() { rabbit_ctl "$@" >/dev/null; }

# Start-up: the broker's boot (tests/helpers/rabbitmq.sh waits for its
# management API) and the first rabbit-init.
t0=$(now_ms)
rabbit_start "$RB/node" "$ADMIN_PW" || { cat "$RB/node/server.out" >&2; exit 1; }
ri --wait 120s --vhost warmup --user warmup
startup=$(($(now_ms) - t0))

t0=$(now_ms)
i=0
while [ "$i" -lt "$N" ]; do ri --vhost "full$i" --user "full$i"; i=$((i + 1)); done
full=$(($(now_ms) - t0))

t0=$(now_ms)
i=0
while [ "$i" -lt "$N" ]; do ri --vhost full0 --user full0; i=$((i + 1)); done
rerun=$(($(now_ms) - t0))

t0=$(now_ms)
i=0
while [ "$i" -lt "$NCTL" ]; do
	ctl add_user "ctl$i" bench-pw
	ctl set_permissions -p / "ctl$i" '.*' '.*' '.*'
	i=$((i + 1))
done
ctlfull=$(($(now_ms) - t0))

t0=$(now_ms)
i=0
while [ "$i" -lt "$NCTL" ]; do
	ctl change_password ctl0 bench-pw
	ctl set_permissions -p / ctl0 '.*' '.*' '.*'
	i=$((i + 1))
done
ctlrerun=$(($(now_ms) - t0))

per() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.1f", t / n }'; }
echo "## rabbit-init"
echo
echo "Against RabbitMQ $(basename "$(dirname "$SBIN")" | sed 's/^rabbitmq_server-//') on 127.0.0.1 (broker up and first run done ${startup} ms after start)."
echo
echo "| benchmark | runs | total ms | per run ms |"
echo "|---|---|---|---|"
printf '| rabbit-init full run (vhost, user, permissions, 3 queues) | %s | %s | %s |\n' "$N" "$full" "$(per "$full" "$N")"
printf '| rabbit-init re-run, nothing to change | %s | %s | %s |\n' "$N" "$rerun" "$(per "$rerun" "$N")"
printf '| rabbitmqctl add_user + set_permissions (no queues) | %s | %s | %s |\n' "$NCTL" "$ctlfull" "$(per "$ctlfull" "$NCTL")"
printf '| rabbitmqctl change_password + set_permissions (its re-run) | %s | %s | %s |\n' "$NCTL" "$ctlrerun" "$(per "$ctlrerun" "$NCTL")"
echo
awk -v a="$ctlfull" -v na="$NCTL" -v b="$full" -v nb="$N" 'BEGIN { if (b > 0) printf "A full rabbit-init run takes %.1f%% of the time of the rabbitmqctl pair, and does more.\n", 100 * (b / nb) / (a / na) }'
