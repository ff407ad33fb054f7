#!/usr/bin/env bash
# Time to the TUI's first frame (and to the loaded report) on large vmcores.
#
#   tools/crashview/benches/tui-first-frame.sh [RUNS]
#
# Builds the release binary, decompresses the 96 MiB QEMU ELF fixture to a
# temporary file and pads a copy to 1 GiB (sparse: the bytes after the last
# segment are a hole), then runs `crashview tui` in a pseudo-terminal RUNS
# times per input (default 7). It reports, in milliseconds from spawn:
#   first  — the first frame is on the screen (the "loading …" frame)
#   report — the frame with the loaded report (the summary's "signature")
# Target: first frame ≤ 150 ms however big the input.
# Needs: cargo, zstd, python3 (pty from the standard library).
set -euo pipefail
runs=${1:-7}
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
cargo build --release -q -p crashview
bin="$root/target/release/crashview"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zstd -q -d fixtures/vmcore/qemu/qemu.elf.min.zst -o "$tmp/qemu.elf"
cp --sparse=always "$tmp/qemu.elf" "$tmp/qemu-1g.elf"
truncate -s 1G "$tmp/qemu-1g.elf"
cp fixtures/vmcore/kdump/kdump-zlib "$tmp/kdump-zlib"

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

print(f"{'input':<14} {'size':>9}  {'first frame ms (median/max)':>28}  {'report ms (median/max)':>23}")
for p in inputs:
    res = [one(p) for _ in range(runs)]
    f = [a for a, _ in res]
    r = [b for _, b in res]
    size = os.path.getsize(p) / 2**20
    print(f"{os.path.basename(p):<14} {size:7.0f}Mi  {statistics.median(f):18.1f} / {max(f):6.1f}  {statistics.median(r):13.1f} / {max(r):6.1f}")
PY
