#!/usr/bin/env bash
# Builds the kernel (build.sh, cached) and boots it twice in QEMU on the same
# guest-RAM file, with ramoops built in and configured by boot parameters:
#   1. crash:    init writes to /dev/pmsg0, checks pstore's ftrace knob in
#                debugfs, then `echo c > /proc/sysrq-trigger`; the console
#                must show "Kernel panic - not syncing: sysrq triggered crash"
#                and panic=1 must reboot (QEMU runs with -no-reboot, so it
#                exits);
#   2. readback: init mounts pstore and prints /sys/fs/pstore; the previous
#                boot's dmesg (Panic record, decompressed, ECC clean),
#                console and pmsg records must be there; init ends
#                with `poweroff -f` (ACPI).
# Reuses fixtures/lib.sh (run_qemu, memmap_arg, log helpers) with its own
# initramfs: busybox and the /init below, no modules (the fixtures' init
# loads ramoops.ko and only mounts pstore when it does).
#   kernel-side/linux-patch/boot-test.sh     # OUT as build.sh; BT_SMP=2
# Logs: $OUT/boot-test/{crash,readback}.log. Prints PASS or FAIL last on
# stdout; exits non-zero on failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export OUT=${OUT:-$root/target/linux-patch}
BT_SMP=${BT_SMP:-2}
: "${CV_QEMU_TIMEOUT:=180}"
export CV_QEMU_TIMEOUT
# shellcheck source=../../fixtures/lib.sh
. "$root/fixtures/lib.sh"
log() { printf '[boot-test %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fatal() { log "ERROR: $*"; echo "FAIL: $*"; exit 1; }

install_deps
VMLINUZ=$("$here/build.sh" | tail -n 1)
[ -f "$VMLINUZ" ] || fatal "build.sh gave no bzImage"
log "kernel $VMLINUZ"

W=$OUT/boot-test
mkdir -p "$W"

# --- initramfs: busybox + /init --------------------------------------------
INITRD=$W/initramfs.cpio.gz
rootfs=$W/initramfs-root
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp}
cp /bin/busybox "$rootfs/bin/busybox"
cat > "$rootfs/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
MODE=
for w in $(cat /proc/cmdline); do
	case "$w" in bt.mode=*) MODE=${w#*=} ;; esac
done
echo "BT-INIT mode=$MODE cpus=$(cat /sys/devices/system/cpu/online) release=$(uname -r)"
echo "BT-DMESG-BEGIN"
dmesg | grep -E 'ramoops|pstore|persistent_ram'
echo "BT-DMESG-END"
case "$MODE" in
crash)
	echo "crashview boot-test pmsg line" > /dev/pmsg0 || echo "BT-ERROR: pmsg write failed"
	mkdir -p /sys/kernel/debug
	mount -t debugfs debugfs /sys/kernel/debug || echo "BT-ERROR: mount debugfs failed"
	# Present, not switched on: under TCG, patching every function's
	# ftrace site takes minutes (RCU stalls in text_poke_bp_batch).
	[ -f /sys/kernel/debug/pstore/record_ftrace ] && echo "BT-FTRACE-KNOB present"
	echo "BT-CRASH"
	echo c > /proc/sysrq-trigger
	echo "BT-ERROR: sysrq-trigger returned"
	;;
readback)
	mkdir -p /sys/fs/pstore
	mount -t pstore pstore /sys/fs/pstore || echo "BT-ERROR: mount pstore failed"
	echo 1 > /proc/sys/kernel/printk
	echo "BT-LS-BEGIN"
	ls -l /sys/fs/pstore
	echo "BT-LS-END"
	for f in /sys/fs/pstore/*; do
		[ -f "$f" ] || continue
		case "${f##*/}" in ftrace-*) continue ;; esac
		echo "BT-FILE-BEGIN ${f##*/}"
		cat "$f"
		echo
		echo "BT-FILE-END ${f##*/}"
	done
	;;
*)
	echo "BT-ERROR: unknown bt.mode '$MODE'"
	;;
esac
echo "BT-DONE"
sync
poweroff -f
EOF
chmod 755 "$rootfs/init" "$rootfs/bin/busybox"
(cd "$rootfs" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) > "$INITRD"

