"""The master as operators and orchestrators use it: hooks, TERM with requests queued, HUP and
USR2 under load, TTIN/TTOU, pidfile and process titles, systemd socket activation and readiness,
and hung workers (Python sleep and C code holding the GIL) explained in the log before the kill."""

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from server import APPS_DIR, UNDER_GUNICORN, child_pids, wait_for_file

pytestmark = pytest.mark.skipif(UNDER_GUNICORN, reason="rgunicorn's master behaviour (hooks objects, drain, titles)")

APP = "response_app:app"


def hook_lines(path):
    return [line.split() for line in Path(path).read_text().splitlines()] if Path(path).exists() else []


def wait_until(predicate, deadline, what):
    end = time.monotonic() + deadline
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


class Load:
    """Clients that each open a new connection per request for a bounded time, counting failures."""

    def __init__(self, address, path="/pid", clients=8, seconds=6.0):
        self.address, self.path, self.clients, self.seconds = address, path, clients, seconds
        self.ok = 0
        self.failures = []
        self.bodies = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self):
        end = time.monotonic() + self.seconds
        while time.monotonic() < end:
            try:
                conn = http.client.HTTPConnection(*self.address, timeout=10)
                conn.request("GET", self.path)
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                with self.lock:
                    if resp.status == 200:
                        self.ok += 1
                        self.bodies.append((time.monotonic(), body, resp.getheader("X-Pid")))
                    else:
                        self.failures.append(f"status {resp.status}")
            except Exception as exc:  # any failure is a dropped request
                with self.lock:
                    self.failures.append(repr(exc))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        for t in self.threads:
            t.join(self.seconds + 15)


def test_hooks_fire_where_gunicorn_fires_them(start_server, tmp_path):
    log = tmp_path / "hooks.log"
    conf = APPS_DIR / "hooks_conf.py"
    srv = start_server(APP, "-c", str(conf), "-w", "1", env={"HOOK_LOG": str(log)})
    (worker,) = srv.wait_workers(1)
    assert srv.get("/length").status == 200
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0

    lines = hook_lines(log)
    names = [line[0] for line in lines]
    master, w = str(srv.pid), str(worker)
    by_name = {}
    for line in lines:  # the readiness probe is a request too: keep the last of each hook
        by_name[line[0]] = line
    # gunicorn 27's order, checked against gunicorn itself: num_workers is set in Arbiter.setup().
    assert names[:4] == ["nworkers_changed", "on_starting", "when_ready", "pre_fork"], names
    assert by_name["on_starting"][1:] == [master, master, "0"], "on_starting runs before the listeners exist"
    assert by_name["when_ready"][1:] == [master, "1", "True"]
    assert by_name["nworkers_changed"][1:] == [master, "1", "None"]
    assert by_name["pre_fork"][1:] == [master, "1"]
    assert by_name["post_fork"][1:] == [w, "True", "True"]
    assert by_name["post_worker_init"][1:] == [w, "True"]
    assert by_name["pre_request"][1:] == [w, "GET", "/length"]
    assert by_name["post_request"][1:] == [w, "/length", "200", "/length"]
    assert by_name["worker_exit"][1:] == [w, w]
    assert by_name["child_exit"][1:] == [master, w]
    assert names[-1] == "on_exit" and by_name["on_exit"][1] == master
    order = ["post_fork", "post_worker_init", "pre_request", "post_request", "worker_exit", "child_exit", "on_exit"]
    firsts = [n for i, n in enumerate(names) if n in order and n not in names[:i]]
    assert firsts == order


def test_hook_exception_is_logged_and_server_runs(start_server, tmp_path):
    conf = tmp_path / "bad_hook.conf.py"
    conf.write_text("def when_ready(server):\n    raise RuntimeError('hook-went-wrong')\n")
    srv = start_server(APP, "-c", str(conf))
    assert srv.get("/length").status == 200
    srv.wait_for_log(r"Exception in when_ready hook")
    assert "RuntimeError: hook-went-wrong" in srv.log()


