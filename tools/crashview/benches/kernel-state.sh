#!/usr/bin/env bash
# "bt --all + ps + modules" on the same real vmcore: crashview against drgn
# and crash doing the same work, side by side; medians and ratios.
#
#   tools/crashview/benches/kernel-state.sh
#   RUNS=10 tools/crashview/benches/kernel-state.sh
#   DUMPS="fixtures/.cache/tasks/6.1/kdump-zlib-d1 /var/crash/x/dump" tools/crashview/benches/kernel-state.sh
#   CRASHVIEW=/path/to/crashview tools/crashview/benches/kernel-state.sh   (no build)
#
# Dumps (DUMPS, space-separated, overrides): the 6.1 kdump
# fixtures/.cache/tasks/6.1/kdump-zlib-d31 (512 MiB guest, makedumpfile -d 31)
# and, when present, fixtures/.cache/tasks/6.12/kdump-zlib-d1 — both made by
# fixtures/tasks/generate.sh.  The release comes from `crashview info --json`
# ("release"), else from the path (.../tasks/<6.1|6.12>/...).
# The work, per tool, each run a fresh process:
#   crashview  three processes: bt --all --no-symbols, ps, modules (no debug
#              file); timed together (one row), and each command alone (the
#              per-command table).  Two modes: "cold cache" (XDG_CACHE_HOME a
#              fresh empty directory before every timed run: for the trio one
#              directory shared by its three commands, as a user's first look
#              would be) and "warm cache" (one directory kept across runs,
#              filled by the untimed warm-up run).
#   drgn       one python process (kernel-state-drgn.py, PyPI drgn in
#              fixtures/.cache/drgn-venv): loads the -dbg vmlinux
#              (fixtures/.cache/dbg/vmlinux-<release>) and the modules' .ko
#              with DWARF (fixtures/tasks/<rel>/{cvpark,crashmod}.ko), prints
#              every task's stack (for_each_task + idle tasks; drgn's format,
#              with file:line), the task list and the module list.
#   crash      crash -s <-dbg vmlinux> <dump>, stdin: bt -a; foreach bt; ps;
#              mod; quit.  6.1: Debian 12's crash 8.0.2 (/usr/bin/crash), and
#              also crash 8.0.6, because 8.0.2 cannot find 6.1.y's sleeping
#              tasks (see generate.sh); other releases: Debian 13's crash 8.0.6,
#              run with its own libraries by generate.sh's wrapper
#              fixtures/.cache/crash-trixie/crash.  A crash that is missing or
#              cannot read the dump is a "not available (reason)" row.
# Page cache warm: every tool runs once untimed first, then RUNS (default 5)
# timed rounds, the tools interleaved within a round.  Wall time: bash's
# $EPOCHREALTIME around `/usr/bin/time -f "%e %M"` (it adds ~1 ms per
# process; %e alone has 10 ms steps); peak RSS: %M, the largest over the runs
# (for the trio: over its three processes).  stdout goes to /dev/null.
# "tasks": the distinct tasks whose stack the tool printed (warm-up output):
# the rows only do the same work when these agree.  Ratio: peer median /
# crashview median, against crashview's cold and warm rows.
# Builds target/release/crashview (cargo build --release -p crashview -j1)
# when it is missing or older than a source file, unless CRASHVIEW is set.
# Needs: GNU time (/usr/bin/time), python3, bash >= 5; for the peers what
# fixtures/tasks/generate.sh installs (drgn venv, -dbg vmlinux, crash).
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
RUNS=${RUNS:-5}
cache=$(realpath -m "${CV_CACHE:-$root/fixtures/.cache}")
CV=${CRASHVIEW:-$root/target/release/crashview}
VENV=$cache/drgn-venv
CRASH_DEB12=${CRASH_DEB12:-$(command -v crash || echo /usr/bin/crash)}
CRASH_DEB13=${CRASH_DEB13:-$cache/crash-trixie/crash}
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "${CRASHVIEW:-}" ]; then
	# Sources: what the binary is built from (not tests/, benches/, examples/, fuzz/).
	if [ ! -x "$CV" ] || [ -n "$(find Cargo.toml Cargo.lock crates tools \
		\( -path '*/tests' -o -path '*/benches' -o -path '*/examples' -o -path '*/fuzz' \) -prune -o \
		-newer "$CV" \( -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock \) -print -quit)" ]; then
		echo "building $CV (cargo build --release -p crashview -j1)" >&2
		cargo build --release -q -p crashview -j1
	fi
fi
[ -x "$CV" ] || { echo "no crashview binary at $CV" >&2; exit 1; }

