# tests/integration/lib.sh: what every integration test file shares.
# Sourced by tests/integration/<command>.test, which runs from the top of
# the tree.  Each check prints "ok - DESC" or "not ok - DESC" (with the
# evidence); tests/run counts them.
#
#   run CMD...                 run it; $rc, and $out/$err hold stdout/stderr
#   expect CODE DESC CMD...    run, and check the exit status is CODE
#   assert DESC TEST...        check a shell test ([ ... ], grep -q ...)
#   same DESC FILE-A FILE-B    check two files are equal (diff shown if not)

set -u
BIN=${BIN:-$PWD/bin}
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-it.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
out=$T/stdout
err=$T/stderr
failures=0

ok() { printf 'ok - %s\n' "$1"; }
not_ok() {
	printf 'not ok - %s\n' "$1"
	failures=$((failures + 1))
	shift
	for f in "$@"; do
		[ -f "$f" ] && sed 's/^/#   /' "$f"
	done
	return 0
}

run() {
	"$@" >"$out" 2>"$err"
	rc=$?
}

expect() {
	code=$1 desc=$2
	shift 2
	run "$@"
	if [ "$rc" -eq "$code" ]; then
		ok "$desc"
	else
		printf '#   expected exit %s, got %s from: %s\n' "$code" "$rc" "$*"
		not_ok "$desc" "$out" "$err"
	fi
}

assert() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "$out" "$err"; fi
}

same() {
	if diff -u "$2" "$3" >"$T/diff"; then ok "$1"; else not_ok "$1" "$T/diff"; fi
}

# one_line FILE: true if FILE holds exactly one line.
one_line() { [ "$(wc -l <"$1")" -eq 1 ]; }

finish() { exit "$((failures > 0))"; }
