"""Process options of the master and workers: --preload, -D, -u/-g, -m, -e, --reuse-port,
--max-requests."""

import json
import os
import pwd
import grp
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest

import rawhttp
from server import APPS_DIR, UNDER_GUNICORN, base_env, wait_for_file

pytestmark = pytest.mark.skipif(UNDER_GUNICORN, reason="rgunicorn process options")

APP = "process_app:app"


def facts(srv_or_address):
    address = getattr(srv_or_address, "address", srv_or_address)
    raw = rawhttp.exchange(address, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    return json.loads(rawhttp.parse_response(raw).body)


def test_preload_imports_the_app_once_in_the_master(start_server):
    srv = start_server(APP, "--preload", "-w", "2")
    assert facts(srv)["imported_in"] == srv.pid
    srv = start_server(APP, "-w", "2")
    info = facts(srv)
    assert info["imported_in"] == info["pid"] != srv.pid


def test_env_flags_reach_the_workers(start_server):
    srv = start_server(APP, "-e", "RG_A=1", "--env", "RG_B=two words")
    assert facts(srv)["env"] == {"RG_A": "1", "RG_B": "two words"}


@pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")
def test_workers_switch_user_and_group(start_server):
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    # --preload: Python's own files live under /root here, which nobody cannot read; the imports
    # happen in the master as root and the worker drops to nobody before serving.
    srv = start_server(APP, "--preload", "-u", "nobody", "-g", group)
    info = facts(srv)
    assert (info["uid"], info["gid"]) == (nobody.pw_uid, nobody.pw_gid)


def test_umask_applies_to_workers_and_unix_socket(start_server, tmp_path):
    path = str(tmp_path / "s.sock")
    srv = start_server(APP, "-b", f"unix:{path}", "-m", "0o077", bind=False, ready=False)
    assert wait_for_file(path, 15), srv.log()
    srv.wait_ready(probe=path)
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, oct(os.stat(path).st_mode)
    assert facts(path)["umask"] == 0o077


def test_reuse_port_lets_two_servers_share_a_port(start_server):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    bind = f"127.0.0.1:{port}"
    first = start_server(APP, "-b", bind, "--reuse-port", bind=False, ready=False)
    second = start_server(APP, "-b", bind, "--reuse-port", bind=False, ready=False)
    first.wait_ready(probe=("127.0.0.1", port))
    end = time.monotonic() + 15
    masters = set()
    while masters != {first.pid, second.pid}:
        assert time.monotonic() < end, f"only reached {masters}"
        pid = facts(("127.0.0.1", port))["pid"]
        for srv in (first, second):
            if pid in srv.workers():
                masters.add(srv.pid)


def test_max_requests_restarts_the_worker(start_server):
    srv = start_server(APP, "--max-requests", "5")
    (first,) = srv.wait_workers(1)
    pids = [facts(srv)["pid"] for _ in range(12)]
    assert pids[:4] == [first] * 4 or pids.count(first) <= 5
    assert len(set(pids)) >= 2, "the worker was replaced after 5 requests"
    srv.wait_for_log(r"Autorestarting worker after current request")


def test_daemon_detaches_and_writes_pidfile(tmp_path):
    pidfile = tmp_path / "d.pid"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.set_inheritable(True)
    address = listener.getsockname()
    cmd = [sys.executable, "-m", "rgunicorn", "-D", "--pid", str(pidfile), "-b", f"fd://{listener.fileno()}",
           "--chdir", str(APPS_DIR), "--error-logfile", str(tmp_path / "err.log"), APP]
    launcher = subprocess.run(cmd, pass_fds=(listener.fileno(),), timeout=30, env=base_env(), capture_output=True)
    listener.close()
    assert launcher.returncode == 0, launcher.stderr
    daemon = None
    try:
        assert wait_for_file(pidfile, 15), (tmp_path / "err.log").read_text()
        time.sleep(0.2)
        daemon = int(pidfile.read_text())
        # Double fork: the daemon is in a new session (not ours), and is not its leader.
        assert os.getsid(daemon) != os.getsid(0) and os.getsid(daemon) != daemon
        end = time.monotonic() + 15
        while True:
            try:
                info = facts(address)
                break
            except (OSError, ValueError):
                assert time.monotonic() < end
                time.sleep(0.1)
        assert info["pid"] != daemon
    finally:
        if daemon:
            os.kill(daemon, signal.SIGTERM)
            end = time.monotonic() + 15
            while os.path.exists(f"/proc/{daemon}") and time.monotonic() < end:
                time.sleep(0.05)
            if os.path.exists(f"/proc/{daemon}"):
                os.killpg(daemon, signal.SIGKILL)
    assert not pidfile.exists()
