#!/bin/sh
# tests/bench/create-rpm.sh: create-rpm on a 200 MB tree of 5,000 files,
# versus rpmbuild -bb of the same tree at the same gzip level
# (%_binary_payload w6.gzdio) and versus plain `gzip -6` of the same cpio
# stream (the floor: compression alone).  Wall time and peak RSS; a 20 MB
# tree shows that RSS does not grow with the payload.  Prints a markdown
# section (tests/bench/run appends it to RESULTS.md).
#
# Environment: BENCH_MB (default 200), BENCH_FILES (default 5000).
set -eu
cd "$(dirname "$0")/../.."
MB=${BENCH_MB:-200}
FILES=${BENCH_FILES:-5000}
C=$PWD/bin/create-rpm
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench-rpm.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

# mktree DIR MB FILES: text-like files (words from a fixed seed, so gzip
# has work to do, about 3:1) in 50 directories.
mktree() {
	python3 - "$1" "$2" "$3" <<'EOF'
import os, random, sys
root, mb, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
words = [''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rnd.randint(2, 10)))
         for _ in range(5000)]
block = ' '.join(rnd.choice(words) for _ in range(200000)).encode()
size = mb * 1000000 // files
for i in range(files):
    d = os.path.join(root, 'opt', 'bench', 'd%02d' % (i % 50))
    os.makedirs(d, exist_ok=True)
    off = rnd.randrange(0, len(block) - size)
    with open(os.path.join(d, 'f%05d.txt' % i), 'wb') as f:
        f.write(block[off:off + size])
EOF
}

# measure CMD...: "seconds kib" of one run (GNU time), output discarded.
measure() {
	/usr/bin/time -f '%e %M' -o "$T/time" "$@" >/dev/null 2>"$T/stderr" || {
		cat "$T/stderr" >&2
		echo "n/a n/a"
		return
	}
	cat "$T/time"
}

mktree "$T/tree" "$MB" "$FILES"
mktree "$T/small" $((MB / 10)) $((FILES / 10))
mkdir -p "$T/out" "$T/out2"
ours=$(measure "$C" --name bench --version 1 --root "$T/tree" -o "$T/out")
small=$(measure "$C" --name bench --version 1 --root "$T/small" -o "$T/out2")
rpm_size=$(wc -c <"$T/out/bench-1-1.x86_64.rpm")

# The floor: gzip -6 of the same cpio stream, read from a file in cache.
rpm2cpio "$T/out/bench-1-1.x86_64.rpm" >"$T/payload.cpio"
floor=$(measure sh -c "gzip -6 <'$T/payload.cpio' >'$T/payload.gz'")

# rpmbuild over the same tree as its buildroot: no %install copy, no
# dependency generators, no brp scripts, the same gzip level.
theirs="n/a n/a"
if command -v rpmbuild >/dev/null 2>&1; then
	cat >"$T/bench.spec" <<'EOF'
Name: bench
Version: 1
Release: 1
Summary: bench
License: MIT
BuildArch: x86_64
AutoReqProv: no
%description
bench
%files
/opt/bench
EOF
	theirs=$(measure rpmbuild -bb --noclean --quiet --buildroot "$T/tree" \
		--define "_topdir $T/rpmbuild" --define '_binary_payload w6.gzdio' \
		--define '__spec_install_post %{nil}' --define '__os_install_post %{nil}' \
		--define 'debug_package %{nil}' --define '_build_id_links none' \
		--define '_binary_filedigest_algorithm 8' "$T/bench.spec")
fi

row() { # row NAME "SECONDS KIB"
	# shellcheck disable=SC2086 # split "SECONDS KIB" in two
	set -- "$1" $2
	printf '| %s | %s | %s |\n' "$1" "$2" "$3"
}
ratio() { # ratio "A" "B": A's seconds over B's
	awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'
}
echo "## create-rpm"
echo
echo "A ${MB} MB tree of ${FILES} text files (package $rpm_size bytes), gzip level 6."
echo
echo "| run | wall s | peak RSS KiB |"
echo "|---|---|---|"
row "create-rpm (${MB} MB)" "$ours"
row "create-rpm ($((MB / 10)) MB tree, for RSS)" "$small"
row "rpmbuild -bb, w6.gzdio" "$theirs"
row "gzip -6 of the cpio stream (floor)" "$floor"
echo
echo "create-rpm is $(ratio "$theirs" "$ours")x as fast as rpmbuild and takes $(ratio "$ours" "$floor")x" \
	"the time of gzip alone (goals: >= 2x, <= 1.25x); peak RSS goal < 32768 KiB."
