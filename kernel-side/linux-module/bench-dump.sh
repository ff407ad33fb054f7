#!/usr/bin/env bash
# The cost of one kmsg dump into a zone, in the real Debian kernel (QEMU,
# TCG), for the stock ramoops and for panic_recorder.ko with the same
# parameters: N crashmod oopses per boot, each dumped by pstore's frontend
# (deflate) into the backend, every pstore_dump() call timed by ftrace's
# function_graph; for our module also its backend write alone
# (cvpr_pstore_write; ramoops' write is notrace and cannot be timed).
#
#   kernel-side/linux-module/bench-dump.sh [N]     (default 20)
#
# Prints per backend: calls, median and mean in microseconds, and the ratio.
# Times are TCG guest times: compare the two, not with hardware.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FIX_DIR=$(cd "$here/../../fixtures" && pwd)
. "$FIX_DIR/lib.sh"
N=${1:-20}
ADDR=0x10000000
PARAMS="record_size=0x4000 ecc=16"

prepare
MOD=$(KREL=$KREL OUT="$CACHE/kmod" "$here/build.sh")
build_initramfs "$MOD"
script=$(printf 'oops,%.0s' $(seq "$N")); script=${script%,}
out=$(mktemp -d); CV_TMPFILES+=("$out/ram")

boot() { # boot NAME APPEND
	truncate -s "$GUEST_RAM" "$out/ram"
	run_qemu "$out/ram" "console=ttyS0 panic=1 memmap=1M\$$ADDR cv.mode=crash cv.script=$script $2" "$out/$1.log"
	rm -f "$out/ram"
	grep -q CV-TRACE-END "$out/$1.log" || fatal "$1: no trace (see $out/$1.log)"
}

log "stock ramoops, $N oopses"
boot ramoops "cv.ramoops=mem_address=$ADDR,mem_size=0xfe000,$(echo $PARAMS | tr ' ' ',') cv.trace=pstore_dump"
log "panic_recorder.ko, $N oopses"
boot recorder "cv.recorder=mem_address=$ADDR,mem_size=0x100000,journal_size=0x2000,$(echo $PARAMS | tr ' ' ',') cv.trace=pstore_dump"
boot recorder-write "cv.recorder=mem_address=$ADDR,mem_size=0x100000,journal_size=0x2000,$(echo $PARAMS | tr ' ' ',') cv.trace=cvpr_pstore_write"

python3 - "$out" "$N" <<'PY'
import re, statistics, sys
out, n = sys.argv[1], int(sys.argv[2])
def times(name, fn):
    text = open(f"{out}/{name}.log", errors="replace").read()
    body = text.split("CV-TRACE-BEGIN", 1)[1].split("CV-TRACE-END", 1)[0]
    us = [float(m.group(1)) for m in re.finditer(r"([0-9.]+) us\s+\|\s+" + fn, body)]
    if len(us) < n:
        sys.exit(f"{name}: {len(us)} timed calls of {fn}, expected {n}")
    return us
rows = [("stock ramoops: pstore_dump()", times("ramoops", "pstore_dump")),
        ("panic_recorder: pstore_dump()", times("recorder", "pstore_dump")),
        ("panic_recorder: its write() alone", times("recorder-write", "cvpr_pstore_write"))]
for label, us in rows:
    print(f"{label:<36} calls {len(us):3}  median {statistics.median(us):9.1f} us  mean {statistics.mean(us):9.1f} us")
r = statistics.median(rows[1][1]) / statistics.median(rows[0][1])
print(f"kmsg dump, panic_recorder / ramoops (median): {r:.2f}x")
PY
rm -rf "$out"
