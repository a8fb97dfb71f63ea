"""Debian's nginx started by a test: loopback ports, a temporary prefix and config, in the
foreground (`daemon off`) in its own process group, stopped by pid in teardown.

The server block is deploy/nginx/mysite.conf itself, with its production paths and ports
swapped for the test's, so the tests prove the configuration the docs recommend."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from deploy.common import DEPLOY, free_port, have, run

NGINX = "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else "nginx"
SITE_CONF = DEPLOY / "nginx" / "mysite.conf"

# What deploy/nginx/mysite.conf says for production, and what each becomes in a test.
PRODUCTION_SOCKET = "unix:/run/mysite/rgunicorn.sock"
PRODUCTION_STATIC = "/srv/mysite/static/"
PRODUCTION_CERT = "/etc/ssl/certs/mysite.pem"
PRODUCTION_KEY = "/etc/ssl/private/mysite.key"


def available():
    return have(NGINX) or os.path.exists(NGINX)


def self_signed_cert(directory):
    """A throwaway certificate for 127.0.0.1 (openssl CLI); returns (cert, key) paths."""
    cert, key = Path(directory) / "cert.pem", Path(directory) / "key.pem"
    run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ]
    )  # fmt: skip
    return cert, key


def site_config(socket_path, static_root, http_port, https_port, cert, key):
    """deploy/nginx/mysite.conf for this test: every production value must be found and replaced."""
    text = SITE_CONF.read_text()
    replacements = [
        (PRODUCTION_SOCKET, f"unix:{socket_path}"),
        (PRODUCTION_STATIC, f"{str(static_root).rstrip('/')}/"),
        (PRODUCTION_CERT, str(cert)),
        (PRODUCTION_KEY, str(key)),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
    ]
    for old, new in replacements:
        assert old in text, f"{SITE_CONF} no longer contains {old!r}: update tests/deploy/nginx.py"
        text = text.replace(old, new)
    return text


MAIN_CONFIG = """\
{user}
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    log_format upstreams '$status $upstream_status $request_uri';
    access_log {prefix}/upstreams.log upstreams;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
"""


class Nginx:
    """One nginx master (and its workers). Use as a context manager: stop() always runs."""

    def __init__(self, prefix, socket_path, static_root):
        self.prefix = Path(prefix)
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.socket_path = socket_path
        self.static_root = static_root
        self.cert, self.key = self_signed_cert(self.prefix)
        self.proc = None
        self.http_port = self.https_port = None
        self.cmd = [
            NGINX,
            "-p",
            str(self.prefix),
            "-c",
            str(self.prefix / "nginx.conf"),
            "-e",
            "stderr",
            "-g",
            "daemon off;",
        ]
        self.stderr_path = self.prefix / "stderr.log"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def log(self):
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.prefix / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def url(self, path="/", https=False):
        return f"https://127.0.0.1:{self.https_port}{path}" if https else f"http://127.0.0.1:{self.http_port}{path}"

    def _write_config(self):
        # As root, nginx's workers would switch to "nobody", who cannot reach pytest's 0700 temp dirs.
        user = "user root root;" if os.geteuid() == 0 else ""
        (self.prefix / "site.conf").write_text(
            site_config(self.socket_path, self.static_root, self.http_port, self.https_port, self.cert, self.key)
        )
        (self.prefix / "nginx.conf").write_text(MAIN_CONFIG.format(user=user, prefix=self.prefix))

    def start(self, attempts=3):
        """Start on two free ports; another program may take a port between our probe and nginx's
        bind, so an "Address already in use" exit is retried with new ports."""
        for _ in range(attempts):
            self.http_port, self.https_port = free_port(), free_port()
            if self.http_port == self.https_port:
                continue
            self._write_config()
            with open(self.stderr_path, "ab") as err:
                self.proc = subprocess.Popen(
                    self.cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True
                )
            if self._wait_listening():
                return self
            self.stop()
            if "Address already in use" not in self.log():
                break
        raise AssertionError(f"nginx did not start:\n{self.log()[-3000:]}")

    def _wait_listening(self, deadline=10.0):
        import socket

        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.http_port), timeout=1):
                    with socket.create_connection(("127.0.0.1", self.https_port), timeout=1):
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def upstream_statuses(self):
        """[(status nginx sent, status from upstream, uri)] from the access log (written unbuffered)."""
        path = self.prefix / "upstreams.log"
        if not path.exists():
            return []
        return [tuple(line.split(" ", 2)) for line in path.read_text().splitlines() if line]

    def stop(self):
        """QUIT (graceful) then KILL the process group by its pid. Safe to call twice."""
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGQUIT, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Workers left behind by a killed master are in the same group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def error_lines(text):
    """nginx's [error]/[crit]/[alert]/[emerg] lines."""
    return [line for line in text.splitlines() if re.search(r"\[(error|crit|alert|emerg)\]", line)]
