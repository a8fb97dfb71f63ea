"""What the gthread and gevent workers share, tested once under each: the request-head
deadline, --request-timeout, a graceful TERM with requests in flight, SystemExit from the app.

Each worker's own behaviour (thread pool, greenlets, heartbeat, backpressure) stays in
test_gthread.py and test_gevent.py."""

import signal
import time
from types import SimpleNamespace
from urllib.parse import quote

import pytest

import rawhttp
from keepalive_client import get_request, read_response, timed_get, wait_lines
from server import UNDER_GUNICORN

KINDS = {
    "gthread": SimpleNamespace(
        app="gthread_app:app", args=("-k", "gthread", "--threads", "8"), sleeper="sleeping_in_python_for_gthread_test"
    ),
    "gevent": SimpleNamespace(
        app="gevent_app:app", args=("-k", "gevent"), sleeper="sleeping_cooperatively_for_gevent_test"
    ),
}

rgunicorn_only = pytest.mark.skipif(UNDER_GUNICORN, reason="an rgunicorn setting or behaviour beyond gunicorn")


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    if request.param == "gevent":
        pytest.importorskip("gevent")  # an optional extra; tests/run.sh installs it
    return KINDS[request.param]


@pytest.fixture
def start(start_server, kind):
    def start_worker(*args):
        return start_server(kind.app, *kind.args, *args)

    return start_worker


# -- request-head deadline ------------------------------------------------------------------


@rgunicorn_only
def test_head_deadline_closes_a_slow_client_without_an_answer(start):
    srv = start("--header-timeout", "1")
    sock = rawhttp.connect(srv.address)
    try:
        started = time.monotonic()
        rawhttp.send_all(sock, b"GET / HTTP/1.1\r\nHost: t\r\n")
        raw, _ = rawhttp.read_until_close(sock, deadline=5)
        waited = time.monotonic() - started
    finally:
        sock.close()
    assert raw == b""
    assert 0.8 < waited < 2.5


@rgunicorn_only
def test_head_deadline_runs_from_the_first_byte_after_keepalive(start):
    srv = start("--header-timeout", "1", "--keep-alive", "5")
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, get_request("/"))
        read_response(sock)
        time.sleep(1.5)  # idle, but within keep-alive
        rawhttp.send_all(sock, b"GET / HT")
        started = time.monotonic()
        raw, _ = rawhttp.read_until_close(sock, deadline=5)
        waited = time.monotonic() - started
    finally:
        sock.close()
    assert raw == b""
    assert 0.8 < waited < 2.5


# -- --request-timeout ----------------------------------------------------------------------
# The app runs on after its deadline; a short graceful timeout keeps the teardown short.


@rgunicorn_only
def test_request_timeout_answers_504_and_logs_the_stack(start, kind):
    srv = start("--request-timeout", "1", "--graceful-timeout", "1")
    resp, took = timed_get(srv, "/sleep?s=10")
    assert resp.status == 504
    assert 0.9 < took < 4, "answered at the deadline, long before the app is done"
    srv.wait_for_log(r"Request timeout .*GET /sleep\?s=10.*answered 504")
    srv.wait_for_log(rf"in {kind.sleeper}")
    assert srv.get("/").status == 200


@rgunicorn_only
def test_request_timeout_after_the_head_was_sent_closes_the_connection(start):
    srv = start("--request-timeout", "1", "--graceful-timeout", "1")
    started = time.monotonic()
    raw = srv.raw(get_request("/started-then-sleep?s=10"), deadline=15)
    took = time.monotonic() - started
    resp = rawhttp.parse_response(raw)
    assert resp.status == 200 and resp.body == b"first block\n"
    assert not resp.complete, "a cut response must not look complete"
    assert took < 4, "closed at the deadline, long before the app is done"
    srv.wait_for_log(r"Request timeout .*started-then-sleep.*closed the connection")


# -- stopping -------------------------------------------------------------------------------


def test_term_lets_inflight_requests_finish_and_closes_idle_connections(start, tmp_path):
    srv = start("-w", "1")
    marker = tmp_path / "started"
    idle = rawhttp.connect(srv.address)
    rawhttp.send_all(idle, get_request("/"))
    assert read_response(idle)[0].status == 200
    inflight = []
    try:
        for _ in range(6):
            sock = rawhttp.connect(srv.address)
            rawhttp.send_all(sock, get_request(f"/sleep?s=1&marker={quote(str(marker))}"))
            inflight.append(sock)
        wait_lines(marker, 6)

        srv.signal(signal.SIGTERM)

        # The idle keep-alive connection is closed at once, the in-flight ones finish and say
        # that their connection closes (gunicorn does neither: it keeps the idle connection
        # until --keep-alive runs out and answers with keep-alive).
        if not UNDER_GUNICORN:
            raw, _ = rawhttp.read_until_close(idle, deadline=0.9)
            assert raw == b""
        for sock in inflight:
            raw, _ = rawhttp.read_until_close(sock, deadline=10)
            resp = rawhttp.parse_response(raw)
            assert resp.status == 200 and resp.body == b"slept"
            if not UNDER_GUNICORN:
                assert resp.header("Connection") == "close"
        assert srv.wait_exit(10) == 0
    finally:
        idle.close()
        for sock in inflight:
            sock.close()


def test_system_exit_from_the_app_ends_the_worker(start, kind):
    srv = start("-w", "1")
    (old,) = srv.wait_workers(1)
    srv.raw(get_request("/exit", keep_alive=False), deadline=10)
    if UNDER_GUNICORN and kind is KINDS["gevent"]:
        pytest.skip("gunicorn's gevent worker swallows SystemExit from the app")
    srv.wait_workers(1, exclude=[old])
    assert srv.get("/").status == 200
