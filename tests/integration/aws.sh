# tests/integration/aws.sh: the strict fake AWS (tests/fakes/aws) for a
# test file.  Source after lib.sh.
#
#   fake_aws_start [ARGS...]   start it on a free port; exports the AWS_*
#                              variables a command needs to talk to it
#   fake_ctl METHOD PATH [JSON] its control API (prints the JSON answer)
#   live_builders              ids of builder instances not terminated
#   aws_calls ACTION           how many calls of ACTION the fake answered
#
# The fake is stopped by its PID when the test file exits.

AWS_TEST_KEY=AKIDEXAMPLE
AWS_TEST_SECRET=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
FAKE_AWS_PID=

fake_aws_stop() {
	if [ -n "$FAKE_AWS_PID" ]; then
		kill "$FAKE_AWS_PID" 2>/dev/null
		wait "$FAKE_AWS_PID" 2>/dev/null
		FAKE_AWS_PID=
	fi
}
trap 'fake_aws_stop; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

fake_aws_start() {
	rm -f "$T/aws.port"
	/usr/bin/python3 tests/fakes/aws/fake_aws.py --port 0 --port-file "$T/aws.port" -q "$@" \
		>"$T/aws.out" 2>"$T/aws.log" &
	FAKE_AWS_PID=$!
	i=0
	while [ ! -s "$T/aws.port" ] && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$T/aws.port" ] || { cat "$T/aws.log"; echo "fake AWS did not start" >&2; exit 1; }
	FAKE_AWS_PORT=$(cat "$T/aws.port")
	FAKE_AWS=http://127.0.0.1:$FAKE_AWS_PORT
	# Only the fake: no real credentials, profiles or instance metadata.
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION AWS_ENDPOINT_URL_EC2
	HOME=$T/home
	mkdir -p "$HOME"
	AWS_ACCESS_KEY_ID=$AWS_TEST_KEY
	AWS_SECRET_ACCESS_KEY=$AWS_TEST_SECRET
	AWS_REGION=us-west-2
	AWS_ENDPOINT_URL=$FAKE_AWS
	AWS_EC2_METADATA_DISABLED=true
	export HOME AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL \
		AWS_EC2_METADATA_DISABLED
}

fake_ctl() {
	/usr/bin/python3 tests/fakes/aws/fake_aws.py ctl "$FAKE_AWS_PORT" "$@"
}

live_builders() {
	fake_ctl GET /_fake/state | /usr/bin/python3 -c '
import json, sys
for i in json.load(sys.stdin)["instances"]:
    if i["tags"].get("socorro-bootstrap:builder") and i["state"] != "terminated" \
            and i["state"] != "shutting-down":
        print(i["instance_id"])'
}

aws_calls() {
	fake_ctl GET "/_fake/calls?action=$1" | /usr/bin/python3 -c '
import json, sys
print(sum(1 for c in json.load(sys.stdin)["calls"] if c.get("status") == 200))'
}
