"""The module graph of each Rust crate in the repository, and the cycles between sibling modules.

A module depends on a sibling when code anywhere in its subtree names the sibling (or something
inside it) through `crate::`, `super::`, `self::` or a bare child name. Edges between siblings are
what layering is about: `worker -> wsgi` is fine, `wsgi -> worker` as well is a cycle. A reference
from a module to its own ancestor or descendant is not an edge between siblings and is not counted.

Crates: `src/` (the extension) and, when the HTTP layer has moved into a workspace crate, every
`crates/*/src/`; each is analysed on its own since cargo already forbids cycles between crates.

    python tests/module_graph.py                    # the cycles, with file:line of each reference; exit 1 if any
    python tests/module_graph.py --edges            # also every sibling edge
    python tests/module_graph.py --allow src/http   # cycles inside src/http are printed but do not fail
    python tests/module_graph.py --repo DIR         # another checkout (or a test's scratch crate)
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Comments, string and char literals are blanked (keeping newlines) before paths are read, so a
# `crate::x` in a doc comment or a message is not a dependency.
LEXEME = re.compile(
    r"""//[^\n]*|/\*.*?\*/|r(\#*)".*?"\1|b?"(?:\\.|[^"\\])*"|b?'(?:\\.|[^'\\])'""",
    re.DOTALL,
)
INLINE_MOD = re.compile(r"\bmod\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{")
USE_STMT = re.compile(r"\buse\s+([^;]*);")
PATH_EXPR = re.compile(r"(?<![A-Za-z0-9_:])((?:crate|super|self|[A-Za-z_][A-Za-z0-9_]*)(?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)+)")


def blank(text):
    return LEXEME.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def crate_roots(repo=REPO):
    """Every crate source directory with a lib.rs or main.rs: src/ and crates/*/src/."""
    roots = [repo / "src"]
    roots += sorted(p.parent for p in (repo / "crates").glob("*/src/lib.rs")) if (repo / "crates").is_dir() else []
    return [r for r in roots if (r / "lib.rs").is_file() or (r / "main.rs").is_file()]


def file_module(root, path):
    """The module path (tuple of names) a file defines: src/a/b.rs -> (a, b), src/a/mod.rs -> (a,)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main") and (len(parts) > 1 or parts[-1] != "mod"):
        parts.pop()
    return tuple(parts)


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e'] (spaces removed, `as x` dropped)."""
    tree = re.sub(r"\s+as\s+[A-Za-z_][A-Za-z0-9_]*", "", tree)
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, s):
        # split s at top-level commas
        depth, start, items = 0, 0, []
        for i, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                items.append(s[start:i])
                start = i + 1
        items.append(s[start:])
        for item in items:
            if not item:
                continue
            brace = item.find("{")
            if brace >= 0:
                walk(prefix + item[:brace], item[brace + 1 : item.rindex("}")])
            else:
                out.append(prefix + item)

    walk("", tree)
    return [p.rstrip(":") for p in out]


