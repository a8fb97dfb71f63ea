"""Apps that exercise how the server sends responses and survives application failures.

Paths: /pid, /length, /nolength, /nolength-list, /write, /exc-info-before, /exc-info-after,
/close?marker=, /stream-forever?marker=, /server-header, /header-crlf, /header-lf, /raise-before,
/raise-after, /file?path=&length=1&tracked=1&marker=, /short-length, /keep-environ, /environ-cycle,
/sleep?s=&marker=. Markers are files the app creates, so a test can see from outside that
something happened inside the worker. Answers from /pid, /length, /sleep... carry X-Pid.
"""

import io
import os
import sys
import time
from urllib.parse import parse_qs

TEXT = ("Content-Type", "text/plain")
_KEPT = []


def _query(environ, name, default=None):
    return parse_qs(environ["QUERY_STRING"]).get(name, [default])[0]


def _touch(path, text="done"):
    with open(path, "w") as f:
        f.write(text)


def _fixed(start_response, body, status="200 OK", extra=()):
    start_response(status, [TEXT, ("Content-Length", str(len(body))), ("X-Pid", str(os.getpid())), *extra])
    return [body]


class ClosingIterable:
    """Yields its parts and records close() in a marker file."""

    def __init__(self, parts, marker, delay=0.0, limit_seconds=None):
        self.parts = parts
        self.marker = marker
        self.delay = delay
        self.limit_seconds = limit_seconds

    def __iter__(self):
        started = time.monotonic()
        for part in self.parts:
            if self.limit_seconds is not None and time.monotonic() - started > self.limit_seconds:
                return
            yield part
            if self.delay:
                time.sleep(self.delay)

    def close(self):
        _touch(self.marker, "closed")


def _endless(chunk, count):
    for _ in range(count):
        yield chunk


def sleepy_handler_for_timeout_test(seconds, marker):
    if marker:
        _touch(marker, str(os.getpid()))
    time.sleep(seconds)
    return b"slept"


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/pid":
        return _fixed(start_response, str(os.getpid()).encode())
    if path == "/length":
        return _fixed(start_response, b"hello world")
    if path == "/nolength":
        start_response("200 OK", [TEXT])
        return _parts(b"hello ", b"", b"world")  # a generator: its length is unknown until the end
    if path == "/nolength-list":
        start_response("200 OK", [TEXT])
        return [b"hello ", b"", b"world"]
    if path == "/write":
        write = start_response("200 OK", [TEXT])
        write(b"first,")
        write(b"second,")
        return [b"third"]
    if path == "/exc-info-before":
        start_response("200 OK", [TEXT])
        try:
            raise ValueError("the app changed its mind")
        except ValueError:
            start_response("503 Replaced", [TEXT, ("X-Replaced", "yes")], sys.exc_info())
        return [b"replaced"]
    if path == "/exc-info-after":
        return _exc_info_after(start_response)
    if path == "/close":
        start_response("200 OK", [TEXT])
        return ClosingIterable([b"a", b"b"], _query(environ, "marker"))
    if path == "/stream-forever":
        start_response("200 OK", [TEXT])
        # Bounded: 20 s or ~1.3 GB, whichever comes first, so a server that never notices the
        # disconnect cannot keep the worker forever.
        return ClosingIterable(_endless(b"x" * 65536, 20000), _query(environ, "marker"), 0.001, 20.0)
    if path == "/server-header":
        return _fixed(start_response, b"custom", extra=[("Server", "custom-app/1.0")])
    if path == "/header-crlf":
        return _fixed(start_response, b"injected", extra=[("X-Injected", "a\r\nX-Evil: 1")])
    if path == "/header-lf":
        return _fixed(start_response, b"injected", extra=[("X-Injected", "a\nX-Evil: 1")])
    if path == "/raise-before":
        raise RuntimeError("boom-before-start-response")
    if path == "/raise-after":
        return _raise_after(start_response)
    if path == "/keep-environ":
        _KEPT[:] = [environ, environ["wsgi.input"]]  # an app may keep the request's objects alive
        return _fixed(start_response, b"kept")
    if path == "/environ-cycle":
        cycle = [environ]
        cycle.append(cycle)  # freed only when the cyclic GC runs
        return _fixed(start_response, b"cycle")
    if path == "/file":
        return _file(environ, start_response)
    if path == "/short-length":
        start_response("200 OK", [TEXT, ("Content-Length", "5")])
        return [b"hello", b" world, more than promised"]
    if path == "/sleep":
        body = sleepy_handler_for_timeout_test(float(_query(environ, "s", "1")), _query(environ, "marker"))
        return _fixed(start_response, body)
    return _fixed(start_response, b"ok")


def _parts(*parts):
    yield from parts


def _exc_info_after(start_response):
    start_response("200 OK", [TEXT])
    yield b"partial"
    try:
        raise ValueError("too late to change the status")
    except ValueError:
        # Headers are out: PEP 3333 says start_response must re-raise.
        start_response("500 Internal Server Error", [TEXT], sys.exc_info())
    yield b"never sent"


def _raise_after(start_response):
    start_response("200 OK", [TEXT])
    yield b"partial"
    raise RuntimeError("boom-after-headers")


class TrackedFile(io.FileIO):
    """A real file that records in a marker file whenever its bytes are read through Python."""

    marker = None

    def _mark(self):
        if self.marker:
            _touch(self.marker, "read through Python")

    def read(self, *args):
        self._mark()
        return super().read(*args)

    def readinto(self, buffer):
        self._mark()
        return super().readinto(buffer)

    def readall(self):
        self._mark()
        return super().readall()


def _file(environ, start_response):
    path = _query(environ, "path")
    size = os.path.getsize(path)
    headers = [("Content-Type", "application/octet-stream")]
    if _query(environ, "length") == "1":
        headers.append(("Content-Length", str(size)))
    start_response("200 OK", headers)
    if _query(environ, "tracked") == "1":
        tracked = TrackedFile(path, "rb")
        tracked.marker = _query(environ, "marker")
        return environ["wsgi.file_wrapper"](tracked, 8192)
    return environ["wsgi.file_wrapper"](open(path, "rb"), 8192)
