#!/usr/bin/env bash
# Builds panic_recorder.ko for a kernel: the Rust recorder as a static
# object (nightly, -Zbuild-std, kernel code model), then Kbuild links it with
# the C shim; cvpr_client.ko (a test user of the exported list API) is built
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

# Rust: the recipe DESIGN.md records as working with Debian's 6.1 headers.
# -Zplt=yes: without it the module loader rejects R_X86_64_GOTPCREL.
# The kernel's own mitigations, as its C code is built with them
# (retpolines through __x86_indirect_thunk_*, returns through
# __x86_return_thunk), so objtool can check the object below.
conf() { grep -q "^$1=y" "$KDIR/.config"; }
MITIGATIONS=
conf CONFIG_RETPOLINE && MITIGATIONS+=" -Zretpoline-external-thunk"
conf CONFIG_RETHUNK && MITIGATIONS+=" -Zfunction-return=thunk-extern"
export CARGO_TARGET_DIR=$OUT/cargo
RUSTFLAGS="-C code-model=kernel -C relocation-model=static -C no-redzone=yes -Zplt=yes$MITIGATIONS" \
	cargo +nightly build --release --quiet \
	-Zbuild-std=core,compiler_builtins --target x86_64-unknown-none \
	--manifest-path "$here/rust/Cargo.toml"
lib=$CARGO_TARGET_DIR/x86_64-unknown-none/release/libpanic_recorder_kmod.a

# One relocatable object for Kbuild, without LLVM bitcode sections. Only
# what the C ABI reaches is kept (-u roots, --gc-sections): the archive also
# holds all of core and compiler_builtins.
mod=$OUT/mod
rm -rf "$mod"; mkdir -p "$mod"
roots=()
for s in $(sed -n 's/^pub \(unsafe \)\?extern "C" fn \([a-z_0-9]*\).*/\2/p' "$here/rust/src/lib.rs"); do roots+=(-u "$s"); done
ld -r "${roots[@]}" --gc-sections "$lib" -o "$mod/rust.o"
objcopy --remove-section=.llvmbc --remove-section=.llvmcmd "$mod/rust.o" "$mod/panic_recorder_rust.o_shipped"
rm "$mod/rust.o"
# Kbuild runs objtool on what it compiles, not on a shipped object: run it
# here with the options the kernel's config gives its own objects. It checks
# the mitigations and writes the ORC tables the kernel unwinds Rust frames
# with; any warning fails the build.
objtool=$KDIR/tools/objtool/objtool
ot=(--hacks=jump_label --hacks=noinstr --static-call --uaccess --module --link)
conf CONFIG_UNWINDER_ORC && ot+=(--orc)
conf CONFIG_RETPOLINE && ot+=(--retpoline)
conf CONFIG_RETHUNK && ot+=(--rethunk)
conf CONFIG_SLS && ot+=(--sls)
[ -x "$objtool" ] || { echo "no objtool at $objtool" >&2; exit 1; }
warnings=$("$objtool" "${ot[@]}" "$mod/panic_recorder_rust.o_shipped" 2>&1 | grep -v 'Linked object detected' || true)
[ -z "$warnings" ] || { printf 'objtool on the Rust object:\n%s\n' "$warnings" >&2; exit 1; }
echo "cmd_$mod/panic_recorder_rust.o := cp $mod/panic_recorder_rust.o_shipped $mod/panic_recorder_rust.o" > "$mod/.panic_recorder_rust.o.cmd"
cp "$here/Kbuild" "$here/cvpr_shim.c" "$here/panic_recorder.h" "$mod/"
cp "$here/client/cvpr_client.c" "$here/client/cvpr_bench.c" "$mod/"
make -s -C "$KDIR" M="$mod" modules >&2
echo "$mod/panic_recorder.ko"
