"""The WSGI environ (PEP 3333 and gunicorn's extras): keys, types and values."""

import json
import socket

import pytest

import rawhttp
from server import UNDER_GUNICORN, WORKER_UNDER_TEST

# gunicorn: False for sync, True for gthread and the async (gevent) workers.
MULTITHREAD = WORKER_UNDER_TEST != "sync"


def _environ(srv, request):
    return _environ_at(srv.address, request)


def _environ_at(address, request):
    sock = rawhttp.connect(address)
    try:
        client_port = sock.getsockname()[1] if sock.family != socket.AF_UNIX else None
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
    # The listener, not Host (gunicorn 27); see the SERVER_NAME tests below.
    assert values["SERVER_NAME"] == "127.0.0.1"
    assert types["SERVER_PORT"] == "str" and values["SERVER_PORT"] == str(srv.address[1])
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


# -- SERVER_NAME / SERVER_PORT and the scheme (measured against gunicorn 27.0.1) --------------------


def _get(host=None, extra=b""):
    host_line = b"" if host is None else b"Host: " + host.encode() + b"\r\n"
    return b"GET /server HTTP/1.1\r\n" + host_line + extra + b"Connection: close\r\n\r\n"


@pytest.mark.parametrize("host", [None, "127.0.0.1", "example.com:9999", "[::1]:8000", "", "h:"])
def test_a_tcp_listener_names_itself_whatever_host_says(shared_server, host):
    srv = shared_server("environ_app:app")  # an inherited fd:// socket bound to 127.0.0.1:0
    values = _values(_environ(srv, _get(host))[0])
    assert (values["SERVER_NAME"], values["SERVER_PORT"]) == ("127.0.0.1", str(srv.address[1]))
    assert values.get("HTTP_HOST") == host


def test_a_trusted_https_claim_changes_the_scheme_not_the_port(shared_server):
    srv = shared_server("environ_app:app")
    values = _values(_environ(srv, _get("example.com", b"X-Forwarded-Proto: https\r\n"))[0])
    assert values["wsgi.url_scheme"] == "https"
    assert (values["SERVER_NAME"], values["SERVER_PORT"]) == ("127.0.0.1", str(srv.address[1]))


def test_an_untrusted_peer_cannot_set_the_scheme_nor_be_refused_for_it(shared_server):
    srv = shared_server("environ_app:app", "--forwarded-allow-ips", "192.0.2.1")
    environ = _values(_environ(srv, _get("h", b"X-Forwarded-Proto: https\r\n"))[0])
    assert environ["wsgi.url_scheme"] == "http"
    # Headers that would disagree are not even looked at when the peer is not trusted.
    environ = _values(_environ(srv, _get("h", b"X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n"))[0])
    assert environ["wsgi.url_scheme"] == "http"


def _free_port(family, address):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((address, 0))
            return s.getsockname()[1]
    except OSError:
        return None


@pytest.mark.parametrize("family, address, bind", [
    (socket.AF_INET, "127.0.0.1", "127.0.0.1:{port}"),
    (socket.AF_INET6, "::1", "[::1]:{port}"),
])
def test_an_address_bind_names_itself(start_server, family, address, bind):
    port = _free_port(family, address)
    if port is None:
        pytest.skip(f"this machine cannot bind {address}")
    # The port is released just before the server binds it: a small, accepted race.
    srv = start_server("environ_app:app", "-b", bind.format(port=port), bind=False, ready=False)
    srv.wait_ready(probe=(address, port))
    values = _values(_environ_at((address, port), _get("example.com:8080"))[0])
    assert (values["SERVER_NAME"], values["SERVER_PORT"]) == (address, str(port))
    assert values["REMOTE_ADDR"] == address


UNIX_CASES = [
    # Host, extra fields, SERVER_NAME (None: the socket path), SERVER_PORT
    (None, b"", None, ""),
    ("", b"", None, ""),
    ("example.com", b"", "example.com", "80"),
    ("example.com:8080", b"", "example.com", "8080"),
    ("example.com:", b"", "example.com", ""),
    ("example.com", b"X-Forwarded-Proto: https\r\n", "example.com", "443"),
    pytest.param(
        "[::1]:8000", b"", "::1", "8000",
        marks=pytest.mark.skipif(UNDER_GUNICORN, reason="deliberate difference: gunicorn splits an IPv6 Host on "
                                 "every ':' (SERVER_NAME '[', SERVER_PORT '')"),
    ),
]


@pytest.fixture(scope="module")
def unix_environ_server(tmp_path_factory):
    from server import ServerProcess

    path = str(tmp_path_factory.mktemp("unix") / "environ.sock")
    srv = ServerProcess("environ_app:app", ("-b", f"unix:{path}"), workdir=tmp_path_factory.mktemp("server"), bind=False)
    try:
        srv.wait_ready(probe=path)
        yield path
    finally:
        srv.stop()


@pytest.mark.parametrize("host, extra, name, port", UNIX_CASES)
def test_a_unix_socket_takes_server_name_and_port_from_host(unix_environ_server, host, extra, name, port):
    path = unix_environ_server
    values = _values(_environ_at(path, _get(host, extra))[0])
    assert (values["SERVER_NAME"], values["SERVER_PORT"]) == (name or path, port)
    # The peer is trusted (no address) and has no port: gunicorn leaves REMOTE_PORT out.
    assert values["REMOTE_ADDR"] == "" and "REMOTE_PORT" not in values
    assert values["wsgi.url_scheme"] == ("https" if extra else "http")
