#!/bin/sh
# tests/bench/create-ami.sh: create-ami against the fake AWS.
#
#   --find       create-ami --find apphash=X versus
#                aws ec2 describe-images --filters Name=tag:apphash,Values=X
#                (Debian's awscli, same endpoint): whole-process wall time,
#                median of runs, and the ratio
#   a build      API calls per build, and the delay between the fake
#                marking the image available and create-ami exiting (the
#                original polled every 60 s)
#
# Prints a markdown section on stdout.  CREATE_AMI_BENCH_N runs (default 15).
set -eu
cd "$(dirname "$0")/../.."
N=${CREATE_AMI_BENCH_N:-15}
CA=$PWD/bin/create-ami
AWS=${AWS_CLI:-/usr/bin/aws}
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench-ami.XXXXXX")
PID=''
trap '[ -z "$PID" ] || { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }; rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM

python3 tests/fakes/aws/fake_aws.py --port 0 --port-file "$T/port" -q >/dev/null 2>"$T/log" &
PID=$!
i=0
while [ ! -s "$T/port" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat "$T/port")
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2 AWS_ENDPOINT_URL=http://127.0.0.1:$PORT
export AWS_EC2_METADATA_DISABLED=true HOME=$T
ctl() { python3 tests/fakes/aws/fake_aws.py ctl "$PORT" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# One build: its API calls, and how soon after "available" it is done.
printf '#!/bin/sh\necho provisioning\n' >"$T/ud.sh"
ctl DELETE /_fake/calls >/dev/null
"$CA" -q --source-ami ami-00000000000000001 --instance-type t3.small --user-data "$T/ud.sh" \
	--name 'bench-{time}' --tag apphash=benchhash >"$T/ami"
end=$(date +%s%N)
AMI=$(cat "$T/ami")
calls=$(ctl GET /_fake/calls | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["calls"]))')
avail=$(ctl GET "/_fake/images/$AMI" | python3 -c '
import json, sys, datetime
a = json.load(sys.stdin)["available_at"]
t = datetime.datetime.strptime(a.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
print(int(t.timestamp() * 1e9))')
lag=$(((end - avail) / 1000000))

# median MS...: the middle value
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ours='' theirs=''
i=0
while [ "$i" -lt "$N" ]; do
	t0=$(now_ms)
	"$CA" -q --find apphash=benchhash >/dev/null
	ours="$ours $(($(now_ms) - t0))"
	if [ -x "$AWS" ]; then
		t0=$(now_ms)
		"$AWS" --endpoint-url "$AWS_ENDPOINT_URL" ec2 describe-images --owners self --filters Name=tag:apphash,Values=benchhash \
			--query 'Images[0].ImageId' --output text >/dev/null
		theirs="$theirs $(($(now_ms) - t0))"
	fi
	i=$((i + 1))
done
m_ours=$(echo "$ours" | median)

echo "## create-ami"
echo
echo "Against the fake AWS on 127.0.0.1 (its own delays: pending 0.2 s, script 0.2 s, image 0.3 s)."
echo
echo "| benchmark | runs | median ms |"
echo "|---|---|---|"
printf '| create-ami --find apphash=X | %s | %s |\n' "$N" "$m_ours"
if [ -n "$theirs" ]; then
	m_theirs=$(echo "$theirs" | median)
	printf '| aws ec2 describe-images --filters Name=tag:apphash,Values=X | %s | %s |\n' "$N" "$m_theirs"
	echo
	awk -v a="$m_theirs" -v b="$m_ours" 'BEGIN { if (b > 0) printf "create-ami --find is %.1fx as fast as the aws CLI.\n", a / b }'
fi
echo
echo "A whole build made $calls API calls, and exited $lag ms after the fake marked the image"
echo "available (the original polled every 60 s)."
