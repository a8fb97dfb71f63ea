"""How responses go out: framing (Content-Length, chunked, close), HEAD, Server/Date, the write()
callable, exc_info, close() of the iterable, wsgi.file_wrapper."""

import email.utils
import os
import socket
import struct
import time
from urllib.parse import quote

import pytest

import rawhttp
from server import SERVER_HEADER, UNDER_GUNICORN, wait_for_file

APP = "response_app:app"


def test_content_length_response(shared_server):
    resp = shared_server(APP).get("/length")
    assert resp.status == 200
    assert resp.header("Content-Length") == "11"
    assert resp.body == b"hello world" and resp.complete and resp.trailing == b""


def test_no_content_length_on_http11_is_chunked(shared_server):
    resp = shared_server(APP).get("/nolength")
    assert resp.status == 200
    assert resp.chunked, resp.headers
    assert resp.header("Content-Length") is None
    assert resp.body == b"hello world" and resp.complete, "the terminating zero-size chunk is sent"


def test_list_without_content_length_is_framed(shared_server):
    """A server may compute the length of a list body (gunicorn chunks it instead): either is fine."""
    resp = shared_server(APP).get("/nolength-list")
    assert resp.status == 200
    assert resp.chunked or resp.header("Content-Length") == "11", resp.headers
    assert resp.body == b"hello world" and resp.complete and resp.trailing == b""


def test_no_content_length_on_http10_is_delimited_by_close(shared_server):
    resp = shared_server(APP).get("/nolength", version="HTTP/1.0")
    assert resp.status == 200
    assert resp.header("Transfer-Encoding") is None and resp.header("Content-Length") is None
    assert resp.body == b"hello world"


@pytest.mark.parametrize("path", ["/length", "/nolength", "/nolength-list", "/write"])
def test_head_sends_no_body(shared_server, path):
    srv = shared_server(APP)
    raw = srv.raw(f"HEAD {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode())
    resp = rawhttp.parse_response(raw, head_request=True)
    assert resp.status == 200
    assert resp.trailing == b"", f"HEAD response carried a body: {raw!r}"


def test_server_and_date_headers(shared_server):
    resp = shared_server(APP).get("/length")
    assert resp.header_all("Server") == [SERVER_HEADER]
    dates = resp.header_all("Date")
    assert len(dates) == 1
    sent = email.utils.parsedate_to_datetime(dates[0])
    assert dates[0].endswith(" GMT")
    assert abs(sent.timestamp() - time.time()) < 60


@pytest.mark.skipif(UNDER_GUNICORN, reason="deliberate difference: gunicorn sends its own Server header too")
def test_app_server_header_replaces_default(shared_server):
    resp = shared_server(APP).get("/server-header")
    assert resp.status == 200
    assert resp.header_all("Server") == ["custom-app/1.0"]


def test_write_callable(shared_server):
    resp = shared_server(APP).get("/write")
    assert resp.status == 200
    assert resp.body == b"first,second,third" and resp.complete


def test_exc_info_before_headers_sent_replaces_status(shared_server):
    resp = shared_server(APP).get("/exc-info-before")
    assert (resp.status, resp.reason) == (503, "Replaced")
    assert resp.header("X-Replaced") == "yes"
    assert resp.body == b"replaced"


def test_exc_info_after_headers_sent_closes_connection(shared_server):
    srv = shared_server(APP)
    raw = srv.raw(b"GET /exc-info-after HTTP/1.1\r\nHost: h\r\n\r\n")  # keep-alive asked; must still close
    resp = rawhttp.parse_response(raw)
    assert resp.status == 200
    assert resp.body.startswith(b"partial")
    assert not resp.complete, "the response must be cut short, not ended cleanly"
    assert b"never sent" not in raw


def test_close_is_called(shared_server, tmp_path):
    marker = tmp_path / "closed"
    resp = shared_server(APP).get(f"/close?marker={quote(str(marker))}")
    assert resp.body == b"ab" and resp.complete
    assert wait_for_file(marker, 5), "close() of the response iterable was not called"


def test_close_is_called_when_client_disconnects(start_server, tmp_path):
    srv = start_server(APP)
    marker = tmp_path / "closed"
    sock = rawhttp.connect(srv.address)
    try:
        rawhttp.send_all(sock, f"GET /stream-forever?marker={quote(str(marker))} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
        got = b""
        while len(got) < 200_000:
            data = sock.recv(65536)
            assert data, "server closed early"
            got += data
        assert got.startswith(b"HTTP/1.1 200")
    finally:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, like a crashed client
        sock.close()
    # The app streams for 20 s at most: a server that only calls close() at the natural end is too late.
    assert wait_for_file(marker, 10), "close() not called after the client went away"
    assert srv.get("/length").status == 200, "the worker keeps serving"
    log = srv.log()
    assert "Traceback" not in log and "[ERROR]" not in log, "a client disconnect is logged at debug level only"


@pytest.mark.parametrize("path", ["/keep-environ", "/environ-cycle"])
def test_connection_closed_even_if_app_keeps_environ(shared_server, path):
    """The server closes the connection itself; it must not wait for Python to free the environ."""
    raw = shared_server(APP).raw(f"GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode(), deadline=5)
    resp = rawhttp.parse_response(raw)
    assert resp.status == 200 and resp.complete


def test_content_length_shorter_than_body(shared_server):
    srv = shared_server(APP)
    raw = srv.raw(b"GET /short-length HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    resp = rawhttp.parse_response(raw)
    assert resp.status == 200 and resp.header("Content-Length") == "5"
    assert resp.body == b"hello"
    assert resp.trailing == b"", f"sent more than Content-Length: {raw!r}"


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("files") / "data.bin"
    path.write_bytes(os.urandom(300_001))
    return path


@pytest.mark.parametrize("with_length", [True, False])
def test_file_wrapper(shared_server, data_file, with_length):
    srv = shared_server(APP)
    target = f"/file?path={quote(str(data_file))}&length={int(with_length)}"
    resp = srv.get(target)
    assert resp.status == 200
    assert resp.complete
    assert resp.body == data_file.read_bytes()
    if with_length:
        assert resp.header("Content-Length") == str(data_file.stat().st_size)
    else:
        # gunicorn chunks it; a server may also send the file's size, which it knows
        assert resp.chunked or resp.header("Content-Length") == str(data_file.stat().st_size), resp.headers
    assert resp.trailing == b""


def test_file_wrapper_uses_sendfile_for_real_files(shared_server, data_file, tmp_path):
    """A file with a real descriptor goes out by sendfile(2): its bytes are never read in Python."""
    marker = tmp_path / "read-in-python"
    target = f"/file?path={quote(str(data_file))}&length=1&tracked=1&marker={quote(str(marker))}"
    resp = shared_server(APP).get(target)
    assert resp.status == 200 and resp.body == data_file.read_bytes()
    assert not marker.exists(), "the file was read through Python instead of sent with sendfile"


def test_file_wrapper_http10_without_length(shared_server, data_file):
    resp = shared_server(APP).get(f"/file?path={quote(str(data_file))}&length=0", version="HTTP/1.0")
    assert resp.status == 200
    assert resp.header("Transfer-Encoding") is None
    assert resp.body == data_file.read_bytes()
