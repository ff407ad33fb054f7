#!/usr/bin/env bash
# Runs the cargo-fuzz targets, each seeded from the fixtures, for N
# executions (default 1000000), one after another, and prints the count
# libFuzzer reports for each. Crashes, timeouts and OOMs are copied to
# $FUZZ_FINDINGS/<target>-<n> and the run continues (fork mode with
# -ignore_crashes) until N executions are done.
#
#   scripts/fuzz.sh [-n RUNS] [-t SECONDS] [TARGET...]
#       TARGET: region rs_decode read elf kdump flattened page_codecs
#               trace_text debug_object report   (default: all, in that order)
#       -n RUNS     executions per target (default 1000000)
#       -t SECONDS  also stop a target after SECONDS (-max_total_time; default none)
#
# Environment:
#   FUZZ_WORK        scratch dir: <target>/{seeds,corpus,artifacts,run.log} (/tmp/cv-fuzz)
#   FUZZ_FINDINGS    where crash/timeout/oom artifacts are collected (/tmp/fuzz-findings)
#   FUZZ_TARGET_DIR  cargo target dir shared by all fuzz crates (target/fuzz,
#                    target/fuzz-<flags> for other build flags)
#   FUZZ_BUILD_FLAGS cargo fuzz build flags ("-O -a": optimized, with debug
#                    assertions and overflow checks, as the tests build; add
#                    "-s none" to drop ASan: 2-3x faster on the slow targets)
#   FUZZ_ARGS        extra libFuzzer arguments
#   FUZZ_MAX_LEN     -max_len for every target run (default: per target, below)
#   FUZZ_BINS        where the built fuzz binaries are copied and run from
#   FUZZ_NO_BUILD=1  skip the build step
#   FUZZ_SEEDS_ONLY=1  only (re)make the seed dirs
#   CARGO_BUILD_JOBS defaults to 1; every build and run is under nice -n 19.
#
# Summary lines (target, runs, seconds, exec/s, corpus files, findings) are
# appended to $FUZZ_WORK/summary.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FX=$ROOT/fixtures

RUNS=1000000
MAX_TIME=
while getopts n:t:h opt; do
    case $opt in
    n) RUNS=$OPTARG ;;
    t) MAX_TIME=$OPTARG ;;
    *) sed -n '2,31p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

WORK=${FUZZ_WORK:-/tmp/cv-fuzz}
FINDINGS=${FUZZ_FINDINGS:-/tmp/fuzz-findings}
BUILD_FLAGS=${FUZZ_BUILD_FLAGS:--O -a}
FLAGS_TAG=$(echo "$BUILD_FLAGS" | tr -dc 'a-zA-Z0-9')
# one target dir per flag set (a different sanitizer rebuilds everything)
if [ "$FLAGS_TAG" = Oa ]; then TARGET_DIR=${FUZZ_TARGET_DIR:-$ROOT/target/fuzz}
else TARGET_DIR=${FUZZ_TARGET_DIR:-$ROOT/target/fuzz-$FLAGS_TAG}; fi
# the binaries actually run: copies taken right after each build, so edits
# to the tree while fuzzing (and their rebuilds) do not change them
BINS=${FUZZ_BINS:-$WORK/bin-$FLAGS_TAG}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
mkdir -p "$WORK" "$FINDINGS"

ALL="region rs_decode read elf kdump flattened page_codecs trace_text debug_object report parse records unwind tables"
[ $# -gt 0 ] || set -- $ALL

crate_of() {
    case $1 in
    region | rs_decode) echo ramoops ;;
    read) echo journal ;;
    elf | kdump | flattened | page_codecs) echo vmcore ;;
    trace_text | debug_object) echo symbolize ;;
    report) echo analysis ;;
    parse | records) echo btf ;;
    unwind) echo unwind ;;
    tables) echo kallsyms ;;
    *) echo "unknown target $1 (one of: $ALL)" >&2; return 1 ;;
    esac
}

