"""Plug-in worker classes (issue 14): every case runs against rgunicorn and gunicorn 27 side by
side (the `server` parameter), and asserts the same outcome for both.

UvicornWorker serving FastAPI (GET, a 1 MiB POST, 50 concurrent requests, HUP under load, TERM,
a blocked event loop past --timeout), aiohttp's GunicornWebWorker, -k tornado with a Tornado and
a WSGI app, a subclass of gunicorn's SyncWorker by dotted path, by egg: entry point and as a class
object in a config file, hooks seeing the worker instance, heartbeats through tmp.fileno(),
--print-config for each form of worker_class, and the one-line failures (-k eventlet, a class
that does not exist). rgunicorn's own base class has no gunicorn counterpart: that case runs
under rgunicorn only.
"""

import concurrent.futures
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

import rawhttp
from server import APPS_DIR, STOP_DEADLINE, base_env, child_pids
from side_by_side import COMMANDS, serve  # noqa: F401 (serve is a fixture)

SERVERS = list(COMMANDS)
UVICORN = "uvicorn_worker.UvicornWorker"


def json_get(srv, target, deadline=10.0):
    resp = srv.get(target, deadline=deadline)
    assert resp.status == 200, resp
    return json.loads(resp.body)


def no_errors_in(log):
    """Tracebacks and ERROR lines in a server log (what a clean run must not have)."""
    return [line for line in log.splitlines() if "Traceback" in line or "[ERROR]" in line]


# -- UvicornWorker + FastAPI ------------------------------------------------------------------


@pytest.mark.parametrize("kind", SERVERS)
def test_uvicorn_fastapi_get_post_and_50_concurrent(serve, kind):
    srv = serve(kind, "fastapi_app:app", "-k", UVICORN, "-w", "2")
    assert json_get(srv, "/")["ok"] is True

    body = os.urandom(1 << 20)
    resp = srv.request("POST", "/digest", headers=[("Content-Type", "application/octet-stream")], body=body,
                       deadline=20)
    assert resp.status == 200
    assert json.loads(resp.body) == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: srv.get("/", deadline=20), range(50)))
    assert [r.status for r in results] == [200] * 50
    pids = {json.loads(r.body)["pid"] for r in results}
    assert pids <= set(srv.workers())
    assert not no_errors_in(srv.log())


@pytest.mark.parametrize("kind", SERVERS)
def test_uvicorn_hup_under_load_loses_no_request(serve, kind):
    srv = serve(kind, "fastapi_app:app", "-k", UVICORN, "-w", "2", "--graceful-timeout", "10")
    old = srv.wait_workers(2)
    failures, served, retried, stop = [], [0], [0], threading.Event()

    def get_once_retried():
        # uvicorn closes, at shutdown, a connection it accepted but whose request it has not read
        # yet (under gunicorn as well): the client sees a close before any byte of response, and
        # retries, as nginx and HTTP clients do for a GET. Anything else is a failed request.
        try:
            return srv.get("/", deadline=10)
        except rawhttp.ParseError as exc:
            if "in b''" not in str(exc):
                raise
            retried[0] += 1
            return srv.get("/", deadline=10)

    def load():
        while not stop.is_set():
            try:
                resp = get_once_retried()
                if resp.status == 200:
                    served[0] += 1
                else:
                    failures.append(resp.status)
            except Exception as exc:  # a reset or a timeout is a failed request
                failures.append(repr(exc))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        srv.signal(signal.SIGHUP)
        new = srv.wait_workers(2, deadline=20, exclude=old)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
    assert failures == [], f"{len(failures)} failed, {served[0]} served, {retried[0]} retried"
    assert served[0] > 20
    assert not set(new) & set(old)


@pytest.mark.parametrize("kind", SERVERS)
def test_uvicorn_term_exits_0(serve, kind):
    srv = serve(kind, "fastapi_app:app", "-k", UVICORN, "-w", "2")
    workers = srv.wait_workers(2)
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(15) == 0
    assert not [pid for pid in workers if os.path.exists(f"/proc/{pid}") and child_pids(srv.pid)]


@pytest.mark.parametrize("kind", SERVERS)
def test_uvicorn_blocked_event_loop_is_killed_and_replaced(serve, kind):
    srv = serve(kind, "fastapi_app:app", "-k", UVICORN, "-w", "1", "--timeout", "2")
    [hung] = srv.wait_workers(1)
    blocked = threading.Thread(target=lambda: _ignore_errors(srv.get, "/block?seconds=20", deadline=20))
    blocked.start()
    try:
        srv.wait_for_log(r"WORKER TIMEOUT \(pid:%d\)" % hung, deadline=15)
        [replacement] = srv.wait_workers(1, deadline=15, exclude=[hung])
        assert json_get(srv, "/")["pid"] == replacement
    finally:
        blocked.join(timeout=25)
    if kind == "rgunicorn":
        # rgunicorn's master asks for every thread's stack before killing: the blocking line is named.
        log = srv.log()
        assert "fastapi_app.py" in log and "in block" in log, log[-3000:]


