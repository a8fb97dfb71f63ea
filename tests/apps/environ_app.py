"""Reports the WSGI environ: every key with its type name, and the value where it is plain data."""

import json
import os


def describe(value):
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, tuple) and all(isinstance(v, (int, str)) for v in value):
        return list(value)
    return None


def app(environ, start_response):
    body = environ["wsgi.input"].read()
    report = {
        "pid": os.getpid(),
        "body": body.decode("latin-1"),
        "environ": {key: {"type": type(value).__name__, "value": describe(value)} for key, value in environ.items()},
        "input_methods": [
            m for m in ("read", "readline", "readlines", "__iter__") if hasattr(environ["wsgi.input"], m)
        ],
        "errors_methods": [m for m in ("write", "writelines", "flush") if hasattr(environ["wsgi.errors"], m)],
        "file_wrapper_callable": callable(environ.get("wsgi.file_wrapper")),
    }
    data = json.dumps(report).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
