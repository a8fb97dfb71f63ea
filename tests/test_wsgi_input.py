"""wsgi.input: read, read(n), readline, readline(n), readlines(hint), iteration, end of body,
for Content-Length and chunked request bodies, small and large."""

import hashlib
import json
import os
import random

import pytest

import rawhttp


def chunked(body, size=3):
    out = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size))
    return out + b"0\r\n\r\n"


def post(srv, target, body, framing):
    if framing == "chunked":
        head = b"POST %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n" % target
        data = head + chunked(body)
    else:
        head = b"POST %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % (target, len(body))
        data = head + body
    resp = rawhttp.parse_response(srv.raw(data, deadline=30))
    assert resp.status == 200, resp
    return json.loads(resp.body)


CASES = [
    # (body, operations, what each returns)
    (b"hello world", "read,read", ["hello world", ""]),
    (b"abcdefgh", "read:3,read:3,read:3,read:3", ["abc", "def", "gh", ""]),
    (b"abcdefgh", "read:0,read:100,read:1", ["", "abcdefgh", ""]),
    (b"one\ntwo\nthree", "readline,readline,readline,readline", ["one\n", "two\n", "three", ""]),
    (b"abcdef\nxyz\n", "readline:3,readline:10,readline:2,readline,readline", ["abc", "def\n", "xy", "z\n", ""]),
    (b"abcdef\nxyz\n", "readline:0,readline:-1,readline:7,readline:1", ["", "abcdef\n", "xyz\n", ""]),
    (b"line\nrest of body", "readline,read:4,read", ["line\n", "rest", " of body"]),
    (b"a\nb\nc", "readlines", [["a\n", "b\n", "c"]]),
    (b"x\ny\n", "iter,read", [["x\n", "y\n"], ""]),
    (b"head\n" + b"z" * 5000 + b"\ntail", "readline,readline,readline", ["head\n", "z" * 5000 + "\n", "tail"]),
    (b"", "read,read:5,readline,readlines", ["", "", "", []]),
]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("body, ops, expected", CASES, ids=[c[1] for c in CASES])
def test_input_operations(shared_server, framing, body, ops, expected):
    srv = shared_server("input_app:app")
    assert post(srv, b"/ops?ops=" + ops.encode(), body, framing) == expected


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_readlines_hint(shared_server, framing):
    """PEP 3333 lets a server ignore the hint; either way whole lines come back, at least `hint`
    bytes of them, and read() then returns exactly the rest of the body."""
    srv = shared_server("input_app:app")
    body = b"aa\nbb\ncc\ndd\n"
    lines, rest = post(srv, b"/ops?ops=readlines:4,read", body, framing)
    assert all(line.endswith("\n") for line in lines)
    assert sum(len(line) for line in lines) >= 4
    assert "".join(lines) + rest == body.decode()


def test_body_beyond_content_length_is_not_read(shared_server):
    srv = shared_server("input_app:app")
    raw = srv.raw(
        b"POST /ops?ops=read,read HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhelloEXTRA"
    )
    assert json.loads(rawhttp.parse_response(raw).body) == ["hello", ""]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_large_body(shared_server, framing):
    srv = shared_server("input_app:app")
    body = os.urandom(5 * 1024 * 1024)
    if framing == "chunked":
        rng = random.Random(1)
        pieces, pos = [], 0
        while pos < len(body):
            size = rng.randint(1, 200_000)
            pieces.append(b"%x\r\n%s\r\n" % (len(body[pos : pos + size]), body[pos : pos + size]))
            pos += size
        data = b"POST /digest HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        data += b"".join(pieces) + b"0\r\n\r\n"
    else:
        data = b"POST /digest HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        data += body
    resp = rawhttp.parse_response(srv.raw(data, deadline=60))
    assert resp.status == 200
    assert json.loads(resp.body) == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest(), "eof": ""}
