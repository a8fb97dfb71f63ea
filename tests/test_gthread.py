"""`-k gthread`: concurrency, keep-alive and pipelining, slow clients, heartbeat semantics,
--request-timeout, --worker-connections, graceful stop and backpressure."""

import os
import signal
import socket
import threading
import time
from urllib.parse import quote

import pytest

import rawhttp
from keepalive_client import get_request, read_response, timed_get
from server import UNDER_GUNICORN, wait_for_file

APP = "gthread_app:app"
GTHREAD = ("-k", "gthread")

rgunicorn_only = pytest.mark.skipif(UNDER_GUNICORN, reason="an rgunicorn setting or behaviour beyond gunicorn")


# -- concurrency ------------------------------------------------------------------------------


def test_sixteen_threads_serve_sixteen_sleepers_at_once(start_server):
    srv = start_server(APP, *GTHREAD, "-w", "1", "--threads", "16")
    results = []

    def one():
        results.append(timed_get(srv, "/sleep?s=0.5"))

    clients = [threading.Thread(target=one) for _ in range(16)]
    started = time.monotonic()
    for c in clients:
        c.start()
    for c in clients:
        c.join(10)
    elapsed = time.monotonic() - started

    assert [r.status for r, _ in results] == [200] * 16
    assert all(r.body == b"slept" for r, _ in results)
    assert elapsed < 1.0, f"16 sleeps of 0.5 s on 16 threads took {elapsed:.2f} s"


def test_environ_says_multithread(start_server):
    srv = start_server(APP, *GTHREAD, "--threads", "4")
    multithread, multiprocess, _, _ = srv.get("/facts").body.split()
    assert (multithread, multiprocess) == (b"True", b"False")


def test_sync_with_threads_becomes_gthread(start_server):
    srv = start_server(APP, "-k", "sync", "--threads", "4")
    assert srv.get("/facts").body.split()[0] == b"True"


# -- keep-alive and pipelining ----------------------------------------------------------------


def test_thousand_requests_share_one_connection(start_server):
    srv = start_server(APP, *GTHREAD, "--threads", "4")
    sock = rawhttp.connect(srv.address)
    try:
        me = f"127.0.0.1:{sock.getsockname()[1]}".encode()
        buf = b""
        for i in range(1000):
            rawhttp.send_all(sock, get_request(f"/peer?i={i}"))
            resp, buf = read_response(sock, buf)
            assert resp.status == 200 and resp.body == me, f"request {i}"
            assert resp.header("Connection") in (None, "keep-alive")
        assert buf == b""
    finally:
        sock.close()


def test_pipelined_requests_come_back_in_order(start_server):
    srv = start_server(APP, *GTHREAD, "--threads", "8")
    requests = []
    for i in range(40):
        if i == 1:
            # A slow one early on: everything after it must wait for it.
            requests.append(get_request("/sleep?s=0.3"))
        elif i % 3 == 0:
            body = f"body-{i}".encode()
            head = f"POST /echo?{i} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            requests.append(head + body)
        else:
            requests.append(get_request(f"/echo?{i}"))
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, b"".join(requests))
        buf = b""
        for i in range(40):
            resp, buf = read_response(sock, buf)
            assert resp.status == 200
            if i == 1:
                assert resp.body == b"slept"
            elif i % 3 == 0:
                assert resp.body == f"{i}:body-{i}".encode()
            else:
                assert resp.body == f"{i}:".encode()
    finally:
        sock.close()


def test_pipelined_requests_split_across_packets(start_server):
    srv = start_server(APP, *GTHREAD, "--threads", "4")
    data = b"".join(get_request(f"/echo?{i}") for i in range(10))
    sock = rawhttp.connect(srv.address)
    try:
        # Odd-sized pieces cut heads in the middle.
        for start in range(0, len(data), 37):
            rawhttp.send_all(sock, data[start : start + 37])
            time.sleep(0.001)
        buf = b""
        for i in range(10):
            resp, buf = read_response(sock, buf)
            assert resp.body == f"{i}:".encode()
    finally:
        sock.close()


