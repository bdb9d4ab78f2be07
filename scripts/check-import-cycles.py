#!/usr/bin/env python3
"""Fails if any crate of the workspace has an import circle between its source files.

Each non-test `.rs` file is a node. A `use` path or an inline `crate::…`/`super::…`/
`self::…` path is an edge to the file that defines what it names: the longest module
prefix that is a file, followed through `pub use` re-exports of a `mod.rs`/`lib.rs`, so a
facade that re-exports a child does not count as a dependency of the child on the facade.
Test modules (`tests.rs`, `*_tests.rs`, `#[cfg(test)]` blocks) are left out: they exist to
look inside their parent. Run from the repository root: `scripts/check-import-cycles.py`.
"""
import re
import sys
from pathlib import Path

CRATES = ["src", "endpoints/src", "simulator/src"]


def strip(text):
    """Source without comments, strings and `#[cfg(test)]` modules."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'r#"(.|\n)*?"#', '""', text)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def expand(tree):
    """`a::{b, c::{d}}` -> [a::b, a::c::d]."""
    tree = tree.strip()
    m = re.match(r"^(.*?)\{(.*)\}$", tree, re.S)
    if not m:
        return [re.sub(r"\s+as\s+\w+$", "", tree)]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    return [p for part in parts if part.strip() for p in expand(prefix + part.strip())]


class Crate:
    def __init__(self, root):
        self.root = Path(root)
        self.files = {}  # module path tuple -> file
        for f in self.root.rglob("*.rs"):
            rel = f.relative_to(self.root).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] in ("lib", "main", "mod"):
                parts = parts[:-1]
            if f.name == "main.rs" and f.parent == self.root:
                continue  # a binary: it depends on the library, never the reverse
            if f.name == "tests.rs" or f.stem.endswith("_tests"):
                continue
            self.files[tuple(parts)] = f
        self.text = {m: strip(f.read_text()) for m, f in self.files.items()}
        self.reexports = {m: self._reexports(m) for m in self.files}

    def _reexports(self, module):
        found = {}
        for tree in re.findall(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", self.text[module]):
            for path in expand(tree):
                segs = path.split("::")
                found[segs[-1]] = segs
        return found

    def resolve(self, module, segs, depth=0):
        """The file module a path names, from inside `module`."""
        if not segs or depth > 10:
            return None
        base = list(module)
        if segs[0] == "crate":
            base, segs = [], segs[1:]
        elif segs[0] == "self":
            segs = segs[1:]
        elif segs[0] == "super":
            while segs and segs[0] == "super":
                base, segs = base[:-1], segs[1:]
        elif tuple(base + [segs[0]]) not in self.files:
            return None  # an external crate, std, or a local item
        path = base + segs
        for n in range(len(path), -1, -1):
            target = tuple(path[:n])
            if target in self.files:
                rest = path[n:]
                if rest and rest[0] in self.reexports.get(target, {}):
                    via = self.reexports[target][rest[0]]
                    local = via[0] in ("crate", "self", "super") or target + (via[0],) in self.files
                    # A re-export of another crate's item: no edge inside this crate.
                    return self.resolve(target, via + rest[1:], depth + 1) if local else None
                return target
        return None

    def edges(self):
        graph = {m: set() for m in self.files}
        for module, text in self.text.items():
            paths = []
            for tree in re.findall(r"\buse\s+([^;]+);", text):
                paths += expand(tree)
            code = re.sub(r"\buse\s+[^;]+;", "", text)
            paths += re.findall(r"\b(?:crate|super|self)(?:::\w+)+", code)
            for path in paths:
                segs = [s for s in path.split("::") if s and s != "*"]
                target = self.resolve(module, segs)
                if target is not None and target != module:
                    graph[module].add(target)
        return graph


def cycles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def main():
    failed = False
    for root in CRATES:
        crate = Crate(root)
        for comp in cycles(crate.edges()):
            failed = True
            names = sorted(str(crate.files[m]) for m in comp)
            print(f"import circle: {' <-> '.join(names)}")
    if failed:
        sys.exit(1)
    print(f"no import circles in {', '.join(CRATES)}")


if __name__ == "__main__":
    main()
