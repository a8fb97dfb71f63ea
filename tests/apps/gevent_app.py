"""The app of tests/test_gevent.py: cooperative sleeps, calls to a slow upstream, a call that
blocks the hub, big and slow responses, files, and what the worker patched before importing it."""

import json
import os
import socket
import threading
import time
import urllib.request

from app_helpers import TEXT, fixed, query, touch
from gevent import monkey

# Recorded at import: the worker must have monkey-patched before it imported the app.
PATCHED_AT_IMPORT = {name: monkey.is_module_patched(name) for name in ("socket", "time", "threading", "select", "ssl")}


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
    marker = query(environ, "marker")
    if marker:
        touch(marker)
    if path == "/sleep":
        sleeping_cooperatively_for_gevent_test(float(query(environ, "s", "0.5")))
        return fixed(start_response, b"slept")
    if path == "/upstream":
        with urllib.request.urlopen(query(environ, "url"), timeout=10) as resp:
            return fixed(start_response, b"upstream said " + resp.read())
    if path == "/block":
        blocking_the_hub_for_gevent_test(float(query(environ, "s", "1")))
        return fixed(start_response, b"blocked")
    if path == "/facts":
        return fixed(start_response, json.dumps(_facts()).encode(), headers=[("Content-Type", "application/json")])
    if path == "/environ":
        keys = ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once")
        return fixed(start_response, json.dumps({k: environ[k] for k in keys}).encode())
    if path == "/echo":
        body = environ["wsgi.input"].read()
        return fixed(start_response, f"{len(body)}:".encode() + body[:64])
    if path == "/big":
        # One block much larger than the socket buffer: the write has to wait for the client.
        size = int(query(environ, "size", str(8 << 20)))
        return fixed(start_response, b"x" * size)
    if path == "/stream":
        count = int(query(environ, "n", "5"))
        pause = float(query(environ, "pause", "0"))
        start_response("200 OK", [TEXT])

        def blocks():
            for i in range(count):
                if pause:
                    time.sleep(pause)
                yield f"block {i}\n".encode()

        return blocks()
    if path == "/file":
        name = query(environ, "path")
        size = os.path.getsize(name)
        start_response("200 OK", [TEXT, ("Content-Length", str(size))])
        return environ["wsgi.file_wrapper"](open(name, "rb"), 64 * 1024)
    if path == "/started-then-sleep":
        start_response("200 OK", [TEXT])

        def body():
            yield b"first block\n"
            sleeping_cooperatively_for_gevent_test(float(query(environ, "s", "3")))
            yield b"too late\n"

        return body()
    if path == "/exit":
        raise SystemExit(0)
    return fixed(start_response, b"ok")
