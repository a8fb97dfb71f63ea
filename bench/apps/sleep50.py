"""sleep50: waits 50 ms, as an app blocked on a database or an upstream would, then says hello.

Under gevent, `time.sleep` is monkey-patched and yields; elsewhere it blocks its thread.
The most any server can do is (connections / 50 ms) requests per second.
"""

import time

BODY = b"Hello, World!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]
DELAY = 0.05


def app(environ, start_response):
    time.sleep(DELAY)
    start_response("200 OK", HEADERS)
    return [BODY]
