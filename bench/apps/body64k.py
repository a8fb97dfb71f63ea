"""body64k: a 64 KiB body with a Content-Length, in one block (the same bytes as nginx's static file)."""

BODY = b"x" * 65536
HEADERS = [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
