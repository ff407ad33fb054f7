#!/usr/bin/env bash
# Builds panic_recorder.ko for a kernel: the Rust recorder as one object
# (rust-object.sh), then Kbuild links it with the C shim; cvpr_client.ko (a test user of the exported list API) is built
# beside it. Output: $OUT/mod/panic_recorder.ko (default target/kmod), whose
# path is printed last.
#   KREL=6.1.0-57-amd64 kernel-side/linux-module/build.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
KREL=${KREL:-$(uname -r)}
KDIR=${KDIR:-/usr/src/linux-headers-$KREL}
OUT=${OUT:-$root/target/kmod}
[ -f "$KDIR/Makefile" ] || { echo "no kernel headers at $KDIR (apt-get install linux-headers-$KREL)" >&2; exit 1; }

mod=$OUT/mod
rm -rf "$mod"; mkdir -p "$mod"
CARGO_TARGET_DIR=$OUT/cargo "$here/rust-object.sh" "$KDIR" "$mod/panic_recorder_rust.o_shipped" module
echo "cmd_$mod/panic_recorder_rust.o := cp $mod/panic_recorder_rust.o_shipped $mod/panic_recorder_rust.o" > "$mod/.panic_recorder_rust.o.cmd"
cp "$here/Kbuild" "$here/cvpr_shim.c" "$here/panic_recorder.h" "$mod/"
cp "$here/client/cvpr_client.c" "$here/client/cvpr_bench.c" "$mod/"
make -s -C "$KDIR" M="$mod" modules >&2
echo "$mod/panic_recorder.ko"
