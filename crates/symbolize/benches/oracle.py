#!/usr/bin/env python3
"""Compare `crashview trace --json` with binutils addr2line, frame by frame.

usage: oracle.py VMLINUX MODULE_DIR < crashview.json

For every resolved frame:
  * vmlinux frames: `addr2line -i -f -e VMLINUX <addr>`, where addr is the
    symbol's address from `nm` (first t/T match, exactly as
    decode_stacktrace.sh finds it) plus the printed offset; our lookup address
    must equal it (or the symbol is a duplicate name, reported separately);
  * module frames: `addr2line -i -f -e MOD.ko -j <section> <offset>` with the
    section and offset crashview reports (checked by crashmod_oracle.rs
    against readelf for our own module).
Prints a summary and exits 1 on any mismatch.
"""
import json
import os
import re
import subprocess
import sys
from collections import defaultdict


def norm(lines):
    out = []
    for l in lines:
        l = re.sub(r" \(discriminator \d+\)$", "", l)
        out.append(l)
    return out


def ours(frame):
    out = []
    for s in frame["source"]:
        out.append(s["function"] or "??")
        out.append("%s:%s" % (s["file"] or "??", s["line"] if s["line"] else "?"))
    return out or ["??", "??:0"]


def batch_addr2line(obj, addrs, section=None):
    """{addr: [lines]} using -a so each answer is delimited."""
    if not addrs:
        return {}
    cmd = ["addr2line", "-a", "-i", "-f", "-e", obj]
    if section:
        cmd += ["-j", section]
    cmd += ["0x%x" % a for a in addrs]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    res = {}
    cur = None
    for l in out.splitlines():
        if re.fullmatch(r"0x[0-9a-f]+", l):
            cur = int(l, 16)
            res[cur] = []
        elif cur is not None:
            res[cur].append(l)
    return res


def nm_text_symbols(obj):
    first = {}
    count = defaultdict(int)
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    for l in out.splitlines():
        w = l.split()
        if len(w) == 3 and w[1] in ("t", "T", "W", "w"):
            count[w[2]] += 1
            first.setdefault(w[2], int(w[0], 16))
    return first, count


def main():
    vmlinux, moddir = sys.argv[1], sys.argv[2]
    doc = json.load(sys.stdin)
    frames = [f for i in doc["inputs"] for t in i["traces"] for f in t["frames"]]
    nm_first, nm_count = nm_text_symbols(vmlinux)
    mods = {m["name"]: m["path"] for m in doc["modules"]}

    vm = [f for f in frames if f["object"] == "vmlinux" and f["lookup_address"] is not None]
    want = batch_addr2line(vmlinux, sorted({f["lookup_address"] for f in vm}))
    ok = bad = dup = addr_bad = 0
    for f in vm:
        # Caller frames are looked up at the call (pc - 1), RIP lines at pc.
        want_lookup = f["pc"] - 1 if f["kind"] == "frame" else f["pc"]
        if f["lookup_address"] != want_lookup:
            addr_bad += 1
            print("LOOKUP %s (%s): %#x, expected %#x" % (f["text"], f["kind"], f["lookup_address"], want_lookup))
            continue
        sym = f["symbol"]
        if sym is not None:
            base = nm_first.get(sym)
            if base is None or base + f["offset"] != f["pc"]:
                if nm_count.get(sym, 0) > 1:
                    dup += 1  # decode_stacktrace.sh takes the first; we match the size
                else:
                    addr_bad += 1
                    print("ADDRESS %s: ours %#x nm %s" % (f["text"], f["lookup_address"], base))
                    continue
        o = norm(want[f["lookup_address"]])
        if ours(f) == o:
            ok += 1
        else:
            bad += 1
            print("MISMATCH vmlinux %s (%#x)\n  ours:   %s\n  oracle: %s" % (f["text"], f["lookup_address"], ours(f), o))

    mod_ok = mod_bad = 0
    by = defaultdict(list)
    for f in frames:
        if f["object"] and f["object"] != "vmlinux" and f["object_section"]:
            by[(f["object"], f["object_section"])].append(f)
    for (m, sec), fs in by.items():
        want = batch_addr2line(mods[m], sorted({f["section_offset"] for f in fs}), sec)
        for f in fs:
            o = norm(want[f["section_offset"]])
            if ours(f) == o:
                mod_ok += 1
            else:
                mod_bad += 1
                print("MISMATCH %s %s\n  ours:   %s\n  oracle: %s" % (m, f["text"], ours(f), o))

    unresolved = [f for f in frames if f["object"] and f["lookup_address"] is None]
    print("vmlinux frames: %d equal, %d differ, %d address mismatches, %d duplicate-name symbols (skipped address check)"
          % (ok, bad, addr_bad, dup))
    print("module frames:  %d equal, %d differ" % (mod_ok, mod_bad))
    print("unresolved:     %d %s" % (len(unresolved), sorted({(f["text"], f["note"]) for f in unresolved})[:5]))
    sys.exit(1 if (bad or mod_bad or addr_bad) else 0)


if __name__ == "__main__":
    main()
