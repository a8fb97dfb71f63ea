"""TLS in the sync and gthread workers (rustls): certificates made by openssl in the test,
clients are curl and Python's ssl, every server a real process on 127.0.0.1.

The gevent worker's TLS (Python's ssl) has its own file, test_tls_gevent.py.
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import warnings
from types import SimpleNamespace

import pytest

import rawhttp
import tlscerts
from server import UNDER_GUNICORN, run_to_exit

pytestmark = pytest.mark.timeout(120)

WORKERS = {
    "sync": ["-k", "sync"],
    "gthread": ["-k", "gthread", "--threads", "4"],
}

rgunicorn_only = pytest.mark.skipif(UNDER_GUNICORN, reason="rgunicorn's environ keys and answers beyond gunicorn")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return tlscerts.make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(params=sorted(WORKERS))
def worker(request):
    return WORKERS[request.param]


def wait_tls_ready(srv, context, deadline=15.0):
    """Poll with TLS handshakes until the server answers (the usual probe speaks plain HTTP)."""
    end = time.monotonic() + deadline
    while True:
        if srv.proc.poll() is not None:
            raise AssertionError(f"server exited with {srv.proc.returncode}:\n{srv.log()[-3000:]}")
        try:
            status, _ = request(srv, "/", context=context)
            if status == 200:
                return srv
        except (OSError, ssl.SSLError):
            pass
        if time.monotonic() > end:
            raise AssertionError(f"no TLS answer within {deadline}s:\n{srv.log()[-3000:]}")
        time.sleep(0.05)


def start_tls(start_server, certs, worker, *extra, ready_context=None):
    srv = start_server("tls_app:app", *worker, *certs.server_args(), *extra, ready=False)
    return wait_tls_ready(srv, ready_context or certs.client_context())


def request(srv, path, context, method="GET", body=None, conn=None):
    """One request over https; returns (status, body)."""
    own = conn is None
    host, port = srv.address
    if own:
        conn = http.client.HTTPSConnection(host, port, context=context, timeout=10)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        if own:
            conn.close()


def environ_of(srv, context):
    status, body = request(srv, "/env", context)
    assert status == 200, body
    return json.loads(body)


def tls_exchange(srv, context, raw_request, **wrap_args):
    """Send `raw_request` on one TLS connection and read until the server closes. Returns the
    parsed response and what the client saw of the connection (version, ALPN, session)."""
    with socket.create_connection(srv.address, timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost", **wrap_args) as tls:
            tls.sendall(raw_request)
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            seen = SimpleNamespace(version=tls.version(), alpn=tls.selected_alpn_protocol(),
                                   reused=tls.session_reused, session=tls.session)
    return rawhttp.parse_response(data), seen


def worker_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_curl_and_python_ssl_get_200_over_https(start_server, certs, worker):
    srv = start_tls(start_server, certs, worker)
    host, port = srv.address
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "--cacert", certs.ca, "-w", "\n%{http_code} %{http_version}",
         f"https://localhost:{port}/"],
        capture_output=True, text=True, timeout=20,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Hello, TLS!\n\n200 1.1"

    env = environ_of(srv, certs.client_context())
    assert env["wsgi.url_scheme"] == "https"
    assert env["SERVER_PORT"] == str(port)
    if not UNDER_GUNICORN:
        assert env["HTTPS"] == "on"
        assert env["SSL_PROTOCOL"] == "TLSv1.3"
        assert env["SSL_CIPHER"].startswith("TLS_")
        assert env["SSL_CLIENT_VERIFY"] == "NONE"
        assert env["SSL_CLIENT_CERT"] is None


def test_tls12_alpn_and_nothing_older(start_server, certs, worker):
    srv = start_tls(start_server, certs, worker)
    ctx = certs.client_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    response, seen = tls_exchange(srv, ctx, b"GET /env HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert seen.version == "TLSv1.2"
    if not UNDER_GUNICORN:  # gunicorn offers no ALPN
        assert seen.alpn == "http/1.1"
    assert response.status == 200
    if not UNDER_GUNICORN:
        env = json.loads(response.body)
        assert env["SSL_PROTOCOL"] == "TLSv1.2"
        assert env["SSL_CIPHER"].startswith("ECDHE-RSA-")

    old = certs.client_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # that is the point
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        with socket.create_connection(srv.address, timeout=10) as raw:
            old.wrap_socket(raw, server_hostname="localhost")
    assert request(srv, "/", certs.client_context())[0] == 200


@rgunicorn_only
def test_required_client_certificate_is_verified_and_identifies_the_client(start_server, certs, worker):
    srv = start_tls(start_server, certs, worker, "--cert-reqs", "2", "--ca-certs", certs.ca,
                    ready_context=certs.client_context(certs.client_cert, certs.client_key))
    workers_before = set(srv.workers())

    for refused in (certs.client_context(), certs.client_context(certs.stranger_cert, certs.stranger_key)):
        # TLS 1.3 clients learn of the refusal at their first read, after the handshake.
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)):
            request(srv, "/env", refused)

    env = environ_of(srv, certs.client_context(certs.client_cert, certs.client_key))
    assert env["SSL_CLIENT_VERIFY"] == "SUCCESS"
    assert env["SSL_CLIENT_S_DN"] == "CN=alice,O=Example"
    assert env["SSL_CLIENT_I_DN"] == "CN=Test CA,O=rgunicorn tests"
    with open(certs.client_cert) as f:
        expected_der = ssl.PEM_cert_to_DER_cert(f.read())
    assert ssl.PEM_cert_to_DER_cert(env["SSL_CLIENT_CERT"]) == expected_der
    serial = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", certs.client_cert],
                            capture_output=True, text=True, check=True).stdout.strip().split("=")[1]
    assert env["SSL_CLIENT_M_SERIAL"].lstrip("0") == serial.lstrip("0")
    # Refused handshakes cost nothing but their connection.
    assert set(srv.workers()) == workers_before


@rgunicorn_only
def test_optional_client_certificate(start_server, certs, worker):
    srv = start_tls(start_server, certs, worker, "--cert-reqs", "1", "--ca-certs", certs.ca)
    assert environ_of(srv, certs.client_context())["SSL_CLIENT_VERIFY"] == "NONE"
    env = environ_of(srv, certs.client_context(certs.client_cert, certs.client_key))
    assert env["SSL_CLIENT_VERIFY"] == "SUCCESS" and env["SSL_CLIENT_S_DN"] == "CN=alice,O=Example"
    # A certificate that is sent must still be valid.
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)):
        request(srv, "/env", certs.client_context(certs.stranger_cert, certs.stranger_key))


@rgunicorn_only
def test_plain_http_to_the_tls_port_gets_400_and_a_clean_close(start_server, certs, worker):
    srv = start_tls(start_server, certs, worker)
    workers_before = set(srv.workers())
    raw = rawhttp.exchange(srv.address, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    response = rawhttp.parse_response(raw)
    assert response.status == 400
    assert b"HTTPS" in response.body
    # Bytes that are neither HTTP nor TLS: a TLS alert (decode_error) and the close.
    answer = rawhttp.exchange(srv.address, b"\x00\x01\x02 not tls at all\r\n\r\n")
    assert answer == b"\x15\x03\x03\x00\x02\x02\x32", answer
    assert request(srv, "/", certs.client_context())[0] == 200
    assert set(srv.workers()) == workers_before


@rgunicorn_only
def test_a_stalled_handshake_is_cut_off(start_server, certs, worker):
    srv = start_tls(start_server, certs, worker, "--header-timeout", "1", "-w", "2")
    stalled = socket.create_connection(srv.address, timeout=10)
    half = socket.create_connection(srv.address, timeout=10)
    try:
        # The first bytes of a ClientHello, then nothing.
        half.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        started = time.monotonic()
        assert request(srv, "/", certs.client_context())[0] == 200
        for sock in (stalled, half):
            try:
                assert sock.recv(1024) == b""
            except ConnectionResetError:
                pass
        took = time.monotonic() - started
        assert took < 5, f"the stalled handshakes were closed after {took:.1f}s"
    finally:
        stalled.close()
        half.close()


def test_keep_alive_bodies_streams_and_file_wrapper_over_tls(start_server, certs):
    srv = start_tls(start_server, certs, WORKERS["gthread"])
    host, port = srv.address
    conn = http.client.HTTPSConnection(host, port, context=certs.client_context(), timeout=20)
    try:
        for _ in range(20):
            assert request(srv, "/", None, conn=conn) == (200, b"Hello, TLS!\n")
        payload = os.urandom(1 << 20)
        status, echoed = request(srv, "/echo", None, method="POST", body=payload, conn=conn)
        assert status == 200 and echoed == payload
        status, streamed = request(srv, "/stream?mib=5", None, conn=conn)
        expected = b"".join(hashlib.sha256(str(i).encode()).digest() * 2048 for i in range(80))
        assert status == 200 and hashlib.sha256(streamed).digest() == hashlib.sha256(expected).digest()
        status, filed = request(srv, "/file?kib=1024", None, conn=conn)
        assert status == 200 and filed == expected[: 1 << 20]
        status, filed = request(srv, "/write-then-file?kib=1024", None, conn=conn)
        assert status == 200 and filed == b"head\n" + expected[: 1 << 20]
        assert request(srv, "/", None, conn=conn) == (200, b"Hello, TLS!\n")
    finally:
        conn.close()


def test_sync_worker_streams_and_echoes_over_tls(start_server, certs):
    srv = start_tls(start_server, certs, WORKERS["sync"])
    payload = os.urandom(1 << 20)
    assert request(srv, "/echo", certs.client_context(), method="POST", body=payload) == (200, payload)
    status, streamed = request(srv, "/stream?mib=2", certs.client_context())
    assert status == 200 and len(streamed) == 2 << 20
    status, filed = request(srv, "/file?kib=512", certs.client_context())
    assert status == 200 and len(filed) == 512 << 10
    status, filed = request(srv, "/write-then-file?kib=512", certs.client_context())
    assert status == 200 and filed.startswith(b"head\n") and len(filed) == 5 + (512 << 10)


@pytest.mark.skipif(UNDER_GUNICORN, reason="gunicorn closes without close_notify: truncation goes unnoticed")
def test_a_close_delimited_response_ends_with_close_notify(start_server, certs, worker):
    srv = start_tls(start_server, certs, worker)
    # suppress_ragged_eofs=False: a TCP close without close_notify raises SSLEOFError.
    response, _ = tls_exchange(srv, certs.client_context(), b"GET /stream?mib=1 HTTP/1.0\r\nHost: x\r\n\r\n",
                               suppress_ragged_eofs=False)
    assert response.status == 200 and len(response.body) == 1 << 20


def test_a_thousand_handshakes_leak_no_descriptors(start_server, certs, worker):
    srv = start_tls(start_server, certs, worker)
    (pid,) = srv.workers()
    ctx = certs.client_context()
    assert request(srv, "/", ctx)[0] == 200
    before = worker_fds(pid)
    failures = 0
    for i in range(1000):
        with socket.create_connection(srv.address, timeout=10) as raw:
            if i % 10 == 9:
                raw.sendall(b"\x16\x03\x01\x00\x05hello")  # a broken handshake now and then
                raw.recv(100)
                continue
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if not tls.recv(100).startswith(b"HTTP/1.1 200"):
                    failures += 1
    assert failures == 0
    deadline = time.monotonic() + 5
    while worker_fds(pid) > before + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert worker_fds(pid) <= before + 2, f"{before} descriptors before, {worker_fds(pid)} after"
    assert srv.workers() == [pid]


def served_certificate(srv):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(srv.address, timeout=10) as raw:
        with ctx.wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True)


def der_of(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def test_hup_rereads_a_renewed_certificate(start_server, certs, tmp_path, worker):
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(certs.server_cert, live / "cert.pem")
    shutil.copy(certs.server_key, live / "key.pem")
    srv = start_server("tls_app:app", *worker, "--certfile", str(live / "cert.pem"), "--keyfile",
                       str(live / "key.pem"), ready=False)
    wait_tls_ready(srv, certs.client_context())
    assert served_certificate(srv) == der_of(certs.server_cert)

    renewed = tlscerts.make_certs(certs.dir, server_name="renewed")
    shutil.copy(renewed.path("renewed.pem"), live / "cert.pem")
    shutil.copy(renewed.path("renewed.key"), live / "key.pem")
    old = set(srv.workers())
    srv.signal(signal.SIGHUP)
    srv.wait_workers(1, exclude=old)
    deadline = time.monotonic() + 10
    while served_certificate(srv) != der_of(renewed.path("renewed.pem")):
        assert time.monotonic() < deadline, "the renewed certificate is not served after HUP"
        time.sleep(0.1)
    assert request(srv, "/", certs.client_context())[0] == 200

    if UNDER_GUNICORN:
        return
    # A broken renewal: the server keeps serving the certificate it has, and says why.
    (live / "key.pem").write_text("not a key\n")
    old = set(srv.workers())
    srv.signal(signal.SIGHUP)
    srv.wait_workers(1, exclude=old)
    assert served_certificate(srv) == der_of(renewed.path("renewed.pem"))
    assert "Reload kept the previous TLS certificate" in srv.log()


@rgunicorn_only
def test_the_cipher_string_is_honoured(start_server, certs, worker):
    srv = start_tls(start_server, certs, worker, "--ciphers", "ECDHE-RSA-CHACHA20-POLY1305:!aNULL")
    ctx = certs.client_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    assert environ_of(srv, ctx)["SSL_CIPHER"] == "ECDHE-RSA-CHACHA20-POLY1305"
    ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
    with pytest.raises(ssl.SSLError):
        request(srv, "/", ctx)
    # TLS 1.3 is governed by its own suites, as with OpenSSL.
    assert environ_of(srv, certs.client_context())["SSL_PROTOCOL"] == "TLSv1.3"


@rgunicorn_only
@pytest.mark.parametrize(
    "args, message",
    [
        (["--certfile", "/nonexistent/cert.pem"], "TLS: certfile /nonexistent/cert.pem: No such file"),
        (["--keyfile", "KEY"], "TLS: keyfile is set but certfile is not"),
        (["--certfile", "CERT", "--keyfile", "CA"], "keyfile"),
        (["--certfile", "CERT", "--keyfile", "KEY", "--cert-reqs", "2"], "needs ca_certs"),
        (["--certfile", "CERT", "--keyfile", "KEY", "--ciphers", "RC4-SHA"], "'RC4-SHA'"),
        (["--certfile", "CERT", "--keyfile", "KEY", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256:BOGUS"], "'BOGUS'"),
        (["--certfile", "CERT", "--keyfile", "KEY", "--cert-reqs", "3"], "cert_reqs"),
    ],
)
def test_bad_tls_settings_stop_the_start_with_one_line(tmp_path, certs, args, message):
    args = [a.replace("CERT", certs.server_cert).replace("KEY", certs.server_key).replace("CA", certs.ca)
            if a in ("CERT", "KEY", "CA") else a for a in args]
    (tmp_path / "app.py").write_text("def app(e, s):\n    s('200 OK', [])\n    return [b'']\n")
    code, out, err = run_to_exit(["-b", "127.0.0.1:0", "--chdir", str(tmp_path), *args, "app:app"], cwd=tmp_path)
    assert code != 0
    assert message in err, err
    lines = [line for line in err.splitlines() if message in line]
    assert len(lines) == 1, err
    # --check-config finds the same problem.
    code, _, err = run_to_exit(["--check-config", "--chdir", str(tmp_path), *args, "app:app"], cwd=tmp_path)
    assert code != 0 and message in err, err


@rgunicorn_only
def test_an_ssl_context_hook_is_reported_as_gevent_only(start_server, certs, tmp_path):
    conf = tmp_path / "tls_conf.py"
    conf.write_text(
        "def ssl_context(config, default_ssl_context_factory):\n"
        "    return default_ssl_context_factory()\n"
    )
    srv = start_tls(start_server, certs, WORKERS["gthread"], "-c", str(conf))
    assert "The ssl_context hook builds a Python SSLContext, which only -k gevent uses" in srv.log()
    assert request(srv, "/", certs.client_context())[0] == 200


@rgunicorn_only
@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_sessions_resume_whichever_worker_accepts(start_server, certs, version):
    # One connection per worker: while a keep-alive connection holds one worker, the other
    # accepts the next connection, so every resumption below crosses workers. (Left to the
    # kernel, one worker may win every accept.)
    srv = start_tls(start_server, certs, WORKERS["gthread"], "-w", "2", "--worker-connections", "1")
    ctx = certs.client_context()
    ctx.maximum_version = getattr(ssl.TLSVersion, version)
    request_bytes = b"GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    for _ in range(3):
        # The same server name as the resumption below: a session is only resumed for the name
        # it was made for (RFC 6066).
        with ctx.wrap_socket(socket.create_connection(srv.address, timeout=10), server_hostname="localhost") as holder:
            holder.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
            holder_pid = json.loads(rawhttp.read_until(holder, b"}").split(b"\r\n\r\n", 1)[1])["pid"]
            # TLS 1.3: the ticket arrived with the holder's response.
            response, seen = tls_exchange(srv, ctx, request_bytes, session=holder.session)
        assert json.loads(response.body)["pid"] != holder_pid, "the same worker served both"
        assert seen.reused, "the other worker refused the session ticket"


@rgunicorn_only
def test_idle_keep_alive_connections_close_with_close_notify(start_server, certs):
    srv = start_tls(start_server, certs, WORKERS["gthread"], "--keep-alive", "1")
    ctx = certs.client_context()
    request_bytes = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    # The client says goodbye first: the server answers in kind (unwrap() waits for it).
    raw = socket.create_connection(srv.address, timeout=10)
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(request_bytes)
        assert rawhttp.read_until(tls, b"Hello, TLS!\n").startswith(b"HTTP/1.1 200")
        tls.unwrap()
    # The server closes an idle connection at --keep-alive: cleanly, not with a bare TCP close.
    raw = socket.create_connection(srv.address, timeout=10)
    with ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False) as tls:
        tls.sendall(request_bytes)
        assert rawhttp.read_until(tls, b"Hello, TLS!\n").startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert tls.recv(100) == b""  # SSLEOFError without close_notify
        assert time.monotonic() - started < 5
