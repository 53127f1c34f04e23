# rabbitmq.sh: a throwaway RabbitMQ 3.10 broker (Debian's rabbitmq-server)
# for tests and benchmarks, the way tests/integration/rabbit-init.test
# starts one: a node on 127.0.0.1 with free ports, its own HOME, data, logs,
# config and epmd.  It neither touches nor needs a system rabbitmq service,
# its ports or /var.  Sourced (POSIX sh); one broker at a time.
#
#   rabbit_available          true if the broker can be run here
#   rabbit_start DIR ADMIN_PW start a fresh broker under DIR (made) whose
#                             administrator is "admin" with ADMIN_PW, and
#                             wait (90 s at most) for its management API;
#                             sets RB_URL RB_NODE RB_AMQP_PORT; 1 on failure
#                             (the server's output is in DIR/server.out).
#                             It is the three steps below, for a test that
#                             needs the URL before the broker runs:
#   rabbit_prepare DIR ADMIN_PW   ports, config files; sets RB_URL RB_NODE ...
#   rabbit_launch             start epmd and the server, without waiting
#   rabbit_wait ADMIN_PW      wait for the management API; 1 if it never came
#   rabbit_stop               stop it by its PIDs (beam, wrapper, epmd)
#   rabbit_ctl ARGS...        rabbitmqctl against it
#   rabbit_can_login USER PWFILE  the broker's own check of a password

RB_SBIN=$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin 2>/dev/null | tail -n 1)
RB_DIR='' RB_EPMD_PID='' RB_SERVER_PID='' RB_BEAM_PID=''

rabbit_available() {
	[ -x "$RB_SBIN/rabbitmq-server" ] && command -v epmd >/dev/null 2>&1
}

rabbit_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

rabbit_start() {
	rabbit_prepare "$1" "$2" && rabbit_launch && rabbit_wait "$2"
}

rabbit_prepare() {
	RB_DIR=$1
	rb_pw=$2
	rb_epmd=$(rabbit_free_port) RB_AMQP_PORT=$(rabbit_free_port) rb_dist=$(rabbit_free_port)
	rb_mgmt=$(rabbit_free_port) rb_ctl=$(rabbit_free_port)
	RB_NODE=sbtest$$-$(basename "$RB_DIR")@localhost
	RB_URL=http://127.0.0.1:$rb_mgmt
	mkdir -p "$RB_DIR/home" "$RB_DIR/mnesia" "$RB_DIR/log" "$RB_DIR/conf.d"
	cat >"$RB_DIR/rabbitmq.conf" <<-EOF
		listeners.tcp.default = 127.0.0.1:$RB_AMQP_PORT
		management.tcp.ip = 127.0.0.1
		management.tcp.port = $rb_mgmt
		default_user = admin
		default_pass = $rb_pw
	EOF
	chmod 600 "$RB_DIR/rabbitmq.conf"
	echo '[{kernel, [{inet_dist_use_interface, {127,0,0,1}}]}].' >"$RB_DIR/advanced.config"
	echo '[rabbitmq_management].' >"$RB_DIR/enabled_plugins"
	: >"$RB_DIR/rabbitmq-env.conf"
	# $RB_DIR/env CMD...: CMD with this broker's environment (an exec, so a
	# process started through it keeps its PID).
	cat >"$RB_DIR/env" <<-EOF
		#!/bin/sh
		export HOME='$RB_DIR/home' ERL_EPMD_PORT=$rb_epmd
		export RABBITMQ_CONF_ENV_FILE='$RB_DIR/rabbitmq-env.conf'
		export RABBITMQ_MNESIA_BASE='$RB_DIR/mnesia' RABBITMQ_LOG_BASE='$RB_DIR/log'
		export RABBITMQ_CONFIG_FILE='$RB_DIR/rabbitmq.conf' RABBITMQ_CONFIG_FILES='$RB_DIR/conf.d'
		export RABBITMQ_ADVANCED_CONFIG_FILE='$RB_DIR/advanced.config'
		export RABBITMQ_ENABLED_PLUGINS_FILE='$RB_DIR/enabled_plugins'
		export RABBITMQ_PLUGINS_EXPAND_DIR='$RB_DIR/plugins-expand' RABBITMQ_PID_FILE='$RB_DIR/beam.pid'
		export RABBITMQ_NODENAME='$RB_NODE' RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
		export RABBITMQ_NODE_PORT=$RB_AMQP_PORT RABBITMQ_DIST_PORT=$rb_dist
		export RABBITMQ_CTL_DIST_PORT_MIN=$rb_ctl RABBITMQ_CTL_DIST_PORT_MAX=$rb_ctl
		export RABBITMQ_CTL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
		exec "\$@"
	EOF
	chmod +x "$RB_DIR/env"
}

rabbit_launch() {
	ERL_EPMD_ADDRESS=127.0.0.1 epmd -port "$rb_epmd" >"$RB_DIR/epmd.log" 2>&1 &
	RB_EPMD_PID=$!
	"$RB_DIR/env" "$RB_SBIN/rabbitmq-server" >"$RB_DIR/server.out" 2>&1 &
	RB_SERVER_PID=$!
}

rabbit_wait() {
	# Up when the management API answers the administrator.
	printf 'admin:%s' "$1" >"$RB_DIR/.auth"
	chmod 600 "$RB_DIR/.auth"
	python3 - "$RB_URL" "$RB_DIR/.auth" <<-'EOF'
		import base64, sys, time, urllib.request
		url, auth = sys.argv[1], open(sys.argv[2]).read()
		rq = urllib.request.Request(url + "/api/overview")
		rq.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
		end = time.time() + 90
		while time.time() < end:
		    try:
		        with urllib.request.urlopen(rq, timeout=5) as r:
		            if r.status == 200:
		                sys.exit(0)
		    except Exception:
		        pass
		    time.sleep(0.5)
		sys.exit(1)
	EOF
	rb_up=$?
	rm -f "$RB_DIR/.auth"
	RB_BEAM_PID=$(cat "$RB_DIR/beam.pid" 2>/dev/null)
	return $rb_up
}

rabbit_stop() {
	# The beam process by its PID (from the pid file the node writes), then
	# the wrapper and epmd by theirs.  KILL: its data is thrown away, and a
	# clean stop takes seconds.
	[ -n "$RB_BEAM_PID" ] || RB_BEAM_PID=$(cat "$RB_DIR/beam.pid" 2>/dev/null)
	[ -z "$RB_BEAM_PID" ] || kill -KILL "$RB_BEAM_PID" 2>/dev/null || true
	[ -z "$RB_SERVER_PID" ] || kill -TERM "$RB_SERVER_PID" 2>/dev/null || true
	[ -z "$RB_EPMD_PID" ] || kill -TERM "$RB_EPMD_PID" 2>/dev/null || true
	# Their wait status is 128+15: not a failure of the stop (and under
	# set -e in a caller's cleanup it must not end the cleanup).
	if [ -n "$RB_SERVER_PID" ]; then wait "$RB_SERVER_PID" 2>/dev/null || true; fi
	if [ -n "$RB_EPMD_PID" ]; then wait "$RB_EPMD_PID" 2>/dev/null || true; fi
	RB_SERVER_PID='' RB_EPMD_PID='' RB_BEAM_PID=''
}

rabbit_ctl() { "$RB_DIR/env" "$RB_SBIN/rabbitmqctl" -q -n "$RB_NODE" "$@"; }

rabbit_can_login() { rabbit_ctl authenticate_user "$1" <"$2" >/dev/null 2>&1; }