if [ -n "${DUMPS:-}" ]; then
	read -r -a dumps <<<"$DUMPS"
else
	dumps=("$cache/tasks/6.1/kdump-zlib-d31")
	[ -f "$cache/tasks/6.12/kdump-zlib-d1" ] && dumps+=("$cache/tasks/6.12/kdump-zlib-d1")
fi

res=$tmp/results.tsv   # dump tool mode cmd run t0 t1 rss_kb
meta=$tmp/meta.tsv     # dump key value
: >"$res"; : >"$meta"
crash_cmds=$tmp/crash-cmds
printf 'bt -a\nforeach bt\nps\nmod\nquit\n' >"$crash_cmds"

# measure DUMP TOOL MODE CMD RUN XDG STDIN OUT -- ARGV...: one process, timed.
measure() {
	local d=$1 tool=$2 mode=$3 cmd=$4 run=$5 xdg=$6 in=$7 out=$8 t0 t1 rc=0 e m
	shift 9
	t0=$EPOCHREALTIME
	XDG_CACHE_HOME=$xdg /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" <"$in" >"$out" 2>"$tmp/err" || rc=$?
	t1=$EPOCHREALTIME
	read -r e m < <(tail -1 "$tmp/time")
	[ "$run" = warmup ] || printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$d" "$tool" "$mode" "$cmd" "$run" "$t0" "$t1" "$m" >>"$res"
	return $rc
}

cv_args() { # cv_args CMD DUMP
	case $1 in
	bt) echo "bt --all --no-symbols $2" ;;
	*) echo "$1 $2" ;;
	esac
}

# cv_trio DUMP MODE RUN XDG [OUTPREFIX]
cv_trio() {
	local c out
	for c in bt ps modules; do
		out=/dev/null; [ -n "${5:-}" ] && out=$5.$c
		# shellcheck disable=SC2046
		measure "$1" crashview "$2" "$c" "$3" "$4" /dev/null "$out" -- "$CV" $(cv_args "$c" "$1") \
			|| { echo "crashview $c failed on $1:" >&2; cat "$tmp/err" >&2; exit 1; }
	done
}

# peer DUMP TOOL RUN OUT: one run of a peer (drgn or a crash), by name.
peer() {
	local d=$1 tool=$2 run=$3 out=$4
	case $tool in
	drgn) measure "$d" drgn - all "$run" "$tmp/xdg-peer" /dev/null "$out" -- \
		"$VENV/bin/python" "$here/kernel-state-drgn.py" "$d" "$vmlinux" "${kos[@]}" "${drgn_extra[@]}" ;;
	crash-deb12) measure "$d" "$tool" - all "$run" "$tmp/xdg-peer" "$crash_cmds" "$out" -- \
		timeout 900 "$CRASH_DEB12" -s "$vmlinux" "$d" ;;
	crash-deb13) measure "$d" "$tool" - all "$run" "$tmp/xdg-peer" "$crash_cmds" "$out" -- \
		timeout 900 "$CRASH_DEB13" -s "$vmlinux" "$d" ;;
	esac
}

why() { # the last non-empty line of the failed run's stderr/stdout
	{ cat "$tmp/err"; [ -f "${1:-}" ] && cat "$1"; } | grep -v '^\s*$' | grep -v '^Command exited' | tail -1 | cut -c1-100
}

