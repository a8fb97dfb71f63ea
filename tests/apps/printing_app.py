"""An app that prints to stdout and stderr (for --capture-output) and answers 'ok'."""

import sys


def app(environ, start_response):
    if environ["PATH_INFO"] == "/print":
        print("hello-from-print", flush=True)
        print("hello-from-stderr", file=sys.stderr, flush=True)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