# Largest input per target: whole fixtures where they are small, headers
# and the first zones/blocks of the 1 MiB regions and the large vmcores.
# (Per-exec cost grows with the input: region and report inputs of 64 KiB
# run at about half the rate of 16 KiB ones.) FUZZ_MAX_LEN overrides.
max_len_of() {
    [ -n "${FUZZ_MAX_LEN:-}" ] && { echo "$FUZZ_MAX_LEN"; return; }
    case $1 in
    rs_decode) echo 512 ;;
    read | page_codecs) echo 8192 ;;
    trace_text | report) echo 16384 ;;
    region) echo 32768 ;;
    elf | kdump | flattened | parse | records) echo 65536 ;;
    unwind | tables) echo 16384 ;;
    debug_object) echo 262144 ;;
    esac
}

log() { printf '=== %s\n' "$*" >&2; }

# head -c N of FILE after skipping SKIP bytes, into OUT.
cut_bytes() { # FILE SKIP N OUT
    tail -c +$(($2 + 1)) "$1" | head -c "$3" >"$4"
}

# Decompressed .min.zst vmcores, cached (about 230 MB).
raw_vmcore() { # NAME (kdump/kdump-elf ...) -> path
    local out=$WORK/raw/$(basename "$1")
    mkdir -p "$WORK/raw"
    [ -s "$out" ] || zstd -dqf "$FX/vmcore/$1.min.zst" -o "$out"
    echo "$out"
}

text_logs() {
    find "$FX/ramoops" "$FX/recorder" "$FX/panic-patch" "$FX/vmcore" \
        \( -name 'dmesg-*' -o -name 'console-*' -o -name 'ftrace-*' -o -name 'pmsg-*' \
        -o -name console.log -o -name 'dmesg*.txt' \) -type f ! -name '*.enc.z' |
        sort
}

regions() { ls "$FX"/ramoops/*/region.bin "$FX"/recorder/*/region.bin "$FX"/panic-patch/*/region.bin; }

seeds() { # TARGET DIR
    local t=$1 d=$2 i=0 f
    rm -rf "$d"
    mkdir -p "$d"
    case $t in
    region)
        # selector byte (0: default overrides, 3: a fixed layout) + the region
        # (whole if small, else its first zones)
        for f in $(regions); do
            i=$((i + 1))
            { printf '\0'; head -c 65535 "$f"; } >"$d/region-$i"
            if [ $((i % 4)) = 0 ]; then
                { printf '\3'; head -c 65535 "$f"; } >"$d/region-$i-sel3"
            fi
        done
        ;;
    rs_decode)
        # nroots selector + 128 data bytes of a region zone + a few error pairs
        for f in $(regions); do
            i=$((i + 1))
            { printf "\\x$(printf %02x $((i * 7 % 32)))"; tail -c +$((4096 * (i % 15) + 13)) "$f" | head -c 128
              printf '\001\377\021\001\100\200'; } >"$d/rs-$i"
        done
        ;;
    read)
        # journal zones: recorder/panic-patch journal.bin files and the
        # journal at the end of each recorder region
        for f in "$FX"/recorder/*/ours/journal.bin "$FX"/panic-patch/*/journal.bin; do
            i=$((i + 1)); cp "$f" "$d/journal-$i"
        done
        for f in "$FX"/recorder/*/region.bin "$FX"/panic-patch/*/region.bin; do
            i=$((i + 1)); tail -c 8192 "$f" >"$d/region-tail-$i"
            # even first byte: the target arms a fresh header over the slots
            { printf '\002\007\001'; tail -c 8189 "$f"; } >"$d/armed-$i"
        done
        ;;
    elf)
        # the target supplies the first 20 bytes of the ELF header
        for f in "$(raw_vmcore kdump/kdump-elf)" "$(raw_vmcore qemu/qemu.elf)"; do
            i=$((i + 1))
            cut_bytes "$f" 20 65516 "$d/elf-$i"
            cut_bytes "$f" 20 8172 "$d/elf-$i-8k"
        done
        ;;
    kdump)
        # the target supplies the "KDUMP   " signature
        for f in "$FX"/vmcore/kdump/kdump-zlib "$FX"/panic-patch/*/vmcore; do
            [ -f "$f" ] || continue
            i=$((i + 1))
            cut_bytes "$f" 8 65528 "$d/kdump-$i"
            cut_bytes "$f" 8 16376 "$d/kdump-$i-16k"
        done
        ;;
    flattened)
        # the target supplies the 4 KiB flattened header
        f=$(raw_vmcore kdump/kdump-lzo.flat)
        cut_bytes "$f" 4096 65536 "$d/flat-1"
        cut_bytes "$f" 4096 16384 "$d/flat-1-16k"
        ;;
    page_codecs)
        # real zlib pages (kdump-zlib) and lzo pages (the flattened lzo dump),
        # zstd and snappy encodings of real pages; first byte picks the codec
        python3 - "$FX/vmcore/kdump/kdump-zlib" "$(raw_vmcore kdump/kdump-lzo.flat)" "$d" <<'EOF'
