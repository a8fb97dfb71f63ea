"""`-k gevent`: monkey-patching before the app, concurrency on one worker, a slow upstream,
keep-alive and pipelining, bodies, files, backpressure, --worker-connections, the heartbeat
from a greenlet, graceful and quick stops, and the error when gevent is missing."""

import http.server
import json
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

import rawhttp
from keepalive_client import get_request, read_response, timed_get
from server import APPS_DIR, UNDER_GUNICORN, run_to_exit, wait_for_file

pytest.importorskip("gevent")

APP = "gevent_app:app"
GEVENT = ("-k", "gevent")

rgunicorn_only = pytest.mark.skipif(UNDER_GUNICORN, reason="an rgunicorn setting or behaviour beyond gunicorn")


@pytest.fixture
def slow_upstream():
    """A plain HTTP server in this process, on 127.0.0.1, that answers every GET after 1 s."""

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(1.0)
            body = b"late"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- patching and environ -----------------------------------------------------------------------


def test_patched_before_the_app_is_imported(start_server):
    srv = start_server(APP, *GEVENT)
    resp = srv.get("/facts")
    assert resp.status == 200
    facts = json.loads(resp.body)
    assert all(facts["patched_at_import"].values()), facts
    assert facts["socket_is_cooperative"] and facts["local_is_greenlet_local"]
    assert "MonkeyPatchWarning" not in srv.log()


def test_environ_says_multithread_as_gunicorn_gevent(start_server):
    srv = start_server(APP, *GEVENT)
    values = json.loads(srv.get("/environ").body)
    assert values == {"wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False}


# -- concurrency on one worker ------------------------------------------------------------------


def test_one_worker_serves_500_concurrent_sleeping_requests_within_2s(start_server):
    srv = start_server(APP, *GEVENT, "-w", "1")

    def one(_):
        return rawhttp.status_of(srv.raw(get_request("/sleep?s=0.5", keep_alive=False), deadline=10))

    with ThreadPoolExecutor(max_workers=500) as pool:
        started = time.monotonic()
        statuses = list(pool.map(one, range(500)))
        took = time.monotonic() - started
    assert statuses == [200] * 500
    assert took < 2.0, f"500 requests sleeping 0.5 s took {took:.2f}s"
    assert len(srv.workers()) == 1


def test_a_slow_upstream_call_does_not_block_other_requests(start_server, slow_upstream):
    srv = start_server(APP, *GEVENT, "-w", "1")
    target = f"/upstream?url={quote(slow_upstream)}"
    with ThreadPoolExecutor(max_workers=10) as pool:
        started = time.monotonic()
        calls = [pool.submit(srv.get, target) for _ in range(10)]
        time.sleep(0.2)
        resp, took = timed_get(srv, "/")
        assert resp.status == 200 and took < 0.5, f"a quick request waited {took:.2f}s behind the upstream calls"
        assert not any(c.done() for c in calls), "the upstream calls should still be waiting"
        bodies = [c.result(timeout=10).body for c in calls]
        elapsed = time.monotonic() - started
    assert bodies == [b"upstream said late"] * 10
    assert elapsed < 3.0, f"10 upstream calls of 1 s took {elapsed:.2f}s: they did not overlap"


def test_worker_connections_bounds_the_greenlet_pool(start_server):
    srv = start_server(APP, *GEVENT, "-w", "1", "--worker-connections", "2")
    with ThreadPoolExecutor(max_workers=4) as pool:
        started = time.monotonic()
        statuses = list(pool.map(lambda _: srv.get("/sleep?s=0.5").status, range(4)))
        took = time.monotonic() - started
    assert statuses == [200] * 4
    assert 0.95 <= took < 2.0, f"4 requests on 2 connections' worth of greenlets took {took:.2f}s"


# -- connections, bodies, files -----------------------------------------------------------------


def test_keep_alive_pipelining_and_idle_close(start_server):
    srv = start_server(APP, *GEVENT, "--keep-alive", "1")
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, get_request("/sleep?s=0.1") + get_request("/"))
        first, rest = read_response(sock)
        second, rest = read_response(sock, rest)
        assert (first.status, first.body, second.status, second.body) == (200, b"slept", 200, b"ok")
        time.sleep(0.3)
        rawhttp.send_all(sock, get_request("/"))
        third, rest = read_response(sock, rest)
        assert third.status == 200 and rest == b""
        started = time.monotonic()
        raw, _ = rawhttp.read_until_close(sock, deadline=5)
        assert raw == b""
        assert 0.7 < time.monotonic() - started < 2.5, "the idle connection closes after --keep-alive"
    finally:
        sock.close()


