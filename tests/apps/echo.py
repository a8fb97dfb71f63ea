"""Echo app: answers with what it saw of the request as JSON; records each call in a file.

With `RGUNICORN_TEST_CALLS=/path` in the server's environment, every call appends one line
`METHOD RAW_URI` to that file before anything else happens, so a test can prove that a
malformed request never reached the application.
"""

import json
import os

CALLS = os.environ.get("RGUNICORN_TEST_CALLS")


def record_call(environ):
    if not CALLS:
        return
    line = f"{environ.get('REQUEST_METHOD')} {environ.get('RAW_URI', environ.get('PATH_INFO'))}\n"
    fd = os.open(CALLS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)


def app(environ, start_response):
    record_call(environ)
    body = environ["wsgi.input"].read()
    seen = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "script_name": environ["SCRIPT_NAME"],
        "query": environ["QUERY_STRING"],
        "raw_uri": environ.get("RAW_URI"),
        "protocol": environ["SERVER_PROTOCOL"],
        "headers": {
            key: value
            for key, value in environ.items()
            if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")
        },
        "body": body.decode("latin-1"),
        "pid": os.getpid(),
    }
    data = json.dumps(seen).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


application = app
