#!/usr/bin/env bash
# Time to the TUI's first frame (and to the loaded report) on large vmcores.
#
#   sudo tools/crashview/benches/tui-first-frame.sh [RUNS]
#
# Inputs: kdump/kdump-zlib (18 MiB), the 96 MiB QEMU ELF fixture (decompressed
# to a temporary file, not sparse) and a real 1 GiB QEMU ELF core: a -m 1G
# guest whose /init filled 860 MiB of its RAM with non-zero data before it
# crashed, dumped by dump-guest-memory (fixtures/vmcore/generate.sh qemu-big,
# ~15 s under TCG; every byte written, no holes). The core stays in
# fixtures/.cache/qemu-big/ and is reused while the hash of what makes it
# (generate.sh, lib.sh, the guest's init, qmp_dump.py, crashmod, the QEMU
# version, CV_BIG_RAM/CV_BIG_FILL) is unchanged; it is checked to be fully
# backed (du vs apparent size) before timing.
# Builds the release binary, then runs `crashview tui` in a pseudo-terminal
# RUNS times per input (default 7), page cache warm. It reports, in
# milliseconds from spawn:
#   first  — the first frame is on the screen (the "loading …" frame)
#   report — the frame with the loaded report (the summary's "signature")
# Target: first frame ≤ 150 ms however big the input.
# Needs: cargo, zstd, python3 (pty from the standard library); to (re)make
# the 1 GiB core also root and what generate.sh needs (QEMU, the cached
# Debian kernel, ~1.2 GiB of free host RAM, 1 GiB of disk).
set -euo pipefail
runs=${1:-7}
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
cargo build --release -q -p crashview
bin="$root/target/release/crashview"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zstd -q -d --no-sparse fixtures/vmcore/qemu/qemu.elf.min.zst -o "$tmp/qemu.elf"
cp fixtures/vmcore/kdump/kdump-zlib "$tmp/kdump-zlib"

big=$(realpath -m "${CV_CACHE:-fixtures/.cache}")/qemu-big  # generate.sh's $CACHE/qemu-big
key=$( { cat fixtures/lib.sh fixtures/vmcore/generate.sh fixtures/vmcore/init \
	fixtures/vmcore/tools/qmp_dump.py fixtures/crashmod/*
	qemu-system-x86_64 --version | head -1
	echo "${CV_BIG_RAM:-1G} ${CV_BIG_FILL:-860}"; } | sha256sum | cut -d' ' -f1)
if [ -f "$big/qemu.elf" ] && [ "$(cat "$big/key" 2>/dev/null)" = "$key" ]; then
	echo "reusing $big/qemu.elf"
else
	echo "making $big/qemu.elf (fixtures/vmcore/generate.sh qemu-big)"
	t0=$(date +%s)
	fixtures/vmcore/generate.sh qemu-big 2>"$tmp/generate.log" || { tail -20 "$tmp/generate.log"; exit 1; }
	echo "made in $(( $(date +%s) - t0 )) s"
	echo "$key" > "$big/key"
fi
apparent=$(stat -c %s "$big/qemu.elf")
allocated=$(du --block-size=1 "$big/qemu.elf" | cut -f1)
echo "1 GiB core: $apparent bytes, $allocated allocated (du), $(grep CV-FILL "$big/console.log")"
[ "$allocated" -ge $(( apparent / 100 * 99 )) ] || { echo "$big/qemu.elf is sparse"; exit 1; }
ln -s "$big/qemu.elf" "$tmp/qemu-1g.elf"

python3 - "$bin" "$runs" "$tmp/kdump-zlib" "$tmp/qemu.elf" "$tmp/qemu-1g.elf" <<'PY'
import os, pty, select, statistics, sys, time, fcntl, termios, struct

bin_, runs, inputs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def one(path):
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execv(bin_, [bin_, "tui", path])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    out, first, report = b"", None, None
    while report is None:
        r, _, _ = select.select([fd], [], [], 30)
        if not r:
            raise SystemExit(f"timeout on {path}: {out[-400:]!r}")
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        now = time.perf_counter()
        out += chunk
        if first is None and (b"loading" in out or b"signature" in out):
            first = now - t0
        if b"signature" in out:
            report = now - t0
    os.write(fd, b"q")
    while True:
        try:
            if not os.read(fd, 65536):
                break
        except OSError:
            break
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, status
    return first * 1000, report * 1000

print(f"{'input':<14} {'size':>9} {'du':>9}  {'first frame ms (median/max)':>28}  {'report ms (median/max)':>23}")
for p in inputs:
    res = [one(p) for _ in range(runs)]
    f = [a for a, _ in res]
    r = [b for _, b in res]
    size, du = os.path.getsize(p) / 2**20, os.stat(p).st_blocks * 512 / 2**20
    print(f"{os.path.basename(p):<14} {size:7.0f}Mi {du:7.0f}Mi  {statistics.median(f):18.1f} / {max(f):6.1f}  {statistics.median(r):13.1f} / {max(r):6.1f}")
PY
