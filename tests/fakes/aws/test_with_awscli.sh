#!/bin/sh
# tests/fakes/aws/test_with_awscli.sh: check the fake EC2/IMDS, Auto Scaling
# and classic ELB server against a real client, Debian's `aws` CLI (package
# awscli), so the fake is known to speak the real protocol.  Run from the top of the tree:
#
#     sh tests/fakes/aws/test_with_awscli.sh
#
# Prints "ok - ..." / "not ok - ..." lines (tests/run counts them) and exits
# non-zero if any check failed.  Needs: awscli, curl, python3.
# Environment: AWS_CLI (default /usr/bin/aws, Debian's, rather than any other
# `aws` earlier in PATH), PYTHON (default python3), FAKE_AWS_DIR (where
# fake_aws.py is; default: this script's directory, or tests/fakes/aws).

set -u
here=$(cd "$(dirname "$0")" && pwd)
FAKE_DIR=${FAKE_AWS_DIR:-$here}
[ -f "$FAKE_DIR/fake_aws.py" ] || FAKE_DIR=$PWD/tests/fakes/aws
PY=${PYTHON:-python3}
AWS_CLI=${AWS_CLI:-/usr/bin/aws}
[ -x "$AWS_CLI" ] || AWS_CLI=$(command -v aws || echo aws)

T=$(mktemp -d "${TMPDIR:-/tmp}/fake-aws-cli.XXXXXX")
fake_pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "$fake_pid" ]; then
		kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
failures=0

ok() { printf 'ok - %s\n' "$1"; }
not_ok() {
	printf 'not ok - %s\n' "$1"
	failures=$((failures + 1))
	shift
	for f in "$@"; do [ -f "$f" ] && sed 's/^/#   /' "$f" | head -40; done
	return 0
}

# --- the fake --------------------------------------------------------------
KEY=AKIAFAKECONFORMANCE1
SECRET=conformance/secret+key/0123456789abcdefghij
TKEY=ASIAFAKECONFORMANCE2
TSECRET=temporary-secret
TTOKEN=session-token-for-the-temporary-key
"$PY" "$FAKE_DIR/fake_aws.py" --port 0 --state-dir "$T/fake" \
	--credentials "$KEY:$SECRET" --credentials "$TKEY:$TSECRET:$TTOKEN" \
	>"$T/fake.out" 2>"$T/fake.err" &
fake_pid=$!
i=0
while [ ! -s "$T/fake/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat "$T/fake/port" 2>/dev/null)
if [ -z "$PORT" ]; then
	not_ok "fake_aws starts and reports its port" "$T/fake.err"
	exit 1
fi
if head -1 "$T/fake.out" | grep -qx "PORT $PORT"; then
	ok "fake_aws starts; first stdout line is PORT $PORT"
else
	not_ok "fake_aws prints PORT first" "$T/fake.out"
fi
URL=http://127.0.0.1:$PORT

# --- helpers ---------------------------------------------------------------
# The CLI sees only what we give it: no config files, no real metadata.
HOME=$T/home
mkdir -p "$HOME"
export HOME
export AWS_CONFIG_FILE="$HOME/config" AWS_SHARED_CREDENTIALS_FILE="$HOME/creds"
export AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true
export AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=3
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL \
	AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE 2>/dev/null
export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET

# aws_ OUT ARGS...: run the CLI against the fake, stdout to $T/OUT.json,
# stderr to $T/OUT.err; $rc is its exit status.
aws_() {
	o=$1
	shift
	"$AWS_CLI" --endpoint-url "$URL" --region us-west-2 --output json \
		"$@" >"$T/$o.json" 2>"$T/$o.err"
	rc=$?
}
# ctl METHOD PATH [JSON]: the fake's control API; body in $T/ctl.json
ctl() { "$PY" "$FAKE_DIR/fake_aws.py" ctl "$PORT" "$@" >"$T/ctl.json"; }
# py FILE EXPR: print Python EXPR, with d = FILE's JSON (None if empty)
py() {
	"$PY" -c 'import json, sys
text = open(sys.argv[1]).read()
d = json.loads(text) if text.strip() else None
r = eval(sys.argv[2])
print(json.dumps(r) if isinstance(r, (dict, list)) else r)' "$1" "$2"
}
# check DESC OUT EXPR: ok if the CLI succeeded and EXPR (d = its JSON) holds
check() {
	if [ "$rc" -eq 0 ] && [ "$(py "$T/$2.json" "bool($3)" 2>"$T/py.err")" = True ]; then
		ok "$1"
	else
		printf '#   exit %s; expected: %s\n' "$rc" "$3"
		not_ok "$1" "$T/$2.json" "$T/$2.err" "$T/py.err"
	fi
}
# refused DESC OUT CODE: ok if the CLI failed with error code CODE
refused() {
	if [ "$rc" -ne 0 ] && grep -q "($3)" "$T/$2.err"; then
		ok "$1"
	else
		printf '#   exit %s; expected error %s\n' "$rc" "$3"
		not_ok "$1" "$T/$2.json" "$T/$2.err"
	fi
}
# calls ACTION: how many ACTION calls the fake has logged
calls() { ctl GET "/_fake/calls?action=$1" && py "$T/ctl.json" 'len(d["calls"])'; }
# pass_if DESC CMD...: ok if CMD succeeds
pass_if() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "$T/ctl.json"; fi
}