import struct, subprocess, sys
zlib_dump, lzo_flat, out = sys.argv[1:]

def descs(img):
    # disk_dump_header: block_size @428, sub_hdr_size @432, bitmap_blocks @436
    bs, sub, bm = struct.unpack_from('<iiI', img, 428)
    at = (1 + sub + bm) * bs
    while at + 24 <= len(img):
        off, size, flags, _ = struct.unpack_from('<qIIQ', img, at)
        at += 24
        if off <= 0 or size == 0 or off + size > len(img):
            break
        yield off, size, flags

def unflatten(f):
    data = bytearray()
    with open(f, 'rb') as fh:
        fh.seek(4096)
        while True:
            h = fh.read(16)
            if len(h) < 16:
                break
            off, size = struct.unpack('>qq', h)
            if off < 0:
                break
            chunk = fh.read(size)
            if len(data) < off + size:
                data.extend(bytes(off + size - len(data)))
            data[off:off + size] = chunk
    return bytes(data)

def pick(img, flag, sel, name, n=8):
    got = 0
    for off, size, flags in descs(img):
        if flags & flag and size < 4096:
            open(f'{out}/{name}-{got}', 'wb').write(bytes([sel]) + img[off:off + size])
            got += 1
            if got == n:
                break

zimg = open(zlib_dump, 'rb').read()
pick(zimg, 1, 0, 'zlib')
pick(unflatten(lzo_flat), 2, 1, 'lzo')
# raw pages (stored in the zlib dump, i.e. incompressible) and a few
# compressible ones for snappy and zstd
pages = [zimg[off:off + 4096] for off, size, flags in descs(zimg) if flags == 0 and size == 4096][:4]
pages += [b'A' * 4096, bytes(range(256)) * 16]
for i, p in enumerate(pages):
    # snappy (raw block): varint length 4096, a 60-byte literal, then
    # copy-2 elements (offset 60) up to 4096 bytes
    body = bytearray(b'\x80\x20') + bytes([(60 - 1) << 2]) + p[:60]
    left = 4096 - 60
    while left:
        n = min(64, left)
        body += bytes([((n - 1) << 2) | 2]) + struct.pack('<H', 60)
        left -= n
    open(f'{out}/snappy-{i}', 'wb').write(b'\2' + bytes(body))
    z = subprocess.run(['zstd', '-q', '-c', '-19'], input=p, capture_output=True, check=True).stdout
    open(f'{out}/zstd-{i}', 'wb').write(b'\3' + z)
