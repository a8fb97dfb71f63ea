"""A `logger_class` that writes JSON lines: a subclass of gunicorn's glogging.Logger, as
deployments shipping logs to a collector use."""

import json
import logging

from gunicorn.glogging import Logger


class JsonFormatter(logging.Formatter):
    def format(self, record):
        return json.dumps({"level": record.levelname, "message": record.getMessage()})


class JsonLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        atoms = self.atoms(resp, req, environ, request_time)
        self.access_log.info(json.dumps({
            "access": True,
            "status": str(atoms["s"]),
            "method": atoms["m"],
            "path": atoms["U"],
            "agent": atoms["a"],
            # A key the app put in its environ: the logger must be given the app's own environ.
            "user": environ.get("app.user"),
        }))
