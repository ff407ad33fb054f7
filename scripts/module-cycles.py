#!/usr/bin/env python3
"""Module dependency cycles inside each crate of the workspace.

A module depends on another when its code names it: `use crate::x`,
`crate::x::...`, `super::x` from a submodule, or (in lib.rs) `x::...`. The
crate root counts as a module for the items it defines itself; its `mod`
declarations and `pub use` re-exports are not dependencies. Submodules of a
directory module (`input/bytes.rs`) are folded into their top-level module
(`input`), so a cycle is one between the crate's top-level modules.

Prints each cycle and exits 1 if there is any: scripts/test.sh runs it.

    scripts/module-cycles.py [CRATE_DIR...]
"""
import os
import re
import sys

DEFAULT = [
    "crates/ramoops", "crates/journal", "crates/symbolize", "crates/vmcore",
    "crates/printk", "crates/analysis", "crates/debuginfod", "kernel-side/panic-recorder",
    "tools/crashview",
]


def strip_comments(src):
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    return "\n".join(l.split("//", 1)[0] for l in src.splitlines())


def strip_tests(src):
    # `#[cfg(test)] mod tests { ... }` and test-only items are not the
    # module's dependencies.
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{", src):
        if m.start() < i:
            continue
        out.append(src[i:m.start()])
        depth, j = 1, m.end()
        while j < len(src) and depth:
            depth += {"{": 1, "}": -1}.get(src[j], 0)
            j += 1
        i = j
    out.append(src[i:])
    return "".join(out)


def modules(src_dir, root_file):
    """top-level module name -> list of files (the root is '<root>')."""
    mods = {"<root>": [os.path.join(src_dir, root_file)]}
    for name in os.listdir(src_dir):
        p = os.path.join(src_dir, name)
        if name.endswith(".rs") and name not in (root_file, "main.rs", "lib.rs"):
            mods.setdefault(name[:-3], []).append(p)
        elif os.path.isdir(p) and name not in ("bin",):
            for dp, _, fs in os.walk(p):
                for f in fs:
                    if f.endswith(".rs"):
                        mods.setdefault(name, []).append(os.path.join(dp, f))
    return mods


def root_items(src):
    """Names the crate root defines itself (structs, fns, consts...)."""
    return set(re.findall(
        r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:struct|enum|fn|const|static|type|trait|union)\s+(\w+)",
        src, flags=re.M))


def deps(crate):
    src_dir = os.path.join(crate, "src")
    root_file = "lib.rs" if os.path.exists(os.path.join(src_dir, "lib.rs")) else "main.rs"
    mods = modules(src_dir, root_file)
    names = set(mods) - {"<root>"}
    root_src = strip_comments(open(mods["<root>"][0]).read())
    defined = root_items(root_src)
    # `pub use m::{A, B}` in the root: `crate::A` is module m's.
    reexported = {}
    for m, items in re.findall(r"pub\s+use\s+(\w+)::\{?([^;]*?)\}?;", root_src):
        if m in names:
            for item in re.findall(r"\b(\w+)\b", items):
                reexported[item] = m
    graph = {m: set() for m in mods}
    for m, files in mods.items():
        for f in files:
            src = strip_tests(strip_comments(open(f).read()))
            if m == "<root>":
                body = "\n".join(l for l in src.splitlines()
                                 if not re.match(r"\s*(pub(\(\w+\))?\s+)?(mod|use)\b", l))
                for n in names:
                    if re.search(r"\b%s::" % re.escape(n), body):
                        graph[m].add(n)
                continue
            for path in re.findall(r"\bcrate::\{?([\w:, {}]+)", src):
                for n in re.findall(r"\b(\w+)", path)[:1] + re.findall(r"[{,]\s*(\w+)", path):
                    if n in names and n != m:
                        graph[m].add(n)
                    elif n in reexported and reexported[n] != m:
                        graph[m].add(reexported[n])
                    elif n in defined:
                        graph[m].add("<root>")
            # `super::x` from a file directly under the crate's src/.
            if os.path.dirname(f) == src_dir:
                for n in re.findall(r"\bsuper::(\w+)", src):
                    if n in names and n != m:
                        graph[m].add(n)
    return graph


def cycles(graph):
    found, seen = [], set()

    def dfs(node, stack):
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                cyc = stack[stack.index(nxt):] + [nxt]
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key)
                    found.append(cyc)
            elif len(stack) < 32:
                dfs(nxt, stack + [nxt])

    for n in sorted(graph):
        dfs(n, [n])
    return found


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    crates = sys.argv[1:] or [os.path.join(root, c) for c in DEFAULT]
    bad = 0
    for c in crates:
        for cyc in cycles(deps(c)):
            bad += 1
            print(f"{os.path.relpath(c, root)}: module cycle: {' -> '.join(cyc)}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