# --- RunInstances, DescribeInstances, GetConsoleOutput ----------------------
cat >"$T/provision.sh" <<'EOF'
#!/bin/sh
# The create-ami wrapper convention: run the script, print the status line,
# power off.  The fake simulates this from the text.
(
echo "hello from provisioning"
echo installing socorro
# fake-aws: console=rpm -i socorro: done
) >/dev/console 2>&1
rc=$?
echo "SOCORRO-BUILD-STATUS: $rc" >/dev/console
poweroff
EOF
aws_ run ec2 run-instances --image-id ami-00000000000000001 \
	--instance-type t3.micro --count 1 --key-name builder-key \
	--user-data "file://$T/provision.sh" \
	--instance-initiated-shutdown-behavior stop \
	--subnet-id subnet-0123456789abcdef0 \
	--security-group-ids sg-0123456789abcdef0 sg-00000000000000002 \
	--iam-instance-profile Name=builder-profile \
	--tag-specifications 'ResourceType=instance,Tags=[{Key=Name,Value=socorro-builder},{Key=role,Value=builder}]'
check "run-instances: one pending instance with type, key, subnet" run \
	'len(d["Instances"]) == 1 and d["Instances"][0]["State"] == {"Code": 0, "Name": "pending"} and d["Instances"][0]["InstanceType"] == "t3.micro" and d["Instances"][0]["KeyName"] == "builder-key" and d["Instances"][0]["SubnetId"] == "subnet-0123456789abcdef0"'
check "run-instances: tags, security groups, instance profile" run \
	'{t["Key"]: t["Value"] for t in d["Instances"][0]["Tags"]} == {"Name": "socorro-builder", "role": "builder"} and [g["GroupId"] for g in d["Instances"][0]["SecurityGroups"]] == ["sg-0123456789abcdef0", "sg-00000000000000002"] and d["Instances"][0]["IamInstanceProfile"]["Arn"].endswith(":instance-profile/builder-profile")'
B1=$(py "$T/run.json" 'd["Instances"][0]["InstanceId"]')
ctl GET "/_fake/instances/$B1"
if [ "$(py "$T/ctl.json" 'd["user_data"].count("SOCORRO-BUILD-STATUS")')" = 1 ]; then
	ok "run-instances: the fake received the user-data, base64-decoded"
else
	not_ok "run-instances: user-data received" "$T/ctl.json"
fi

sleep 1
aws_ wait ec2 wait instance-stopped --instance-ids "$B1"
check "wait instance-stopped: the builder powered itself off" wait 'True'
aws_ di ec2 describe-instances --instance-ids "$B1"
check "describe-instances: stopped, with InstanceInitiatedShutdown reason" di \
	'd["Reservations"][0]["Instances"][0]["State"]["Name"] == "stopped" and d["Reservations"][0]["Instances"][0]["StateReason"]["Code"] == "Client.InstanceInitiatedShutdown"'
aws_ con ec2 get-console-output --instance-id "$B1"
check "get-console-output: script output and SOCORRO-BUILD-STATUS: 0" con \
	'd["InstanceId"] == "'"$B1"'" and "hello from provisioning" in d["Output"] and "installing socorro" in d["Output"] and "rpm -i socorro: done" in d["Output"] and "SOCORRO-BUILD-STATUS: 0" in d["Output"].splitlines()[-3]'

# a failing build and a hanging one ($rc is for the fake to read, unexpanded)
# shellcheck disable=SC2016
printf '%s\n' '#!/bin/sh' '# fake-aws: outcome=fail exit=3' 'echo step one' \
	'echo "SOCORRO-BUILD-STATUS: $rc"' poweroff >"$T/fail.sh"
aws_ runf ec2 run-instances --image-id ami-00000000000000001 --count 1 \
	--user-data "file://$T/fail.sh" --instance-initiated-shutdown-behavior terminate \
	--tag-specifications 'ResourceType=instance,Tags=[{Key=role,Value=failing}]'
F1=$(py "$T/runf.json" 'd["Instances"][0]["InstanceId"]')
# shellcheck disable=SC2016
printf '%s\n' '#!/bin/sh' '# fake-aws: outcome=hang' 'echo stuck' \
	'echo "SOCORRO-BUILD-STATUS: $rc"' poweroff >"$T/hang.sh"
