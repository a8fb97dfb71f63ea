"""docs/settings.md is generated from the settings table: it must be exactly what
`rgunicorn --settings-reference` prints today, and name every setting `--print-config` shows."""

import subprocess
import sys
from pathlib import Path

import pytest

from server import APPS_DIR, UNDER_GUNICORN, base_env

pytestmark = pytest.mark.skipif(UNDER_GUNICORN, reason="rgunicorn's own settings reference")

DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"
REGENERATE = "python -m rgunicorn --settings-reference > docs/settings.md"


def _run(*args):
    proc = subprocess.run(
        [sys.executable, "-m", "rgunicorn", *args],
        capture_output=True, text=True, timeout=30, env=base_env(), cwd=str(APPS_DIR),
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_settings_doc_is_generated_from_the_table():
    generated = _run("--settings-reference")
    assert DOC.exists(), f"docs/settings.md is missing: {REGENERATE}"
    assert DOC.read_text() == generated, f"docs/settings.md is out of date: {REGENERATE}"


def test_settings_doc_has_a_row_for_every_printed_setting():
    printed = {line.partition(" = ")[0].strip() for line in _run("--print-config", "loading_app:app").splitlines()}
    rows = {line.split("`")[1] for line in DOC.read_text().splitlines() if line.startswith("| `")}
    assert printed and printed <= rows, sorted(printed - rows)
