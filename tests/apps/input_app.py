"""Exercises wsgi.input: the query string names the operations, the answer lists what each returned.

`?ops=read:3,readline,readline:2,readlines:5,iter,read` → JSON list of results (latin-1 strings,
or lists of them for readlines/iter). `/digest` reads the body in 64 KiB steps and returns its
length and SHA-256 (for large bodies).
"""

import hashlib
import json
from urllib.parse import parse_qs


def run_op(stream, op):
    name, _, arg = op.partition(":")
    size = int(arg) if arg else None
    if name == "read":
        return stream.read() if size is None else stream.read(size)
    if name == "readline":
        return stream.readline() if size is None else stream.readline(size)
    if name == "readlines":
        return stream.readlines() if size is None else stream.readlines(size)
    if name == "iter":
        return list(stream)
    raise ValueError(f"unknown op {op!r}")


def as_text(result):
    if isinstance(result, list):
        return [as_text(item) for item in result]
    if not isinstance(result, bytes):
        return {"not bytes": repr(result)}
    return result.decode("latin-1")


def app(environ, start_response):
    stream = environ["wsgi.input"]
    if environ["PATH_INFO"] == "/digest":
        digest, length = hashlib.sha256(), 0
        while True:
            block = stream.read(65536)
            if not block:
                break
            digest.update(block)
            length += len(block)
        result = {"length": length, "sha256": digest.hexdigest(), "eof": stream.read(1).decode("latin-1")}
    else:
        ops = parse_qs(environ["QUERY_STRING"]).get("ops", ["read"])[0].split(",")
        result = [as_text(run_op(stream, op)) for op in ops]
    data = json.dumps(result).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
