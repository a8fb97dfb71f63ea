"""PasteDeploy factories for tests/test_paste.py: an app, and a filter that wraps it.

The app answers with what its factory was given (global_conf and local settings, as JSON), so a
test sees exactly what PasteDeploy passed, and logs each request to the `paste_app` logger (for
the ini's logging sections); the filter adds a header.
"""

import json
import logging
import os

log = logging.getLogger("paste_app")


def make_app(global_conf, **settings):
    seen = {"global_conf": {k: v for k, v in global_conf.items() if k not in ("__file__", "here")}, "settings": settings}
    seen["here"] = global_conf.get("here")

    def app(environ, start_response):
        log.warning("paste_app served %s", environ["PATH_INFO"])
        body = json.dumps(dict(seen, pid=os.getpid(), path=environ["PATH_INFO"]), sort_keys=True).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def make_filter(global_conf, tag="filtered"):
    def filter_(app):
        def wrapped(environ, start_response):
            def start(status, headers, exc_info=None):
                return start_response(status, headers + [("X-Paste-Filter", tag)], exc_info)

            return app(environ, start)

        return wrapped

    return filter_
