#!/bin/sh
# Triage throughput: N copies (default 1000) of the fixture pstore
# directories in a temp dir, laid out as a systemd-pstore archive (one
# subdirectory per crash), read by `crashview triage`. Prints records/s.
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
        cp "$src"/* "$TMP/archive/$i/"
        i=$((i + 1))
    done
done
RECORDS=$(find "$TMP/archive" -type f | wc -l)
START=$(date +%s.%N)
"$BIN" triage "$TMP/archive" >"$TMP/out.txt"
END=$(date +%s.%N)
head -3 "$TMP/out.txt"
awk -v s="$START" -v e="$END" -v n="$N" -v r="$RECORDS" 'BEGIN {
    t = e - s
    printf "%d dumps, %d records in %.3f s: %.0f records/s, %.0f dumps/s\n", n, r, t, r / t, n / t
}'
