#!/usr/bin/env bash
# Builds the recorder's Rust object for a kernel, the one recipe both ways
# into Linux use (the module's build.sh, the patch series' build.sh):
#   kernel-side/linux-module/rust-object.sh KDIR OUT.o [module|builtin]
# KDIR is a configured kernel tree or headers directory (its .config gives
# the mitigations; its tools/objtool/objtool checks the object).
#
# The staticlib is built with nightly -Zbuild-std for x86_64-unknown-none
# with the kernel code model (DESIGN.md's recipe; -Zplt=yes, without which
# the module loader rejects R_X86_64_GOTPCREL) and the kernel's own
# mitigations (retpolines through __x86_indirect_thunk_*, returns through
# __x86_return_thunk); then one relocatable object keeps only what the C ABI
# reaches (-u roots, --gc-sections: the archive also holds all of core),
# without LLVM bitcode sections. Kbuild runs objtool on what it compiles,
# not on a shipped object, so it runs here with the options the config gives
# the kernel's own objects: it checks the mitigations and writes the ORC
# tables the kernel unwinds Rust frames with. Any warning fails the build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
KDIR=$1 OBJ=$2 KIND=${3:-module}
conf() { grep -q "^$1=y" "$KDIR/.config"; }
MITIGATIONS=
conf CONFIG_RETPOLINE && MITIGATIONS+=" -Zretpoline-external-thunk"
conf CONFIG_RETHUNK && MITIGATIONS+=" -Zfunction-return=thunk-extern"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(dirname "$OBJ")/cargo}
RUSTFLAGS="-C code-model=kernel -C relocation-model=static -C no-redzone=yes -Zplt=yes$MITIGATIONS" \
	cargo +nightly build --release --quiet \
	-Zbuild-std=core,compiler_builtins --target x86_64-unknown-none \
	--manifest-path "$here/rust/Cargo.toml"
lib=$CARGO_TARGET_DIR/x86_64-unknown-none/release/libpanic_recorder_kmod.a
roots=()
for s in $(sed -n 's/^pub \(unsafe \)\?extern "C" fn \([a-z_0-9]*\).*/\2/p' "$here/rust/src/lib.rs"); do roots+=(-u "$s"); done
script=()
if [ "$KIND" = builtin ]; then
	# vmlinux's linker script takes .text, .rodata, .data and .bss, not
	# rustc's one-section-per-function names (it would place them as
	# orphans, outside _stext.._etext): merge them after --gc-sections.
	cat > "$OBJ.ld" <<'LD'
SECTIONS {
	.text : { *(.text .text.*) }
	.rodata : { *(.rodata .rodata.*) }
	.data : { *(.data .data.*) }
	.bss : { *(.bss .bss.*) }
}
LD
	script=(-T "$OBJ.ld")
fi
ld -r "${roots[@]}" --gc-sections "${script[@]}" "$lib" -o "$OBJ.tmp"
rm -f "$OBJ.ld"
objcopy --remove-section=.llvmbc --remove-section=.llvmcmd "$OBJ.tmp" "$OBJ"
rm "$OBJ.tmp"
objtool=$KDIR/tools/objtool/objtool
ot=(--hacks=jump_label --hacks=noinstr --static-call --uaccess --link)
[ "$KIND" = module ] && ot+=(--module)
conf CONFIG_UNWINDER_ORC && ot+=(--orc)
conf CONFIG_RETPOLINE && ot+=(--retpoline)
conf CONFIG_RETHUNK && ot+=(--rethunk)
conf CONFIG_SLS && ot+=(--sls)
[ -x "$objtool" ] || { echo "no objtool at $objtool" >&2; exit 1; }
warnings=$("$objtool" "${ot[@]}" "$OBJ" 2>&1 | grep -v 'Linked object detected' || true)
[ -z "$warnings" ] || { printf 'objtool on the Rust object:\n%s\n' "$warnings" >&2; exit 1; }
