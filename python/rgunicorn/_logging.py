"""Python `logging` set-up for --log-config, logconfig_dict, --log-config-json and --log-syslog.

When one of them is given, rgunicorn hands its error and access records to the loggers gunicorn
uses (`gunicorn.error`, `gunicorn.access`), so existing dictConfig/fileConfig set-ups (JSON
formatters, handlers) work unchanged. Formatting the access line itself stays in Rust.
"""

import copy
import json
import logging
import logging.config
import logging.handlers
import os
import socket

# gunicorn's CONFIG_DEFAULTS, which user configurations are merged into.
CONFIG_DEFAULTS = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": True, "qualname": "gunicorn.error"},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": True, "qualname": "gunicorn.access"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stdout"},
        "error_console": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stderr"},
    },
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
            "class": "logging.Formatter",
        }
    },
}

SYSLOG_FACILITIES = logging.handlers.SysLogHandler.facility_names


def configure(loglevel, logconfig=None, logconfig_dict=None, logconfig_json=None):
    """Apply a user logging configuration the way gunicorn does (merged into its defaults)."""
    level = getattr(logging, loglevel.upper(), logging.INFO)
    logging.getLogger("gunicorn.error").setLevel(level)
    if logconfig_dict:
        config = copy.deepcopy(CONFIG_DEFAULTS)
        config.update(logconfig_dict)
        logging.config.dictConfig(config)
    elif logconfig_json:
        config = copy.deepcopy(CONFIG_DEFAULTS)
        with open(logconfig_json) as fh:
            config.update(json.load(fh))
        logging.config.dictConfig(config)
    elif logconfig:
        if not os.path.exists(logconfig):
            raise RuntimeError(f"Error: log config '{logconfig}' not found")
        defaults = {"__file__": logconfig, "here": os.path.dirname(logconfig)}
        logging.config.fileConfig(logconfig, defaults=defaults, disable_existing_loggers=False)


def _syslog_address(addr):
    if addr.startswith("unix://"):
        path = addr[len("unix://"):]
        path, _, kind = path.partition("#")
        return path, socket.SOCK_STREAM if kind == "stream" else socket.SOCK_DGRAM
    scheme, _, rest = addr.partition("://")
    host, _, port = rest.rpartition(":")
    sock_type = socket.SOCK_STREAM if scheme == "tcp" else socket.SOCK_DGRAM
    return (host or "localhost", int(port or 514)), sock_type


def add_syslog(addr, facility, prefix, access_too):
    """Send the error log (and the access log unless told not to) to syslog, as gunicorn does."""
    address, sock_type = _syslog_address(addr)
    fac = SYSLOG_FACILITIES.get(facility.lower(), logging.handlers.SysLogHandler.LOG_USER)
    handler = logging.handlers.SysLogHandler(address=address, facility=fac, socktype=sock_type)
    handler.setFormatter(logging.Formatter(f"{prefix}: [%(process)d] [%(levelname)s] %(message)s"))
    loggers = ["gunicorn.error"] + (["gunicorn.access"] if access_too else [])
    for name in loggers:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
