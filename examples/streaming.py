"""A response streamed as it is produced, with no Content-Length: HTTP/1.1 clients get it chunked."""

import time


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def generate():
        for i in range(5):
            yield f"tick {i}\n".encode()
            time.sleep(0.1)

    return generate()
