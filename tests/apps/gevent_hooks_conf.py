"""Config for tests/test_gevent.py: hooks that make cooperative calls, which gevent refuses in the
hub's own context. $HOOK_LOG receives one line per hook call that got through."""

import os
import time


def _record(name):
    with open(os.environ["HOOK_LOG"], "a") as f:
        f.write(f"{name} {os.getpid()}\n")


def worker_int(worker):
    time.sleep(0.05)  # patched: switches greenlets, so it must not run inside the hub
    _record("worker_int")
