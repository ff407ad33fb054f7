#!/usr/bin/env bash
# Builds a small QEMU kernel from Debian 12's linux-source-6.1 with the patch
# series of this directory (*.patch, applied in sorted order with `git am`;
# none is valid: then it is the stock kernel) and config.fragment merged over
# `make tinyconfig`. Prints the path of the bzImage last on stdout; all logs
# go to stderr.
#
#   kernel-side/linux-patch/build.sh            # OUT=<repo>/target/linux-patch
#
# Layout under $OUT:
#   src/linux-source-6.1/  the patched tree, a git repo (tag `base` = the
#                          unpacked tarball; `git format-patch base` gives the
#                          series back); configured and built, with
#                          modules_prepare done and Module.symvers written, so
#                          out-of-tree modules build with KDIR=<this tree>
#   cache/<key>/           bzImage, .config, System.map, vmlinux (newest 2 kept)
#   logs/                  the last build's make output
# key = sha256 over the tarball's path, size and mtime, the compiler version,
# every patch (name and content), config.fragment and this script. A cache
# hit prints the cached bzImage without touching src/. When the key changes
# the tree is unpacked afresh; a tree whose HEAD or tracked files were changed
# by hand is not deleted unless CV_LINUX_FORCE=1 (export your commits with
# `git format-patch base` into this directory first).
# V=1 streams make's output to stderr instead of only logs/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
OUT=${OUT:-$root/target/linux-patch}
TARBALL=${CV_LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
JOBS=${JOBS:-2}
FRAGMENT=$here/config.fragment

log() { printf '[linux-patch %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fatal() { log "ERROR: $*"; exit 1; }

apt_updated=0
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || fatal "missing packages ${missing[*]} (run as root or apt-get install them)"
	if [ $apt_updated = 0 ]; then
		log "apt-get update"
		apt-get update -qq >&2 || fatal "apt-get update failed"
		apt_updated=1
	fi
	log "apt-get install ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
		|| fatal "apt-get install ${missing[*]} failed"
}

[ -f "$TARBALL" ] || apt_install linux-source-6.1
[ -f "$TARBALL" ] || fatal "no $TARBALL after installing linux-source-6.1"
[ -f "$FRAGMENT" ] || fatal "no $FRAGMENT"
shopt -s nullglob
patches=("$here"/*.patch)
shopt -u nullglob
# Sorted in the C locale, whatever the caller's locale.
if [ ${#patches[@]} -gt 0 ]; then
	mapfile -t patches < <(printf '%s\n' "${patches[@]}" | LC_ALL=C sort)
fi

cache_key() {
	{
		echo "tarball $(stat -c '%n %s %Y' "$TARBALL")"
		echo "cc $(gcc --version 2>/dev/null | head -1)"
		local f
		for f in "${patches[@]}" "$FRAGMENT" "$here/build.sh"; do
			echo "file ${f##*/} $(sha256sum < "$f" | cut -d' ' -f1)"
		done
		# The recorder's Rust object, built from the workspace below.
		(cd "$root" && find kernel-side/panic-recorder/src kernel-side/linux-module/rust/src \
			kernel-side/linux-module/rust/Cargo.toml kernel-side/linux-module/rust/Cargo.lock \
			kernel-side/linux-module/rust-object.sh crates/journal/src crates/ramoops/src \
			-type f | LC_ALL=C sort | xargs sha256sum)
		echo "rustc $(rustc +nightly --version 2>/dev/null)"
	} | sha256sum | cut -d' ' -f1
}
KEY=$(cache_key)
CACHED=$OUT/cache/$KEY
if [ -f "$CACHED/bzImage" ]; then
	touch "$CACHED"
	log "cache hit $KEY (${#patches[@]} patches)"
	echo "$CACHED/bzImage"
	exit 0
fi

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
if ! flock -n 9; then
	log "waiting for another build.sh on $OUT"
	flock 9
fi
# Another build may have produced it while we waited.
if [ -f "$CACHED/bzImage" ]; then
	touch "$CACHED"
	echo "$CACHED/bzImage"
	exit 0
fi

apt_install gcc make bc bison flex libelf-dev libssl-dev xz-utils git perl cpio
t0=$(date +%s)
SRC=$OUT/src/linux-source-6.1
LOGS=$OUT/logs
mkdir -p "$LOGS"

# run NAME CMD...: make output into logs/NAME.log (and stderr with V=1); on
# failure the log's tail is shown.
run() {
	local name=$1; shift
	local lf=$LOGS/$name.log rc=0
	if [ "${V:-0}" = 1 ]; then
		"$@" 2>&1 | tee "$lf" >&2 || rc=${PIPESTATUS[0]}
	else
		"$@" >"$lf" 2>&1 || rc=$?
	fi
	if [ $rc != 0 ]; then
		tail -n 60 "$lf" >&2
		fatal "$name failed (exit $rc; full log: $lf)"
	fi
}

git_src() { git -C "$SRC" -c advice.detachedHead=false "$@"; }

