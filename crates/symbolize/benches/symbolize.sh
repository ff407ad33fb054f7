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
#      blazecli symbolize elf     (when `cargo install blazecli` put it on PATH)
#    crashview three ways: without the persistent index (CRASHVIEW_NO_INDEX=1,
#    through env(1)), its first run (no index file: it builds and writes one)
#    and with the index warm (this trace resolved before); the index lives
#    in a temporary XDG_CACHE_HOME.
#    "warm": the vmlinux is in the page cache; "cold": it is evicted
#    (posix_fadvise DONTNEED on that one file) before every run (the index
#    file is not: "cold" + index is a cold vmlinux with a warm index).
#    Peak RSS: each command's ru_maxrss over one more run in that mode.
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

cargo build --release -q -j"${JOBS:-2}" -p crashview --manifest-path "$top/Cargo.toml"
cv=${CARGO_TARGET_DIR:-$top/target}/release/crashview
export XDG_CACHE_HOME=$work/xdg
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
drop_index="rm -rf $XDG_CACHE_HOME"

trace="trace $work/trace30.txt --no-code --vmlinux $V --modules $mods"
# name|extra preparation|command
cmds=(
	"crashview-no-index|true|env CRASHVIEW_NO_INDEX=1 $cv $trace"
	"crashview-first-run|$drop_index|$cv $trace"
	"crashview-index|true|$cv $trace"
	"addr2line|true|addr2line -i -f -e $V $addrs"
	"llvm-symbolizer|true|llvm-symbolizer --obj=$V --inlining $addrs"
	"decode_stacktrace.sh|true|bash -c '$ds $V /nonexistent $mods < $work/trace30.txt'"
)
if command -v blazecli >/dev/null; then
	cmds+=("blazecli|true|blazecli symbolize elf --path $V $addrs")
else
	echo "(blazecli not on PATH: cargo install blazecli)"
fi
printf '%s\n' "${cmds[@]}" >"$work/cmds"

for mode in warm cold; do
	base=true
	[[ $mode == cold ]] && base=$evict
	echo "-- $mode page cache"
	# The warm-index rows start from an index of this very trace (the
	# first-run rows delete it; each run of those writes it again).
	"$cv" $trace >/dev/null
	args=()
	for c in "${cmds[@]}"; do
		IFS='|' read -r name extra cmd <<<"$c"
		# hyperfine -N runs --prepare without a shell: give it a script.
		printf '%s\n%s\n' "$base" "$extra" >"$work/prep-$mode-$name"
		args+=(-n "$name" --prepare "bash $work/prep-$mode-$name" "$cmd")
	done
	hyperfine -N --style basic --runs "$RUNS" --warmup 1 \
		--export-json "$work/$mode.json" "${args[@]}" \
		>"$work/$mode.txt" 2>&1 || { cat "$work/$mode.txt"; exit 1; }
	"$cv" $trace >/dev/null
	python3 - "$work/$mode.json" "$work/cmds" "$base" <<'EOF'
import json, os, shlex, subprocess, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
rss = {}
for line in open(sys.argv[2]):
    name, extra, cmd = line.rstrip("\n").split("|", 2)
    subprocess.run("%s; %s" % (sys.argv[3], extra), shell=True, check=True)
    p = subprocess.Popen(shlex.split(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    rss[name] = ru.ru_maxrss / 1024
print("%-22s %9s %9s %9s" % ("", "median", "min", "peak RSS"))
for name, x in r.items():
    print("%-22s %6.1f ms %6.1f ms %5.0f MiB" % (name, x["median"] * 1e3, x["min"] * 1e3, rss[name]))
peers = [p for p in ("addr2line", "llvm-symbolizer", "blazecli", "decode_stacktrace.sh") if p in r]
print("peer median / crashview median:")
for cv in ("crashview-no-index", "crashview-first-run", "crashview-index"):
    m = r[cv]["median"]
    print("  %-20s " % cv + "  ".join("%s %.1fx" % (p, r[p]["median"] / m) for p in peers))
EOF
done
