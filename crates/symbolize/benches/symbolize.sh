#!/usr/bin/env bash
# Benchmark and oracle for crashview's symbolizer on Debian's real vmlinux.
# Not part of CI (it needs the ~850 MB linux-image-<release>-dbg package).
#
#   crates/symbolize/benches/symbolize.sh            # oracle + benchmark
#   RUNS=20 crates/symbolize/benches/symbolize.sh
#
# 1. Fetches linux-image-<release>-dbg with `apt-get download` into
#    fixtures/.cache/dbg (gitignored) and extracts only /usr/lib/debug/boot.
# 2. Oracle: every frame of every fixture trace, symbolized by
#    `crashview symbolize --json`, must equal binutils addr2line (oracle.py).
# 3. Benchmark, a real 30-frame trace (fixtures/ramoops/warn/console.log, the
#    panic_on_warn trace), each tool started fresh per run:
#      crashview symbolize        (parses the text, finds symbols, resolves)
#      addr2line -i -f -e V A...  (addresses precomputed: less work than ours)
#      llvm-symbolizer --obj V A...  (same)
#      decode_stacktrace.sh V     (the kernel's script, from linux-source-6.1)
#    "warm": the vmlinux is in the page cache; "cold": it is evicted
#    (posix_fadvise DONTNEED on that one file) before every run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
release=${RELEASE:-6.1.0-56-amd64}
cache=${CV_CACHE:-$top/fixtures/.cache}
dbg=$cache/dbg
V=$dbg/usr/lib/debug/boot/vmlinux-$release
RUNS=${RUNS:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ! -f $V ]]; then
	mkdir -p "$dbg"
	(cd "$dbg" && apt-get download "linux-image-$release-dbg")
	dpkg-deb --fsys-tarfile "$dbg"/linux-image-"$release"-dbg_*.deb |
		tar -x -C "$dbg" --wildcards './usr/lib/debug/boot/*'
fi

need() { command -v "$1" >/dev/null || { echo "missing $1 (apt-get install $2)" >&2; exit 1; }; }
need addr2line binutils
need llvm-symbolizer llvm
need hyperfine hyperfine

# decode_stacktrace.sh from the matching kernel source.
ds=$cache/decode_stacktrace.sh
if [[ ! -x $ds ]]; then
	src=$(ls /usr/src/linux-source-6.1.tar.xz /tmp/ksrc/x/usr/src/linux-source-6.1.tar.xz 2>/dev/null | head -1 || true)
	if [[ -z $src ]]; then
		(cd "$work" && apt-get download linux-source-6.1 && dpkg-deb -x linux-source-6.1_*.deb x)
		src=$(ls "$work"/x/usr/src/linux-source-6.1.tar.xz)
	fi
	tar -xJf "$src" -C "$work" --wildcards '*/scripts/decode_stacktrace.sh' '*/scripts/decodecode'
	cp "$work"/linux-source-6.1/scripts/decode_stacktrace.sh "$work"/linux-source-6.1/scripts/decodecode "$cache/"
	chmod +x "$ds" "$cache/decodecode"
fi

cargo build --release -q -j2 -p crashview --manifest-path "$top/Cargo.toml"
cv=$top/target/release/crashview
mods=$top/fixtures/ramoops

echo "== oracle: every fixture frame vs binutils addr2line"
for f in "$mods"/*/console.log "$mods"/*/pstore/dmesg-*; do
	[[ $f == *.enc.z ]] || cat "$f"
done >"$work/all.txt"
"$cv" symbolize --json --no-code --vmlinux "$V" --modules "$mods" <"$work/all.txt" >"$work/all.json"
python3 "$here/oracle.py" "$V" "$mods" <"$work/all.json"

echo "== benchmark: 30-frame trace"
# The second trace of the warn scenario (Kernel panic … panic_on_warn), as printed.
"$cv" trace "$mods/warn/console.log" --json --no-code --vmlinux "$V" --modules "$mods" >"$work/warn.json"
read -r first last < <(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["inputs"][0]["traces"][1]; print(t["first_line"], t["last_line"])' "$work/warn.json")
sed -n "${first},${last}p" "$mods/warn/console.log" >"$work/trace30.txt"
python3 -c '
import json,sys
t=json.load(open(sys.argv[1]))["inputs"][0]["traces"][1]
print(" ".join("0x%x" % f["lookup_address"] for f in t["frames"] if f["object"] == "vmlinux"))
print(len(t["frames"]), file=sys.stderr)' "$work/warn.json" >"$work/addrs" 2>"$work/nframes"
echo "frames: $(cat "$work/nframes") ($(wc -w <"$work/addrs") in vmlinux)"
addrs=$(cat "$work/addrs")
evict="python3 -c 'import os; fd=os.open(\"$V\", os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)'"

for mode in warm cold; do
	prep=true
	[[ $mode == cold ]] && prep=$evict
	echo "-- $mode page cache"
	hyperfine -N --style basic --runs "$RUNS" --warmup 1 --prepare "$prep" \
		--export-json "$work/$mode.json" \
		-n crashview "$cv trace $work/trace30.txt --no-code --vmlinux $V --modules $mods" \
		-n addr2line "addr2line -i -f -e $V $addrs" \
		-n llvm-symbolizer "llvm-symbolizer --obj=$V --inlining $addrs" \
		-n decode_stacktrace.sh "bash -c '$ds $V /nonexistent $mods < $work/trace30.txt'" \
		>"$work/$mode.txt" 2>&1 || { cat "$work/$mode.txt"; exit 1; }
	python3 - "$work/$mode.json" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
cv = r["crashview"]["median"]
for name, x in r.items():
    print("%-22s median %8.1f ms  (min %7.1f)  %6.1fx crashview" % (name, x["median"] * 1e3, x["min"] * 1e3, x["median"] / cv))
EOF
done