@rgunicorn_only
def test_idle_keepalive_connection_is_closed_after_keepalive(start_server):
    srv = start_server(APP, *GTHREAD, "--keep-alive", "1")
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, get_request("/"))
        resp, rest = read_response(sock)
        assert resp.status == 200 and rest == b""
        started = time.monotonic()
        raw, _ = rawhttp.read_until_close(sock, deadline=5)
        waited = time.monotonic() - started
    finally:
        sock.close()
    assert raw == b""
    assert 0.8 < waited < 2.5, f"closed after {waited:.2f} s"


def test_keepalive_zero_closes_after_each_response(start_server):
    srv = start_server(APP, *GTHREAD, "--keep-alive", "0")
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, get_request("/"))
        raw, _ = rawhttp.read_until_close(sock, deadline=5)
    finally:
        sock.close()
    resp = rawhttp.parse_response(raw)
    assert resp.status == 200 and resp.header("Connection") == "close"


def test_malformed_head_is_answered_by_the_io_thread(start_server, tmp_path):
    srv = start_server(APP, *GTHREAD)
    resp = rawhttp.parse_response(srv.raw(b"GET / HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n"))
    assert resp.status == 400
    resp = rawhttp.parse_response(srv.raw(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"))
    assert resp.status == 414
    # After a good request on the same connection too.
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, get_request("/") + b"GET / HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n")
        resp, rest = read_response(sock)
        assert resp.status == 200
        raw, _ = rawhttp.read_until_close(sock, deadline=5)
        assert rawhttp.status_of(rest + raw) == 400
    finally:
        sock.close()


# -- slow clients -----------------------------------------------------------------------------


@rgunicorn_only
def test_five_hundred_slowloris_connections_do_not_delay_a_normal_client(start_server):
    srv = start_server(APP, *GTHREAD, "-w", "1", "--threads", "4")
    head = b"GET /slow HTTP/1.1\r\nHost: slowloris\r\nX-Padding: " + b"p" * 64 + b"\r\n\r\n"
    slow = []
    try:
        for _ in range(500):
            s = socket.create_connection(srv.address, timeout=5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            slow.append(s)
        timings = []
        sent = 0
        next_drip = time.monotonic()
        end = time.monotonic() + 6
        while time.monotonic() < end:
            if time.monotonic() >= next_drip:
                for s in slow:
                    s.send(head[sent : sent + 1])
                sent += 1
                next_drip += 1.0
            resp, took = timed_get(srv, "/")
            assert resp.status == 200
            timings.append(took)
            time.sleep(0.02)
        # The slow heads are still incomplete and unanswered: nothing reached the app.
        for s in slow[:20]:
            s.setblocking(False)
            with pytest.raises(BlockingIOError):
                s.recv(1)
    finally:
        for s in slow:
            s.close()
    assert len(timings) > 50
    assert max(timings) < 0.1, f"slowest normal request took {max(timings) * 1000:.0f} ms"


# -- connection cap ---------------------------------------------------------------------------


def test_worker_connections_caps_open_connections(start_server):
    srv = start_server(APP, *GTHREAD, "-w", "1", "--threads", "2", "--worker-connections", "2")
    held = [rawhttp.connect(srv.address) for _ in range(2)]
    waiting = None
    try:
        for sock in held:
            rawhttp.send_all(sock, get_request("/"))
            assert read_response(sock)[0].status == 200
        waiting = rawhttp.connect(srv.address)
        rawhttp.send_all(waiting, get_request("/"))
        waiting.settimeout(0.7)
        with pytest.raises(socket.timeout):
            waiting.recv(1)  # not accepted while two connections are open
        held.pop().close()
        resp, _ = read_response(waiting, deadline=5)
        assert resp.status == 200
    finally:
        for sock in held:
            sock.close()
        if waiting is not None:
            waiting.close()


# -- heartbeat and timeouts -------------------------------------------------------------------


def test_request_sleeping_past_timeout_does_not_kill_the_worker(start_server):
    srv = start_server(APP, *GTHREAD, "-w", "1", "--threads", "2", "-t", "2")
    (pid,) = srv.wait_workers(1)
    resp, took = timed_get(srv, "/sleep?s=4")
    assert resp.status == 200 and resp.body == b"slept"
    assert took >= 4
    assert srv.workers() == [pid]


def test_gil_held_in_c_past_timeout_kills_the_worker_with_a_traceback(start_server):
    srv = start_server(APP, *GTHREAD, "-w", "1", "--threads", "2", "-t", "2")
    (old,) = srv.wait_workers(1)
    started = time.monotonic()
    raw = srv.raw(get_request("/hold-gil?s=10", keep_alive=False), deadline=15)
    assert time.monotonic() - started < 9, "the worker was not killed while it held the GIL"
    assert b"held" not in raw
    srv.wait_workers(1, deadline=10, exclude=[old])
    assert srv.get("/").status == 200
    if not UNDER_GUNICORN:
        # faulthandler's dump of every thread, sent by the master before the kill.
        srv.wait_for_log(r"holding_the_gil_in_c_for_gthread_test", deadline=5)


# -- stopping ---------------------------------------------------------------------------------


def test_requests_after_term_get_connection_close(start_server, tmp_path):
    srv = start_server(APP, *GTHREAD, "-w", "1", "--threads", "2")
    marker = tmp_path / "started"
    slow = rawhttp.connect(srv.address)
    pipelined = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(slow, get_request(f"/sleep?s=1&marker={quote(str(marker))}"))
        wait_for_file(marker, 5)
        srv.signal(signal.SIGTERM)
        time.sleep(0.2)
        # Already accepted before the stop: served, and told that the connection closes.
        rawhttp.send_all(pipelined, get_request("/") + get_request("/"))
        raw, _ = rawhttp.read_until_close(pipelined, deadline=5)
        resp = rawhttp.parse_response(raw)
        assert resp.status == 200 and resp.header("Connection") == "close"
        raw, _ = rawhttp.read_until_close(slow, deadline=5)
        assert rawhttp.parse_response(raw).status == 200
        assert srv.wait_exit(10) == 0
    finally:
        slow.close()
        pipelined.close()


def test_max_requests_replaces_the_worker_without_failing_requests(start_server):
    srv = start_server(APP, *GTHREAD, "-w", "1", "--threads", "4", "--max-requests", "20")
    (old,) = srv.wait_workers(1)
    pids = set()
    for _ in range(60):
        resp = srv.get("/facts")
        assert resp.status == 200
        pids.add(int(resp.body.split()[2]))
    assert len(pids) >= 2
    srv.wait_workers(1, exclude=[old])


# -- backpressure -----------------------------------------------------------------------------


def test_slow_reader_of_a_large_stream_stalls_only_its_own_thread(start_server):
    srv = start_server(APP, *GTHREAD, "-w", "1", "--threads", "4")
    reader = rawhttp.connect(srv.address)
    try:
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        rawhttp.send_all(reader, get_request("/stream?n=100000&size=65536"))
        time.sleep(0.5)  # the server's send buffer fills, its thread waits for the reader
        for _ in range(20):
            resp, took = timed_get(srv, "/")
            assert resp.status == 200
            assert took < 0.5
        # The stream still flows when the reader reads again.
        reader.settimeout(5)
        got = 0
        while got < 1 << 20:
            data = reader.recv(65536)
            assert data
            got += len(data)
    finally:
        reader.close()


def test_stream_is_chunked_and_complete(start_server):
    srv = start_server(APP, *GTHREAD, "--threads", "2")
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, get_request("/stream?n=100&size=1024"))
        resp, _ = read_response(sock)
        assert resp.chunked and len(resp.body) == 100 * 1024
        # The connection is still usable.
        rawhttp.send_all(sock, get_request("/"))
        assert read_response(sock)[0].body == b"ok"
    finally:
        sock.close()


def test_unix_socket_bind(start_server, tmp_path):
    path = str(tmp_path / "gthread.sock")
    srv = start_server(APP, *GTHREAD, "-b", f"unix:{path}", bind=False, ready=False)
    srv.wait_ready(probe=path)
    sock = rawhttp.connect(path)
    try:
        for _ in range(3):
            rawhttp.send_all(sock, get_request("/"))
            resp, _ = read_response(sock)
            assert resp.status == 200
    finally:
        sock.close()
    assert os.path.exists(path)
