# tests/helpers/stack.sh: a whole local Socorro stack on 127.0.0.1, for
# `make demo` and the deploy-socorro tests.  Sourced (POSIX sh) from the
# top of the tree; needs what scripts/install-build-deps installs.
#
#   stack_start DIR   start every server with its data under DIR, on free
#                     ports; write DIR/socorro.ini (etc/socorro.ini plus the
#                     generated [env:demo] of etc/demo/demo-env.ini.in) and
#                     DIR/env (the variables the commands need: AWS_*, PG*,
#                     RABBITMQ_ADMIN_USER), and source DIR/env
#   stack_stop        stop every server started, each by its PID
#
# The servers: PostgreSQL 15 and RabbitMQ (real, Debian's; the helpers
# pg-cluster.sh and rabbitmq.sh start them), s3rver (npm)
# for S3, and the project's fakes for EC2/Auto Scaling/ELB, Consul and
# Elasticsearch.  The demo env has two roles, socorroweb (behind a load
# balancer) and processor, whose groups are seeded in the fake AWS.

. tests/helpers/pg-cluster.sh
. tests/helpers/rabbitmq.sh

STACK_PIDS=
STACK_FIFOS=

stack_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# stack_wait_file FILE WHAT: wait (10 s at most) for a server's port file.
stack_wait_file() {
	i=0
	while [ ! -s "$1" ] && [ "$i" -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -s "$1" ] || { echo "stack: $2 did not start" >&2; return 1; }
}

stack_secret() { od -An -N9 -tx1 /dev/urandom | tr -d ' \n'; }

# --- the Python fakes: stdin from a fifo we hold, so they die with us -------
# stack_fake NAME FD CMD...: start it; STACK_PORT is set from the first
# line it prints ("PORT n" or "n").
stack_fake() {
	name=$1 fd=$2
	shift 2
	mkfifo "$STACK_DIR/$name.in"
	"$@" <"$STACK_DIR/$name.in" >"$STACK_DIR/$name.port" 2>"$STACK_DIR/$name.log" &
	STACK_PIDS="$STACK_PIDS $!"
	eval "exec $fd>\"\$STACK_DIR/\$name.in\""
	STACK_FIFOS="$STACK_FIFOS $fd"
	stack_wait_file "$STACK_DIR/$name.port" "$name" || return 1
	STACK_PORT=$(sed -n '1s/[^0-9]*\([0-9][0-9]*\).*/\1/p' "$STACK_DIR/$name.port")
}