def test_chunked_body_with_100_continue(start_server):
    srv = start_server(APP, *GEVENT)
    sock = rawhttp.connect(srv.address)
    try:
        head = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
        rawhttp.send_all(sock, head)
        sock.settimeout(5)
        interim = sock.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        rawhttp.send_all(sock, b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        resp, _ = read_response(sock, interim[len(b"HTTP/1.1 100 Continue\r\n\r\n") :])
        assert resp.status == 200 and resp.body == b"11:hello world"
    finally:
        sock.close()


@pytest.mark.parametrize("sendfile", [True, False], ids=["sendfile", "no-sendfile"])
def test_file_wrapper_larger_than_the_socket_buffers(start_server, tmp_path, sendfile):
    data = os.urandom(16 << 20)  # more than both sockets' buffers hold
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    srv = start_server(APP, *GEVENT, *(() if sendfile else ("--no-sendfile",)))
    sock = rawhttp.connect(srv.address)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
        rawhttp.send_all(sock, get_request(f"/file?path={quote(str(path))}", keep_alive=False))
        time.sleep(0.3)  # the server fills the buffers and has to wait for us
        assert srv.get("/").status == 200, "a blocked sender must not hold up the worker"
        raw, _ = rawhttp.read_until_close(sock, deadline=20)
    finally:
        sock.close()
    resp = rawhttp.parse_response(raw)
    assert resp.status == 200 and resp.body == data


def test_a_slow_reader_of_a_big_response_stalls_only_its_own_greenlet(start_server):
    srv = start_server(APP, *GEVENT, "-w", "1")
    reader = rawhttp.connect(srv.address)
    try:
        # Not smaller: a receive window below loopback's MSS makes TCP itself crawl.
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
        rawhttp.send_all(reader, get_request("/big?size=32000000", keep_alive=False))
        time.sleep(0.3)
        resp, took = timed_get(srv, "/")
        assert resp.status == 200 and took < 0.5
        raw, _ = rawhttp.read_until_close(reader, deadline=30)
        resp = rawhttp.parse_response(raw)
        assert resp.status == 200 and len(resp.body) == 32000000
    finally:
        reader.close()


def test_streamed_response_is_chunked_and_keeps_the_connection(start_server):
    srv = start_server(APP, *GEVENT)
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, get_request("/stream?n=3&pause=0.05"))
        resp, rest = read_response(sock)
        assert resp.chunked and resp.body == b"block 0\nblock 1\nblock 2\n"
        rawhttp.send_all(sock, get_request("/"))
        assert read_response(sock, rest)[0].body == b"ok"
    finally:
        sock.close()


@pytest.mark.skipif(UNDER_GUNICORN, reason="gunicorn opens no unix listener next to the fixture's fd:// one")
def test_tcp_and_unix_listeners_at_once(start_server, tmp_path):
    path = str(tmp_path / "gevent.sock")
    srv = start_server(APP, *GEVENT, "-w", "1", "-b", f"unix:{path}")
    assert wait_for_file(path, 5)
    for address in (srv.address, path):
        sock = rawhttp.connect(address)
        try:
            for _ in range(2):
                rawhttp.send_all(sock, get_request("/"))
                resp, _ = read_response(sock)
                assert resp.status == 200 and resp.body == b"ok"
        finally:
            sock.close()