# run_qemu hard-codes -smp 1; a later -smp on QEMU's command line wins, so
# a wrapper first on PATH adds BT_SMP and keeps the rest of run_qemu.
qbin=$(command -v qemu-system-x86_64) || fatal "no qemu-system-x86_64"
mkdir -p "$W/bin"
printf '#!/bin/sh\nexec %s "$@" -smp %s\n' "$qbin" "$BT_SMP" > "$W/bin/qemu-system-x86_64"
chmod 755 "$W/bin/qemu-system-x86_64"
PATH=$W/bin:$PATH

# --- the two boots --------------------------------------------------------------
ADDR=0x10000000 SIZE=0x100000
RAMOOPS="ramoops.mem_address=$ADDR ramoops.mem_size=$SIZE ramoops.record_size=0x4000 ramoops.ecc=16"
BASE="console=ttyS0 panic=1 $(memmap_arg $((ADDR)) $((SIZE))) $RAMOOPS"
ram=$W/ram
CV_TMPFILES+=("$ram")
rm -f "$ram"
truncate -s "$GUEST_RAM" "$ram"

log "boot 1 (crash): $BASE bt.mode=crash"
run_qemu "$ram" "$BASE bt.mode=crash" "$W/crash.log"
log "boot 2 (readback): $BASE bt.mode=readback"
run_qemu "$ram" "$BASE bt.mode=readback" "$W/readback.log"
rm -f "$ram"

# --- checks -------------------------------------------------------------------
fails=() passes=0
check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then
		log "ok   $what"; passes=$((passes + 1))
	else
		log "FAIL $what"; fails+=("$what")
	fi
}
has() { grep -qF -- "$2" "$1"; }
lacks() { ! grep -qF -- "$2" "$1"; }
# section LOG NAME: the body of BT-FILE-BEGIN NAME ... BT-FILE-END NAME
section() { sed -n "/^BT-FILE-BEGIN $2\$/,/^BT-FILE-END $2\$/p" "$1"; }
# (not `section | grep -q`: with pipefail, grep's early exit fails sed)
sect_has() { local s; s=$(section "$1" "$2"); grep -qF -- "$3" <<<"$s"; }
C=$W/crash.log R=$W/readback.log
check "crash boot: $BT_SMP CPUs online" has "$C" "BT-INIT mode=crash cpus=0-$((BT_SMP - 1))"
check "crash boot: built-in ramoops took the boot parameters" has "$C" "ramoops: using $SIZE@$ADDR, ecc: 16"
check "crash boot: ramoops registered as the pstore backend" has "$C" "pstore: Registered ramoops as persistent store backend"
check "crash boot: no init error" lacks "$C" "BT-ERROR"
check "crash boot: pstore's ftrace knob in debugfs (PSTORE_FTRACE)" has "$C" "BT-FTRACE-KNOB present"
check "crash boot: init reached the sysrq trigger" has "$C" "BT-CRASH"
check "crash boot: console shows the sysrq panic" has "$C" "Kernel panic - not syncing: sysrq triggered crash"
check "crash boot: panic=1 rebooted (QEMU exited, no BT-DONE)" lacks "$C" "BT-DONE"
check "readback boot: no init error" lacks "$R" "BT-ERROR"
check "readback boot: /sys/fs/pstore lists dmesg-ramoops-0" has "$R" "dmesg-ramoops-0"
check "readback boot: no compressed record left undecoded (.enc.z)" lacks "$R" ".enc.z"
check "readback boot: dmesg record is the panic (Panic#1 Part1)" sect_has "$R" dmesg-ramoops-0 "Panic#1 Part1"
check "readback boot: dmesg record has the panic message" sect_has "$R" dmesg-ramoops-0 "Kernel panic - not syncing: sysrq triggered crash"
check "readback boot: dmesg record has the sysrq line" sect_has "$R" dmesg-ramoops-0 "sysrq: Trigger a crash"
check "readback boot: dmesg record ECC clean" sect_has "$R" dmesg-ramoops-0 "ECC: No errors detected"
check "readback boot: console record holds the panic" sect_has "$R" console-ramoops-0 "Kernel panic - not syncing: sysrq triggered crash"
check "readback boot: pmsg record holds the line init wrote" sect_has "$R" pmsg-ramoops-0 "crashview boot-test pmsg line"
check "readback boot: init finished and powered off" has "$R" "BT-DONE"

if [ ${#fails[@]} -gt 0 ]; then
	log "logs: $C $R"
	echo "FAIL: ${#fails[@]} of $((passes + ${#fails[@]})) checks: $(IFS=';'; echo "${fails[*]}")"
	exit 1
fi
echo "PASS: $passes checks ($(basename "$(dirname "$VMLINUZ")" | cut -c1-12), logs in $W)"