aws_ runh ec2 run-instances --image-id ami-00000000000000001 --count 1 \
	--user-data "file://$T/hang.sh" \
	--tag-specifications 'ResourceType=instance,Tags=[{Key=role,Value=hanging}]'
H1=$(py "$T/runh.json" 'd["Instances"][0]["InstanceId"]')
sleep 1
aws_ conf ec2 get-console-output --instance-id "$F1"
check "failing build: console says SOCORRO-BUILD-STATUS: 3" conf \
	'"step one" in d["Output"] and "SOCORRO-BUILD-STATUS: 3" in d["Output"]'
aws_ dif ec2 describe-instances --instance-ids "$F1"
check "failing build with shutdown behaviour terminate: terminated" dif \
	'd["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated"'
aws_ dih ec2 describe-instances --filters Name=tag:role,Values=hanging \
	Name=instance-state-name,Values=running
aws_ conh ec2 get-console-output --instance-id "$H1"
check "hanging build: still running, no status line" conh \
	'"stuck" in d["Output"] and "SOCORRO-BUILD-STATUS" not in d["Output"] and '"$(py "$T/dih.json" 'len(d["Reservations"])')"' == 1'

# --- filters and pagination ---------------------------------------------------
aws_ run6 ec2 run-instances --image-id ami-00000000000000001 --count 6 \
	--instance-type t3.nano \
	--tag-specifications 'ResourceType=instance,Tags=[{Key=batch,Value=six}]'
check "run-instances --count 6: one reservation of six" run6 \
	'len(d["Instances"]) == 6 and len({i["InstanceId"] for i in d["Instances"]}) == 6 and [i["AmiLaunchIndex"] for i in d["Instances"]] == list(range(6))'
aws_ ftag ec2 describe-instances --filters 'Name=tag:batch,Values=six'
check "describe-instances Filter tag:KEY" ftag \
	'sum(len(r["Instances"]) for r in d["Reservations"]) == 6'
aws_ fkey ec2 describe-instances --filters Name=tag-key,Values=role \
	--query 'Reservations[].Instances[].InstanceId'
check "describe-instances Filter tag-key" fkey \
	'sorted(d) == sorted(["'"$B1"'", "'"$F1"'", "'"$H1"'"])'
aws_ fwild ec2 describe-instances --filters 'Name=tag:Name,Values=socorro-*' \
	'Name=instance-state-name,Values=stopped,running' \
	--query 'Reservations[].Instances[].InstanceId'
check "describe-instances Filter with wildcard and two values" fwild \
	'd == ["'"$B1"'"]'
aws_ fnone ec2 describe-instances --filters 'Name=instance-state-name,Values=stopping'
check "describe-instances Filter matching nothing: empty list" fnone \
	'd["Reservations"] == []'
aws_ fbad ec2 describe-instances --filters 'Name=no-such-filter,Values=x'
refused "describe-instances with an unknown filter: InvalidParameterValue" \
	fbad InvalidParameterValue
before=$(calls DescribeInstances)
aws_ pages ec2 describe-instances --page-size 5 \
	--query 'Reservations[].Instances[].InstanceId'
after=$(calls DescribeInstances)
check "describe-instances --page-size 5: 9 instances over 2 pages (MaxResults/NextToken)" \
	pages 'len(d) == 9 and len(set(d)) == 9 and '"$((after - before))"' == 2'
aws_ nf ec2 describe-instances --instance-ids i-0000000000000dead
refused "describe-instances unknown id: InvalidInstanceID.NotFound" nf \
	InvalidInstanceID.NotFound

# --- Stop, Terminate ------------------------------------------------------------
aws_ stop ec2 stop-instances --instance-ids "$H1"
check "stop-instances: running -> stopping" stop \
	'd["StoppingInstances"][0]["PreviousState"]["Name"] == "running" and d["StoppingInstances"][0]["CurrentState"] == {"Code": 64, "Name": "stopping"}'
aws_ stopb ec2 stop-instances --instance-ids "$F1"
refused "stop-instances on a terminated instance: IncorrectInstanceState" \
	stopb IncorrectInstanceState

# --- CreateImage, DescribeImages, snapshots, tags ----------------------------------
ctl POST /_fake/config '{"image_delay": 600}' # pending until we say so
aws_ ci ec2 create-image --instance-id "$B1" --name socorro-abc123-202401011200 \
	--description "socorro build abc123" \
	--tag-specifications 'ResourceType=image,Tags=[{Key=apphash,Value=abc123}]' \
	'ResourceType=snapshot,Tags=[{Key=apphash,Value=abc123},{Key=kind,Value=root}]'
