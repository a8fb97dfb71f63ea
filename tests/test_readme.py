"""The README's first command, run as a newcomer would: pasted into bash in a clean copy of the tree.

It must install rgunicorn and serve the example app with the machine's own `python3` (Debian's
is externally managed, so a bare `pip install .` would refuse). The copy holds the tracked files
only, so nothing built here (`.venv`, `target/`) helps it; only the compiled dependencies are
shared through CARGO_TARGET_DIR, to keep the test to seconds after the first run.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from server import STOP_DEADLINE, UNDER_GUNICORN

REPO = Path(__file__).resolve().parent.parent
INSTALL_DEADLINE = 600.0

pytestmark = pytest.mark.skipif(UNDER_GUNICORN, reason="about rgunicorn's README, not a server behaviour")


def first_readme_command():
    """The first line of the README's first `sh` block, without its trailing comment."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "the README has no sh block"
    line = block.group(1).splitlines()[0]
    return line.split("  #", 1)[0].strip()


def copy_tracked_files(dest):
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def port_8000_is_free():
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", 8000))
        except OSError:
            return False
    return True


def get_hello():
    with socket.create_connection(("127.0.0.1", 8000), timeout=2) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_the_first_readme_command_installs_and_serves_the_example(tmp_path):
    command = first_readme_command()
    assert "rgunicorn" in command and "examples" in command, command
    assert port_8000_is_free(), "the README's command serves on 127.0.0.1:8000, which is taken"
    tree = tmp_path / "rgunicorn"
    copy_tracked_files(tree)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYO3_PYTHON")}
    # The system's python3 (Debian's, where there is one), not the test venv's or pyenv's.
    if Path("/usr/bin/python3").exists():
        env["PATH"] = "/usr/bin:" + env.get("PATH", "")
    env["CARGO_TARGET_DIR"] = str(REPO / "target" / "readme-check")
    log = open(tmp_path / "readme.log", "wb")
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=tree,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + INSTALL_DEADLINE
        response = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                response = get_hello()
                break
            except OSError:
                time.sleep(0.5)
        output = (tmp_path / "readme.log").read_text(errors="replace")
        assert response is not None, f"nothing served on 127.0.0.1:8000 (exit {proc.poll()}):\n{output[-3000:]}"
        assert response.startswith(b"HTTP/1.1 200 OK\r\n") and response.endswith(b"Hello, World!"), response
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=STOP_DEADLINE)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        proc.wait(timeout=STOP_DEADLINE)
        log.close()
