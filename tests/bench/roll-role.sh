#!/bin/sh
# tests/bench/roll-role.sh: roll-role's own overhead on a two-role roll
# (stage's master list from etc/socorro.ini: socorroweb behind its load
# balancer with two instances, processor with two and no load balancer),
# chained after identify-role as a deploy does, against the fake AWS:
#
#   instant health   the fake's delays set to 0 (launch, health, termination):
#                    the whole wall time is the tool's (and the fake's) own
#   default delays   the fake's default 0.2 s to running + 0.3 s to InService:
#                    the wall time beyond those delays is what polling costs
#
# and the API calls each roll made (the fake's call log), against the
# original's fixed sleeps: 60 s after pointing the group at the AMI, a 60 s
# sleep per health poll (at least one), and a 30 s drain, per role.
# --drain 0s here; the default 30 s drain is a deliberate wait, not overhead.
# Prints a markdown section; run by tests/bench/run (make bench).
set -eu
cd "$(dirname "$0")/../.."
N=${ROLL_BENCH_N:-5}
RR=$PWD/bin/roll-role
IR=$PWD/bin/identify-role
CFG=etc/socorro.ini
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
if [ ! -x "$RR" ] || [ ! -x "$IR" ]; then
	echo "## roll-role"
	echo
	echo "Not measured: needs bin/roll-role and bin/identify-role."
	exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench-roll.XXXXXX")
"$PY" tests/fakes/aws/fake_aws.py --port 0 --port-file "$T/port" -q \
	--set max_instances=100 >/dev/null 2>&1 &
FAKE_PID=$!
trap 'kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
i=0
while [ ! -s "$T/port" ] && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$T/port")
ctl() { "$PY" tests/fakes/aws/fake_aws.py ctl "$PORT" "$@"; }
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_EC2_METADATA_DISABLED=true HOME=$T
unset AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE AWS_SESSION_TOKEN 2>/dev/null || true

now_ns() { date +%s%N; }

# one_round DELAYS-JSON: reset and seed stage, then roll both roles as a
# deploy does; prints "wall-ns calls".
one_round() {
	ctl POST /_fake/reset >/dev/null
	ctl POST /_fake/config "$1" >/dev/null
	ctl POST /_fake/seed/socorro '{"ini": "etc/socorro.ini", "env": "stage", "min": 2}' >/dev/null
	ami=$(ctl POST /_fake/images '{"name": "socorro-bench"}' |
		"$PY" -c 'import json, sys; print(json.load(sys.stdin)["image_id"])')
	ctl DELETE /_fake/calls >/dev/null
	start=$(now_ns)
	"$IR" -c "$CFG" --list stage | while read -r r; do
		"$RR" -q -c "$CFG" "$r" --ami "$ami" --drain 0s >/dev/null || exit 1
	done
	end=$(now_ns)
	calls=$(ctl GET /_fake/calls | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["total"])')
	echo "$((end - start)) $calls"
}

# median of the first column of N rounds, in ms; calls of the last round.
measure() {
	: >"$T/rounds"
	k=0
	while [ "$k" -lt "$N" ]; do
		one_round "$1" >>"$T/rounds"
		k=$((k + 1))
	done
	sort -n "$T/rounds" | awk -v n="$N" '{ ns[NR] = $1; c = $2 } END { printf "%d %d\n", ns[int((n + 1) / 2)] / 1000000, c }'
}

instant=$(measure '{"run_delay": 0, "health_delay": 0, "terminate_delay": 0}')
default=$(measure '{"run_delay": 0.2, "health_delay": 0.3, "terminate_delay": 0.1}')
i_ms=${instant% *} calls=${instant#* }
d_ms=${default% *}
# The fake's own delays in a default round: per role, 0.2 s to running and
# (behind a load balancer) 0.3 s more to InService.
fake_ms=$((200 + 500))
orig_s=$((2 * (60 + 60 + 30)))

echo "## roll-role"
echo
echo "Two roles (stage's master list: socorroweb behind elb-stage-socorroweb, processor"
echo "without load balancer; two instances each) rolled to a new AMI against the fake AWS,"
echo "chained after \`identify-role --list stage\`, \`--drain 0s\`; median of $N rounds."
echo
echo "| | wall time | of which waiting on the fake | API calls |"
echo "|---|---|---|---|"
printf '| roll-role, instant health | %d ms | 0 ms | %d |\n' "$i_ms" "$calls"
printf '| roll-role, fake default delays | %d ms | %d ms | %d |\n' "$d_ms" "$fake_ms" "$calls"
printf '| original deploy script, instant health | at least %d s | %d s of fixed sleeps | one `aws` process per call |\n' "$orig_s" "$orig_s"
echo
echo "The original slept 60 s after pointing each group at the AMI, 60 s per health"
echo "poll and 30 s for draining: at least $orig_s s for two roles even when the"
echo "instances are healthy at once. roll-role polls from 250 ms, backing off to 15 s,"
echo "so a healthy roll costs its own overhead plus the time the instances really take;"
echo "its drain (30 s by default) is kept as a deliberate wait, for groups behind a load"
echo "balancer only."
