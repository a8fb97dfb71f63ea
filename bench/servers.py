"""The servers and apps of the suite, and the command line that starts each server on each app.

Every Python server gets 2 workers where it has workers (gthread: 8 threads each), binds
127.0.0.1 only, and logs no access lines. nginx is the machine's ceiling: `return 200` with the
same 13 bytes, or the same 64 KiB file by sendfile, also asked for with `Connection: close`
(the ceiling for workers that close every connection).

The TLS rows serve HTTPS with one certificate set made per suite run (`make_certificates`: an
RSA-2048 server certificate for 127.0.0.1 and localhost, signed by a throwaway CA), passed to
rgunicorn and gunicorn alike as `--certfile/--keyfile`. Sync TLS rows close every connection, and
wrk runs with `wrk/handshake.c` preloaded so that it never resumes a TLS session: every request
pays a full handshake, whether or not the server could resume (rgunicorn can, in the same worker;
gunicorn makes a new SSL context per connection and cannot).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import subprocess
from dataclasses import dataclass, field

BENCH = os.path.dirname(os.path.abspath(__file__))
APPS_DIR = os.path.join(BENCH, "apps")
WORKERS = 2
THREADS = 8


@dataclass(frozen=True)
class App:
    """One application: its module, how wrk drives it, and what bounds it."""

    key: str
    label: str
    module: str
    script: str = "report.lua"  # wrk script in bench/wrk/
    method: str = "GET"
    body: bytes = b""
    warmup: int = 200  # requests sent before measuring (imports, first-request work)
    nginx: str | None = None  # what nginx serves for the same bytes, if it can
    ceiling_app: str | None = None  # the app whose nginx rows bound this one
    sleep_s: float = 0.0  # for an I/O-bound app: the bound is connections / sleep_s


APPS = [
    App("hello", "hello, 13 B", "hello", nginx="hello", ceiling_app="hello"),
    App("body64k", "64 KiB body", "body64k", nginx="body64k", ceiling_app="body64k"),
    App("echo", "4 KiB POST echo", "echo", script="post4k.lua", method="POST", body=b"e" * 4096),
    App("stream", "stream 100 x 1 KiB, no Content-Length", "stream"),
    App("sleep50", "50 ms sleep", "sleep50", warmup=8, sleep_s=0.05),
    App("flask", "Flask view, 13 B", "flask_view", ceiling_app="hello"),
    App("django", "Django view, 13 B", "django_view", ceiling_app="hello"),
]
APP_BY_KEY = {a.key: a for a in APPS}


@dataclass(frozen=True)
class Server:
    """One row of the tables: a server in one mode."""

    key: str
    label: str
    family: str  # rgunicorn, gunicorn, granian, bjoern, uwsgi, nginx
    mode: str = ""  # sync / gthread / gevent for the gunicorn family
    closes: bool = False  # a connection per request (sync workers, nginx-close)
    client_headers: tuple[str, ...] = ()
    nginx_only: bool = False  # serves only the apps nginx can serve
    notes: str = ""
    args: tuple[str, ...] = field(default=())
    tls: bool = False  # HTTPS with the run's certificates (--certfile/--keyfile)
    full_handshakes: bool = False  # wrk never resumes a TLS session (wrk/handshake.c preloaded)
    apps: tuple[str, ...] = ()  # the only apps this row serves (empty: all of them)


SERVERS = [
    Server("rgunicorn-sync", "rgunicorn sync", "rgunicorn", "sync", closes=True),
    Server("rgunicorn-gthread", "rgunicorn gthread", "rgunicorn", "gthread"),
    Server("rgunicorn-gevent", "rgunicorn gevent", "rgunicorn", "gevent"),
    Server("gunicorn-sync", "gunicorn sync", "gunicorn", "sync", closes=True),
    Server("gunicorn-gthread", "gunicorn gthread", "gunicorn", "gthread"),
    Server("gunicorn-gevent", "gunicorn gevent", "gunicorn", "gevent"),
    Server("granian", "granian wsgi", "granian", notes="default blocking threads"),
    Server("granian-8t", "granian wsgi 8 threads", "granian", args=("--blocking-threads", str(THREADS))),
    Server("bjoern", "bjoern", "bjoern", notes="one process (bjoern has no workers)"),
    Server("uwsgi", "uWSGI http11", "uwsgi"),
    Server("nginx", "nginx", "nginx", nginx_only=True),
    Server(
        "nginx-close",
        "nginx Connection: close",
        "nginx",
        closes=True,
        client_headers=("Connection: close",),
        nginx_only=True,
    ),
    # TLS: hello (and the 64 KiB body with keep-alive, where encryption of the body shows), not
    # every app: TLS costs the same whatever the app does.
    Server(
        "rgunicorn-sync-tls", "rgunicorn sync TLS", "rgunicorn", "sync", closes=True, tls=True, full_handshakes=True,
        apps=("hello",), notes="a full TLS handshake per request",
    ),  # fmt: skip
    Server(
        "rgunicorn-gthread-tls", "rgunicorn gthread TLS", "rgunicorn", "gthread", tls=True, apps=("hello", "body64k"),
    ),  # fmt: skip
    Server(
        "gunicorn-sync-tls", "gunicorn sync TLS", "gunicorn", "sync", closes=True, tls=True, full_handshakes=True,
        apps=("hello",), notes="a full TLS handshake per request",
    ),  # fmt: skip
    Server(
        "gunicorn-gthread-tls", "gunicorn gthread TLS", "gunicorn", "gthread", tls=True, apps=("hello", "body64k"),
    ),  # fmt: skip
]
SERVER_BY_KEY = {s.key: s for s in SERVERS}


def serves(server: Server, app: App) -> bool:
    """Whether this server has a row for this app (nginx only serves the same bytes it can; TLS
    rows only the apps they list)."""
    if server.apps and app.key not in server.apps:
        return False
    return app.nginx is not None if server.nginx_only else True


def gunicorn_peer(server: Server) -> str | None:
    """The key of gunicorn's row in the same mode, with or without TLS like this row (the first
    ratio column)."""
    if server.family in ("rgunicorn", "gunicorn"):
        return f"gunicorn-{server.mode}" + ("-tls" if server.tls else "")
    return None


def plain_peer(server: Server) -> str | None:
    """For a TLS row: the same server and mode over plain HTTP."""
    return f"{server.family}-{server.mode}" if server.tls else None


def scheme(server: Server) -> str:
    return "https" if server.tls else "http"


def venv_bin(name: str) -> str:
    """A console script of the suite's venv (the interpreter running this file)."""
    return os.path.join(os.path.dirname(sys.executable), name)


