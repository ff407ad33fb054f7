#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what it needs (Debian 12, root
# or sudo), then: formatting, lints, the no_std build of the shared format
# crates, a fresh real-kernel fixture checked against the stock kernel's
# pstore, and every workspace test.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
log() { printf '\n=== %s\n' "$*" >&2; }

need_apt=()
for p in qemu-system-x86 busybox-static cpio kmod python3 gcc make binutils systemd util-linux debuginfod xz-utils zstd gzip python3-venv bpftool linux-kbuild-6.1; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
	log "apt-get install ${need_apt[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
if ! command -v cargo >/dev/null; then
	echo "cargo not found: install Rust (rustup) first" >&2
	exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add x86_64-unknown-none >/dev/null
# The kernel module's Rust part needs nightly's -Zbuild-std (DESIGN.md).
# Without it the kernel side cannot be tested: fail loudly, never skip.
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup component add rust-src --toolchain nightly >/dev/null

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy -j2 --workspace --all-targets -- -D warnings
# rust-version is the toolchain the lockfile is checked with, not a wish:
# the lockfile must build unchanged (--locked) with exactly that release,
# and nothing may be held back below it (cargo tree -d: one object, one
# miniz_oxide).
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
log "cargo +$msrv check --locked (the workspace rust-version)"
rustup run "$msrv" rustc --version >/dev/null 2>&1 || rustup toolchain install "$msrv" --profile minimal
cargo "+$msrv" check -j2 --locked --workspace --all-targets
dups=$(cargo tree -d --locked -e normal,build 2>/dev/null | grep -E '^(object|miniz_oxide|gimli|addr2line) ' || true)
[ -z "$dups" ] || { echo "duplicate versions in the lockfile:" >&2; echo "$dups" >&2; exit 1; }

log "module cycles (scripts/module-cycles.py)"
python3 scripts/module-cycles.py

log "no_std build of the shared format crate (kernel target)"
cargo build -j2 -p crashview-ramoops --no-default-features --target x86_64-unknown-none

# Fresh crashes from the real Debian kernel, read back by the stock kernel,
# must match what we read: proves byte compatibility on today's kernel, not
# only on the checked-in fixtures. The recorder runs are the kernel-side
# test: our module as the pstore backend of a real kernel, real oopses,
# panics and a clean reboot (with the stock ramoops running the same
# scenario as the twin to compare with), selftests (nested panic, a
# corrupted entry, a hung notifier), a damaged region, and both the stock
# ramoops and our module reading every region on the next boot.
# CRASHVIEW_SKIP_QEMU=1 skips this locally (CI never sets it).
fresh=; fresh_rec=; fresh_pp=; dbg_vmlinux=
if [ "${CRASHVIEW_SKIP_QEMU:-0}" != 1 ]; then
	fresh=$(mktemp -d); fresh_rec=$(mktemp -d); fresh_pp=$(mktemp -d)
	trap 'rm -rf "$fresh" "$fresh_rec" "$fresh_pp"' EXIT
	log "regenerating ramoops fixtures sysrq-ecc and wrap with the real kernel in QEMU"
	fixtures/generate.sh --out "$fresh" sysrq-ecc wrap
	log "building panic_recorder.ko and running it in the real kernel"
	fixtures/recorder/generate.sh --out "$fresh_rec" sysrq nested hang oops2-sysrq shutdown corrupt
	# The module builds for every Debian 6.1 ABI: checked on the oldest one
	# apt serves (the fixtures' build above is the newest).
	oldest=$(apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sed 's/^linux-headers-//' | sort -V | head -1)
	log "building panic_recorder.ko for the oldest served ABI, $oldest"
	kernel-side/linux-module/build-abis.sh "$oldest"
	# The patch series: built from linux-source-6.1 with a from-scratch
	# kernel build (cached by build.sh across runs on one machine), checked
	# with that tree's checkpatch, then every scenario in QEMU: the reboot
	# path, real kdumps with each plan, a hung and a corrupted panic
	# notifier, a nested panic, two CPUs panicking at once.
	log "building the patched kernel (kernel-side/linux-patch/build.sh)"
	kernel-side/linux-patch/build.sh >/dev/null
	# From inside the kernel tree: run from this repository, checkpatch
	# takes the tracked .patch file for a file of the repository.
	tree=target/linux-patch/src/linux-source-6.1
	for p in "$PWD"/kernel-side/linux-patch/*.patch; do
		errors=$(cd "$tree" && perl scripts/checkpatch.pl --strict --no-tree -q "$p" 2>&1 | grep -c '^ERROR' || true)
		[ "$errors" = 0 ] || { (cd "$tree" && perl scripts/checkpatch.pl --strict --no-tree "$p") >&2; echo "checkpatch: $errors error(s) in $p" >&2; exit 1; }
	done
	log "running the patched kernel's panic path in QEMU"
	fixtures/panic-patch/generate.sh --out "$fresh_pp"
	# Debian's -dbg vmlinux of the same kernel: a fresh recorder record's
	# trace symbolized with it must equal binutils addr2line.
	log "fetching the -dbg vmlinux of the fixtures' kernel"
	dbg_vmlinux=$(bash -c '. fixtures/lib.sh; get_kernel >/dev/null; get_dbg_vmlinux; echo "$DBG_VMLINUX"')
fi

# DuckDB (PyPI) reads `triage --jsonl` in the fleet-output test.
log "DuckDB for the triage --jsonl test"
[ -x target/py-duckdb/bin/python ] || python3 -m venv target/py-duckdb
target/py-duckdb/bin/python -c 'import duckdb' 2>/dev/null || target/py-duckdb/bin/pip install -q duckdb
duckdb_py=$PWD/target/py-duckdb/bin/python

log "cargo test"
# The symbol index and debuginfod cache of the tests' runs go to a scratch
# cache, not the CI user's.
XDG_CACHE_HOME=$(mktemp -d)
export XDG_CACHE_HOME
CRASHVIEW_REQUIRE_DEBUGINFOD=1 CRASHVIEW_REQUIRE_BPFTOOL=1 CRASHVIEW_DUCKDB_PYTHON=$duckdb_py CRASHVIEW_FIXTURES=${fresh} CRASHVIEW_RECORDER_FIXTURES=${fresh_rec} CRASHVIEW_PATCH_FIXTURES=${fresh_pp} \
	CRASHVIEW_DBG_VMLINUX=${dbg_vmlinux:-} \
	cargo test -j2 --workspace

# `cargo install --path tools/crashview` (the book's install line) works; the
# dev profile and the shared target directory keep it to a link step.
log "cargo install --path tools/crashview"
inst=$(mktemp -d)
cargo install -q -j2 --path tools/crashview --debug --target-dir target --root "$inst" --locked
out=$("$inst/bin/crashview" report --plain fixtures/recorder/hang/region.bin)
grep -q 'STOPPED in step 8 pre-reboot list, inside "hung_notifier"' <<<"$out" || { echo "installed crashview: unexpected report" >&2; exit 1; }
rm -rf "$inst"
