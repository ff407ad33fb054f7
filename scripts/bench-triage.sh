#!/bin/sh
# Triage throughput and memory: N copies (default 1000) of the fixture
# pstore directories in a temp dir, laid out as a systemd-pstore archive
# (one subdirectory per crash), read by `crashview triage` (groups) and
# `crashview triage --jsonl` (one row per dump, streamed). Prints records/s
# and the peak RSS of each; run with 1000 and 10000 to see that --jsonl's
# memory stays flat.
#
#   scripts/bench-triage.sh [N] [path/to/crashview]
set -eu
N=${1:-1000}
BIN=${2:-}
cd "$(dirname "$0")/.."
if [ -z "$BIN" ]; then
    cargo build --release -j2 -p crashview >/dev/null
    BIN=target/release/crashview
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
set -- fixtures/ramoops/*/pstore fixtures/recorder/*/pstore
i=0
while [ "$i" -lt "$N" ]; do
    for src in "$@"; do
        [ "$i" -lt "$N" ] || break
        mkdir -p "$TMP/archive/$i"
        cp -l "$src"/* "$TMP/archive/$i/" 2>/dev/null || cp "$src"/* "$TMP/archive/$i/"
        i=$((i + 1))
    done
done
RECORDS=$(find "$TMP/archive" -type f | wc -l)
# Wall time and peak RSS (KiB) of one command, its stdout to a file.
measure() {
    python3 - "$@" <<'EOF'
import resource, subprocess, sys, time
out = open(sys.argv[1], "wb")
t = time.monotonic()
subprocess.run(sys.argv[2:], stdout=out, check=True)
t = time.monotonic() - t
print(f"{t:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
EOF
}
for mode in groups jsonl; do
    flag=; [ "$mode" = jsonl ] && flag=--jsonl
    set -- $(measure "$TMP/out.$mode" "$BIN" triage $flag "$TMP/archive")
    awk -v t="$1" -v rss="$2" -v n="$N" -v r="$RECORDS" -v m="$mode" 'BEGIN {
        printf "triage %-6s %d dumps, %d records in %.3f s: %.0f records/s, %.0f dumps/s, peak RSS %.1f MiB\n",
            m, n, r, t, r / t, n / t, rss / 1024
    }'
done
# With symbolization: every dump's report with its traces resolved against
# the fixtures' crashmod.ko (and a vmlinux if VMLINUX is set), one JSON
# report per line.
VMLINUX_ARG=; [ -n "${VMLINUX:-}" ] && VMLINUX_ARG="--vmlinux $VMLINUX"
set -- $(measure "$TMP/out.sym" "$BIN" report --jsonl --modules fixtures/ramoops/crashmod.ko $VMLINUX_ARG "$TMP"/archive/*)
awk -v t="$1" -v rss="$2" -v n="$N" -v r="$RECORDS" 'BEGIN {
    printf "report --jsonl, symbolized: %d dumps, %d records in %.3f s: %.0f records/s, peak RSS %.1f MiB\n",
        n, r, t, r / t, rss / 1024
}'
head -1 "$TMP/out.groups"
