"""A real framework (Flask) through a real client (requests)."""

import time

import pytest
import requests

import rawhttp
from server import ServerProcess


@pytest.fixture(scope="module")
def flask_server(tmp_path_factory):
    srv = ServerProcess("flask_app:app", ("-w", "2"), workdir=tmp_path_factory.mktemp("flask"))
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def base_url(flask_server):
    return f"http://127.0.0.1:{flask_server.address[1]}"


def test_json_get(base_url):
    resp = requests.get(f"{base_url}/json", params={"q": "caf\u00e9 & more"}, timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"message": "hello", "items": [1, 2, 3], "args": {"q": "caf\u00e9 & more"}}


def test_json_post(base_url):
    payload = {"name": "rgunicorn", "nested": {"list": [1, 2.5, None, True]}}
    resp = requests.post(f"{base_url}/json", json=payload, timeout=10)
    assert resp.status_code == 200
    assert resp.json()["received"] == payload


def test_form_post(base_url):
    resp = requests.post(
        f"{base_url}/form", data={"a": "1", "b": ["x", "y"], "text": "h\u00e9llo w\u00f6rld"}, timeout=10
    )
    assert resp.status_code == 200
    assert resp.json()["form"] == {"a": ["1"], "b": ["x", "y"], "text": ["h\u00e9llo w\u00f6rld"]}


def test_multipart_upload(base_url):
    resp = requests.post(
        f"{base_url}/form", data={"k": "v"}, files={"upload": ("f.txt", b"file body\n" * 1000)}, timeout=10
    )
    assert resp.status_code == 200
    assert resp.json() == {"form": {"k": ["v"]}, "files": {"upload": "file body\n" * 1000}}


def test_streaming_response(base_url):
    with requests.get(f"{base_url}/stream", params={"lines": 500}, stream=True, timeout=10) as resp:
        assert resp.status_code == 200
        assert resp.headers.get("Transfer-Encoding") == "chunked"
        lines = list(resp.iter_lines())
    assert lines == [f"line {i}".encode() for i in range(500)]


def test_streaming_sends_parts_as_they_are_produced(base_url):
    started = time.monotonic()
    with requests.get(f"{base_url}/slow-stream", stream=True, timeout=10) as resp:
        chunks = resp.iter_content(chunk_size=None)
        first = next(chunks)
        first_at = time.monotonic() - started
        rest = b"".join(chunks)
    assert first == b"first\n"
    assert first_at < 1.5, f"the first part waited for the whole response ({first_at:.2f}s)"
    assert rest == b"second\n"


def test_large_response(base_url):
    resp = requests.get(f"{base_url}/big", timeout=20)
    assert resp.status_code == 200
    assert resp.json()["data"] == "x" * 1_000_000


def test_not_found(base_url):
    resp = requests.get(f"{base_url}/nope", timeout=10)
    assert resp.status_code == 404


def test_not_found_closes_connection(flask_server):
    # requests stops at Content-Length; the raw client also checks that the server closes.
    raw = flask_server.raw(b"GET /nope HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", deadline=5)
    resp = rawhttp.parse_response(raw)
    assert resp.status == 404 and resp.complete
