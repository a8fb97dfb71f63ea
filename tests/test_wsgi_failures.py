"""Application failures: exceptions before and after the headers, bad headers from the app. The
client gets a 500 or a cut connection, the log gets the error, and the worker keeps serving."""

import re

import pytest

import rawhttp

APP = "response_app:app"


def test_exception_before_start_response_is_500_and_logged(start_server):
    srv = start_server(APP, "-w", "1")
    pid = srv.get("/pid").body

    resp = srv.get("/raise-before")

    assert resp.status == 500
    assert b"boom-before-start-response" not in resp.body, "no traceback for the client"
    log = srv.wait_for_log(r"RuntimeError: boom-before-start-response")
    assert log
    assert "Traceback (most recent call last)" in srv.log()
    again = srv.get("/pid")
    assert again.status == 200 and again.body == pid, "the same worker keeps serving"


def test_exception_after_headers_closes_connection(start_server):
    srv = start_server(APP, "-w", "1")
    pid = srv.get("/pid").body

    raw = srv.raw(b"GET /raise-after HTTP/1.1\r\nHost: h\r\n\r\n")  # keep-alive asked: must close anyway

    resp = rawhttp.parse_response(raw)
    assert resp.status == 200 and resp.body.startswith(b"partial")
    assert not resp.complete, "the response must be cut, not terminated like a good one"
    srv.wait_for_log(r"RuntimeError: boom-after-headers")
    assert srv.get("/pid").body == pid


@pytest.mark.parametrize("path", ["/header-crlf", "/header-lf"])
def test_app_header_with_newline_is_500_not_split(start_server, path):
    srv = start_server(APP, "-w", "1")

    raw = srv.raw(f"GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode())

    resp = rawhttp.parse_response(raw)
    assert resp.status == 500
    assert not re.search(rb"[\r\n]X-Evil", raw), f"response splitting: {raw!r}"
    assert b"injected" not in raw
    srv.wait_for_log(r"\[ERROR\]")
    assert srv.get("/length").status == 200
