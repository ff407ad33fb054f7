#!/usr/bin/env bash
# Time `crashview log` against `makedumpfile --dump-dmesg` (and drgn, when
# it is installed and a matching vmlinux with debug info is given) on the
# same kdump-compressed vmcore; report the ratio and each tool's peak RSS.
#
#   tools/crashview/benches/vmcore-log.sh [VMCORE]          default: fixtures/vmcore/kdump/kdump-zlib
#   CV_VMLINUX=/usr/lib/debug/boot/vmlinux-6.1.0-56-amd64 tools/crashview/benches/vmcore-log.sh
#
# Needs hyperfine (apt install hyperfine), makedumpfile, /usr/bin/time (GNU).
# makedumpfile refuses to overwrite its output, so each of its runs is
# preceded by removing the file (--prepare); crashview writes to stdout,
# which hyperfine discards.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
VMCORE=${1:-$ROOT/fixtures/vmcore/kdump/kdump-zlib}
RUNS=${CV_BENCH_RUNS:-200}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

cargo build -q --release -p crashview --manifest-path "$ROOT/Cargo.toml"
CV=$ROOT/target/release/crashview

# Same output first: the comparison is only fair if both read the same log.
"$CV" log "$VMCORE" > "$OUT/crashview.txt"
makedumpfile --dump-dmesg "$VMCORE" "$OUT/makedumpfile.txt" > /dev/null 2>&1
echo "records: crashview $(grep -c '^\[' "$OUT/crashview.txt") lines, makedumpfile $(wc -l < "$OUT/makedumpfile.txt") records"

cmds=("$CV log $VMCORE" "makedumpfile --dump-dmesg $VMCORE $OUT/mk.txt")
names=(crashview makedumpfile)
if [ -n "${CV_VMLINUX:-}" ] && python3 -c 'import drgn' 2>/dev/null; then
	cat > "$OUT/drgn_log.py" <<'PY'
import sys
from drgn.helpers.linux.printk import get_dmesg
sys.stdout.buffer.write(get_dmesg(prog))
PY
	cmds+=("drgn -q -c $VMCORE -s $CV_VMLINUX $OUT/drgn_log.py")
	names+=(drgn)
else
	echo "drgn: skipped (pip install drgn, and set CV_VMLINUX to the -dbg vmlinux: drgn needs its types for the log)"
fi

hyperfine -N -w 5 -r "$RUNS" --prepare "rm -f $OUT/mk.txt" --export-json "$OUT/h.json" "${cmds[@]}" >&2

python3 - "$OUT/h.json" "${names[@]}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
names = sys.argv[2:]
base = r[0]
print(f"{'tool':14} {'mean ms':>8} {'min ms':>8} {'user+sys ms':>12}  ratio vs crashview (mean / min)")
for n, x in zip(names, r):
    cpu = (x["user"] + x["system"]) * 1000
    print(f"{n:14} {x['mean']*1000:8.2f} {x['min']*1000:8.2f} {cpu:12.2f}  {x['mean']/base['mean']:.2f}x / {x['min']/base['min']:.2f}x")
PY

for i in "${!cmds[@]}"; do
	rm -f "$OUT/mk.txt"
	# shellcheck disable=SC2086
	/usr/bin/time -v -o "$OUT/time.txt" ${cmds[$i]} > /dev/null 2>&1 || true
	echo "peak RSS ${names[$i]}: $(awk -F': ' '/Maximum resident/ {print $2}' "$OUT/time.txt") KB"
done