for di in "${!dumps[@]}"; do
	d=$(realpath "${dumps[$di]}")
	[ -f "$d" ] || { echo "no dump $d" >&2; exit 1; }
	release=$("$CV" info --json "$d" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("release") or "")' || true)
	short=$(sed -n 's#.*/tasks/\([0-9]*\.[0-9]*\)/[^/]*$#\1#p' <<<"$d")
	if [ -z "$release" ] && [ -n "$short" ]; then
		release=$(cd "$cache/dbg" 2>/dev/null && ls -d vmlinux-"$short".* 2>/dev/null | head -1 | sed 's/^vmlinux-//' || true)
	fi
	[ -n "$short" ] || short=$(sed -E 's/^([0-9]+\.[0-9]+).*/\1/' <<<"$release")
	vmlinux=
	for v in "$cache/dbg/vmlinux-$release" "$cache/dbg/usr/lib/debug/boot/vmlinux-$release" "/usr/lib/debug/boot/vmlinux-$release"; do
		[ -n "$release" ] && [ -f "$v" ] && { vmlinux=$v; break; }
	done
	kos=()
	for k in cvpark crashmod; do
		[ -f "$root/fixtures/tasks/$short/$k.ko" ] && kos+=("$root/fixtures/tasks/$short/$k.ko")
	done
	{ printf '%s\tpath\t%s\n' "$d" "${d#"$root"/}"
	  printf '%s\trelease\t%s\n' "$d" "${release:-unknown}"
	  printf '%s\tsize\t%s\n' "$d" "$(stat -c %s "$d")"; } >>"$meta"
	echo "== $d (release ${release:-unknown}, vmlinux ${vmlinux:-none}, ${#kos[@]} .ko)" >&2

	# Which peers, and whether they run (the untimed warm-up run decides).
	case $short in
	6.1) peers=(drgn crash-deb12 crash-deb13) ;;
	*) peers=(drgn crash-deb13) ;;
	esac
	ok=()
	drgn_extra=()
	for p in "${peers[@]}"; do
		out=$tmp/out.$di.$p reason=
		if [ -z "$vmlinux" ]; then
			reason="no -dbg vmlinux-${release:-?} in $cache/dbg"
		else
			case $p in
			drgn)
				if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import drgn' 2>/dev/null; then
					reason="no drgn venv at $VENV (fixtures/tasks/generate.sh makes it)"
				elif ! peer "$d" drgn warmup "$out"; then
					drgn_extra=(--architecture x86_64)   # as generate.sh retries
					peer "$d" drgn warmup "$out" || reason=$(why)
				fi ;;
			crash-deb12|crash-deb13)
				bin=$CRASH_DEB12; [ $p = crash-deb13 ] && bin=$CRASH_DEB13
				if [ ! -x "$bin" ] || ! "$bin" --version >/dev/null 2>&1; then
					reason="$bin does not run"
				else
					rc=0; peer "$d" "$p" warmup "$out" || rc=$?
					if [ $rc != 0 ]; then
						reason="exit status $rc: $(why "$out")"
					elif ! grep -q '^PID: ' "$out"; then
						reason="no stack printed: $(why "$out")"
					fi
				fi ;;
			esac
		fi
		if [ -n "$reason" ]; then
			printf '%s\tna:%s\t%s\n' "$d" "$p" "$reason" >>"$meta"
			echo "   $p: not available ($reason)" >&2
			continue
		fi
		ok+=("$p")
		case $p in
		drgn) n=$(grep -c '^PID [0-9]* TASK ' "$out" || true) ;;
		*) n=$(sed -n 's/^PID: .* TASK: \([0-9a-f]*\) .*/\1/p' "$out" | sort -u | wc -l) ;;
		esac
		printf '%s\ttasks:%s\t%s\n' "$d" "$p" "$n" >>"$meta"
	done

	# crashview warm-up: one run per mode (cold: its own fresh directory).
	warm=$tmp/xdg-warm-$di
	mkdir -p "$warm"
	cv_trio "$d" cold warmup "$(mktemp -d -p "$tmp")" "$tmp/out.$di.cv"
	cv_trio "$d" warm warmup "$warm"
	printf '%s\ttasks:crashview\t%s\n' "$d" "$(grep -c '^PID [0-9]' "$tmp/out.$di.cv.bt" || true)" >>"$meta"

	for ((i = 1; i <= RUNS; i++)); do
		echo "   round $i/$RUNS" >&2
		cv_trio "$d" cold "$i" "$(mktemp -d -p "$tmp")"
		cv_trio "$d" warm "$i" "$warm"
		for c in bt ps modules; do
			# shellcheck disable=SC2046
			measure "$d" crashview-alone cold "$c" "$i" "$(mktemp -d -p "$tmp")" /dev/null /dev/null -- "$CV" $(cv_args "$c" "$d")
			# shellcheck disable=SC2046
			measure "$d" crashview-alone warm "$c" "$i" "$warm" /dev/null /dev/null -- "$CV" $(cv_args "$c" "$d")
		done
		for p in "${ok[@]}"; do
			peer "$d" "$p" "$i" /dev/null || { echo "$p failed on round $i: $(why)" >&2; exit 1; }
		done
	done
done

{ echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"; } >"$tmp/load"

crash_version() { "$1" --version 2>/dev/null | awk '/^crash / {print $2; exit}' || true; }
V12=$(crash_version "$CRASH_DEB12") V13=$(crash_version "$CRASH_DEB13") \
python3 - "$res" "$meta" "$RUNS" "$tmp/load" <<'PY'
import collections, os, statistics, sys
res, meta_f, runs, load = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
meta = collections.defaultdict(dict)
order = []
for line in open(meta_f):
    d, k, v = line.rstrip("\n").split("\t", 2)
    if d not in meta:
        order.append(d)
    meta[d][k] = v
# (dump, tool, mode, run) -> [secs, rss]; per command for crashview-alone
runs_of = collections.defaultdict(lambda: collections.defaultdict(lambda: [0.0, 0]))
for line in open(res):
    d, tool, mode, cmd, run, t0, t1, rss = line.rstrip("\n").split("\t")
    key = (tool, mode, cmd if tool == "crashview-alone" else "all")
    r = runs_of[(d,) + key][run]
    r[0] += float(t1) - float(t0)
    r[1] = max(r[1], int(rss))

def stat(d, tool, mode, cmd="all"):
    v = runs_of.get((d, tool, mode, cmd))
    if not v:
        return None
    return statistics.median(x[0] for x in v.values()), max(x[1] for x in v.values()) / 1024

names = {"drgn": "drgn", "crash-deb12": f"crash {os.environ.get('V12') or '?'} (Debian 12)",
         "crash-deb13": f"crash {os.environ.get('V13') or '?'} (Debian 13)"}
for d in order:
    m = meta[d]
    print(f"\n### {m['path']} — {m['release']}, file {int(m['size']) / 2**20:.0f} MiB, RUNS={runs}, page cache warm\n")
    print("| tool | mode | tasks | median s | peak RSS MiB | ratio vs cv cold | ratio vs cv warm |")
    print("|---|---|---:|---:|---:|---:|---:|")
    cold, warm = stat(d, "crashview", "cold"), stat(d, "crashview", "warm")
    tcv = m.get("tasks:crashview", "?")
    print(f"| crashview bt --all --no-symbols + ps + modules (3 processes, no debug file) | cold cache | {tcv} | {cold[0]:.3f} | {cold[1]:.0f} | 1.00 | {cold[0] / warm[0]:.2f} |")
    print(f"| crashview bt --all --no-symbols + ps + modules (3 processes, no debug file) | warm cache | {tcv} | {warm[0]:.3f} | {warm[1]:.0f} | {warm[0] / cold[0]:.2f} | 1.00 |")
    for p in ("drgn", "crash-deb12", "crash-deb13"):
        if f"na:{p}" in m:
            print(f"| {names[p]} | — | — | {p.split('-')[0]}: not available ({m[f'na:{p}']}) | — | — | — |")
            continue
        s = stat(d, p, "-")
        if s is None:
            continue
        what = ("1 process: -dbg vmlinux + .ko DWARF, stacks + tasks + modules" if p == "drgn"
                else "crash -s: bt -a; foreach bt; ps; mod")
        print(f"| {names[p]}: {what} | no cache | {m.get('tasks:' + p, '?')} | {s[0]:.3f} | {s[1]:.0f} | {s[0] / cold[0]:.1f} | {s[0] / warm[0]:.1f} |")
    print("\ncrashview per command, each alone (fresh process per run):\n")
    print("| command | cold cache median s | warm cache median s | peak RSS MiB |")
    print("|---|---:|---:|---:|")
    tot = [0.0, 0.0]
    for c, label in (("bt", "bt --all --no-symbols"), ("ps", "ps"), ("modules", "modules")):
        a, b = stat(d, "crashview-alone", "cold", c), stat(d, "crashview-alone", "warm", c)
        tot[0] += a[0]; tot[1] += b[0]
        print(f"| {label} | {a[0]:.3f} | {b[0]:.3f} | {max(a[1], b[1]):.0f} |")
    print(f"| sum of the medians | {tot[0]:.3f} | {tot[1]:.3f} | |")
print()
print(open(load).read().strip())
PY

echo
echo "versions:"
echo "  crashview: $("$CV" --version 2>&1 | head -1) ($CV, built $(date -u -r "$CV" '+%F %T UTC'), tree at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))"
if [ -x "$VENV/bin/python" ]; then
	echo "  drgn: $("$VENV/bin/python" -c 'import drgn, sys; print(drgn.__version__, "(PyPI) on Python", sys.version.split()[0])' 2>&1 | tail -1)"
fi
for b in "$CRASH_DEB12" "$CRASH_DEB13"; do
	if [ -x "$b" ] && v=$("$b" --version 2>/dev/null | awk '/^crash / {print $2; exit}') && [ -n "$v" ]; then
		pkg=
		if [ "$b" = "$CRASH_DEB13" ]; then
			pkg=$(grep '^crash_' "$(dirname "$b")/debs.txt" 2>/dev/null | head -1 || true)
			pkg="${pkg:-?} (Debian 13), run with its own libraries by $b"
		else
			pkg="$(dpkg-query -W -f='crash ${Version}' crash 2>/dev/null || echo '?') (Debian 12), $b"
		fi
		echo "  crash: $v — $pkg"
	else
		echo "  crash: $b not available"
	fi
done
echo "  $(/usr/bin/time --version 2>&1 | head -1), $(bash --version | head -1)"