EOF
        ;;
    trace_text)
        # the last 16 KiB of each log (where the oops and its trace are),
        # the first 16 KiB of a few (boot lines, panic banners of short logs)
        for f in $(text_logs); do
            i=$((i + 1)); tail -c 16384 "$f" >"$d/log-$i"
            if [ $((i % 8)) = 0 ]; then head -c 16384 "$f" >"$d/log-$i-head"; fi
        done
        ;;
    debug_object)
        # crashmod.ko, its symbols-only and debug-only halves, and any small
        # modules the fixture builds left in fixtures/.cache
        cp "$FX/ramoops/crashmod.ko" "$d/crashmod.ko"
        strip -g -o "$d/crashmod-nodebug.ko" "$FX/ramoops/crashmod.ko"
        objcopy --only-keep-debug "$FX/ramoops/crashmod.ko" "$d/crashmod.debug"
        for f in $(find "$FX/.cache" -name '*.ko' -size -256k 2>/dev/null | head -8); do
            i=$((i + 1)); cp "$f" "$d/cache-$i-$(basename "$f")"
        done
        ;;
    report)
        # text logs, region prefixes, journals and vmcore prefixes, a zstd
        # frame of a log
        for f in $(text_logs); do
            i=$((i + 1)); tail -c 16384 "$f" >"$d/log-$i"
        done
        for f in $(regions); do
            i=$((i + 1)); head -c 65536 "$f" >"$d/region-$i"
        done
        cp "$FX/ramoops/wrap/region.bin" "$d/region-wrap"
        head -c 65536 "$FX/recorder/wrap/region.bin" >"$d/region-recorder-wrap"
        cp "$FX/recorder/bug/ours/journal.bin" "$d/journal"
        head -c 65536 "$FX/vmcore/kdump/kdump-zlib" >"$d/kdump-zlib"
        head -c 65536 "$(raw_vmcore qemu/qemu.elf)" >"$d/qemu.elf"
        head -c 65536 "$(raw_vmcore kdump/kdump-lzo.flat)" >"$d/kdump-lzo.flat"
        zstd -q -c "$FX/ramoops/irq-oops/pstore/dmesg-ramoops-0" >"$d/dmesg.zst"
        ;;
    parse | records)
        # BTF blobs: the host kernel's, and its start (types, then strings)
        if [ -r /sys/kernel/btf/vmlinux ]; then
            head -c 65536 /sys/kernel/btf/vmlinux >"$d/btf-head"
            head -c 8192 /sys/kernel/btf/vmlinux >"$d/btf-8k"
        fi
        ;;
    unwind | tables)
        # no structured seeds: the targets build their inputs from bytes
        head -c 4096 /dev/urandom >"$d/random-1"
        head -c 512 /dev/zero >"$d/zero"
        ;;
    esac
    # libFuzzer truncates longer inputs to -max_len anyway
    ls "$d" | wc -l
}

# Executions of one libFuzzer run: its final stats (plain mode, also after
# a crash), else the last "#N: ..." status line (fork mode)
runs_of() { # LOG
    local n
    n=$(grep -aoE '^stat::number_of_executed_units: *[0-9]+' "$1" | tail -1 | grep -oE '[0-9]+$')
    [ -n "$n" ] || n=$(grep -aoE '^#[0-9]+: cov:' "$1" | tail -1 | grep -oE '[0-9]+')
    echo "${n:-0}"
}

collect() { # TARGET ARTIFACT_DIR -> number of new findings
    local t=$1 a=$2 n=0 f k
    touch "$a/.collected"
    for f in "$a"/crash-* "$a"/timeout-* "$a"/oom-* "$a"/leak-*; do
        [ -f "$f" ] || continue
        grep -qxF "$(basename "$f")" "$a/.collected" && continue
        k=1
        while [ -e "$FINDINGS/$t-$k" ]; do k=$((k + 1)); done
        cp "$f" "$FINDINGS/$t-$k"
        basename "$f" >>"$a/.collected"
        echo "$(basename "$f") from $a, binary $BIN" >"$FINDINGS/$t-$k.origin"
        n=$((n + 1))
        log "finding: $FINDINGS/$t-$k ($(basename "$f"), $(stat -c %s "$f") bytes)"
    done
    echo $n
}