# --- the source tree: unpacked fresh for each key ---------------------------
if [ "$(cat "$SRC/.cv-key" 2>/dev/null || true)" != "$KEY" ]; then
	# Work done by hand in the old tree is not thrown away: uncommitted
	# changes to tracked files, or commits made there (not applied by this
	# script) that are not, by patch-id, among the patch files, stop it.
	if [ -d "$SRC/.git" ] && [ -f "$SRC/.cv-head" ] && [ "${CV_LINUX_FORCE:-0}" != 1 ]; then
		[ -z "$(git_src status --porcelain --untracked-files=no)" ] \
			|| fatal "$SRC has uncommitted changes; commit and export them (git -C $SRC format-patch -o $here base) or set CV_LINUX_FORCE=1 to discard them"
		tree_ids=$(git_src log -p --format='commit %H' HEAD ^base ^"$(cat "$SRC/.cv-head")" | git_src patch-id --stable | cut -d' ' -f1 | sort -u)
		file_ids=$( [ ${#patches[@]} -eq 0 ] || cat "${patches[@]}" | git_src patch-id --stable | cut -d' ' -f1 | sort -u)
		unexported=$(comm -23 <(echo "$tree_ids") <(echo "$file_ids") | grep -c . || true)
		[ "$unexported" = 0 ] \
			|| fatal "$SRC has $unexported commit(s) that are not among $here/*.patch; export them (git -C $SRC format-patch -o $here base) or set CV_LINUX_FORCE=1 to discard them"
	fi
	log "unpacking $TARBALL into $OUT/src"
	rm -rf "$OUT/src"
	mkdir -p "$OUT/src"
	tar -xJf "$TARBALL" -C "$OUT/src" || fatal "unpacking $TARBALL failed"
	[ -f "$SRC/Makefile" ] || fatal "$TARBALL did not give $SRC/Makefile"
	version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo unknown)
	log "git init (base: linux-source-6.1 $version)"
	git init -q "$SRC"
	git_src config user.name "crashview build.sh"
	git_src config user.email "crashview@localhost"
	git_src config core.autocrlf false
	git_src config gc.auto 0
	# -f: the tarball holds files the kernel's .gitignore patterns match.
	git_src add -A -f
	git_src commit -q -m "linux-source-6.1 $version (Debian), as unpacked from ${TARBALL##*/}"
	git_src tag base
	for p in "${patches[@]}"; do
		log "git am ${p##*/}"
		if ! git_src am -q "$p" >&2; then
			git_src am --abort >/dev/null 2>&1 || true
			rm -f "$SRC/.cv-key"
			fatal "patch ${p##*/} does not apply to linux-source-6.1 $version (git's message above)"
		fi
	done
	git_src rev-parse HEAD > "$SRC/.cv-head"
	echo "$KEY" > "$SRC/.cv-key"
	# .cv-* stay out of git status.
	printf '.cv-*\n' >> "$SRC/.git/info/exclude"
else
	log "reusing $SRC (same key: an earlier build of it stopped before the cache copy)"
fi

# --- configuration -----------------------------------------------------------
log "make tinyconfig + config.fragment + olddefconfig"
run tinyconfig make -C "$SRC" tinyconfig
run merge_config bash -c 'cd "$1" && scripts/kconfig/merge_config.sh -m .config "$2"' _ "$SRC" "$FRAGMENT"
run olddefconfig make -C "$SRC" olddefconfig
# Every assignment of the fragment must survive olddefconfig: a dropped one
# has an unmet dependency that belongs in the fragment.
dropped=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) grep -qxF -- "$line" "$SRC/.config" || dropped+=("$line (final: $(grep -E "^(# )?${line%%=*}[= ]" "$SRC/.config" || echo absent))") ;;
	esac
done < "$FRAGMENT"
if [ ${#dropped[@]} -gt 0 ]; then
	printf '  %s\n' "${dropped[@]}" >&2
	fatal "${#dropped[@]} option(s) of config.fragment dropped by olddefconfig: add their dependencies to the fragment"
fi

# --- the recorder's Rust object (patch 2 builds it in as kernel/panic_recorder_rust.o)
if grep -q '^CONFIG_PANIC_RECORDER=y' "$SRC/.config"; then
	log "make prepare (objtool), then the recorder's Rust object"
	run prepare make -C "$SRC" -j"$JOBS" prepare
	CARGO_TARGET_DIR=$OUT/cargo run rust_object "$root/kernel-side/linux-module/rust-object.sh" \
		"$SRC" "$SRC/kernel/panic_recorder_rust.o_shipped" builtin
fi

# --- build -------------------------------------------------------------------
log "make -j$JOBS bzImage (log: $LOGS/bzImage.log)"
run bzImage make -C "$SRC" -j"$JOBS" bzImage
log "make modules_prepare + modules (Module.symvers for out-of-tree modules)"
run modules_prepare make -C "$SRC" -j"$JOBS" modules_prepare
run modules make -C "$SRC" -j"$JOBS" modules
[ -f "$SRC/Module.symvers" ] || fatal "no Module.symvers after make modules"

bz=$SRC/arch/x86/boot/bzImage
[ -f "$bz" ] || fatal "no $bz"
tmp=$OUT/cache/.tmp-$KEY
rm -rf "$tmp"; mkdir -p "$tmp"
cp "$bz" "$SRC/.config" "$SRC/System.map" "$SRC/vmlinux" "$tmp/"
git_src log --format='%H %s' base..HEAD > "$tmp/series.txt"
rm -rf "$CACHED"
mv "$tmp" "$CACHED"
# Keep the newest two entries.
ls -1dt "$OUT"/cache/*/ 2>/dev/null | tail -n +3 | while IFS= read -r old; do
	log "removing old cache entry $(basename "$old")"
	rm -rf "$old"
done
log "built $(du -k "$CACHED/bzImage" | cut -f1) KiB bzImage in $(( $(date +%s) - t0 )) s (key $KEY, ${#patches[@]} patches)"
echo "$CACHED/bzImage"
