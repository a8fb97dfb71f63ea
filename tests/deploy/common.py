"""Paths, worker-class parameters and small process helpers shared by the deployment tests."""

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from server import ServerProcess

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DJANGO_PROJECT = EXAMPLES / "django_project"
FLASK_APP = EXAMPLES / "flask_app"
DEPLOY = REPO / "deploy"
DEPLOY_APPS = Path(__file__).resolve().parent


def _importable(module):
    return importlib.util.find_spec(module) is not None


# The worker classes the examples are proven under; gevent's rows run where the gevent package
# is installed (pip install rgunicorn[gevent]).
WORKER_CLASSES = [
    pytest.param(("-k", "sync"), id="sync"),
    pytest.param(("-k", "gthread", "--threads", "4"), id="gthread"),
    pytest.param(
        ("-k", "gevent", "--worker-connections", "100"),
        id="gevent",
        marks=pytest.mark.skipif(not _importable("gevent"), reason="-k gevent needs the gevent package"),
    ),
]


def have(command):
    return shutil.which(command) is not None


def free_port():
    """A loopback port for a program that binds by itself (nginx): bind 0, read it, close.

    Racy by nature; callers that start such a program retry on "address in use"."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def short_tempdir(prefix="rgd-"):
    """A directory with a short path under /tmp: unix socket paths must fit in 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def wait_until(predicate, deadline, what):
    end = time.monotonic() + deadline
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline}s waiting for {what}")
        time.sleep(0.02)


def proc_stat(pid):
    """(state, ppid) of a process from /proc, or None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[1])


def children(pid):
    """{child pid: state} of every process whose parent is `pid`, zombies included."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st is not None and st[1] == pid:
                found[int(entry)] = st[0]
    return found


# Processes started by these helpers and not yet stopped: their logs are printed when a test fails.
LIVE = []


@pytest.fixture(autouse=True)
def dump_logs_on_failure(request):
    """Import into a test module to print the tail of every live helper process's log when a test
    fails (module-scoped servers included, which conftest's start_server does not cover)."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for proc in list(LIVE):
            print(f"\n--- {' '.join(map(str, proc.cmd))} (pid {proc.pid}) log, last 3000 chars ---")
            print(proc.log()[-3000:])


def start_app(config, args=(), env=None, workdir=None, bind=True):
    """rgunicorn with an example's config file. With `bind` the test's own 127.0.0.1:0 socket is
    passed as fd://N (the CLI -b overrides the file's bind, as in gunicorn); without it `args`
    must bind (for example `-b unix:PATH`). The caller stops it (ServerProcess.stop)."""
    srv = ServerProcess(None, ("-c", str(config), *args), env=env, workdir=workdir, bind=bind, chdir=None)
    LIVE.append(srv)
    return srv


@contextmanager
def running(srv, probe=None):
    """Wait until `srv` answers (on its own address or `probe`) and always stop it afterwards."""
    try:
        srv.wait_ready(probe=probe)
        yield srv
    except BaseException:
        # A failure in the with-block of a test (a fixture's yield never sees the test's failure:
        # those logs come from dump_logs_on_failure).
        print(f"\n--- {' '.join(srv.cmd)} (pid {srv.pid}) log, last 3000 chars ---\n{srv.log()[-3000:]}")
        raise
    finally:
        srv.stop()
        if srv in LIVE:
            LIVE.remove(srv)


def run(cmd, env=None, cwd=None, timeout=60):
    """Run a helper command to completion; fail with its output if it fails."""
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"{cmd} exited {out.returncode}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return out


def csrf_token(html):
    """The hidden csrfmiddlewaretoken of the first form of a Django page."""
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, f"no CSRF token in the page:\n{html[:2000]}"
    return match.group(1)
