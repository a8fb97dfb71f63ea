"""The project's WSGI entry point; the body shows what the configuration changed."""

import json
import os

from myproject import db, settings


def application(environ, start_response):
    body = json.dumps(
        {
            "greeting": settings.GREETING,
            "app_env": os.environ.get("APP_ENV"),
            "db": db.state(),
            "multiprocess": environ["wsgi.multiprocess"],
            "scheme": environ["wsgi.url_scheme"],
            "script_name": environ.get("SCRIPT_NAME", ""),
        },
        sort_keys=True,
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


app = application