@pytest.mark.parametrize("kind", SERVERS)
def test_uvicorn_max_requests_replaces_the_worker(serve, kind):
    srv = serve(kind, "fastapi_app:app", "-k", UVICORN, "--max-requests", "5", "--max-requests-jitter", "2")
    [first] = srv.wait_workers(1)
    pids = []
    for _ in range(30):
        resp = _ignore_errors(srv.get, "/", deadline=5)
        if resp is not None and resp.status == 200:
            pids.append(json.loads(resp.body)["pid"])
        if len(set(pids)) > 1:
            break
        time.sleep(0.05)
    # 5 to 7 requests (max-requests plus its jitter; the readiness probe was one), then a new worker.
    assert 4 <= pids.count(first) <= 7, pids
    assert len(set(pids)) == 2, pids


@pytest.mark.parametrize("kind", SERVERS)
def test_uvicorn_usr2_new_master_takes_over(serve, kind, tmp_path):
    pidfile = tmp_path / "app.pid"
    # A port, not fd://: gunicorn's re-exec cannot take an fd:// listener over (EBADF).
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    srv = serve(kind, "fastapi_app:app", "-k", UVICORN, "-p", str(pidfile), port=port, console_script=True)
    [old_worker] = srv.wait_workers(1)
    srv.signal(signal.SIGUSR2)
    deadline = time.monotonic() + 20
    while not (tmp_path / "app.pid.2").exists():
        assert time.monotonic() < deadline, srv.log()[-3000:]
        time.sleep(0.05)
    new_master = int((tmp_path / "app.pid.2").read_text())
    while len(child_pids(new_master)) != 1:
        assert time.monotonic() < deadline, srv.log()[-3000:]
        time.sleep(0.05)
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(15) == 0
    # The new master (in the same process group: the fixture stops it too) serves alone.
    [new_worker] = child_pids(new_master)
    assert json_get(srv, "/")["pid"] == new_worker != old_worker


