"""The app of tests/test_gthread.py: sleeps, GIL holders, streams and facts about the worker."""

import ctypes
import os
import threading
import time

from app_helpers import TEXT, fixed, query, touch


def sleeping_in_python_for_gthread_test(seconds):
    time.sleep(seconds)


def holding_the_gil_in_c_for_gthread_test(seconds):
    # PyDLL calls keep the GIL: no other Python thread runs until libc's usleep returns.
    ctypes.PyDLL(None).usleep(int(seconds * 1_000_000))


def _stream(count, size, pause):
    block = b"x" * (size - 1) + b"\n"
    for _ in range(count):
        if pause:
            time.sleep(pause)
        yield block


def app(environ, start_response):
    path = environ["PATH_INFO"]
    marker = query(environ, "marker")
    if marker:
        touch(marker)
    if path == "/sleep":
        sleeping_in_python_for_gthread_test(float(query(environ, "s", "0.5")))
        return fixed(start_response, b"slept")
    if path == "/hold-gil":
        holding_the_gil_in_c_for_gthread_test(float(query(environ, "s", "1")))
        return fixed(start_response, b"held")
    if path == "/peer":
        return fixed(start_response, f"{environ['REMOTE_ADDR']}:{environ['REMOTE_PORT']}".encode())
    if path == "/facts":
        facts = f"{environ['wsgi.multithread']} {environ['wsgi.multiprocess']} {os.getpid()} {threading.get_ident()}"
        return fixed(start_response, facts.encode())
    if path == "/echo":
        body = environ["wsgi.input"].read()
        return fixed(start_response, environ.get("QUERY_STRING", "").encode() + b":" + body)
    if path == "/stream":
        count = int(query(environ, "n", "10"))
        size = int(query(environ, "size", "1024"))
        start_response("200 OK", [TEXT])
        return _stream(count, size, float(query(environ, "pause", "0")))
    if path == "/started-then-sleep":
        # The response head goes out, then the app stalls.
        start_response("200 OK", [TEXT])

        def body():
            yield b"first block\n"
            sleeping_in_python_for_gthread_test(float(query(environ, "s", "3")))
            yield b"too late\n"

        return body()
    if path == "/exit":
        raise SystemExit(0)
    return fixed(start_response, b"ok")
