"""Apps wrapped in wsgiref.validate.validator: any PEP 3333 violation by the server raises inside
the app (so the server answers 500), and the validator's warnings are errors too."""

import sys
import warnings
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter("error", WSGIWarning)

TEXT = [("Content-Type", "text/plain")]


def _plain(environ, start_response):
    body = b"plain ok"
    start_response("200 OK", TEXT + [("Content-Length", str(len(body)))])
    return [body]


def _echo_input(environ, start_response):
    # The validator only allows read(size) with a size, as PEP 3333 specifies.
    stream = environ["wsgi.input"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    first = stream.readline()
    rest = stream.readlines()
    tail = stream.read(length)  # at end of the body: b""
    body = first + b"".join(rest) + b"|" + tail
    start_response("200 OK", TEXT + [("Content-Length", str(len(body)))])
    return [body]


def _iterate_input(environ, start_response):
    lines = [line for line in environ["wsgi.input"]]
    start_response("200 OK", TEXT)
    return [b"%d lines: " % len(lines)] + lines


def _write_callable(environ, start_response):
    write = start_response("200 OK", TEXT)
    write(b"written ")
    return [b"returned"]


def _generator(environ, start_response):
    start_response("200 OK", TEXT)
    for i in range(3):
        yield b"part%d " % i


def _errors(environ, start_response):
    errors = environ["wsgi.errors"]
    errors.write("pep3333-errors-stream-line\n")
    errors.writelines(["pep3333-writelines\n"])
    errors.flush()
    start_response("200 OK", TEXT)
    return [b"logged"]


def _exc_info(environ, start_response):
    start_response("200 OK", TEXT)
    try:
        raise ValueError("replaced before headers were sent")
    except ValueError:
        start_response("500 Internal Server Error", TEXT, sys.exc_info())
    return [b"error page"]


def _empty(environ, start_response):
    start_response("204 No Content", [])
    return []


ROUTES = {
    "/plain": _plain,
    "/echo-input": _echo_input,
    "/iterate-input": _iterate_input,
    "/write": _write_callable,
    "/generator": _generator,
    "/errors": _errors,
    "/exc-info": _exc_info,
    "/empty": _empty,
}


def _route(environ, start_response):
    return ROUTES.get(environ["PATH_INFO"], _plain)(environ, start_response)


app = validator(_route)
