"""An app for the TLS tests.

    GET  /pid          the worker's pid
    GET  /env          what the environ says about the connection (scheme, HTTPS, SSL_*)
    POST /echo         the request body back
    GET  /stream?mib=N N MiB in 64 KiB blocks, no Content-Length (chunked, or close-delimited
                       for HTTP/1.0)
    GET  /file?kib=N   N KiB through wsgi.file_wrapper (sendfile cannot encrypt: the fallback)
    GET  /write-then-file?kib=N   "head\n" through write(), then N KiB through file_wrapper
"""

import hashlib
import json
import os
import tempfile
from urllib.parse import parse_qs

KEYS = ("wsgi.url_scheme", "HTTPS", "SSL_PROTOCOL", "SSL_CIPHER", "SSL_CLIENT_VERIFY", "SSL_CLIENT_S_DN",
        "SSL_CLIENT_I_DN", "SSL_CLIENT_CERT", "SSL_CLIENT_M_SERIAL", "SERVER_PORT")


def block(i):
    """64 KiB whose content depends on `i`, so that a reordered or lost block shows."""
    return hashlib.sha256(str(i).encode()).digest() * 2048


def app(environ, start_response):
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/pid":
        body = json.dumps({"pid": os.getpid()}).encode()
    elif path == "/env":
        body = json.dumps({k: environ.get(k) for k in KEYS}).encode()
    elif path == "/echo":
        body = environ["wsgi.input"].read()
    elif path == "/stream":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (block(i) for i in range(int(query.get("mib", "1")) * 16))
    elif path in ("/file", "/write-then-file"):
        f = tempfile.TemporaryFile()
        f.write(b"".join(block(i) for i in range(int(query.get("kib", "64")) // 64)))
        f.seek(0)
        if path == "/file":
            size = os.fstat(f.fileno()).st_size
            start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))])
        else:
            write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
            write(b"head\n")
        return environ["wsgi.file_wrapper"](f, 65536)
    else:
        body = b"Hello, TLS!\n"
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