def _ignore_errors(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception:
        return None


# -- aiohttp, tornado -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SERVERS)
def test_aiohttp_gunicorn_web_worker(serve, kind):
    srv = serve(kind, "aiohttp_app:app", "-k", "aiohttp.GunicornWebWorker")
    seen = json_get(srv, "/hello")
    assert seen["framework"] == "aiohttp" and seen["path"] == "/hello"
    assert seen["pid"] in srv.workers()


@pytest.mark.parametrize("kind", SERVERS)
def test_tornado_worker_serves_a_tornado_app(serve, kind):
    srv = serve(kind, "tornado_app:app", "-k", "tornado")
    seen = json_get(srv, "/t")
    assert seen == {"framework": "tornado", "pid": srv.workers()[0], "path": "/t"}


@pytest.mark.parametrize("kind", SERVERS)
def test_tornado_worker_serves_a_wsgi_app(serve, kind):
    srv = serve(kind, "plugin_workers:app", "-k", "tornado")
    resp = srv.get("/")
    assert resp.status == 200 and resp.body == b"worker class: -\n"


@pytest.mark.parametrize("kind", SERVERS)
def test_gunicorn_asgi_worker_by_its_name(serve, kind):
    """gunicorn 27's own `-k asgi`: rgunicorn has no such worker and runs gunicorn's class."""
    srv = serve(kind, "fastapi_app:app", "-k", "asgi")
    assert json_get(srv, "/")["pid"] in srv.workers()


# -- user classes ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SERVERS)
@pytest.mark.parametrize("spec", ["plugin_workers.MarkedSyncWorker", "egg:rgunicorn-test-workers#marked"])
def test_sync_worker_subclass_by_dotted_path_or_entry_point(serve, kind, spec):
    srv = serve(kind, "plugin_workers:app", "-k", spec)
    resp = srv.get("/")
    assert resp.status == 200 and resp.body == b"worker class: MarkedSyncWorker\n"
    assert f"Using worker: {spec}" in srv.log()


@pytest.mark.parametrize("kind", SERVERS)
def test_thread_worker_subclass_keeps_connections_alive(serve, kind):
    srv = serve(kind, "plugin_workers:app", "-k", "plugin_workers.MarkedThreadWorker", "--threads", "2")
    with rawhttp.connect(srv.address) as conn:
        for _ in range(2):  # two requests on one connection: gunicorn's gthread keep-alive
            conn.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            raw = rawhttp.read_until(conn, b"worker class: MarkedThreadWorker\n")
            assert raw.startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("kind", SERVERS)
def test_class_object_in_config_file_and_hooks_see_the_instance(serve, kind, tmp_path):
    hook_log = tmp_path / "hooks.log"
    srv = serve(kind, "plugin_workers:app", "-c", str(APPS_DIR / "plugin_conf.py"), env={"HOOK_LOG": str(hook_log)})
    resp = srv.get("/")
    assert resp.body == b"worker class: MarkedSyncWorker\n"
    assert "Using worker: MarkedSyncWorker" in srv.log()
    [pid] = srv.workers()
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(15) == 0
    lines = hook_log.read_text().splitlines()
    assert lines == [
        "pre_fork MarkedSyncWorker [booting]",
        f"post_fork MarkedSyncWorker {pid}",
        f"post_worker_init MarkedSyncWorker {pid}",
        f"worker_exit MarkedSyncWorker {pid}",
        f"child_exit MarkedSyncWorker {pid}",
    ]


@pytest.mark.parametrize("kind", SERVERS)
def test_heartbeat_through_tmp_fileno_keeps_a_worker_alive(serve, kind):
    beating = serve(kind, "plugin_workers:app", "-k", "plugin_workers.FileBeatWorker", "--timeout", "1")
    silent = serve(kind, "plugin_workers:app", "-k", "plugin_workers.SilentWorker", "--timeout", "1")
    [beating_pid] = beating.workers()
    [silent_pid] = silent.workers()
    silent.wait_for_log(r"WORKER TIMEOUT \(pid:%d\)" % silent_pid, deadline=15)
    silent.wait_workers(1, deadline=15, exclude=[silent_pid])
    assert beating.get("/").body == b"file-beat"
    assert beating.workers() == [beating_pid]
    assert "WORKER TIMEOUT" not in beating.log()


def test_own_base_class_needs_no_gunicorn(serve):
    """rgunicorn's own base class (gunicorn has no such class: rgunicorn only)."""
    srv = serve("rgunicorn", "plugin_workers:app", "-k", "plugin_workers.OwnBaseWorker", "--timeout", "2")
    assert srv.get("/").body == b"own base: rgunicorn.config app"
    [pid] = srv.workers()
    time.sleep(3)
    assert srv.workers() == [pid]


# -- failures and --print-config --------------------------------------------------------------


@pytest.mark.parametrize("kind", SERVERS)
@pytest.mark.parametrize("spec, named", [("eventlet", "eventlet"), ("no_such_module.Worker", "no_such_module")])
def test_unusable_worker_class_fails_at_once(kind, spec, named, tmp_path):
    code, out, err = _run(kind, ["-b", "127.0.0.1:0", "-k", spec, "plugin_workers:app"], tmp_path)
    # Both stop in the master before forking, with exit 1 (measured: not 3 or 4).
    assert code == 1, (code, err)
    assert named in err
    if kind == "rgunicorn":
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert "Traceback" not in err
        if spec == "eventlet":
            assert "gevent" in lines[0]


@pytest.mark.parametrize("kind", SERVERS)
@pytest.mark.parametrize("spec, app, code", [
    ("plugin_workers.BrokenWorker", "plugin_workers:app", 3),
    ("plugin_workers.MarkedSyncWorker", "plugin_workers:no_such_app", 4),
])
def test_boot_failures_stop_the_master_with_gunicorns_codes(kind, spec, app, code, tmp_path):
    # One worker: with two, gunicorn 27.0.1 meets the second failure while halting and exits 1
    # with a HaltServer traceback (rgunicorn exits 3 or 4 either way).
    started = time.monotonic()
    got, out, err = _run(kind, ["-b", "127.0.0.1:0", "-w", "1", "-k", spec, app], tmp_path)
    assert got == code, err[-2000:]
    assert err.count("Booting worker") == 1, "respawned: " + err[-2000:]
    assert time.monotonic() - started < 20


def _run(kind, args, cwd, env=None):
    """Run a server that is expected to exit by itself; its process group is killed afterwards."""
    proc = subprocess.Popen(COMMANDS[kind] + ["--chdir", str(APPS_DIR), *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=base_env(env),
                            cwd=str(cwd), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=30)
        return proc.returncode, out, err
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=STOP_DEADLINE)


def _print_config_line(kind, args, cwd, name, env):
    code, out, err = _run(kind, [*args, "--print-config", "plugin_workers:app"], cwd, env)
    return code, [line for line in out.splitlines() if line.split(" ")[0] == name]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-k", "sync", "--threads", "4"],
        ["-k", "gevent_wsgi"],
        ["-k", "tornado"],
        ["-k", "eventlet"],
        ["-k", "plugin_workers.MarkedSyncWorker"],
        ["-k", "egg:rgunicorn-test-workers#marked"],
        ["-c", str(APPS_DIR / "plugin_conf.py")],
        ["--logger-class", "json_logger.JsonLogger"],
    ],
    ids=lambda a: " ".join(a).replace(str(APPS_DIR) + "/", "") or "default",
)
def test_print_config_shows_worker_and_logger_class_as_gunicorn(args, tmp_path):
    env = {"HOOK_LOG": str(tmp_path / "unused.log")}
    results = {
        kind: (_print_config_line(kind, args, tmp_path, "worker_class", env),
               _print_config_line(kind, args, tmp_path, "logger_class", env))
        for kind in SERVERS
    }
    assert results["rgunicorn"] == results["gunicorn"]
    (code, worker_lines), _ = results["rgunicorn"]
    assert code == 0 and len(worker_lines) == 1
