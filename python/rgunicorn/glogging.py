"""gunicorn's Logger interface (`gunicorn.glogging.Logger`) for plug-in workers and `logger_class`.

`Logger` is what a plug-in worker gets as `log` when `logger_class` is gunicorn's default: its
`error_log` and `access_log` are the real `gunicorn.error` / `gunicorn.access` loggers, and their
handlers write through rgunicorn's own log files (the ones the master opened, in gunicorn's line
format, reopened by USR1), so records from uvicorn or aiohttp land where rgunicorn's do. With a
logging configuration (`--log-config`, `logconfig_dict`, ...) the configured handlers are used.

`load_logger_class` resolves the `logger_class` setting as gunicorn does, and `log_access` turns
what a Rust worker knows about a finished request into the `(resp, req, environ, request_time)`
that a custom class's `access()` expects.
"""

import base64
import binascii
import datetime
import fcntl
import logging
import os
import threading
import time
import types

from rgunicorn import _rgunicorn
from rgunicorn._classes import load_class

DEFAULT_LOGGER_CLASSES = ("gunicorn.glogging.Logger", "rgunicorn.glogging.Logger", "simple")


class SafeAtoms(dict):
    """Access-log atoms: quotes escaped, header atoms case-insensitive, unknown atoms `-`."""

    def __init__(self, atoms):
        dict.__init__(self)
        for key, value in atoms.items():
            self[key] = value.replace('"', '\\"') if isinstance(value, str) else value

    def __getitem__(self, k):
        if k.startswith("{"):
            k = k.lower()
        return super().__getitem__(k) if k in self else "-"


class _RgunicornHandler(logging.Handler):
    """A handler writing to one of rgunicorn's log files. Records rgunicorn itself forwarded to
    Python (for syslog) are already in those files and are skipped."""

    def filter(self, record):
        return not getattr(record, "rgunicorn_forwarded", False) and super().filter(record)


class _ErrorLogHandler(_RgunicornHandler):
    """Writes formatted records to rgunicorn's error log, one write per record."""

    def emit(self, record):
        try:
            _rgunicorn.write_error_line(record.levelno, self.format(record))
        except Exception:
            self.handleError(record)


class _AccessLogHandler(_RgunicornHandler):
    """Writes formatted lines to rgunicorn's access log."""

    def emit(self, record):
        try:
            _rgunicorn.write_access_line(self.format(record))
        except Exception:
            self.handleError(record)


