"""The WSGI environ (PEP 3333 and gunicorn's extras): keys, types and values."""

import json

import rawhttp
from server import WORKER_UNDER_TEST

# gunicorn: False for sync, True for gthread and the async (gevent) workers.
MULTITHREAD = WORKER_UNDER_TEST != "sync"


def _environ(srv, request, env_of_client=False):
    sock = rawhttp.connect(srv.address)
    try:
        client_port = sock.getsockname()[1]
        rawhttp.send_all(sock, request)
        raw, _ = rawhttp.read_until_close(sock)
    finally:
        sock.close()
    resp = rawhttp.parse_response(raw)
    assert resp.status == 200, raw[:1000]
    report = json.loads(resp.body)
    return report["environ"], client_port, report


def _types(environ):
    return {key: item["type"] for key, item in environ.items()}


def _values(environ):
    return {key: item["value"] for key, item in environ.items()}


def test_required_keys_types_and_values(shared_server):
    srv = shared_server("environ_app:app", env={"RGUNICORN_TEST_NOT_IN_ENVIRON": "1"})
    environ, client_port, report = _environ(
        srv, b"GET /env/x?a=1&b=%20 HTTP/1.1\r\nHost: example.org:1234\r\nX-Custom: yes\r\nConnection: close\r\n\r\n"
    )
    values, types = _values(environ), _types(environ)

    assert values["REQUEST_METHOD"] == "GET"
    assert values["SCRIPT_NAME"] == ""
    assert values["PATH_INFO"] == "/env/x"
    assert values["QUERY_STRING"] == "a=1&b=%20"
    assert values["RAW_URI"] == "/env/x?a=1&b=%20"
    assert values["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert values["HTTP_HOST"] == "example.org:1234"
    assert values["HTTP_X_CUSTOM"] == "yes"
    assert isinstance(values["SERVER_NAME"], str) and values["SERVER_NAME"]
    assert types["SERVER_PORT"] == "str"
    assert values["SERVER_PORT"] in (str(srv.address[1]), "1234")
    assert values["REMOTE_ADDR"] == "127.0.0.1"
    assert types["REMOTE_PORT"] == "str" and values["REMOTE_PORT"] == str(client_port)

    assert types["wsgi.version"] == "tuple" and values["wsgi.version"] == [1, 0]
    assert values["wsgi.url_scheme"] == "http"
    # gunicorn: False for sync, True for gthread and the async (gevent) workers.
    assert types["wsgi.multithread"] == "bool" and values["wsgi.multithread"] is MULTITHREAD
    assert types["wsgi.multiprocess"] == "bool" and values["wsgi.multiprocess"] is False
    assert types["wsgi.run_once"] == "bool" and values["wsgi.run_once"] is False
    assert values["wsgi.input_terminated"] is True
    assert report["file_wrapper_callable"] is True
    assert report["input_methods"] == ["read", "readline", "readlines", "__iter__"]
    assert report["errors_methods"] == ["write", "writelines", "flush"]

    # CGI-style keys (no dot) are all native strings.
    assert {key: t for key, t in types.items() if "." not in key and t != "str"} == {}
    # The process environment is not copied into each request's environ.
    assert "RGUNICORN_TEST_NOT_IN_ENVIRON" not in environ and "PATH" not in environ
    # Body framing headers have their CGI names only.
    assert "HTTP_CONTENT_LENGTH" not in environ and "HTTP_CONTENT_TYPE" not in environ


def test_content_type_and_length(shared_server):
    srv = shared_server("environ_app:app")
    environ, _, report = _environ(
        srv,
        b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n"
        b"Connection: close\r\n\r\nhello",
    )
    values = _values(environ)
    assert values["REQUEST_METHOD"] == "POST"
    assert values["CONTENT_TYPE"] == "text/plain; charset=utf-8"
    assert values["CONTENT_LENGTH"] == "5"
    assert "HTTP_CONTENT_LENGTH" not in environ and "HTTP_CONTENT_TYPE" not in environ
    assert report["body"] == "hello"


def test_http10_protocol(shared_server):
    srv = shared_server("environ_app:app")
    environ, _, _ = _environ(srv, b"GET /old HTTP/1.0\r\n\r\n")
    assert _values(environ)["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert _values(environ)["PATH_INFO"] == "/old"


def test_multiprocess_true_with_two_workers(shared_server):
    srv = shared_server("environ_app:app", "-w", "2")
    environ, _, _ = _environ(srv, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert _values(environ)["wsgi.multiprocess"] is True
    assert _values(environ)["wsgi.multithread"] is MULTITHREAD


def test_script_name_from_environment(shared_server):
    srv = shared_server("environ_app:app", env={"SCRIPT_NAME": "/app"})
    environ, _, _ = _environ(srv, b"GET /app/x/caf%C3%A9?q=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    values = _values(environ)
    assert values["SCRIPT_NAME"] == "/app"
    assert values["PATH_INFO"] == "/x/caf\u00c3\u00a9"
    assert values["RAW_URI"] == "/app/x/caf%C3%A9?q=1"
    assert values["QUERY_STRING"] == "q=1"