stack_start() {
	STACK_DIR=$1
	mkdir -p "$STACK_DIR/secrets" "$STACK_DIR/s3" "$STACK_DIR/backups"
	chmod 0700 "$STACK_DIR/secrets"
	for s in postgres-rw postgres-ro rabbitmq-admin rabbitmq; do
		stack_secret >"$STACK_DIR/secrets/$s"
	done
	openssl genrsa -out "$STACK_DIR/secrets/rpm-key.pem" 2048 2>/dev/null
	# Every placeholder of etc/socorro-config, for this stack.
	cat >"$STACK_DIR/secrets/vars.ini" <<EOF
ACCESS_KEY=S3RVER
SECRET_ACCESS_KEY=S3RVER
BUCKET_NAME=backups
DATABASE_HOSTNAME=127.0.0.1
DATABASE_USER=breakpad_rw
DATABASE_PASSWORD=$(cat "$STACK_DIR/secrets/postgres-rw")
ES_HOSTNAME=127.0.0.1
ES_URLS=http://127.0.0.1
RABBITMQ_HOST=127.0.0.1
RABBITMQ_USER=socorro
RABBITMQ_PASSWORD=$(cat "$STACK_DIR/secrets/rabbitmq")
RABBITMQ_VIRTUAL_HOST=/
RABBITMQ_ROUTING_KEY=socorro.normal
EXACTTARGET_USER=demo
EXACTTARGET_PASSWORD=$(stack_secret)
SENTRY_DSN=
PROCESSOR_THREADS=4
PRIVATE_SYMBOLS_URL=file:///tmp/symbols/private
PUBLIC_SYMBOLS_URL=file:///tmp/symbols/public
EOF
	chmod 0600 "$STACK_DIR"/secrets/*

	echo "stack: PostgreSQL 15" >&2
	pg_cluster_start >/dev/null
	echo "stack: RabbitMQ" >&2
	rabbit_start "$STACK_DIR/rabbit" "$(cat "$STACK_DIR/secrets/rabbitmq-admin")" ||
		{ cat "$STACK_DIR/rabbit/server.out" >&2; return 1; }
	RABBITMQ_URL=$RB_URL

	echo "stack: fake EC2/Auto Scaling/ELB, fake Consul, fake Elasticsearch" >&2
	stack_fake aws 7 python3 tests/fakes/aws/fake_aws.py --port 0 -q \
		--credentials S3RVER:S3RVER || return 1
	AWS_PORT=$STACK_PORT
	stack_fake consul 8 python3 tests/fakes/consul/consul_fake.py || return 1
	CONSUL_PORT=$STACK_PORT
	stack_fake es 9 python3 tests/fakes/elasticsearch/fake_es.py --port 0 \
		--path-repo "$STACK_DIR/es-snapshots" || return 1
	ES_PORT=$STACK_PORT

	echo "stack: s3rver" >&2
	sh tests/fakes/s3/setup.sh >"$STACK_DIR/npm.log" 2>&1 || { cat "$STACK_DIR/npm.log" >&2; return 1; }
	NODE_OPTIONS=--openssl-legacy-provider node tests/fakes/s3/server.js "$STACK_DIR/s3" \
		"$STACK_DIR/s3.port" yum backups >"$STACK_DIR/s3.log" 2>&1 &
	STACK_PIDS="$STACK_PIDS $!"
	stack_wait_file "$STACK_DIR/s3.port" s3rver
	S3_PORT=$(cat "$STACK_DIR/s3.port")

	# The demo environment: etc/socorro.ini's roles, plus [env:demo].
	sed -e "s|@POSTGRES_PORT@|$PGC_PORT|g" -e "s|@ES_PORT@|$ES_PORT|g" \
		-e "s|@RABBITMQ_URL@|$RABBITMQ_URL|g" -e "s|@CONSUL_PORT@|$CONSUL_PORT|g" \
		-e "s|@DIR@|$STACK_DIR|g" -e "s|@TOP@|$PWD|g" \
		etc/demo/demo-env.ini.in | cat etc/socorro.ini - >"$STACK_DIR/socorro.ini"

	cat >"$STACK_DIR/env" <<EOF
# What the commands need to reach the local stack (sourced).
AWS_ACCESS_KEY_ID=S3RVER
AWS_SECRET_ACCESS_KEY=S3RVER
AWS_REGION=us-west-2
AWS_ENDPOINT_URL=http://127.0.0.1:$AWS_PORT
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3_PORT
AWS_EC2_METADATA_DISABLED=true
PGPASSWORD=$PGC_ADMIN_PW
RABBITMQ_ADMIN_USER=admin
SOCORRO_CONFIG=$STACK_DIR/socorro.ini
DEPLOY_SOCORRO_STATE=$STACK_DIR/state
DEPLOY_SOCORRO_LOCKDIR=$STACK_DIR
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
export AWS_EC2_METADATA_DISABLED PGPASSWORD RABBITMQ_ADMIN_USER SOCORRO_CONFIG
export DEPLOY_SOCORRO_STATE DEPLOY_SOCORRO_LOCKDIR
EOF
	# shellcheck disable=SC1091
	. "$STACK_DIR/env"

	# The groups and load balancers of [env:demo], in the fake AWS.
	python3 tests/fakes/aws/fake_aws.py ctl "$AWS_PORT" POST /_fake/seed/socorro \
		"{\"ini\": \"$STACK_DIR/socorro.ini\", \"env\": \"demo\"}" >"$STACK_DIR/seed.json"
}

stack_stop() {
	for fd in $STACK_FIFOS; do
		eval "exec $fd>&-"
	done
	for pid in $STACK_PIDS; do
		# A killed server's wait status is 128+15: not a failure here
		# (and, under set -e, it must not end the caller's cleanup).
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	STACK_PIDS='' STACK_FIFOS=''
	rabbit_stop
	[ -n "${PGC_DIR:-}" ] && pg_cluster_stop >/dev/null 2>&1
	PGC_DIR=''
	return 0
}
