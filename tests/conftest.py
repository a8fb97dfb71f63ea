"""Fixtures that start the server under test and always stop it (process group TERM, then KILL).

- `start_server(app, *args, env=None, ready=True, bind=True)`: a new server for this test.
- `shared_server(app, *args, env=None)`: one server per distinct (app, args, env) for the whole
  session, for the many tests (the request corpus) that only send requests.

Both bind 127.0.0.1:0 in the test process and pass it as `-b fd://N`, and wait for readiness by
sending requests. When a test fails, the tail of each server's error log is printed with it.
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server import APPS_DIR, SERVER_KIND, UNDER_GUNICORN, ServerProcess  # noqa: E402

# In CI (CI=true, as .ci/run is run) every test must run: a skip for a missing tool, module or
# machine feature is a failure there, since tests/run.sh installs everything the tests need. Only
# the reference run against gunicorn skips, for the deliberate differences.
SKIPS_FAIL = os.environ.get("CI", "").lower() in ("1", "true", "yes") and not UNDER_GUNICORN


def _fail_the_skip(report):
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped in CI, where nothing may be skipped: {reason}"


def pytest_report_header(config):
    return f"server under test: {SERVER_KIND} (set RGUNICORN_TEST_SERVER=gunicorn for the reference)"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if SKIPS_FAIL and report.skipped and not hasattr(report, "wasxfail"):
        _fail_the_skip(report)
    setattr(item, "rep_" + report.when, report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    # A module-level importorskip skips at collection, before any test report exists.
    outcome = yield
    report = outcome.get_result()
    if SKIPS_FAIL and report.skipped:
        _fail_the_skip(report)


def _print_logs_if_failed(request, servers):
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for srv in servers:
            print(f"\n--- {' '.join(srv.cmd)} (pid {srv.pid}) stderr, last 3000 chars ---")
            print(srv.log()[-3000:])


@pytest.fixture
def start_server(request, tmp_path_factory):
    started = []

    def start(app, *args, env=None, ready=True, bind=True, chdir=APPS_DIR):
        srv = ServerProcess(app, args, env=env, workdir=tmp_path_factory.mktemp("server"), bind=bind, chdir=chdir)
        started.append(srv)
        if ready:
            srv.wait_ready()
        return srv

    try:
        yield start
    finally:
        try:
            _print_logs_if_failed(request, started)
        finally:
            for srv in started:
                srv.stop()


@pytest.fixture(scope="session")
def _shared_servers(tmp_path_factory):
    servers = {}
    try:
        yield servers
    finally:
        for srv in servers.values():
            srv.stop()


@pytest.fixture
def shared_server(request, _shared_servers, tmp_path_factory):
    used = []

    def get(app, *args, env=None):
        key = (app, args, tuple(sorted((env or {}).items())))
        srv = _shared_servers.get(key)
        if srv is not None and srv.proc.poll() is not None:
            srv.stop()
            srv = None
        if srv is None:
            workdir = tmp_path_factory.mktemp("shared-server")
            env = dict(env or {})
            env.setdefault("RGUNICORN_TEST_CALLS", str(workdir / "app-calls.log"))
            srv = ServerProcess(app, args, env=env, workdir=workdir)
            srv.calls_path = Path(env["RGUNICORN_TEST_CALLS"])
            _shared_servers[key] = srv
            srv.wait_ready()
        used.append(srv)
        return srv

    yield get
    _print_logs_if_failed(request, used)
