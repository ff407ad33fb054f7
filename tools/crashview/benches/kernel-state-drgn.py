#!/usr/bin/env python3
"""kernel-state-drgn.py DUMP VMLINUX [MODULE.ko...] [--architecture x86_64]

drgn's side of tools/crashview/benches/kernel-state.sh: in one process, open
DUMP with the -dbg VMLINUX and the modules' .ko (DWARF), as
fixtures/tasks/tools/drgn_oracle.py does, then print to stdout
  1. every task's stack trace (for_each_task, then each possible CPU's idle
     task, each task once), as drgn formats a StackTrace;
  2. the task list: pid, ppid, cpu, state, comm;
  3. the module list: name, base, size.
Run with the drgn venv's python (fixtures/.cache/drgn-venv/bin/python).
A stack drgn cannot unwind prints its exception text and the walk goes on.
"""
import argparse
import sys

import drgn
from drgn import Program
from drgn.helpers.linux.cpumask import for_each_possible_cpu
from drgn.helpers.linux.module import for_each_module, module_address_regions
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import idle_task, task_cpu, task_state_to_char


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("vmlinux")
    ap.add_argument("modules", nargs="*", help=".ko files with DWARF")
    ap.add_argument("--architecture", default=None)
    a = ap.parse_args()

    platform = None
    if a.architecture == "x86_64":
        platform = drgn.Platform(drgn.Architecture.X86_64,
                                 drgn.PlatformFlags.IS_64_BIT | drgn.PlatformFlags.IS_LITTLE_ENDIAN)
    prog = Program(platform)
    prog.set_core_dump(a.dump)
    try:
        prog.load_debug_info([a.vmlinux] + a.modules, main=True)
    except drgn.MissingDebugInfoError as e:
        print(f"drgn: {e}", file=sys.stderr)

    out = sys.stdout
    tasks, seen = [], set()
    for t in for_each_task(prog):
        tasks.append(t)
    for cpu in for_each_possible_cpu(prog):
        tasks.append(idle_task(prog, cpu))
    uniq = []
    for t in tasks:
        addr = t.value_()
        if addr not in seen:
            seen.add(addr)
            uniq.append(t)

    # 1. stacks
    for t in uniq:
        out.write(f"PID {t.pid.value_()} TASK 0x{t.value_():x} CPU {task_cpu(t)} "
                  f"\"{t.comm.string_().decode(errors='replace')}\"\n")
        try:
            out.write(str(prog.stack_trace(t)))
            out.write("\n")
        except Exception as e:  # noqa: BLE001 - print what drgn says, go on
            out.write(f"  error: {type(e).__name__}: {e}\n")
        out.write("\n")

    # 2. task list
    out.write(f"{'PID':>7} {'PPID':>7} {'CPU':>3} ST  COMM\n")
    for t in uniq:
        out.write(f"{t.pid.value_():7} {t.real_parent.pid.value_():7} {task_cpu(t):3} "
                  f"{task_state_to_char(t):>2}  {t.comm.string_().decode(errors='replace')}\n")

    # 3. modules
    out.write(f"\n{'NAME':24} {'BASE':18} {'SIZE':>8}\n")
    for mod in for_each_module(prog):
        regions = module_address_regions(mod)
        base = regions[0][0] if regions else 0
        size = sum(s for _, s in regions)
        out.write(f"{mod.name.string_().decode():24} 0x{base:016x} {size:8}\n")


if __name__ == "__main__":
    main()
