"""A short burst of concurrent requests: every one answered, no worker restarted (the issue's
"wrk without errors and without worker restarts", at a size a test run can afford)."""

import threading

import rawhttp

REQUESTS = 4000
CLIENTS = 16


def test_concurrent_requests_without_errors_or_restarts(start_server):
    srv = start_server("response_app:app", "-w", "2")
    workers = srv.wait_workers(2)
    booted = srv.log().count("Booting worker")
    errors, served = [], []
    lock = threading.Lock()
    request = b"GET /length HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"

    def client(count):
        for _ in range(count):
            try:
                resp = rawhttp.parse_response(rawhttp.exchange(srv.address, request, deadline=10))
                ok = resp.status == 200 and resp.body == b"hello world" and resp.complete
                with lock:
                    (served if ok else errors).append(resp.status)
            except Exception as exc:  # noqa: BLE001 - every failure is collected and asserted on
                with lock:
                    errors.append(repr(exc))

    threads = [threading.Thread(target=client, args=(REQUESTS // CLIENTS,)) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "clients still running after 60 s"

    assert errors == []
    assert len(served) == REQUESTS
    assert srv.workers() == workers, "a worker was replaced under load"
    assert srv.log().count("Booting worker") == booted
    assert "[ERROR]" not in srv.log() and "[CRITICAL]" not in srv.log()