build() { # CRATE
    local c=$1 try
    for try in 1 2 3 4 5; do
        if (cd "crates/$c/fuzz" && nice -n 19 cargo +nightly fuzz build $BUILD_FLAGS --target-dir "$TARGET_DIR"); then
            mkdir -p "$BINS"
            for b in $(cd "crates/$c/fuzz" && cargo +nightly fuzz list); do
                cp "$TARGET_DIR/x86_64-unknown-linux-gnu/release/$b" "$BINS/$b"
            done
            echo "crates/$c/fuzz built $(date -u +%FT%TZ) at $(git rev-parse --short HEAD) (+ working tree: $(git status --porcelain -- crates | wc -l) changed files under crates/)" >"$BINS/$c.built"
            return 0
        fi
        log "build of crates/$c/fuzz failed (try $try); the tree may be mid-edit: retrying in 60 s"
        sleep 60
    done
    return 1
}

declare -A BUILT=()
printf 'target\truns\tseconds\texec_per_s\tcorpus\tfindings\n' >>"$WORK/summary.tsv"
for t in "$@"; do
    c=$(crate_of "$t")
    if [ -z "${FUZZ_NO_BUILD:-}" ] && [ -z "${BUILT[$c]:-}" ]; then
        log "build crates/$c/fuzz ($BUILD_FLAGS)"
        build "$c"
        BUILT[$c]=1
    fi
    dir=$WORK/$t
    mkdir -p "$dir/corpus" "$dir/artifacts"
    log "$t: $(seeds "$t" "$dir/seeds") seeds in $dir/seeds"
    [ -n "${FUZZ_SEEDS_ONLY:-}" ] && continue
    ml=$(max_len_of "$t")
    BIN=$BINS/$t
    [ -x "$BIN" ] || { log "$BIN missing: build first (without FUZZ_NO_BUILD)"; exit 1; }
    total=0 secs=0 found=0 pass=0
    : >"$dir/run.log"
    while [ "$total" -lt "$RUNS" ]; do
        pass=$((pass + 1))
        left=$((RUNS - total))
        extra=()
        # after a crash, go on in fork mode, skipping crashes, timeouts, OOMs
        [ "$pass" -gt 1 ] && extra=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
        [ -n "$MAX_TIME" ] && extra+=(-max_total_time=$((MAX_TIME - secs)))
        args=(-runs="$left" -max_len="$ml" -timeout=10 -rss_limit_mb=2048
            -artifact_prefix="$dir/artifacts/" -print_final_stats=1 "${extra[@]}" ${FUZZ_ARGS:-}
            "$dir/corpus" "$dir/seeds")
        # the same as: (cd crates/$c/fuzz && cargo +nightly fuzz run $BUILD_FLAGS $t CORPUS SEEDS -- ARGS),
        # without its rebuild from a tree others may be editing
        log "$t pass $pass: nice -n 19 $BIN ${args[*]}"
        t0=$(date +%s)
        set +e
        nice -n 19 "$BIN" "${args[@]}" >"$dir/run-$pass.log" 2>&1
        rc=$?
        set -e
        s=$(($(date +%s) - t0))
        cat "$dir/run-$pass.log" >>"$dir/run.log"
        r=$(runs_of "$dir/run-$pass.log")
        total=$((total + r)) secs=$((secs + s))
        new=$(collect "$t" "$dir/artifacts")
        found=$((found + new))
        log "$t pass $pass: rc=$rc, $r runs in $s s (total $total), $new new finding(s)"
        if [ "$rc" -ne 0 ] && [ "$new" -eq 0 ]; then
            log "$t: run failed without a finding; see $dir/run-$pass.log"
            tail -20 "$dir/run-$pass.log" >&2
            break
        fi
        [ -n "$MAX_TIME" ] && [ "$secs" -ge "$MAX_TIME" ] && break
        [ "$pass" -ge 20 ] && break
    done
    n=$(ls "$dir/corpus" | wc -l)
    rate=$([ "$secs" -gt 0 ] && echo $((total / secs)) || echo "-")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$total" "$secs" "$rate" "$n" "$found" | tee -a "$WORK/summary.tsv"
    echo "Done $total runs in $secs second(s) [$t]"
done
