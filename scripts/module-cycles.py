#!/usr/bin/env python3
"""List import cycles between the modules of each crate of the workspace.

Why: a cycle between modules (a uses b, b uses a, possibly through others)
means neither can be read, tested or moved alone; issue 16 asks that each
crate's modules form a DAG. The compiler accepts cycles, so this checks.

How: every `crate::...` and `super::...` path in non-comment code (use
lines and inline paths alike, outside `#[cfg(test)]` modules) is resolved
to the longest module path it names; that gives an edge from the file's
module to that module. Edges to the crate root (lib.rs/main.rs) are left
out: the root declares and re-exports every module, so each module that
names a root item (`crate::Error`) would otherwise be "in a cycle" with all;
for the same reason re-exports (`pub use`, `pub(crate) use`) make no edge.
Edges between a module and its own ancestors or descendants are left out
too (unless --strict): a child is a room of its parent, declared by it, and
`super::Type` is how a file split out of a module reads the types its
parent keeps; the cycles that make code hard to follow run between modules
that should stand alone (siblings, cousins), and those are reported.

Usage: scripts/module-cycles.py [--strict] [CRATE_DIR ...]   (default: crates/*)
Prints each cycle (strongly connected component) with the lines that make
its edges, and exits 1 if any crate has one.
"""
import os
import re
import sys
from collections import defaultdict

# A re-export makes a module a facade of its children, as the root is.
REEXPORT = re.compile(r"\s*pub(\([a-z]+\))?\s+use\b")
PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")


def module_of(src_dir, path):
    rel = os.path.relpath(path, src_dir)[: -len(".rs")].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"], ["main"]) or (len(rel) == 2 and rel[0] == "bin"):
        return ()
    return tuple(rel)


def strip_tests(text):
    """Drop `#[cfg(test)] mod name { ... }` blocks (brace-matched)."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        out.append("\n" * text[m.start() : j].count("\n"))  # keep line numbers
        i = j
    out.append(text[i:])
    return "".join(out)


def expand_use_groups(line):
    """`crate::{a::X, b::{Y, Z}}` -> ['crate::a::X', 'crate::b::Y', 'crate::b::Z']."""

    def expand(prefix, body):
        parts, depth, cur = [], 0, ""
        for ch in body:
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
                continue
            depth += {"{": 1, "}": -1}.get(ch, 0)
            cur += ch
        parts.append(cur)
        res = []
        for p in parts:
            p = p.strip()
            if not p:
                continue
            if "{" in p:
                head, rest = p.split("{", 1)
                res += expand(prefix + head, rest.rsplit("}", 1)[0])
            else:
                res.append(prefix + p)
        return res

    m = re.search(r"\b(crate|super|self)((?:::\w+)*)::\{(.*)\}", line)
    if not m:
        return []
    return expand(m.group(1) + m.group(2) + "::", m.group(3))


def resolve(current, segs, modules):
    """Module that a path (as segments) names, or None for the crate root.

    `self` and `super` count from the file's module (foo/mod.rs and foo.rs
    are both module foo)."""
    if segs[0] == "crate":
        base, rest = (), segs[1:]
    else:
        base = current
        rest = segs
        while rest and rest[0] in ("self", "super"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    best = base
    for k in range(1, len(rest) + 1):
        cand = base + tuple(rest[:k])
        if cand in modules:
            best = cand
        else:
            break
    return best or None


def crate_edges(src_dir):
    files = {}
    for root, _dirs, names in os.walk(src_dir):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(root, n)
                files[module_of(src_dir, p)] = p
    modules = set(files)
    edges = defaultdict(list)  # (from, to) -> [file:line]
    for mod, path in files.items():
        if mod == ():
            continue
        text = strip_tests(open(path, encoding="utf-8").read())
        for lineno, line in enumerate(text.split("\n"), 1):
            code = line.split("//", 1)[0]
            if not code.strip() or REEXPORT.match(code):
                continue
            paths = expand_use_groups(code)
            for m in PATH.finditer(code):
                if m.group(2) != "::{":
                    paths.append(m.group(1) + m.group(2))
            # Paths relative to this module (`use child::X;`, `child::f()`).
            for m in re.finditer(r"(?<![:\w])([a-z_][a-z0-9_]*)::", code):
                if mod + (m.group(1),) in modules:
                    paths.append("self::" + m.group(1))
            for p in paths:
                segs = [s.strip() for s in p.split("::")]
                segs = [s.split(" as ")[0].strip() for s in segs if s]
                target = resolve(mod, segs, modules)
                if target is None or target == mod:
                    continue
                ref = f"{os.path.relpath(path)}:{lineno}"
                if ref not in edges[(mod, target)]:
                    edges[(mod, target)].append(ref)
    return edges


def sccs(nodes, succ):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in succ.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def name(mod):
    return "::".join(mod)


def related(a, b):
    """True when one module is the other's ancestor."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def main():
    args = sys.argv[1:]
    strict = "--strict" in args
    args = [a for a in args if a != "--strict"]
    dirs = args or sorted(
        os.path.join("crates", d) for d in os.listdir("crates") if os.path.isdir(os.path.join("crates", d, "src"))
    )
    found = False
    for d in dirs:
        src = os.path.join(d, "src")
        edges = crate_edges(src)
        succ = defaultdict(set)
        nodes = set()
        if not strict:
            edges = {k: v for k, v in edges.items() if not related(*k)}
        for a, b in edges:
            succ[a].add(b)
            nodes |= {a, b}
        cycles = sccs(nodes, succ)
        if not cycles:
            print(f"{d}: no module cycles ({len(nodes)} modules, {len(edges)} edges)")
            continue
        found = True
        for comp in cycles:
            print(f"{d}: cycle among {', '.join(name(m) for m in comp)}")
            members = set(comp)
            for (a, b), refs in sorted(edges.items()):
                if a in members and b in members:
                    print(f"  {name(a)} -> {name(b)}   ({', '.join(refs[:3])}{' ...' if len(refs) > 3 else ''})")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