def unavailable(server: Server) -> str | None:
    """Why this server cannot run here (a peer that did not install), or None."""
    needs = {
        "rgunicorn": ("rgunicorn", None),
        "gunicorn": ("gunicorn", "gevent" if server.mode == "gevent" else None),
        "granian": ("granian", None),
        "bjoern": (None, "bjoern"),
        "uwsgi": ("uwsgi", None),
    }
    if server.family == "nginx":
        return None if shutil.which("nginx") or os.path.exists("/usr/sbin/nginx") else "nginx is not installed"
    if server.tls and not shutil.which("openssl"):
        return "the openssl command is not installed (it makes the certificates)"
    if server.full_handshakes and not (shutil.which("cc") or shutil.which("gcc")):
        return "no C compiler to build wrk/handshake.c (wrk would resume TLS sessions)"
    script, module = needs[server.family]
    if script and not os.path.exists(venv_bin(script)):
        return f"{script} is not installed in the bench venv"
    if module and importlib.util.find_spec(module) is None:
        return f"python module {module} is not installed in the bench venv"
    return None


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


NGINX_CONF = """\
worker_processes {workers};
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {tmp}/client_body;
    server {{
        listen 127.0.0.1:{port};
        root {tmp};
        {location}
    }}
}}
"""
NGINX_LOCATIONS = {
    "hello": 'location = / { default_type text/plain; return 200 "Hello, World!"; }',
    "body64k": "location = / { default_type application/octet-stream; try_files /body64k.bin =404; }",
}


@dataclass(frozen=True)
class Certificates:
    """The run's TLS files (see make_certificates)."""

    certfile: str
    keyfile: str
    ca: str


