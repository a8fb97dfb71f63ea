"""Client helpers for the tests of the keep-alive workers (gthread, gevent): requests on a
kept-alive connection, one framed response at a time."""

import time

import rawhttp


def get_request(target, keep_alive=True, host="t"):
    conn = "" if keep_alive else "Connection: close\r\n"
    return f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{conn}\r\n".encode()


def read_response(sock, buf=b"", deadline=10.0):
    """Read exactly one response (Content-Length or chunked) off a kept-alive connection.

    Returns (response, bytes read past it)."""
    end = time.monotonic() + deadline
    while True:
        if b"\r\n\r\n" in buf:
            resp = rawhttp.parse_response(buf)
            framed = resp.chunked or resp.header("Content-Length") is not None
            if framed and resp.complete:
                return resp, resp.trailing
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete response within {deadline}s; got {buf[:300]!r}")
        sock.settimeout(remaining)
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"closed before a complete response; got {buf[:300]!r}")
        buf += data


def timed_get(srv, target, deadline=10.0):
    started = time.monotonic()
    resp = srv.get(target, deadline=deadline)
    return resp, time.monotonic() - started


def count_lines(path):
    try:
        return len(path.read_text().splitlines())
    except FileNotFoundError:
        return 0


def wait_lines(path, count, deadline=10.0):
    """Wait until the app has appended `count` lines to `path` (its `marker` file)."""
    end = time.monotonic() + deadline
    while count_lines(path) < count:
        if time.monotonic() > end:
            raise AssertionError(f"{path} has {count_lines(path)} lines, wanted {count}")
        time.sleep(0.01)
