"""Running rgunicorn and gunicorn 27 side by side in one test: their commands and the `serve`
fixture that starts either and always stops it (tests/test_plugin_workers.py,
tests/test_logger_class.py)."""

import os
import sys

import pytest

from server import APPS_DIR, ServerProcess

COMMANDS = {
    "rgunicorn": [sys.executable, "-m", "rgunicorn"],
    "gunicorn": [sys.executable, "-m", "gunicorn", "--no-control-socket"],
}


@pytest.fixture
def serve(request, tmp_path_factory):
    """`serve(kind, app, *args, env=None, ready=True)`: a server of that kind; always stopped."""
    started = []

    def start(kind, app, *args, env=None, ready=True, port=None, console_script=False):
        command = COMMANDS[kind]
        if console_script and kind == "gunicorn":
            # `python -m gunicorn` re-execs gunicorn/__main__.py as a script on USR2, which puts
            # gunicorn's package first on sys.path (its `http` then hides the standard library's).
            command = [os.path.join(os.path.dirname(sys.executable), "gunicorn"), *COMMANDS[kind][3:]]
        srv = ServerProcess(
            app,
            list(args) + (["-b", f"127.0.0.1:{port}"] if port else []),
            env=env,
            workdir=tmp_path_factory.mktemp(kind),
            chdir=APPS_DIR,
            command=command,
            bind=port is None,
        )
        if port:
            srv.address = ("127.0.0.1", port)
        started.append(srv)
        if ready:
            srv.wait_ready(deadline=30)
        return srv

    try:
        yield start
    finally:
        report = getattr(request.node, "rep_call", None)
        for srv in started:
            if report is not None and report.failed:
                print(f"\n--- {' '.join(srv.cmd)} ---\nstderr:\n{srv.log()[-3000:]}\nstdout:\n{srv.stdout()[-2000:]}")
            srv.stop()