class Crate:
    def __init__(self, root):
        self.root = root
        self.modules = set()  # every module path, () is the crate root
        self.refs = []  # (from_module, to_module, file, line)
        files = sorted(root.rglob("*.rs"))
        for f in files:
            self.modules.add(file_module(root, f))
        self.inline = set()
        self.texts = {f: blank(f.read_text()) for f in files}
        for f, text in self.texts.items():
            for scope, _start, _end in self.scopes(f, text):
                self.modules.add(scope)
        for f, text in self.texts.items():
            self.read_refs(f, text)

    def scopes(self, f, text):
        """(module path, start offset, end offset) of the file's module and of its inline `mod x {}`."""
        base = file_module(self.root, f)
        found = [(base, 0, len(text))]
        for m in INLINE_MOD.finditer(text):
            depth, i = 1, m.end()
            while i < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            found.append((None, m.start(), i, m.group(1)))
        # nest inline modules by containment
        result = [found[0]]
        for entry in found[1:]:
            _, start, end, name = entry
            parent = max((s for s in result if s[1] <= start and end <= s[2]), key=lambda s: s[1])
            result.append((parent[0] + (name,), start, end))
        return result

    def scope_at(self, scopes, offset):
        return max((s for s in scopes if s[1] <= offset < s[2]), key=lambda s: s[1])[0]

    def resolve(self, here, path):
        """The deepest existing module that `path` (names, as written in module `here`) points into."""
        names = path.split("::")
        if names[0] == "crate":
            base, rest = (), names[1:]
        elif names[0] in ("super", "self"):
            base = here
            while names and names[0] in ("super", "self"):
                base = base[:-1] if names[0] == "super" else base
                names = names[1:]
            rest = names
        elif here + (names[0],) in self.modules:
            base, rest = here, names  # a child module named bare
        else:
            return None  # an external crate, std, a type or a local name
        target = base
        for name in rest:
            if target + (name,) in self.modules:
                target = target + (name,)
            else:
                break
        return target

    def read_refs(self, f, text):
        scopes = self.scopes(f, text)
        line_of = lambda off: text.count("\n", 0, off) + 1
        seen_spans = []
        for m in USE_STMT.finditer(text):
            here = self.scope_at(scopes, m.start())
            seen_spans.append((m.start(), m.end()))
            for path in expand_use(m.group(1)):
                self.add(here, path, f, line_of(m.start()))
        for m in PATH_EXPR.finditer(text):
            if any(s <= m.start() < e for s, e in seen_spans):
                continue
            here = self.scope_at(scopes, m.start())
            self.add(here, re.sub(r"\s+", "", m.group(1)), f, line_of(m.start()))

    def add(self, here, path, f, line):
        target = self.resolve(here, path)
        if target is None:
            return
        self.refs.append((here, target, f, line))

    def sibling_edges(self):
        """{(parent, a, b): [(file, line), ...]}: code under parent::a names something under parent::b."""
        edges = defaultdict(list)
        for src, dst, f, line in self.refs:
            common = 0
            while common < min(len(src), len(dst)) and src[common] == dst[common]:
                common += 1
            if common == len(src) or common == len(dst):
                continue  # ancestor or descendant
            parent = src[:common]
            edges[(parent, src[common], dst[common])].append((f, line))
        return edges

    def cycles(self):
        """[(parent, [members], {(a, b): refs})]: strongly connected sibling groups of two or more."""
        edges = self.sibling_edges()
        by_parent = defaultdict(lambda: defaultdict(set))
        for parent, a, b in edges:
            by_parent[parent][a].add(b)
        found = []
        for parent, graph in sorted(by_parent.items()):
            for comp in strongly_connected(graph):
                if len(comp) > 1:
                    inner = {(a, b): edges[(parent, a, b)] for a in comp for b in comp if (parent, a, b) in edges}
                    found.append((parent, sorted(comp), inner))
        return found


def strongly_connected(graph):
    """Tarjan's algorithm over {node: {successors}}."""
    index, low, stack, on_stack, comps, counter = {}, {}, [], set(), [], [0]
    nodes = set(graph) | {n for s in graph.values() for n in s}

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            comps.append(comp)

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return comps


def name(repo, root, parent):
    return root.relative_to(repo).as_posix() + ("/" + "/".join(parent) if parent else "")


def option(argv, flag):
    """The values given after each `flag` in argv."""
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


def main(argv):
    repo = Path(option(argv, "--repo")[-1]).resolve() if option(argv, "--repo") else REPO
    allowed = [a.rstrip("/") for a in option(argv, "--allow")]
    total = 0
    for root in crate_roots(repo):
        crate = Crate(root)
        if "--edges" in argv:
            for (parent, a, b), refs in sorted(crate.sibling_edges().items()):
                print(f"edge {name(repo, root, parent)}: {a} -> {b} ({len(refs)} refs)")
        for parent, members, inner in crate.cycles():
            where = name(repo, root, parent)
            tolerated = any(where == a or where.startswith(a + "/") for a in allowed)
            total += 0 if tolerated else 1
            print(f"{'allowed ' if tolerated else ''}cycle in {where}: {' <-> '.join(members)}")
            for (a, b), refs in sorted(inner.items()):
                refs_at = ", ".join(f"{f.relative_to(repo)}:{line}" for f, line in sorted(set(refs))[:8])
                more = f" (+{len(set(refs)) - 8} more)" if len(set(refs)) > 8 else ""
                print(f"  {a} -> {b}: {refs_at}{more}")
    if not total:
        print("no cycle between sibling modules" + (f" outside {', '.join(allowed)}" if allowed else ""))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
