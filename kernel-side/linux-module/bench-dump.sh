#!/usr/bin/env bash
# The cost of one kmsg dump into a zone, in the real Debian kernel (QEMU,
# TCG), with the stock ramoops and with panic_recorder.ko as the pstore
# backend, same parameters, same boot: cvpr_bench.ko calls pstore's dumper
# (copy the log, deflate it, the backend's write) N times and reports the
# times it measured with local_clock(). Each boot is run R times.
#
#   kernel-side/linux-module/bench-dump.sh [N] [R]     (default 50 3)
#   EXTRA=pstore.compress=none ...   (extra kernel arguments: here the
#                                     backend write without deflate)
#
# Times are TCG guest times: compare the two backends, not with hardware.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FIX_DIR=$(cd "$here/../../fixtures" && pwd)
. "$FIX_DIR/lib.sh"
N=${1:-50}
R=${2:-3}
ADDR=0x10000000
PARAMS="record_size=0x4000,ecc=16"

prepare
MOD=$(KREL=$KREL OUT="$CACHE/kmod" "$here/build.sh")
build_initramfs "$MOD" "$(dirname "$MOD")/cvpr_bench.ko"
out=$(mktemp -d)

boot() { # boot LOG BACKEND-ARGS
	local ram=$out/ram
	CV_TMPFILES+=("$ram")
	truncate -s "$GUEST_RAM" "$ram"
	run_qemu "$ram" "console=ttyS0 panic=1 memmap=1M\$$ADDR cv.mode=crash cv.script=bench cv.bench_n=$N ${EXTRA:-} $2" "$1"
	rm -f "$ram"
	grep -q 'cvpr_bench: pstore_dump' "$1" || fatal "no bench result (see $1)"
}

for r in $(seq "$R"); do
	log "run $r: stock ramoops, $N dumps"
	boot "$out/ramoops-$r.log" "cv.ramoops=mem_address=$ADDR,mem_size=0xfe000,$PARAMS"
	log "run $r: panic_recorder.ko, $N dumps"
	boot "$out/recorder-$r.log" "cv.recorder=mem_address=$ADDR,mem_size=0x100000,journal_size=0x2000,$PARAMS"
done

python3 - "$out" "$R" <<'PY'
import re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def med(name):
    vals = []
    for r in range(1, runs + 1):
        text = open(f"{out}/{name}-{r}.log", errors="replace").read()
        m = re.search(r"cvpr_bench: pstore_dump x(\d+): median (\d+) ns, mean (\d+) ns", text)
        vals.append((int(m.group(2)), int(m.group(3))))
    return vals
a, b = med("ramoops"), med("recorder")
for label, v in (("stock ramoops", a), ("panic_recorder", b)):
    print(f"{label:<16} median per run (us): {', '.join(f'{x[0]/1000:.1f}' for x in v)}   mean: {', '.join(f'{x[1]/1000:.1f}' for x in v)}")
ra = statistics.median(x[0] for x in a)
rb = statistics.median(x[0] for x in b)
print(f"one kmsg dump (pstore_dump, deflate + write), median of run medians: ramoops {ra/1000:.1f} us, panic_recorder {rb/1000:.1f} us, ratio {rb/ra:.2f}x")
PY
rm -rf "$out"