class Logger:
    """gunicorn's `glogging.Logger`, writing through rgunicorn's log files."""

    LOG_LEVELS = {
        "critical": logging.CRITICAL,
        "error": logging.ERROR,
        "warning": logging.WARNING,
        "info": logging.INFO,
        "debug": logging.DEBUG,
    }
    loglevel = logging.INFO

    error_fmt = r"%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
    datefmt = r"[%Y-%m-%d %H:%M:%S %z]"
    access_fmt = "%(message)s"
    syslog_fmt = "[%(process)d] %(message)s"

    atoms_wrapper_class = SafeAtoms

    def __init__(self, cfg):
        self.error_log = logging.getLogger("gunicorn.error")
        self.access_log = logging.getLogger("gunicorn.access")
        if not _rgunicorn.python_logging_configured():
            self.error_log.propagate = False
            self.access_log.propagate = False
        self.error_handlers = []
        self.access_handlers = []
        self.logfile = None
        self.lock = threading.Lock()
        self.cfg = cfg
        self.setup(cfg)

    def setup(self, cfg):
        self.cfg = cfg
        self.loglevel = self.LOG_LEVELS.get(cfg.loglevel.lower(), logging.INFO)
        self.error_log.setLevel(self.loglevel)
        self.access_log.setLevel(logging.INFO)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                if getattr(handler, "_rgunicorn", False):
                    log.removeHandler(handler)
        # With a logging configuration its handlers (set up by the master) are the destination;
        # otherwise rgunicorn's own files are. Syslog handlers, if any, sit beside ours.
        if _rgunicorn.python_logging_configured():
            return
        handler = _ErrorLogHandler()
        handler.setFormatter(logging.Formatter(self.error_fmt, self.datefmt))
        handler._rgunicorn = True
        self.error_log.addHandler(handler)
        if cfg.accesslog is not None:
            handler = _AccessLogHandler()
            handler.setFormatter(logging.Formatter(self.access_fmt))
            handler._rgunicorn = True
            self.access_log.addHandler(handler)

    def critical(self, msg, *args, **kwargs):
        self.error_log.critical(msg, *args, **kwargs)

    def error(self, msg, *args, **kwargs):
        self.error_log.error(msg, *args, **kwargs)

    def warning(self, msg, *args, **kwargs):
        self.error_log.warning(msg, *args, **kwargs)

    def info(self, msg, *args, **kwargs):
        self.error_log.info(msg, *args, **kwargs)

    def debug(self, msg, *args, **kwargs):
        self.error_log.debug(msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        self.error_log.exception(msg, *args, **kwargs)

    def log(self, lvl, msg, *args, **kwargs):
        if isinstance(lvl, str):
            lvl = self.LOG_LEVELS.get(lvl.lower(), logging.INFO)
        self.error_log.log(lvl, msg, *args, **kwargs)

    @property
    def access_log_enabled(self):
        cfg = self.cfg
        return bool(
            cfg.accesslog
            or cfg.logconfig
            or cfg.logconfig_dict
            or cfg.logconfig_json
            or (cfg.syslog and not cfg.disable_redirect_access_to_syslog)
        )

    def atoms(self, resp, req, environ, request_time):
        """gunicorn's access-log atoms for one request."""
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        atoms = {
            "h": environ.get("REMOTE_ADDR", "-"),
            "l": "-",
            "u": self._get_user(environ) or "-",
            "t": self.now(),
            "r": "%s %s %s" % (environ["REQUEST_METHOD"], environ["RAW_URI"], environ["SERVER_PROTOCOL"]),
            "s": status,
            "m": environ.get("REQUEST_METHOD"),
            "U": environ.get("PATH_INFO"),
            "q": environ.get("QUERY_STRING"),
            "H": environ.get("SERVER_PROTOCOL"),
            "b": sent is not None and str(sent) or "-",
            "B": sent,
            "f": environ.get("HTTP_REFERER", "-"),
            "a": environ.get("HTTP_USER_AGENT", "-"),
            "T": request_time.seconds,
            "D": (request_time.seconds * 1000000) + request_time.microseconds,
            "M": (request_time.seconds * 1000) + int(request_time.microseconds / 1000),
            "L": "%d.%06d" % (request_time.seconds, request_time.microseconds),
            "p": "<%s>" % os.getpid(),
        }
        req_headers = req.headers if hasattr(req, "headers") else req
        if hasattr(req_headers, "items"):
            req_headers = req_headers.items()
        atoms.update({"{%s}i" % k.lower(): v for k, v in req_headers})
        resp_headers = resp.headers
        if hasattr(resp_headers, "items"):
            resp_headers = resp_headers.items()
        atoms.update({"{%s}o" % k.lower(): v for k, v in resp_headers})
        atoms.update({"{%s}e" % k.lower(): v for k, v in environ.items()})
        return atoms

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        safe_atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        try:
            self.access_log.info(self.cfg.access_log_format, safe_atoms)
        except Exception:
            import traceback

            self.error(traceback.format_exc())

    def now(self):
        return time.strftime("[%d/%b/%Y:%H:%M:%S %z]")

    def reopen_files(self):
        """USR1: rgunicorn's own files, then every logging.FileHandler, as gunicorn does."""
        _rgunicorn.reopen_logs()
        for log in _all_loggers():
            for handler in log.handlers:
                if isinstance(handler, logging.FileHandler):
                    handler.acquire()
                    try:
                        if handler.stream:
                            handler.close()
                            handler.stream = handler._open()
                    finally:
                        handler.release()

    def close_on_exec(self):
        for log in _all_loggers():
            for handler in log.handlers:
                if isinstance(handler, logging.FileHandler) and handler.stream:
                    fd = handler.stream.fileno()
                    fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)

    def _get_user(self, environ):
        http_auth = environ.get("HTTP_AUTHORIZATION")
        if http_auth and http_auth.lower().startswith("basic"):
            auth = http_auth.split(" ", 1)
            if len(auth) == 2:
                try:
                    return base64.b64decode(auth[1].strip().encode("utf-8")).split(b":", 1)[0].decode("UTF-8")
                except (TypeError, binascii.Error, UnicodeDecodeError) as exc:
                    self.debug("Couldn't get username: %s", exc)
        return None


def _all_loggers():
    return [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]


def load_logger_class(uri):
    """The class `logger_class` names: gunicorn's default (and `simple`) mean this module's
    Logger; anything else is loaded as gunicorn loads it (its `install()` is called)."""
    if isinstance(uri, str) and uri.strip() in DEFAULT_LOGGER_CLASSES:
        return Logger
    logger_class = load_class(uri, default="gunicorn.glogging.Logger", section="gunicorn.loggers")
    if hasattr(logger_class, "install"):
        logger_class.install()
    return logger_class


def log_access(logger, status, sent, request_headers, response_headers, environ, micros):
    """Call a `logger_class`'s `access(resp, req, environ, request_time)` for a request a Rust
    worker served: `resp` and `req` carry what gunicorn's atoms read from its own objects."""
    resp = types.SimpleNamespace(
        status=str(status), status_code=status, sent=sent, response_length=sent, headers=response_headers
    )
    req = types.SimpleNamespace(headers=[(name.upper(), value) for name, value in request_headers])
    logger.access(resp, req, environ, datetime.timedelta(microseconds=micros))
