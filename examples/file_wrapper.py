"""Serve this file through `wsgi.file_wrapper`, which rgunicorn sends with sendfile(2)."""

import os


def app(environ, start_response):
    f = open(__file__, "rb")
    size = os.fstat(f.fileno()).st_size
    start_response("200 OK", [("Content-Type", "text/x-python"), ("Content-Length", str(size))])
    return environ["wsgi.file_wrapper"](f, 64 * 1024)
