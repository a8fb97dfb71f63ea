"""Certificates for the TLS tests, made with the openssl command line in a temporary directory:
a CA, a server certificate for localhost / 127.0.0.1 / ::1 signed by it, a client certificate
signed by it (CN=alice, O=Example) and one signed by a CA nobody trusts.

    certs = make_certs(tmp_path)          # a Certs with .ca, .server_cert, .server_key, ...
    ctx = certs.client_context()          # an ssl.SSLContext that trusts the CA
"""

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(directory, name, subject):
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj", subject,
             "-keyout", f"{name}.key", "-out", f"{name}.pem",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=directory)


def _leaf(directory, name, subject, ca, extensions):
    ext = Path(directory, f"{name}.ext")
    ext.write_text(extensions)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{name}.key", "-out", f"{name}.csr",
             cwd=directory)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-days", "3", "-extfile", ext.name, "-out", f"{name}.pem", cwd=directory)


SERVER_EXT = """basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
"""

CLIENT_EXT = """basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
"""


@dataclass
class Certs:
    dir: Path

    def path(self, name):
        return str(self.dir / name)

    @property
    def ca(self):
        return self.path("ca.pem")

    @property
    def server_cert(self):
        return self.path("server.pem")

    @property
    def server_key(self):
        return self.path("server.key")

    @property
    def client_cert(self):
        return self.path("client.pem")

    @property
    def client_key(self):
        return self.path("client.key")

    @property
    def stranger_cert(self):
        return self.path("stranger.pem")

    @property
    def stranger_key(self):
        return self.path("stranger.key")

    def server_args(self, *extra):
        return ["--certfile", self.server_cert, "--keyfile", self.server_key, *extra]

    def client_context(self, cert=None, key=None):
        ctx = ssl.create_default_context(cafile=self.ca)
        if cert:
            ctx.load_cert_chain(cert, key)
        return ctx


def make_certs(directory, server_name="server"):
    """Make the whole set in `directory` (a fresh one per call); `server_name` names the server's
    files, so that a second server certificate can be made next to the first."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "ca.pem").exists():
        _ca(directory, "ca", "/O=rgunicorn tests/CN=Test CA")
        _ca(directory, "stranger-ca", "/O=Nobody/CN=Untrusted CA")
        _leaf(directory, "client", "/O=Example/CN=alice", "ca", CLIENT_EXT)
        _leaf(directory, "stranger", "/O=Nobody/CN=mallory", "stranger-ca", CLIENT_EXT)
    _leaf(directory, server_name, "/O=rgunicorn tests/CN=localhost", "ca", SERVER_EXT)
    return Certs(directory)
