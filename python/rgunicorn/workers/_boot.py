"""How the Rust master runs a plug-in worker class (`src/worker/plugin/`).

In the master: `prepare()` loads the class once (at start and on HUP, as gunicorn does in its
arbiter) and `construct()` builds one instance per worker before the fork, so `pre_fork` sees
it. In the child: `run()` calls `init_process()` and turns the outcome into gunicorn's exit codes.
"""

import os
import sys

from rgunicorn.app import AppImportError, Application
from rgunicorn.sock import listeners
from rgunicorn.workers import load_class

# gunicorn's Arbiter.WORKER_BOOT_ERROR and APP_LOAD_ERROR: the master stops instead of respawning.
WORKER_BOOT_ERROR = 3
APP_LOAD_ERROR = 4

_state = {"class": None, "cfg": None, "log": None, "tmp": None}


def prepare(uri, cfg, log):
    """Load the worker class `uri` names; run its `setup()` and `check_config(cfg, log)` hooks."""
    worker_class = load_class(uri)
    if hasattr(worker_class, "setup"):
        worker_class.setup()
    if hasattr(worker_class, "check_config"):
        worker_class.check_config(cfg, log)
    _state.update({"class": worker_class, "cfg": cfg, "log": log})
    return worker_class


def construct(age, ppid, fds, app_uri, preloaded, timeout, tmp):
    """One worker instance, with gunicorn's constructor arguments and rgunicorn's heartbeat as
    `tmp` (whatever the class's own constructor put there is closed and replaced)."""
    cfg = _state["cfg"]
    sockets = listeners(fds, cfg.is_ssl)
    app = Application(app_uri, cfg, preloaded)
    _state["tmp"] = tmp
    try:
        worker = _state["class"](age, ppid, sockets, app, timeout, cfg, _state["log"])
    finally:
        _state["tmp"] = None
    previous = getattr(worker, "tmp", None)
    if previous is not tmp:
        if hasattr(previous, "close"):
            previous.close()
        worker.tmp = tmp
    return worker


def worker_tmp(cfg):
    """The heartbeat `rgunicorn.workers.base.Worker.__init__` takes: the one being constructed."""
    if _state["tmp"] is None:
        raise RuntimeError("rgunicorn worker classes are built by the rgunicorn master")
    return _state["tmp"]


def run(worker):
    """In the forked child: `init_process()` (which ends in `run()`); returns the exit code."""
    worker.pid = os.getpid()
    log = worker.log
    try:
        worker.init_process()
        return 0
    except SystemExit as exc:
        return _exit_code(exc.code)
    except AppImportError as exc:
        log.error("%s", exc)
        return APP_LOAD_ERROR
    except Exception:
        log.exception("Exception in worker process")
        # As gunicorn: failing before run() stops the master; failing later gets the worker replaced.
        return WORKER_BOOT_ERROR if not worker.booted else 255
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass


def _exit_code(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