def test_term_serves_inflight_and_queued_requests(start_server, tmp_path):
    srv = start_server(APP, "-w", "4")
    srv.wait_workers(4)
    results = [None] * 20

    def one(i):
        try:
            conn = http.client.HTTPConnection(*srv.address, timeout=30)
            conn.request("GET", f"/sleep?s=1&marker={tmp_path / f'm{i}'}")
            resp = conn.getresponse()
            results[i] = (resp.status, resp.read())
        except Exception as exc:
            results[i] = repr(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    wait_until(lambda: len(list(tmp_path.glob("m*"))) >= 4, 10, "4 requests in the app")
    srv.signal(signal.SIGTERM)
    for t in threads:
        t.join(30)
    assert results == [(200, b"slept")] * 20
    assert srv.wait_exit(15) == 0


def test_hup_under_load_replaces_workers_and_loads_new_code(start_server, tmp_path):
    appdir = tmp_path / "app"
    appdir.mkdir()
    app_file = appdir / "versioned.py"
    app_file.write_text(
        "import os\n"
        "def app(environ, start_response):\n"
        "    body = b'v1'\n"
        "    start_response('200 OK', [('Content-Length', '2'), ('X-Pid', str(os.getpid()))])\n"
        "    return [body]\n"
    )
    log = tmp_path / "hooks.log"
    conf = APPS_DIR / "hooks_conf.py"
    srv = start_server("versioned:app", "-w", "2", "-c", str(conf), chdir=appdir, env={"HOOK_LOG": str(log)})
    old = set(srv.wait_workers(2))
    with Load(srv.address, path="/", clients=32, seconds=10.0) as load:
        time.sleep(3.0)
        app_file.write_text(app_file.read_text().replace("b'v1'", "b'v2'"))
        hup_at = time.monotonic()
        srv.signal(signal.SIGHUP)
    assert load.failures == [], load.failures[:5]
    assert load.ok > 100
    new = set(srv.wait_workers(2, exclude=old))
    assert not new & old, "every worker pid was replaced"
    # Old workers finish what was queued at the HUP, then exit; give a loaded machine a margin.
    late = [body for at, body, _ in load.bodies if at > hup_at + 4.0]
    assert late and set(late) == {b"v2"}, "new workers import the changed code"
    srv.wait_for_log(r"Handling signal: hup")
    assert ["on_reload", str(srv.pid)] in hook_lines(log)


def test_usr2_then_term_old_master_under_load(start_server, tmp_path):
    pidfile = tmp_path / "master.pid"
    log = tmp_path / "hooks.log"
    conf = APPS_DIR / "hooks_conf.py"
    srv = start_server(APP, "-w", "2", "--pid", str(pidfile), "-c", str(conf), env={"HOOK_LOG": str(log)})
    wait_until(lambda: pidfile.exists(), 5, "the pidfile")
    assert int(pidfile.read_text()) == srv.pid
    old_workers = set(srv.wait_workers(2))
    with Load(srv.address, clients=6, seconds=8.0) as load:
        time.sleep(1.0)
        srv.signal(signal.SIGUSR2)
        second = Path(f"{pidfile}.2")
        wait_until(second.exists, 10, "the new master's pidfile")
        new_master = int(second.read_text())
        wait_until(lambda: len(child_pids(new_master)) == 2, 15, "the new master's workers")
        time.sleep(0.5)
        srv.signal(signal.SIGTERM)
        assert srv.wait_exit(15) == 0
    try:
        assert load.failures == [], load.failures[:5]
        served_by = {pid for _, _, pid in load.bodies}
        assert {str(p) for p in old_workers} & served_by and set(map(str, child_pids(new_master))) & served_by
        wait_until(lambda: pidfile.exists() and not second.exists(), 10, "the pidfile renamed on promotion")
        assert any(line[0] == "pre_exec" and line[2] == str(srv.pid) for line in hook_lines(log))
        assert int(pidfile.read_text()) == new_master
        conn = http.client.HTTPConnection(*srv.address, timeout=10)
        conn.request("GET", "/pid")
        assert conn.getresponse().status == 200, "the listening socket survived the old master"
    finally:
        os.kill(new_master, signal.SIGTERM)
        wait_until(lambda: not Path(f"/proc/{new_master}").exists() or b"Z" in Path(f"/proc/{new_master}/stat").read_bytes().split(b") ")[1][:1], 15, "the new master to stop")


def test_ttin_ttou_change_workers_and_fire_hook(start_server, tmp_path):
    log = tmp_path / "hooks.log"
    srv = start_server(APP, "-c", str(APPS_DIR / "hooks_conf.py"), "-w", "2", env={"HOOK_LOG": str(log)})
    srv.wait_workers(2)
    srv.signal(signal.SIGTTIN)
    srv.wait_workers(3)
    srv.signal(signal.SIGTTOU)
    srv.wait_workers(2)
    srv.signal(signal.SIGTTOU)
    srv.wait_workers(1)
    srv.signal(signal.SIGTTOU)  # never below one
    time.sleep(1.5)
    assert len(srv.workers()) == 1
    changes = [line[2:] for line in hook_lines(log) if line[0] == "nworkers_changed"]
    assert changes == [["2", "None"], ["3", "2"], ["2", "3"], ["1", "2"]]


def test_pidfile_and_process_titles(start_server, tmp_path):
    pidfile = tmp_path / "app.pid"
    srv = start_server(APP, "-w", "2", "--pid", str(pidfile), "-n", "titled")
    workers = srv.wait_workers(2)
    wait_until(pidfile.exists, 5, "the pidfile")
    assert int(pidfile.read_text()) == srv.pid

    def title(pid):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip().decode()

    wait_until(lambda: title(srv.pid).startswith("rgunicorn: master [titled]"), 5, "the master title")
    for pid in workers:
        wait_until(lambda: title(pid).startswith("rgunicorn: worker [titled]"), 5, "worker titles")
    ps = subprocess.run(["ps", "-o", "args=", "-p", str(srv.pid)], capture_output=True, text=True).stdout
    assert "rgunicorn: master [titled]" in ps
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0
    assert not pidfile.exists(), "the pidfile is removed at exit"


def test_systemd_socket_activation_and_ready_notification(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    address = listener.getsockname()
    notify_path = str(tmp_path / "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(15)
    # The launcher does what systemd does: the socket on fd 3, LISTEN_PID = the server's own pid.
    launcher = (
        "import os, sys\n"
        f"os.dup2({listener.fileno()}, 3)\n"
        "os.environ['LISTEN_PID'] = str(os.getpid())\n"
        "os.environ['LISTEN_FDS'] = '1'\n"
        f"os.environ['NOTIFY_SOCKET'] = {notify_path!r}\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'rgunicorn', '--chdir', sys.argv[1], sys.argv[2]])\n"
    )
    errlog = tmp_path / "server-stderr.log"
    with open(errlog, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", launcher, str(APPS_DIR), APP],
            pass_fds=(listener.fileno(),),
            start_new_session=True,
            stderr=err,
        )
    listener.close()
    try:
        message = notify.recv(1024).decode()
        assert "READY=1" in message
        conn = http.client.HTTPConnection(*address, timeout=10)
        conn.request("GET", "/length")
        assert conn.getresponse().status == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            raise AssertionError("the server did not stop on TERM:\n" + errlog.read_text()[-3000:]) from None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
            notify.close()
    assert proc.returncode == 0, errlog.read_text()[-3000:]


def test_worker_stuck_in_c_code_is_explained_and_replaced(start_server, tmp_path):
    # A C function that never returns, called through ctypes.PyDLL, which keeps the GIL: Python
    # signal handlers can never run, only faulthandler's C-level dump can say where it hung.
    appdir = tmp_path / "app"
    appdir.mkdir()
    (appdir / "spin.c").write_text("void spin_forever(void) { for (volatile unsigned long i = 0;; i++) {} }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-O0", "-o", str(appdir / "libspin.so"), str(appdir / "spin.c")], check=True)
    (appdir / "spin.py").write_text(
        "import ctypes, os\n"
        "LIB = ctypes.PyDLL(os.path.join(os.path.dirname(__file__), 'libspin.so'))\n"
        "def c_extension_holding_the_gil():\n"
        "    LIB.spin_forever()\n"
        "def app(environ, start_response):\n"
        "    if environ['PATH_INFO'] == '/spin':\n"
        "        c_extension_holding_the_gil()\n"
        "    start_response('200 OK', [('Content-Length', '2')])\n"
        "    return [b'ok']\n"
    )
    log = tmp_path / "hooks.log"
    conf = APPS_DIR / "hooks_conf.py"
    srv = start_server("spin:app", "-t", "2", "-c", str(conf), chdir=appdir, env={"HOOK_LOG": str(log)})
    (worker,) = srv.wait_workers(1)
    sock = socket.create_connection(srv.address, timeout=15)
    sock.sendall(b"GET /spin HTTP/1.1\r\nHost: h\r\n\r\n")
    srv.wait_for_log(rf"WORKER TIMEOUT \(pid:{worker}\)", deadline=15)
    srv.wait_for_log(r"in c_extension_holding_the_gil", deadline=10)
    srv.wait_workers(1, exclude=[worker], deadline=10)
    sock.close()
    assert srv.get("/").status == 200
    # Python could not run the ABRT handler: the worker was SIGKILLed, and worker_abort never ran.
    assert f"Worker (pid:{worker}) was sent SIGKILL" in srv.log()
    assert not [line for line in hook_lines(log) if line[0] == "worker_abort"]


def test_sleeping_worker_runs_worker_abort_and_int_runs_worker_int(start_server, tmp_path):
    log = tmp_path / "hooks.log"
    conf = APPS_DIR / "hooks_conf.py"
    srv = start_server(APP, "-t", "2", "-c", str(conf), env={"HOOK_LOG": str(log)})
    (worker,) = srv.wait_workers(1)
    sock = socket.create_connection(srv.address, timeout=15)
    sock.sendall(b"GET /sleep?s=10 HTTP/1.1\r\nHost: h\r\n\r\n")
    srv.wait_for_log(rf"WORKER TIMEOUT \(pid:{worker}\)", deadline=15)
    srv.wait_for_log(r"in sleepy_handler_for_timeout_test", deadline=10)
    (second,) = srv.wait_workers(1, exclude=[worker], deadline=10)
    sock.close()
    assert ["worker_abort", str(worker), str(worker)] in hook_lines(log)
    assert srv.get("/pid").header("x-pid") == str(second), "the replacement has booted and serves"
    os.kill(second, signal.SIGINT)
    srv.wait_workers(1, exclude=[worker, second], deadline=10)
    assert ["worker_int", str(second), str(second)] in hook_lines(log)


def test_term_reaching_a_worker_still_in_fork_stops_it(start_server, tmp_path):
    """A TERM that arrives while a new worker is still inside os.fork() (its at-fork steps) is
    not lost: the worker stops instead of booting and serving until --graceful-timeout."""
    marker = tmp_path / "forking"
    srv = start_server(
        APP, "-c", str(APPS_DIR / "slow_fork_conf.py"), "-w", "1", "--graceful-timeout", "15",
        env={"FORK_MARKER": str(marker)},
    )
    first = srv.wait_workers(1)
    Path(str(marker) + ".arm").touch()
    srv.signal(signal.SIGTTIN)
    assert wait_for_file(marker, 10), srv.log()[-2000:]
    started = time.monotonic()
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(10) == 0
    took = time.monotonic() - started
    assert took < 5, f"the master took {took:.1f}s: the worker in fork missed its TERM\n{srv.log()[-2000:]}"
    assert all(not os.path.exists(f"/proc/{pid}") for pid in first)