def test_slowloris_connections_do_not_delay_a_normal_client(start_server):
    srv = start_server(APP, *GEVENT, "-w", "1")
    head = b"GET /slow HTTP/1.1\r\nHost: slowloris\r\nX-Padding: " + b"p" * 64 + b"\r\n\r\n"
    slow = []
    try:
        for _ in range(300):
            s = socket.create_connection(srv.address, timeout=5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            slow.append(s)
        timings = []
        sent = 0
        next_drip = time.monotonic()
        end = time.monotonic() + 4
        while time.monotonic() < end:
            if time.monotonic() >= next_drip:
                for s in slow:
                    try:
                        s.send(head[sent : sent + 1])
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # a server may cut slow heads off; the normal client is what counts
                sent += 1
                next_drip += 1.0
            resp, took = timed_get(srv, "/")
            assert resp.status == 200
            timings.append(took)
            time.sleep(0.02)
    finally:
        for s in slow:
            s.close()
    assert len(timings) > 50
    assert max(timings) < 0.5, f"slowest normal request took {max(timings) * 1000:.0f} ms"


# -- heartbeat ----------------------------------------------------------------------------------


def test_cooperative_sleep_past_timeout_does_not_kill_the_worker(start_server):
    srv = start_server(APP, *GEVENT, "-w", "1", "-t", "2")
    (pid,) = srv.wait_workers(1)
    resp, took = timed_get(srv, "/sleep?s=3")
    assert resp.status == 200 and took >= 3
    assert srv.workers() == [pid]


def test_a_greenlet_blocking_the_hub_past_timeout_gets_the_worker_killed(start_server):
    srv = start_server(APP, *GEVENT, "-w", "1", "-t", "2")
    (old,) = srv.wait_workers(1)
    started = time.monotonic()
    raw = srv.raw(get_request("/block?s=10", keep_alive=False), deadline=15)
    assert time.monotonic() - started < 9, "the worker was not killed while it blocked the hub"
    assert b"blocked" not in raw
    srv.wait_workers(1, deadline=10, exclude=[old])
    assert srv.get("/").status == 200
    if not UNDER_GUNICORN:
        srv.wait_for_log(rf"WORKER TIMEOUT \(pid:{old}\)", deadline=5)
        # faulthandler's dump, sent by the master before the kill, names the blocking function.
        srv.wait_for_log(r"in blocking_the_hub_for_gevent_test", deadline=5)


# -- stopping -----------------------------------------------------------------------------------


def test_term_serves_connections_accepted_before_the_stop(start_server, tmp_path):
    srv = start_server(APP, *GEVENT, "-w", "1")
    marker = tmp_path / "started"
    slow = rawhttp.connect(srv.address)
    late = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(slow, get_request(f"/sleep?s=1&marker={quote(str(marker))}"))
        assert wait_for_file(marker, 5)
        srv.signal(signal.SIGTERM)
        time.sleep(0.2)
        rawhttp.send_all(late, get_request("/") + get_request("/"))
        raw, _ = rawhttp.read_until_close(late, deadline=5)
        resp = rawhttp.parse_response(raw)
        assert resp.status == 200
        if not UNDER_GUNICORN:
            assert resp.header("Connection") == "close"
        raw, _ = rawhttp.read_until_close(slow, deadline=5)
        assert rawhttp.parse_response(raw).status == 200
        assert srv.wait_exit(10) == 0
    finally:
        slow.close()
        late.close()


def test_graceful_timeout_ends_requests_that_run_too_long(start_server, tmp_path):
    srv = start_server(APP, *GEVENT, "-w", "1", "--graceful-timeout", "2")
    marker = tmp_path / "started"
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, get_request(f"/sleep?s=30&marker={quote(str(marker))}"))
        assert wait_for_file(marker, 5)
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        srv.wait_exit(10)
        assert time.monotonic() - started < 4
        raw, _ = rawhttp.read_until_close(sock, deadline=5)
        assert b"slept" not in raw
        if not UNDER_GUNICORN:
            assert "Worker graceful timeout" in srv.log()
    finally:
        sock.close()


def test_int_stops_at_once(start_server, tmp_path):
    srv = start_server(APP, *GEVENT, "-w", "1")
    marker = tmp_path / "started"
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, get_request(f"/sleep?s=30&marker={quote(str(marker))}"))
        assert wait_for_file(marker, 5)
        started = time.monotonic()
        srv.signal(signal.SIGINT)
        srv.wait_exit(10)
        assert time.monotonic() - started < 2
    finally:
        sock.close()


def test_worker_int_hook_may_make_cooperative_calls(start_server, tmp_path):
    log = tmp_path / "hooks.log"
    srv = start_server(APP, *GEVENT, "-w", "1", "-c", str(APPS_DIR / "gevent_hooks_conf.py"), env={"HOOK_LOG": str(log)})
    (worker,) = srv.wait_workers(1)
    # Served a request, so booted (its handlers are installed: a loaded machine can take longer than
    # any fixed sleep to boot a gevent worker); then idle, so the signal arrives while the hub waits.
    assert srv.get("/").status == 200
    time.sleep(0.3)
    os.kill(worker, signal.SIGINT)
    # The hook creates the file, then writes its line: wait for the whole line, not the file.
    end = time.monotonic() + 5
    while not (log.exists() and log.read_text().endswith("\n")) and time.monotonic() < end:
        time.sleep(0.02)
    assert log.exists(), srv.log()
    assert log.read_text().split() == ["worker_int", str(worker)]
    srv.wait_workers(1, exclude=[worker], deadline=10)


def test_max_requests_replaces_the_worker(start_server):
    srv = start_server(APP, *GEVENT, "-w", "1", "--max-requests", "3")
    (old,) = srv.wait_workers(1)
    for _ in range(3):
        assert srv.get("/").status == 200
    srv.wait_workers(1, exclude=[old], deadline=10)
    assert srv.get("/").status == 200


# -- without gevent -----------------------------------------------------------------------------


@rgunicorn_only
def test_without_gevent_it_is_a_one_line_error(tmp_path, monkeypatch):
    shadow = tmp_path / "shadow" / "gevent"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'gevent'\")\n")
    monkeypatch.setenv("PYTHONPATH", str(shadow.parent))
    code, out, err = run_to_exit([*GEVENT, "gevent_app:app"], cwd=tmp_path)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "gevent" in lines[0], err
    assert "Traceback" not in err
