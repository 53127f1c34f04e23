#!/bin/sh
# tests/fakes/s3/setup.sh: install the fake S3 server's npm packages
# (exactly those of package-lock.json) into tests/fakes/s3/node_modules.
# Idempotent: does nothing when the installed tree matches the lock file.
# CI and the tests run it; it needs node and npm (Debian's nodejs).
set -eu
cd "$(dirname "$0")"
stamp=node_modules/.setup-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
	[ -f node_modules/@20minutes/s3rver/package.json ]; then
	exit 0
fi
command -v npm >/dev/null 2>&1 || {
	echo "setup.sh: npm is not installed (scripts/packages/create-rpm.list)" >&2
	exit 69
}
npm ci --no-audit --no-fund --loglevel=error >&2
echo "$want" >"$stamp"
