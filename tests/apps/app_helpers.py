"""Small pieces the test apps share: the query string, a marker file, a fixed-length response."""

import os
from urllib.parse import parse_qs

TEXT = ("Content-Type", "text/plain")


def query(environ, name, default=None):
    values = parse_qs(environ.get("QUERY_STRING", "")).get(name)
    return values[0] if values else default


def touch(path):
    """Append this worker's pid to `path`: a test waits for the lines to know a request started."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{os.getpid()}\n")


def fixed(start_response, body, status="200 OK", headers=()):
    start_response(status, [TEXT, ("Content-Length", str(len(body))), *headers])
    return [body]
