"""The master: log lines and levels, replacing dead and silent workers, TERM (graceful, bounded by
--graceful-timeout), INT/QUIT (quick), binding [::1], several addresses and unix sockets."""

import os
import re
import shutil
import signal
import socket
import tempfile
import time
from urllib.parse import quote

import pytest

import rawhttp
from server import wait_for_file

APP = "response_app:app"
LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[(\d+)\] \[([A-Z]+)\] (.*)$")


def start_request(srv, target):
    sock = rawhttp.connect(srv.address)
    rawhttp.send_all(sock, f"GET {target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode())
    return sock


def group_is_gone(pgid, deadline=3.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def test_log_lines_like_gunicorn(start_server):
    srv = start_server(APP, "-w", "2")
    workers = srv.wait_workers(2)
    srv.wait_for_log(r"Booting worker with pid: \d+", count=2)
    lines = srv.log().splitlines()
    parsed = [LOG_LINE.match(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed) if not m]
    parsed = [(int(m.group(1)), m.group(2), m.group(3)) for m in parsed]
    listening = f"Listening at: http://127.0.0.1:{srv.address[1]} ({srv.pid})"
    assert (srv.pid, "INFO", listening) in parsed
    booted = [
        (pid, int(msg.rsplit(" ", 1)[1])) for pid, _, msg in parsed if msg.startswith("Booting worker with pid: ")
    ]
    assert sorted(worker for _, worker in booted) == workers
    assert all(pid == worker for pid, worker in booted), "each worker logs its own boot"


def test_log_level_warning_hides_info(start_server):
    srv = start_server(APP, "-k", "sync", "--log-level", "warning")
    assert srv.get("/length").status == 200
    assert srv.get("/raise-before").status == 500
    srv.wait_for_log(r"boom-before-start-response")  # errors are still logged
    assert "[INFO]" not in srv.log()


def _pids_serving_two_concurrent_requests(srv, hold=0.3):
    """Two requests that each hold a sync worker for `hold` s: the pids that answered."""
    sockets = [start_request(srv, f"/sleep?s={hold}") for _ in range(2)]
    try:
        pids = set()
        for sock in sockets:
            raw, _ = rawhttp.read_until_close(sock, deadline=5)
            resp = rawhttp.parse_response(raw)
            assert resp.status == 200
            pids.add(int(resp.header("X-Pid")))
        return pids
    finally:
        for sock in sockets:
            sock.close()


def test_killed_worker_is_replaced(start_server):
    srv = start_server(APP, "-w", "2")
    victim, survivor = srv.wait_workers(2)

    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()

    workers = srv.wait_workers(2, deadline=2.0, exclude=[victim])
    assert survivor in workers, "the other worker keeps its pid"
    replacement = next(pid for pid in workers if pid != survivor)
    served = set()
    while served != {survivor, replacement}:
        assert time.monotonic() - killed_at < 2.0, f"served by {served}; workers {workers}"
        served = _pids_serving_two_concurrent_requests(srv)
    assert srv.workers() == workers


def test_term_finishes_inflight_request_then_exits_0(start_server, tmp_path):
    srv = start_server(APP, "-w", "1")
    marker = tmp_path / "started"
    sock = start_request(srv, f"/sleep?s=1&marker={quote(str(marker))}")
    try:
        assert wait_for_file(marker, 5), "the request did not reach the app"

        srv.signal(signal.SIGTERM)

        raw, _ = rawhttp.read_until_close(sock, deadline=10)
    finally:
        sock.close()
    resp = rawhttp.parse_response(raw)
    assert resp.status == 200 and resp.body == b"slept"
    assert srv.wait_exit(10) == 0
    assert group_is_gone(srv.pid), "a worker outlived the master"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT], ids=["INT", "QUIT"])
def test_quick_stop_does_not_wait_for_requests(start_server, tmp_path, sig):
    srv = start_server(APP, "-w", "2")
    marker = tmp_path / "started"
    sock = start_request(srv, f"/sleep?s=30&marker={quote(str(marker))}")
    try:
        assert wait_for_file(marker, 5), "the request did not reach the app"
        started = time.monotonic()

        srv.signal(sig)

        srv.wait_exit(5)
        assert time.monotonic() - started < 5
    finally:
        sock.close()
    assert group_is_gone(srv.pid), "a worker outlived the master"


def test_graceful_timeout_bounds_term(start_server, tmp_path):
    srv = start_server(APP, "-w", "1", "--graceful-timeout", "1")
    marker = tmp_path / "started"
    sock = start_request(srv, f"/sleep?s=30&marker={quote(str(marker))}")
    try:
        assert wait_for_file(marker, 5), "the request did not reach the app"
        started = time.monotonic()

        srv.signal(signal.SIGTERM)

        srv.wait_exit(8)
        assert time.monotonic() - started < 8
    finally:
        sock.close()
    assert group_is_gone(srv.pid), "a worker outlived the master"


def test_silent_worker_is_killed_and_replaced(start_server):
    srv = start_server(APP, "-w", "1", "-t", "2")
    (old,) = srv.wait_workers(1)
    started = time.monotonic()

    raw = srv.raw(b"GET /sleep?s=5 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", deadline=10)

    assert time.monotonic() - started < 4.9, "the worker was not killed before the app finished"
    assert b"slept" not in raw
    srv.wait_workers(1, deadline=5, exclude=[old])
    assert srv.get("/pid").status == 200
    # Where it hung: the log shows the stack of the killed worker.
    srv.wait_for_log(r"sleepy_handler_for_timeout_test", deadline=5)


def _ipv6_loopback_port():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
            return s.getsockname()[1]
    except OSError:
        return None


def test_bind_ipv6_and_repeated_binds(start_server):
    port6 = _ipv6_loopback_port()
    if port6 is None:
        pytest.skip("this machine has no IPv6 loopback")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port4 = s.getsockname()[1]
    # Ports released just before the server binds them: a small, accepted race. (gunicorn ignores
    # address binds when an fd:// bind is given, so this test binds by address only.)
    srv = start_server(APP, "-b", f"[::1]:{port6}", "-b", f"127.0.0.1:{port4}", bind=False, ready=False)
    for address in (("::1", port6), ("127.0.0.1", port4)):
        srv.wait_ready(probe=address)
        request = b"GET /length HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        resp = rawhttp.parse_response(rawhttp.exchange(address, request))
        assert resp.status == 200 and resp.body == b"hello world"
    # gunicorn logs several listeners on one line, comma-separated
    srv.wait_for_log(rf"Listening at: .*http://\[::1\]:{port6}[ ,]")
    srv.wait_for_log(rf"Listening at: .*http://127\.0\.0\.1:{port4}[ ,]")


def test_unix_socket_bind(start_server):
    directory = tempfile.mkdtemp(prefix="rgt-", dir="/tmp")
    path = os.path.join(directory, "s.sock")
    try:
        srv = start_server(APP, "-b", f"unix:{path}", bind=False, ready=False)
        srv.wait_ready(probe=path)

        resp = rawhttp.parse_response(
            rawhttp.exchange(path, b"GET /length HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        )

        assert resp.status == 200 and resp.body == b"hello world"
        srv.signal(signal.SIGTERM)
        assert srv.wait_exit(10) == 0
        assert not os.path.exists(path), "the socket file is removed on exit"
    finally:
        shutil.rmtree(directory, ignore_errors=True)
