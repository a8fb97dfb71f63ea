"""stream: 100 blocks of 1 KiB from a generator and no Content-Length (chunked on HTTP/1.1).

PEP 3333 lets a server send one block while the app produces the next.
"""

BLOCK = b"s" * 1024
COUNT = 100


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return (BLOCK for _ in range(COUNT))