CERT_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
"""


def certificate_commands(d: str) -> list[list[str]]:
    """The openssl commands that make a throwaway CA and an RSA-2048 server certificate signed by
    it, for 127.0.0.1 and localhost, in directory `d` (results.md prints them)."""
    j = lambda name: os.path.join(d, name)  # noqa: E731
    return [
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", j("ca.key"), "-out", j("ca.pem"),
         "-days", "2", "-subj", "/CN=rgunicorn bench throwaway CA"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", j("server.key"), "-out", j("server.csr"),
         "-subj", "/CN=localhost"],
        ["openssl", "x509", "-req", "-in", j("server.csr"), "-CA", j("ca.pem"), "-CAkey", j("ca.key"),
         "-set_serial", "2", "-days", "2", "-extfile", j("ext.cnf"), "-out", j("server.pem")],
    ]  # fmt: skip


def make_certificates(d: str) -> Certificates:
    """Make the run's certificates in `d` with the openssl command; raises RuntimeError if it fails."""
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write(CERT_EXTENSIONS)
    for cmd in certificate_commands(d):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:3])} failed: {p.stderr.strip()[-300:]}")
    return Certificates(os.path.join(d, "server.pem"), os.path.join(d, "server.key"), os.path.join(d, "ca.pem"))


def build_handshake_preload(d: str) -> str:
    """Build wrk/handshake.c into `d`; returns the library to LD_PRELOAD. Raises RuntimeError."""
    out = os.path.join(d, "handshake.so")
    compiler = shutil.which("cc") or shutil.which("gcc") or "cc"
    cmd = [compiler, "-shared", "-fPIC", "-O2", "-o", out, os.path.join(BENCH, "wrk", "handshake.c"), "-ldl"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"building wrk/handshake.c failed: {p.stderr.strip()[-300:]}")
    return out


PLACEHOLDER_CERTS = Certificates("{certfile}", "{keyfile}", "{ca}")


def command(server: Server, app: App, port: int, tmp: str, certs: Certificates | None = None) -> list[str]:
    """The command line that serves `app` on 127.0.0.1:`port` (files it needs go in `tmp`; TLS
    rows need the run's `certs`)."""
    bind = f"127.0.0.1:{port}"
    target = f"{app.module}:app"
    if server.family in ("rgunicorn", "gunicorn"):
        cmd = [venv_bin(server.family), "--no-control-socket", "-w", str(WORKERS), "-k", server.mode, "-b", bind]
        if server.mode == "gthread":
            cmd += ["--threads", str(THREADS)]
        if server.tls:
            if certs is None:
                raise ValueError(f"{server.key} serves TLS and needs the run's certificates")
            cmd += ["--certfile", certs.certfile, "--keyfile", certs.keyfile]
        return cmd + [target]
    if server.family == "granian":
        return [
            venv_bin("granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(WORKERS), "--no-access-log", *server.args, target,
        ]  # fmt: skip
    if server.family == "bjoern":
        return [sys.executable, os.path.join(BENCH, "run_bjoern.py"), target, "127.0.0.1", str(port)]
    if server.family == "uwsgi":
        return [
            venv_bin("uwsgi"), "--http11-socket", bind, "--master", "--processes", str(WORKERS),
            "--module", target, "--disable-logging", "--die-on-term", "--need-app", "--chdir", APPS_DIR,
        ]  # fmt: skip
    if server.family == "nginx":
        assert app.nginx is not None
        if app.nginx == "body64k":
            with open(os.path.join(tmp, "body64k.bin"), "wb") as f:
                f.write(b"x" * 65536)
            os.chmod(tmp, 0o755)
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(workers=WORKERS, tmp=tmp, port=port, location=NGINX_LOCATIONS[app.nginx]))
        return [nginx_binary(), "-e", os.path.join(tmp, "nginx-error.log"), "-c", conf]
    raise ValueError(server.family)


def command_template(server: Server) -> str:
    """The command line with placeholders, for results.md."""
    if server.family == "nginx":
        return "nginx -c nginx.conf  (worker_processes 2, sendfile on, access_log off; see bench/servers.py)"
    app = App("{app}", "", "{app}")
    parts = command(server, app, 0, "/tmp", PLACEHOLDER_CERTS)
    repo = os.path.dirname(BENCH)
    rel = [os.path.relpath(p, repo) if os.path.isabs(p) and p.startswith(BENCH) else p for p in parts]
    rel = [os.path.basename(p) if p == sys.executable else p for p in rel]
    return " ".join(rel).replace("127.0.0.1:0", "127.0.0.1:{port}").replace("--port 0", "--port {port}")
