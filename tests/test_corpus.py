"""Replay the request corpus (tests/requests/) against the echo app, whole and one byte per send.

valid/:   the app must see exactly what the `.json` says, and be called once.
invalid/: the server must answer the status, close the connection, and never call the app.
"""

import json

import pytest

import corpus
import rawhttp
from server import UNDER_GUNICORN

VALID = corpus.load("valid")
INVALID = corpus.load("invalid")
MODES = ("whole", "split")


def _params(cases):
    for case in cases:
        marks = []
        difference = case.spec.get("differs_from_gunicorn")
        if difference and UNDER_GUNICORN:
            marks.append(pytest.mark.skip(reason=f"deliberate difference from gunicorn: {difference}"))
        for mode in MODES:
            yield pytest.param(case, mode, id=f"{case.name}-{mode}", marks=marks)


def app_calls(srv):
    try:
        return len(srv.calls_path.read_text(encoding="utf-8", errors="replace").splitlines())
    except FileNotFoundError:
        return 0


def _send(sock, data, mode):
    if mode == "split":
        rawhttp.send_split(sock, data)
    else:
        try:
            rawhttp.send_all(sock, data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything; its answer is what counts


def _replay(srv, case, mode):
    """Send the case; with "continue", send the body only after the interim 100 response arrived."""
    sock = rawhttp.connect(srv.address)
    try:
        interim = b""
        if case.spec.get("continue"):
            end = case.data.index(b"\r\n\r\n") + 4
            head, body = case.data[:end], case.data[end:]
            _send(sock, head, mode)
            interim = rawhttp.read_until(sock, b"\r\n\r\n")
            _send(sock, body, mode)
        else:
            _send(sock, case.data, mode)
        rest, _ = rawhttp.read_until_close(sock)
        return interim, interim + rest
    finally:
        sock.close()


@pytest.mark.parametrize("case, mode", list(_params(VALID)))
def test_valid_request(shared_server, case, mode):
    srv = shared_server("echo:app", *case.args, env=case.spec.get("env"))
    before = app_calls(srv)

    interim, raw = _replay(srv, case, mode)

    if case.spec.get("continue"):
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
    resp = rawhttp.parse_response(raw)
    assert resp.status == case.status, raw[:500]
    assert resp.complete, raw[:500]
    assert [status for status, _, _ in resp.interim] == ([100] if case.spec.get("continue") else [])
    seen = json.loads(resp.body)
    expect = case.spec["expect"]
    for key in ("method", "path", "script_name", "query", "raw_uri", "protocol", "body"):
        if key in expect:
            assert seen[key] == expect[key], key
    for name, value in expect.get("headers", {}).items():
        assert seen["headers"].get(name) == value, name
    for name in expect.get("absent", ()):
        assert name not in seen["headers"]
    assert app_calls(srv) == before + 1


@pytest.mark.parametrize("case, mode", list(_params(INVALID)))
def test_invalid_request(shared_server, case, mode):
    srv = shared_server("echo:app", *case.args)
    before = app_calls(srv)

    _, raw = _replay(srv, case, mode)  # fails with TimeoutError if the connection is left open

    assert rawhttp.status_of(raw) == case.status, raw[:500]
    resp = rawhttp.parse_response(raw)
    assert resp.complete and resp.trailing == b"", f"one whole response then close, got {raw[:500]!r}"
    if UNDER_GUNICORN and case.spec.get("gunicorn_reaches_app"):
        # gunicorn reads chunked bodies lazily from inside the app; only the status is comparable.
        return
    assert app_calls(srv) == before, "a malformed request reached the application"
    assert srv.proc.poll() is None, "the server died"


def test_connect_ends_the_connection_even_with_keep_alive(shared_server):
    """gunicorn 27 lets CONNECT reach the app; what follows it on the connection is tunnel data,
    never a second request, so the response is the last thing on the connection."""
    srv = shared_server("echo:app", "--keep-alive", "5")
    before = app_calls(srv)
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
                               b"GET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n")
        raw, _ = rawhttp.read_until_close(sock)  # TimeoutError if the connection stays open
    finally:
        sock.close()
    resp = rawhttp.parse_response(raw)
    assert resp.status == 200 and resp.complete and resp.trailing == b"", raw[:500]
    assert json.loads(resp.body)["method"] == "CONNECT"
    assert app_calls(srv) == before + 1, "the bytes after CONNECT were served as a request"


def test_corpus_is_large_enough():
    assert len(VALID) >= 20 and len(INVALID) >= 40


@pytest.mark.parametrize(
    "text, data",
    [
        ("GET / HTTP/1.1\\r\\n\n\\r\\n", b"GET / HTTP/1.1\r\n\r\n"),
        ("a\\tb\\0c\\\\d\\x7f\\n", b"a\tb\x00c\\d\x7f\n"),
        ("{{3*ab\\r\\n}}x", b"ab\r\nab\r\nab\r\nx"),
    ],
)
def test_corpus_escape_convention(text, data):
    assert corpus.decode_http(text) == data


@pytest.mark.parametrize("text", ["a\\q", "tab\there", "caf\u00e9"])
def test_corpus_rejects_ambiguous_text(text):
    with pytest.raises(ValueError):
        corpus.decode_http(text)
