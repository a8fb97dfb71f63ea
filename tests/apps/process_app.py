"""Reports facts about the process serving it: pid, the pid that imported this module, uid,
gid, umask and selected environment variables, as JSON."""

import json
import os

IMPORTED_IN = os.getpid()


def app(environ, start_response):
    umask = os.umask(0)
    os.umask(umask)
    body = json.dumps(
        {
            "pid": os.getpid(),
            "imported_in": IMPORTED_IN,
            "uid": os.getuid(),
            "gid": os.getgid(),
            "umask": umask,
            "env": {k: os.environ.get(k) for k in ("RG_A", "RG_B")},
        }
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
