"""PEP 3333 conformance through wsgiref.validate.validator.

The validator checks the environ, wsgi.input, wsgi.errors, start_response and the iterable's
close() from inside the app: a violation raises there, so the server answers 500 and logs it.
"""

import pytest

APP = "pep3333_app:app"

CASES = [
    ("GET", "/plain", b"", 200, b"plain ok"),
    ("POST", "/echo-input", b"line1\nline2\nline3", 200, b"line1\nline2\nline3|"),
    ("POST", "/iterate-input", b"a\nb\n", 200, b"2 lines: a\nb\n"),
    ("GET", "/write", b"", 200, b"written returned"),
    ("GET", "/generator", b"", 200, b"part0 part1 part2 "),
    ("GET", "/errors", b"", 200, b"logged"),
    ("GET", "/exc-info", b"", 500, b"error page"),
    ("GET", "/empty", b"", 204, b""),
    ("HEAD", "/plain", b"", 200, b""),
]


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
@pytest.mark.parametrize("method, path, body, status, expected", CASES, ids=[c[0] + c[1] for c in CASES])
def test_validator_accepts(shared_server, method, path, body, status, expected, version):
    srv = shared_server(APP)
    resp = srv.request(method, path, body=body, version=version)
    assert resp.status == status, (resp.body, srv.log()[-2000:])
    assert resp.body == expected
    assert resp.complete


def test_validator_accepts_chunked_request(shared_server):
    srv = shared_server(APP)
    resp = srv.request(
        "POST", "/echo-input", headers=[("Transfer-Encoding", "chunked")], body=b"3\r\nab\n\r\n2\r\ncd\r\n0\r\n\r\n"
    )
    assert resp.status == 200, srv.log()[-2000:]
    assert resp.body == b"ab\ncd|"


def test_validator_saw_no_violation(shared_server):
    srv = shared_server(APP)
    for path in ("/plain", "/generator", "/write"):
        assert srv.get(path).status == 200
    assert srv.get("/errors").status == 200
    srv.wait_for_log("pep3333-errors-stream-line")  # wsgi.errors goes to the error log
    srv.wait_for_log("pep3333-writelines")
    log = srv.log()
    assert "AssertionError" not in log, log[-3000:]
    assert "garbage collected without being closed" not in log, "close() of the iterable was not called"
    assert "WSGIWarning" not in log, log[-3000:]