check "create-image: returns an ami id" ci 'd["ImageId"].startswith("ami-")'
AMI=$(py "$T/ci.json" 'd["ImageId"]')
aws_ dip ec2 describe-images --image-ids "$AMI"
check "describe-images: new image pending, owned by self, named" dip \
	'd["Images"][0]["State"] == "pending" and d["Images"][0]["Name"] == "socorro-abc123-202401011200" and d["Images"][0]["OwnerId"] == "123456789012"'
ctl POST "/_fake/images/$AMI" '{"outcome": "available", "now": true}'
ctl POST /_fake/config '{"image_delay": 0.3}'
aws_ wimg ec2 wait image-available --image-ids "$AMI"
check "wait image-available" wimg 'True'
ctl GET "/_fake/images/$AMI"
if [ "$(py "$T/ctl.json" 'd["state"] == "available" and d["available_at"] > d["creation_date"]')" = True ]; then
	ok "control API: the image's available_at time is recorded"
else
	not_ok "image available_at recorded" "$T/ctl.json"
fi
aws_ dit ec2 describe-images --owners self --filters Name=tag:apphash,Values=abc123 \
	Name=state,Values=available
check "describe-images --owners self, Filter tag:apphash and state" dit \
	'[i["ImageId"] for i in d["Images"]] == ["'"$AMI"'"] and d["Images"][0]["Tags"] == [{"Key": "apphash", "Value": "abc123"}] and d["Images"][0]["Description"] == "socorro build abc123"'
aws_ din ec2 describe-images --filters 'Name=name,Values=socorro-*-2024*'
check "describe-images Filter name with wildcards" din \
	'[i["ImageId"] for i in d["Images"]] == ["'"$AMI"'"]'
aws_ dia ec2 describe-images --owners amazon
check "describe-images --owners amazon: only the seeded base image" dia \
	'[i["ImageId"] for i in d["Images"]] == ["ami-00000000000000001"]'
SNAP=$(py "$T/dit.json" 'd["Images"][0]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]')
aws_ ds ec2 describe-snapshots --snapshot-ids "$SNAP"
check "describe-snapshots: the image's snapshot got the snapshot tags" ds \
	'sorted((t["Key"], t["Value"]) for t in d["Snapshots"][0]["Tags"]) == [("apphash", "abc123"), ("kind", "root")] and d["Snapshots"][0]["State"] == "completed"'
aws_ dup ec2 create-image --instance-id "$B1" --name socorro-abc123-202401011200
refused "create-image with a name in use: InvalidAMIName.Duplicate" dup \
	InvalidAMIName.Duplicate

aws_ ct ec2 create-tags --resources "$AMI" "$B1" --tags Key=Name,Value=socorro-1.2.3 \
	Key=env,Value=stage
check "create-tags on an image and an instance" ct 'True'
aws_ dt ec2 describe-tags --filters "Name=resource-id,Values=$AMI" Name=key,Values=Name,env
check "describe-tags Filter resource-id and key" dt \
	'sorted((t["ResourceId"], t["ResourceType"], t["Key"], t["Value"]) for t in d["Tags"]) == [("'"$AMI"'", "image", "Name", "socorro-1.2.3"), ("'"$AMI"'", "image", "env", "stage")]'
aws_ dtt ec2 describe-tags --filters Name=resource-type,Values=snapshot
check "describe-tags Filter resource-type=snapshot" dtt \
	'sorted(t["Key"] for t in d["Tags"]) == ["apphash", "kind"]'
aws_ ctbad ec2 create-tags --resources ami-0000000000000beef --tags Key=a,Value=b
refused "create-tags on an unknown image: InvalidAMIID.NotFound" ctbad \
	InvalidAMIID.NotFound
aws_ dtg ec2 delete-tags --resources "$B1" --tags Key=env
aws_ dtg2 ec2 describe-tags --filters "Name=resource-id,Values=$B1"
check "delete-tags removes one tag" dtg2 \
	'sorted(t["Key"] for t in d["Tags"]) == ["Name", "role"]'

aws_ dereg ec2 deregister-image --image-id "$AMI"
check "deregister-image" dereg 'True'
aws_ gone ec2 describe-images --image-ids "$AMI"
refused "describe-images after deregister: InvalidAMIID.NotFound" gone \
	InvalidAMIID.NotFound

# --- authentication -------------------------------------------------------------
AWS_SECRET_ACCESS_KEY=wrong-secret aws_ badsig ec2 describe-instances
refused "a wrong secret key is refused with SignatureDoesNotMatch" badsig \
	SignatureDoesNotMatch
