#!/bin/sh
# tests/bench/backup.sh: a 1 GiB stream into S3 (@20minutes/s3rver on
# 127.0.0.1), `backup postgres` (a stand-in pg_dump that cats the bytes)
# versus `cat | aws s3 cp - s3://...` (Debian's awscli, same endpoint, same
# bytes).  Wall time, throughput and peak RSS, best of BENCH_RUNS; a 64 MiB
# run shows that backup's RSS does not grow with the stream.  Prints a
# markdown section (tests/bench/run appends it to RESULTS.md).
#
# Environment: BENCH_MB (default 1024), BENCH_RUNS (default 2).
set -eu
cd "$(dirname "$0")/../.."
MB=${BENCH_MB:-1024}
RUNS=${BENCH_RUNS:-2}
BK=$PWD/bin/backup
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench-backup.XXXXXX")
s3pid=
trap '[ -n "$s3pid" ] && kill "$s3pid" 2>/dev/null; rm -rf "$T"' EXIT INT TERM

sh tests/fakes/s3/setup.sh >/dev/null 2>&1 || { echo "## backup"; echo; echo "s3rver could not be installed (npm)."; exit 0; }
mkdir -p "$T/s3"
NODE_OPTIONS=--openssl-legacy-provider node tests/fakes/s3/server.js "$T/s3" "$T/port" bench-bucket >"$T/s3.log" 2>&1 &
s3pid=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
EP=http://127.0.0.1:$(cat "$T/port")
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL=$EP

head -c $((MB * 1048576)) /dev/urandom >"$T/blob"
head -c 67108864 "$T/blob" >"$T/small"
printf '#!/bin/sh\n[ "$1" = --version ] && { echo stand-in; exit 0; }\nexec cat "$BENCH_BLOB"\n' >"$T/pg_dump"
chmod +x "$T/pg_dump"

# measure CMD...: "seconds kib" of one run (GNU time), output discarded;
# the bucket is emptied after, so runs do not pile up on disk.
measure() {
	if /usr/bin/time -f '%e %M' -o "$T/time" "$@" >/dev/null 2>"$T/stderr"; then
		cat "$T/time"
	else
		sed 's/^/# /' "$T/stderr" >&2
		echo "n/a n/a"
	fi
	find "$T/s3/bench-bucket" -mindepth 1 -maxdepth 1 ! -name '._S3rver*' -exec rm -rf {} + 2>/dev/null || true
	rm -rf "$T/s3/bench-bucket/._S3rver_uploads"
}
# best CMD...: the fastest of RUNS runs (its RSS with it).
best() {
	b="n/a n/a"
	r=0
	while [ $r -lt "$RUNS" ]; do
		m=$(measure "$@")
		if [ "${b%% *}" = n/a ] || awk -v a="${m%% *}" -v b="${b%% *}" 'BEGIN { exit !(a != "n/a" && a + 0 < b + 0) }'; then
			b=$m
		fi
		r=$((r + 1))
	done
	echo "$b"
}

ours=$(BENCH_BLOB=$T/blob best "$BK" -q postgres --pg-dump "$T/pg_dump" --to s3://bench-bucket/b --env bench)
small=$(BENCH_BLOB=$T/small measure "$BK" -q postgres --pg-dump "$T/pg_dump" --to s3://bench-bucket/b --env bench)
theirs="n/a n/a"
if [ -x /usr/bin/aws ]; then
	theirs=$(best sh -c "cat '$T/blob' | /usr/bin/aws --endpoint-url '$EP' s3 cp - s3://bench-bucket/aws.bin")
	awsv=$(/usr/bin/aws --version 2>&1 | cut -d' ' -f1)
fi
floor=$(measure sh -c "sha256sum '$T/blob'")

row() { # row NAME "SECONDS KIB"
	# shellcheck disable=SC2086 # split "SECONDS KIB" in two
	set -- "$1" $2
	mbs=$(awk -v s="$2" -v mb="$MB" 'BEGIN { if (s + 0 > 0) printf "%.1f", mb / s; else print "n/a" }')
	printf '| %s | %s | %s | %s |\n' "$1" "$2" "$mbs" "$3"
}
echo "## backup"
echo
echo "A ${MB} MiB stream (random bytes) to s3rver on 127.0.0.1, $(nproc) cores; best of $RUNS."
echo
echo "| run | wall s | MiB/s | peak RSS KiB |"
echo "|---|---|---|---|"
row "backup postgres (stand-in pg_dump), ${MB} MiB" "$ours"
printf '| backup postgres, 64 MiB (RSS independent of size) | %s | | %s |\n' "${small%% *}" "${small##* }"
row "cat \\| aws s3 cp - (${awsv:-awscli})" "$theirs"
row "sha256sum of the same bytes (one hash pass, for scale)" "$floor"
echo
awk -v a="${theirs%% *}" -v b="${ours%% *}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "backup takes %.2fx the time of aws s3 cp (goal: <= 1.00x); ", b / a }'
echo "peak RSS goal < 65536 KiB, independent of the stream's size."
echo
echo "Both hash each part with SHA-256 (SigV4 signs payloads over http) and keep"
echo "several parts in flight (backup 3, awscli 10); backup also hashes the whole"
echo "stream for its manifest, with libcommon/sha256.c (C, BMI2 rotations) where"
echo "awscli has OpenSSL's assembly.  s3rver spends several seconds joining the"
echo "parts at CompleteMultipartUpload, for both."
