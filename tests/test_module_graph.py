"""No two sibling modules of a crate depend on each other (issue 13, "layers that point one way").

`tests/module_graph.py` reads every `.rs` file of `src/` and of each `crates/*/src/` and prints
the cycles between sibling modules with the file:line of every reference that makes them. The
repository must have none. While the HTTP layer still lives in `src/http/` (before it moves into
its own crate, where it is checked like any crate), a cycle inside `src/http/` is printed but
tolerated; a cycle between `http` and another module is not. No server is started.
"""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tests" / "module_graph.py"


def graph(*args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_no_cycle_between_sibling_modules():
    run = graph()
    assert run.returncode == 0 and "no cycle between sibling modules" in run.stdout, run.stdout + run.stderr


def write(root, files):
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def test_the_script_finds_a_cycle_through_crate_super_and_use_groups(tmp_path):
    # a <-> b through `crate::` and a `use` group; inside c/, x <-> y through `super::` and a
    # nested use tree; and in a second crate under crates/, p <-> q.
    write(
        tmp_path,
        {
            "src/lib.rs": "pub mod a;\npub mod b;\npub mod c;\npub mod d;\n",
            "src/a.rs": "pub fn f() { crate::b::g() }\n",
            "src/b.rs": "use crate::{a::f, d};\npub fn g() { f(); d::h() }\n",
            "src/c/mod.rs": "pub mod x;\npub mod y;\n",
            "src/c/x.rs": "use super::y::{Y, z::{Z}};\npub struct X;\n",
            "src/c/y.rs": "pub mod z { pub struct Z; }\npub struct Y(super::x::X);\n",
            "src/d.rs": "// crate::a::f() in a comment is no reference\npub fn h() { let _ = \"crate::a\"; }\n",
            "crates/core/src/lib.rs": "mod p;\nmod q;\n",
            "crates/core/src/p.rs": "pub use crate::q::Q;\npub struct P;\n",
            "crates/core/src/q.rs": "pub struct Q(crate::p::P);\n",
        },
    )
    run = graph("--repo", str(tmp_path))
    assert run.returncode == 1, run.stdout + run.stderr
    cycles = sorted(line for line in run.stdout.splitlines() if line.startswith("cycle"))
    assert cycles == [
        "cycle in crates/core/src: p <-> q",
        "cycle in src/c: x <-> y",
        "cycle in src: a <-> b",
    ], run.stdout
    assert "a -> b: src/a.rs:1" in run.stdout and "b -> a: src/b.rs:1" in run.stdout, run.stdout
    # d is named only by b, and names nothing: no edge makes it part of a cycle.
    assert "d" not in " ".join(line.split(":", 1)[1] for line in cycles), run.stdout


def test_a_child_naming_its_parent_is_no_cycle_and_allow_tolerates_only_its_directory(tmp_path):
    write(
        tmp_path,
        {
            "src/lib.rs": "pub mod top;\npub mod http;\npub struct Root;\n",
            "src/top/mod.rs": "pub mod leaf;\npub struct T;\nfn f() -> leaf::L { leaf::L }\n",
            "src/top/leaf.rs": "pub struct L;\nfn g() -> super::T { crate::top::T }\n",
            "src/http/mod.rs": "pub mod body;\npub mod request;\n",
            "src/http/body.rs": "use super::request::R;\npub struct B;\n",
            "src/http/request.rs": "use super::body::B;\npub struct R;\n",
        },
    )
    run = graph("--repo", str(tmp_path), "--allow", "src/http")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "allowed cycle in src/http: body <-> request" in run.stdout, run.stdout
    assert graph("--repo", str(tmp_path)).returncode == 1
