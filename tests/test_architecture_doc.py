"""docs/architecture.md maps every module of the tree, and names no module that is gone.

The modules are read from the tree when the test runs: every `.rs` file and module directory
under `src/` and under each workspace crate's `crates/*/src/`, and every Python module and package
under `python/rgunicorn/`. So a module added on
any branch fails this test until its row is in the module map, and a row (or any mention of a
path) left behind by a moved or deleted module fails it too. No server is started.
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "architecture.md"

# Where modules live, and which files there are modules. A crate root (`src/`, `crates/*/src/`)
# is not a module directory (its module is its `lib.rs`); the Python package directory is a module.
RUST_ROOT = "src"
WORKSPACE_CRATE_ROOTS = "crates/*/src"
PYTHON_ROOT = "python/rgunicorn"
RUST_SUFFIXES = (".rs",)
PYTHON_SUFFIXES = (".py", ".pyi")

MAP_HEADING = re.compile(r"^## .*module map", re.IGNORECASE)
# A backticked repository path under one of the roots (placeholders such as `<name>` never match).
PATH_TOKEN = re.compile(r"`((?:src|crates|python/rgunicorn)/[A-Za-z0-9_./-]*)`")
# A module-map row: | `path` | what it owns |
MAP_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")


def tree_modules(repo):
    """Repository-relative paths of every module file and module directory (directories end with '/')."""
    found = set()
    crate_roots = [p.relative_to(repo).as_posix() for p in sorted(repo.glob(WORKSPACE_CRATE_ROOTS)) if p.is_dir()]
    roots = [(root, RUST_SUFFIXES, False) for root in [RUST_ROOT, *crate_roots]]
    roots.append((PYTHON_ROOT, PYTHON_SUFFIXES, True))
    for root, suffixes, root_is_module in roots:
        base = repo / root
        for path in base.rglob("*"):
            rel = path.relative_to(repo)
            if "__pycache__" in rel.parts or not path.is_file() or not path.name.endswith(suffixes):
                continue
            found.add(rel.as_posix())
            parent = rel.parent
            while parent != Path(root).parent:
                if parent != Path(root) or root_is_module:
                    found.add(parent.as_posix() + "/")
                parent = parent.parent
    return found


def module_map(doc_text):
    """{path: description} of the rows of the doc's module map section, and the duplicated paths."""
    rows, duplicates, inside = {}, [], False
    for line in doc_text.splitlines():
        if line.startswith("## "):
            inside = bool(MAP_HEADING.match(line))
            continue
        match = MAP_ROW.match(line) if inside else None
        if match:
            path, description = match.group(1), match.group(2).strip()
            if path in rows:
                duplicates.append(path)
            rows[path] = description
    return rows, duplicates


def named_paths(doc_text):
    """Every backticked path under `src/`, `crates/` or `python/rgunicorn/` anywhere in the doc."""
    return set(PATH_TOKEN.findall(doc_text))


def undocumented(repo, doc_text):
    """Modules of the tree without a row in the module map."""
    rows, _ = module_map(doc_text)
    return sorted(tree_modules(repo) - set(rows))


def stale(repo, doc_text):
    """Paths the doc names that do not exist (a directory name must end with '/' and be a directory)."""
    missing = []
    for path in named_paths(doc_text):
        target = repo / path
        exists = target.is_dir() if path.endswith("/") else target.is_file()
        if not exists:
            missing.append(path)
    return sorted(missing)


def doc_text():
    assert DOC.is_file(), f"{DOC.relative_to(REPO)} is missing"
    return DOC.read_text(encoding="utf-8")


def test_the_doc_has_a_module_map():
    rows, duplicates = module_map(doc_text())
    assert rows, "docs/architecture.md has no '## … Module map' section with `| `path` | what it owns |` rows"
    assert not duplicates, f"module map rows listed twice: {duplicates}"
    empty = sorted(path for path, description in rows.items() if not description)
    assert not empty, f"module map rows that do not say what the module owns: {empty}"


def test_every_module_has_a_row_in_the_module_map():
    missing = undocumented(REPO, doc_text())
    assert not missing, (
        "docs/architecture.md's module map has no row for: "
        + ", ".join(missing)
        + ". Add `| `path` | what it owns |` in the module's layer."
    )


def test_every_module_the_doc_names_exists():
    gone = stale(REPO, doc_text())
    assert not gone, (
        "docs/architecture.md names modules that do not exist (moved or deleted?): "
        + ", ".join(gone)
        + ". Update the doc to the tree."
    )


def test_the_checks_catch_a_missing_row_and_a_stale_name(tmp_path):
    """The helpers above on a small tree: a module without a row and a row without a module are found."""
    for rel in (
        "src/lib.rs",
        "src/http/mod.rs",
        "src/http/request.rs",
        "crates/demo/Cargo.toml",
        "crates/demo/benches/speed.rs",
        "crates/demo/src/lib.rs",
        "crates/demo/src/wire/mod.rs",
        "crates/demo/src/wire/frame.rs",
        "python/rgunicorn/__init__.py",
        "python/rgunicorn/_rgunicorn.cpython-311-x86_64-linux-gnu.so",
        "python/rgunicorn/__pycache__/__init__.cpython-311.pyc",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    doc = "\n".join(
        [
            "# Architecture",
            "## 1. Module map",
            "| path | what it owns |",
            "|---|---|",
            "| `src/lib.rs` | the root |",
            "| `src/http/` | HTTP |",
            "| `src/http/mod.rs` | re-exports |",
            "| `src/http/gone.rs` | a module that was deleted |",
            "| `crates/demo/` | a workspace crate |",
            "| `crates/demo/src/lib.rs` | its root |",
            "| `crates/demo/src/wire/` | a module directory |",
            "| `crates/demo/src/wire/mod.rs` | its re-exports |",
            "| `crates/demo/src/gone.rs` | a crate module that was deleted |",
            "| `python/rgunicorn/` | the package |",
            "## 2. Data flow",
            "| `src/http/request.rs` | a row outside the map does not count |",
            "See `src/worker/<name>/` (a placeholder) and `src/old/`.",
        ]
    )
    assert tree_modules(tmp_path) == {
        "src/lib.rs",
        "src/http/",
        "src/http/mod.rs",
        "src/http/request.rs",
        "crates/demo/src/lib.rs",
        "crates/demo/src/wire/",
        "crates/demo/src/wire/mod.rs",
        "crates/demo/src/wire/frame.rs",
        "python/rgunicorn/",
        "python/rgunicorn/__init__.py",
    }
    assert undocumented(tmp_path, doc) == [
        "crates/demo/src/wire/frame.rs",
        "python/rgunicorn/__init__.py",
        "src/http/request.rs",
    ]
    assert stale(tmp_path, doc) == ["crates/demo/src/gone.rs", "src/http/gone.rs", "src/old/"]