AWS_ACCESS_KEY_ID=AKIAUNKNOWNKEY000000 aws_ badkey ec2 describe-instances
refused "an unknown access key is refused with AuthFailure" badkey AuthFailure
"$AWS_CLI" --endpoint-url "$URL" --region eu-west-1 --output json \
	ec2 describe-instances >"$T/badreg.json" 2>"$T/badreg.err"
rc=$?
refused "a credential scoped to another region is refused" badreg \
	SignatureDoesNotMatch
AWS_ACCESS_KEY_ID=$TKEY AWS_SECRET_ACCESS_KEY=$TSECRET AWS_SESSION_TOKEN=$TTOKEN \
	aws_ tok ec2 describe-images --owners self
check "temporary key with its session token (X-Amz-Security-Token) accepted" tok 'True'
AWS_ACCESS_KEY_ID=$TKEY AWS_SECRET_ACCESS_KEY=$TSECRET aws_ notok ec2 describe-images
refused "temporary key without its session token: AuthFailure" notok AuthFailure
ctl POST /_fake/config '{"clock_skew": 900}'
aws_ skew ec2 describe-images --owners self
ctl POST /_fake/config '{"clock_skew": 0}'
refused "a request 15 minutes off the fake's clock: RequestExpired" skew \
	RequestExpired
curl -s -o "$T/anon.json" -w '%{http_code}' -d 'Action=DescribeInstances&Version=2016-11-15' \
	"$URL/" >"$T/anon.code" 2>/dev/null
if [ "$(cat "$T/anon.code")" = 401 ] && grep -q '<Code>MissingAuthenticationToken</Code>' "$T/anon.json"; then
	ok "an unsigned request: 401 MissingAuthenticationToken"
else
	not_ok "unsigned request refused" "$T/anon.code" "$T/anon.json"
fi

# --- fault injection as the CLI sees it ------------------------------------------
ctl DELETE /_fake/calls
ctl POST /_fake/faults '{"kind": "throttle", "action": "DescribeImages", "count": 1}'
aws_ thr ec2 describe-images --owners self
check "throttled once (RequestLimitExceeded 503): the CLI retries and succeeds" thr \
	"$(calls DescribeImages) == 2"
ctl POST /_fake/faults '{"kind": "reset", "action": "DescribeTags", "count": 1}'
aws_ rst ec2 describe-tags
check "connection reset once: the CLI retries and succeeds" rst \
	"$(calls DescribeTags) == 2"
ctl POST /_fake/faults '{"kind": "error", "status": 503, "action": "DescribeSnapshots", "count": -1}'
aws_ unav ec2 describe-snapshots
refused "503 Unavailable on every call: the CLI gives up after 3 attempts" unav \
	Unavailable
pass_if "the fake logged exactly 3 attempts" [ "$(calls DescribeSnapshots)" = 3 ]
ctl DELETE /_fake/faults

# --- Terminate everything; nothing left alive ---------------------------------------
ctl GET /_fake/state
ALL=$(py "$T/ctl.json" '" ".join(d["live_instances"])')
# shellcheck disable=SC2086 # word splitting wanted: one argument per id
aws_ term ec2 terminate-instances --instance-ids $ALL
check "terminate-instances: every live instance shutting down" term \
	'len(d["TerminatingInstances"]) == '"$(echo "$ALL" | wc -w)"' and all(i["CurrentState"]["Name"] == "shutting-down" for i in d["TerminatingInstances"])'
sleep 0.5
ctl GET /_fake/state
if [ "$(py "$T/ctl.json" 'd["live_instances"]')" = "[]" ]; then
	ok "GET /_fake/state: no live instance remains"
else
	not_ok "no live instance remains" "$T/ctl.json"
fi

