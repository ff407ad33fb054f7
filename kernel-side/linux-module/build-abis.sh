#!/usr/bin/env bash
# Builds panic_recorder.ko for Debian 6.1 kernel ABIs, installing each
# one's headers with apt, and checks each module's vermagic names its
# kernel. With no argument: every linux-headers-6.1.0-N-amd64 apt serves.
#   kernel-side/linux-module/build-abis.sh [KREL...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
krels=("$@")
if [ ${#krels[@]} -eq 0 ]; then
	mapfile -t krels < <(apt-cache search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' |
		awk '{print $1}' | sed 's/^linux-headers-//' | sort -V)
fi
[ ${#krels[@]} -gt 0 ] || { echo "apt serves no Debian 6.1 headers (apt-get update?)" >&2; exit 1; }
for k in "${krels[@]}"; do
	dpkg-query -W -f='${Status}' "linux-headers-$k" 2>/dev/null | grep -q 'install ok installed' ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "linux-headers-$k" >&2
	ko=$(KREL=$k OUT="$root/target/kmod-abi/$k" "$here/build.sh" 2>/dev/null)
	vm=$(modinfo -F vermagic "$ko")
	case "$vm" in "$k "*) ;; *) echo "$ko: vermagic '$vm' is not $k" >&2; exit 1 ;; esac
	echo "$k: built $ko"
done
