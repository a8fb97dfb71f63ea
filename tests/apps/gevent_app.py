"""The app of tests/test_gevent.py: cooperative sleeps, calls to a slow upstream, a call that
blocks the hub, big and slow responses, files, and what the worker patched before importing it."""

import json
import os
import socket
import threading
import time
import urllib.request
from urllib.parse import parse_qs

from gevent import monkey

# Recorded at import: the worker must have monkey-patched before it imported the app.
PATCHED_AT_IMPORT = {name: monkey.is_module_patched(name) for name in ("socket", "time", "threading", "select", "ssl")}
TEXT = ("Content-Type", "text/plain")


def _query(environ, name, default=None):
    values = parse_qs(environ.get("QUERY_STRING", "")).get(name)
    return values[0] if values else default


def _touch(path):
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{os.getpid()}\n")


def _fixed(start_response, body, status="200 OK", headers=()):
    start_response(status, [TEXT, ("Content-Length", str(len(body))), *headers])
    return [body]


def sleeping_cooperatively_for_gevent_test(seconds):
    time.sleep(seconds)


def blocking_the_hub_for_gevent_test(seconds):
    # The unpatched sleep: nothing else in the worker runs, the main greenlet cannot beat.
    monkey.get_original("time", "sleep")(seconds)


def _facts():
    local = threading.local()
    return {
        "patched_at_import": PATCHED_AT_IMPORT,
        "socket_is_cooperative": socket.socket.__module__.startswith("gevent"),
        "local_is_greenlet_local": type(local).__module__.startswith("gevent"),
        "pid": os.getpid(),
    }


def app(environ, start_response):
    path = environ["PATH_INFO"]
    marker = _query(environ, "marker")
    if marker:
        _touch(marker)
    if path == "/sleep":
        sleeping_cooperatively_for_gevent_test(float(_query(environ, "s", "0.5")))
        return _fixed(start_response, b"slept")
    if path == "/upstream":
        with urllib.request.urlopen(_query(environ, "url"), timeout=10) as resp:
            return _fixed(start_response, b"upstream said " + resp.read())
    if path == "/block":
        blocking_the_hub_for_gevent_test(float(_query(environ, "s", "1")))
        return _fixed(start_response, b"blocked")
    if path == "/facts":
        return _fixed(start_response, json.dumps(_facts()).encode(), headers=[("Content-Type", "application/json")])
    if path == "/environ":
        keys = ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once")
        return _fixed(start_response, json.dumps({k: environ[k] for k in keys}).encode())
    if path == "/echo":
        body = environ["wsgi.input"].read()
        return _fixed(start_response, f"{len(body)}:".encode() + body[:64])
    if path == "/big":
        # One block much larger than the socket buffer: the write has to wait for the client.
        size = int(_query(environ, "size", str(8 << 20)))
        return _fixed(start_response, b"x" * size)
    if path == "/stream":
        count = int(_query(environ, "n", "5"))
        pause = float(_query(environ, "pause", "0"))
        start_response("200 OK", [TEXT])

        def blocks():
            for i in range(count):
                if pause:
                    time.sleep(pause)
                yield f"block {i}\n".encode()

        return blocks()
    if path == "/file":
        name = _query(environ, "path")
        size = os.path.getsize(name)
        start_response("200 OK", [TEXT, ("Content-Length", str(size))])
        return environ["wsgi.file_wrapper"](open(name, "rb"), 64 * 1024)
    if path == "/started-then-sleep":
        start_response("200 OK", [TEXT])

        def body():
            yield b"first block\n"
            sleeping_cooperatively_for_gevent_test(float(_query(environ, "s", "3")))
            yield b"too late\n"

        return body()
    if path == "/exit":
        raise SystemExit(0)
    return _fixed(start_response, b"ok")