# --- IMDSv2 ---------------------------------------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/latest/meta-data/instance-id")
pass_if "IMDS: GET without a token is 401 (got $code)" [ "$code" = 401 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$URL/latest/api/token")
pass_if "IMDS: PUT token without a TTL header is 400 (got $code)" [ "$code" = 400 ]
TOK=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$URL/latest/api/token")
md() { curl -s -f -H "X-aws-ec2-metadata-token: $TOK" "$URL/latest/meta-data/$1"; }
ctl POST /_fake/imds '{"instance_id": "'"$B1"'"}'
pass_if "IMDS: instance-id" [ "$(md instance-id)" = "$B1" ]
pass_if "IMDS: placement/region" [ "$(md placement/region)" = us-west-2 ]
pass_if "IMDS: tags/instance lists the instance's live tag keys" \
	[ "$(md tags/instance | sort | tr '\n' ' ')" = "Name role " ]
pass_if "IMDS: tags/instance/Name" [ "$(md tags/instance/Name)" = socorro-1.2.3 ]
pass_if "IMDS: iam/security-credentials/ names the instance profile's role" \
	[ "$(md iam/security-credentials/)" = builder-profile ]
md iam/security-credentials/builder-profile >"$T/imdscreds.json"
pass_if "IMDS: the role's credentials JSON" [ "$(py "$T/imdscreds.json" \
	'sorted(d) == sorted(["Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey", "Token", "Expiration"]) and d["Code"] == "Success" and d["AccessKeyId"].startswith("ASIA")')" = True ]

# the CLI itself fetching credentials from the fake IMDS, then calling EC2
ctl DELETE /_fake/calls
(
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
	AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT=$URL/ \
		aws_ imdscli ec2 describe-images --owners self
	exit $rc
)
rc=$?
ctl GET /_fake/calls
check "the CLI takes role credentials from the fake IMDSv2 and EC2 accepts them" \
	imdscli '"'"$(py "$T/ctl.json" '[c["access_key"] for c in d["calls"] if c["action"] == "DescribeImages"][-1]')"'".startswith("ASIA") and '"$(py "$T/ctl.json" 'd["counts"].get("/latest/api/token", 0) >= 1')"

# --- EC2 launch templates ----------------------------------------------------------
ctl DELETE /_fake/calls
ctl POST /_fake/images '{"name": "socorro-next", "image_id": "ami-0000000000000beef"}'
NEXT=ami-0000000000000beef
aws_ lt ec2 create-launch-template --launch-template-name cli-web-lt \
	--version-description first \
	--launch-template-data '{"ImageId": "ami-00000000000000001", "InstanceType": "t3.small", "KeyName": "web", "SecurityGroupIds": ["sg-00000000000000001"], "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": "web"}]}]}'
check "create-launch-template: version 1 is default and latest" lt \
	'd["LaunchTemplate"]["LaunchTemplateId"].startswith("lt-") and d["LaunchTemplate"]["DefaultVersionNumber"] == 1 and d["LaunchTemplate"]["LatestVersionNumber"] == 1'
LT=$(py "$T/lt.json" 'd["LaunchTemplate"]["LaunchTemplateId"]')
aws_ ltd ec2 describe-launch-templates --launch-template-names cli-web-lt
check "describe-launch-templates by name" ltd \
	'[t["LaunchTemplateId"] for t in d["LaunchTemplates"]] == ["'"$LT"'"]'
aws_ ltv ec2 create-launch-template-version --launch-template-id "$LT" \
	--source-version 1 --version-description "new AMI" \
	--launch-template-data "{\"ImageId\": \"$NEXT\"}"
check "create-launch-template-version from version 1: version 2, other data kept" ltv \
	'd["LaunchTemplateVersion"]["VersionNumber"] == 2 and d["LaunchTemplateVersion"]["LaunchTemplateData"]["ImageId"] == "'"$NEXT"'" and d["LaunchTemplateVersion"]["LaunchTemplateData"]["KeyName"] == "web" and d["LaunchTemplateVersion"]["LaunchTemplateData"]["SecurityGroupIds"] == ["sg-00000000000000001"] and d["LaunchTemplateVersion"]["LaunchTemplateData"]["TagSpecifications"][0]["Tags"] == [{"Key": "role", "Value": "web"}]'
aws_ ltvd ec2 describe-launch-template-versions --launch-template-id "$LT" \
	--versions '$Latest' '$Default'
check "describe-launch-template-versions \$Latest \$Default" ltvd \
	'[(v["VersionNumber"], v["DefaultVersion"], v["LaunchTemplateData"]["ImageId"]) for v in d["LaunchTemplateVersions"]] == [(2, False, "'"$NEXT"'"), (1, True, "ami-00000000000000001")]'
aws_ ltvbad ec2 describe-launch-template-versions --launch-template-id "$LT" --versions 9
refused "describe-launch-template-versions of a missing version" ltvbad \
	InvalidLaunchTemplateId.VersionNotFound
aws_ ltv3 ec2 create-launch-template-version --launch-template-id "$LT" \
	--source-version 2 --launch-template-data '{"InstanceType": "t3.medium"}'
aws_ ltdel ec2 delete-launch-template-versions --launch-template-id "$LT" --versions 3 1
check "delete-launch-template-versions: 3 deleted, the default (1) refused" ltdel \
	'[v["VersionNumber"] for v in d["SuccessfullyDeletedLaunchTemplateVersions"]] == [3] and [(v["VersionNumber"], v["ResponseError"]["Code"]) for v in d["UnsuccessfullyDeletedLaunchTemplateVersions"]] == [(1, "launchTemplateVersionIsDefaultVersion")]'

# --- Auto Scaling ---------------------------------------------------------------------
ctl POST /_fake/config '{"run_delay": 0.1, "health_delay": 0.2}'
ctl POST /_fake/groups '{"name": "cli-web", "min": 1, "desired": 2, "max": 4, "launch_name": "cli-web-lt", "launch_template_version": "1", "load_balancers": ["cli-elb"]}'
aws_ dg autoscaling describe-auto-scaling-groups --auto-scaling-group-names cli-web nonexistent
check "describe-auto-scaling-groups: the seeded group, its template, ELB, two instances" dg \
	'len(d["AutoScalingGroups"]) == 1 and d["AutoScalingGroups"][0]["LaunchTemplate"] == {"LaunchTemplateId": "'"$LT"'", "LaunchTemplateName": "cli-web-lt", "Version": "1"} and d["AutoScalingGroups"][0]["LoadBalancerNames"] == ["cli-elb"] and [(i["LifecycleState"], i["HealthStatus"]) for i in d["AutoScalingGroups"][0]["Instances"]] == [("InService", "Healthy")] * 2'
printf '#!/bin/sh\necho web\n' >"$T/web.sh"
aws_ clc autoscaling create-launch-configuration --launch-configuration-name cli-lc \
	--image-id "$NEXT" --instance-type t3.small --key-name web \
	--security-groups sg-00000000000000001 --user-data "file://$T/web.sh" \
	--block-device-mappings '[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3"}}]' \
	--instance-monitoring Enabled=false --metadata-options HttpTokens=required
check "create-launch-configuration" clc 'd is None'
aws_ dlc autoscaling describe-launch-configurations --launch-configuration-names cli-lc
check "describe-launch-configurations: image, user data (base64), devices, monitoring" dlc \
	'len(d["LaunchConfigurations"]) == 1 and d["LaunchConfigurations"][0]["ImageId"] == "'"$NEXT"'" and __import__("base64").b64decode(d["LaunchConfigurations"][0]["UserData"]) == b"#!/bin/sh\necho web\n" and d["LaunchConfigurations"][0]["BlockDeviceMappings"] == [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3"}}] and d["LaunchConfigurations"][0]["InstanceMonitoring"] == {"Enabled": False} and d["LaunchConfigurations"][0]["MetadataOptions"]["HttpTokens"] == "required"'
aws_ clc2 autoscaling create-launch-configuration --launch-configuration-name cli-lc \
	--image-id "$NEXT" --instance-type t3.small
refused "create-launch-configuration with a name in use: AlreadyExists" clc2 AlreadyExists
aws_ upd autoscaling update-auto-scaling-group --auto-scaling-group-name cli-web \
	--launch-configuration-name cli-lc --min-size 2 --max-size 6 --desired-capacity 4
check "update-auto-scaling-group: launch configuration and sizes" upd 'd is None'
aws_ updbad autoscaling update-auto-scaling-group --auto-scaling-group-name cli-web \
	--desired-capacity 9
refused "update-auto-scaling-group beyond MaxSize: ValidationError" updbad ValidationError
sleep 0.5 # the group launches at once; the instances run after run_delay
aws_ dg2 autoscaling describe-auto-scaling-groups --auto-scaling-group-names cli-web
check "the group launched two instances of the new configuration" dg2 \
	'sorted((i.get("LaunchConfigurationName", ""), i["LifecycleState"]) for i in d["AutoScalingGroups"][0]["Instances"]) == [("", "InService")] * 2 + [("cli-lc", "InService")] * 2 and (d["AutoScalingGroups"][0]["MinSize"], d["AutoScalingGroups"][0]["DesiredCapacity"]) == (2, 4)'
NEWI=$(py "$T/dg2.json" '[i["InstanceId"] for i in d["AutoScalingGroups"][0]["Instances"] if i.get("LaunchConfigurationName") == "cli-lc"][0]')
aws_ sdc autoscaling set-desired-capacity --auto-scaling-group-name cli-web --desired-capacity 3
check "set-desired-capacity" sdc 'd is None'
aws_ dg3 autoscaling describe-auto-scaling-groups --auto-scaling-group-names cli-web
check "scaling in takes an instance of the older launch template first" dg3 \
	'sorted(i.get("LaunchConfigurationName", "lt") for i in d["AutoScalingGroups"][0]["Instances"] if i["LifecycleState"] == "InService") == ["cli-lc", "cli-lc", "lt"]'
OLDI=$(py "$T/dg3.json" '[i["InstanceId"] for i in d["AutoScalingGroups"][0]["Instances"] if "LaunchTemplate" in i and i["LifecycleState"] == "InService"][0]')
aws_ term1 autoscaling terminate-instance-in-auto-scaling-group --instance-id "$OLDI" \
	--should-decrement-desired-capacity
check "terminate-instance-in-auto-scaling-group: an activity in progress" term1 \
	'd["Activity"]["StatusCode"] == "InProgress" and d["Activity"]["AutoScalingGroupName"] == "cli-web" and "shrinking the capacity from 3 to 2" in d["Activity"]["Cause"]'
aws_ term2 autoscaling terminate-instance-in-auto-scaling-group --instance-id "$NEWI" \
	--should-decrement-desired-capacity
refused "terminating below MinSize with decrement: ValidationError" term2 ValidationError
aws_ act autoscaling describe-scaling-activities --auto-scaling-group-name cli-web --max-items 50
check "describe-scaling-activities: launches and terminations, newest first" act \
	'd["Activities"][0]["Description"] == "Terminating EC2 instance: '"$OLDI"'" and any(a["Description"].startswith("Launching a new EC2 instance") for a in d["Activities"])'
aws_ dlcb autoscaling delete-launch-configuration --launch-configuration-name cli-lc
refused "delete-launch-configuration while a group uses it: ResourceInUse" dlcb ResourceInUse
aws_ upd2 autoscaling update-auto-scaling-group --auto-scaling-group-name cli-web \
	--launch-template "LaunchTemplateId=$LT,Version=\$Latest"
aws_ dlc2 autoscaling delete-launch-configuration --launch-configuration-name cli-lc
check "update-auto-scaling-group --launch-template, then delete-launch-configuration" dlc2 'd is None'

# --- classic ELB ----------------------------------------------------------------------
aws_ dlb elb describe-load-balancers --load-balancer-names cli-elb
check "describe-load-balancers: the group's instances registered" dlb \
	'd["LoadBalancerDescriptions"][0]["LoadBalancerName"] == "cli-elb" and len(d["LoadBalancerDescriptions"][0]["Instances"]) >= 2 and d["LoadBalancerDescriptions"][0]["HealthCheck"]["Target"] == "HTTP:80/"'
aws_ dlbx elb describe-load-balancers --load-balancer-names nope
refused "describe-load-balancers of an unknown name: LoadBalancerNotFound" dlbx LoadBalancerNotFound
aws_ wis elb wait instance-in-service --load-balancer-name cli-elb --instances "$NEWI"
check "elb wait instance-in-service (a botocore waiter)" wis 'True'
aws_ dih elb describe-instance-health --load-balancer-name cli-elb --instances "$NEWI"
check "describe-instance-health: InService" dih \
	'd["InstanceStates"] == [{"InstanceId": "'"$NEWI"'", "State": "InService", "ReasonCode": "N/A", "Description": "N/A"}]'
aws_ dereg elb deregister-instances-from-load-balancer --load-balancer-name cli-elb --instances "$NEWI"
check "deregister-instances-from-load-balancer: no longer listed" dereg \
	'"'"$NEWI"'" not in [i["InstanceId"] for i in d["Instances"]]'
ctl POST /_fake/config '{"health_delay": 30}' # time to see the registration
aws_ reg elb register-instances-with-load-balancer --load-balancer-name cli-elb --instances "$NEWI"
check "register-instances-with-load-balancer: listed again" reg \
	'"'"$NEWI"'" in [i["InstanceId"] for i in d["Instances"]]'
aws_ dih2 elb describe-instance-health --load-balancer-name cli-elb --instances "$NEWI"
check "just registered: OutOfService, registration in progress" dih2 \
	'd["InstanceStates"][0]["State"] == "OutOfService" and d["InstanceStates"][0]["Description"] == "Instance registration is still in progress."'
ctl POST /_fake/config '{"health_delay": 0.2}'
aws_ regx elb register-instances-with-load-balancer --load-balancer-name cli-elb \
	--instances i-0000000000000dead
refused "registering an unknown instance: InvalidInstance" regx InvalidInstance

# --- throttling and signatures, as the CLI sees them ---------------------------------------
ctl DELETE /_fake/calls
ctl POST /_fake/faults '[{"kind": "throttle", "target": "autoscaling", "count": 1}, {"kind": "throttle", "target": "elb", "count": 1}]'
aws_ thra autoscaling describe-auto-scaling-groups
aws_ thre elb describe-load-balancers
check "Auto Scaling and ELB Throttling (HTTP 400): the CLI retries both and succeeds" thre \
	"$(calls DescribeAutoScalingGroups) == 2 and $(calls DescribeLoadBalancers) == 2"
ctl DELETE /_fake/faults
AWS_SECRET_ACCESS_KEY=wrong-secret aws_ asgbad autoscaling describe-auto-scaling-groups
refused "Auto Scaling with a wrong secret: SignatureDoesNotMatch" asgbad SignatureDoesNotMatch
AWS_ACCESS_KEY_ID=AKIAUNKNOWNKEY000000 aws_ elbbad elb describe-load-balancers
refused "ELB with an unknown key: InvalidClientTokenId" elbbad InvalidClientTokenId

if [ "$failures" -eq 0 ]; then exit 0; else exit 1; fi
