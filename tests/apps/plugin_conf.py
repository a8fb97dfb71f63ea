"""A config file that sets `worker_class` to a class object and records the worker object its
hooks get (its class name) in $HOOK_LOG."""

import os
import sys

# The config file runs before --chdir puts the apps directory on sys.path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from plugin_workers import MarkedSyncWorker  # noqa: E402

worker_class = MarkedSyncWorker

_LOG = os.environ["HOOK_LOG"]


def _record(name, worker):
    with open(_LOG, "a") as f:
        f.write("%s %s %s\n" % (name, type(worker).__name__, worker.pid))


def pre_fork(server, worker):
    _record("pre_fork", worker)


def post_fork(server, worker):
    _record("post_fork", worker)


def post_worker_init(worker):
    _record("post_worker_init", worker)


def worker_exit(server, worker):
    _record("worker_exit", worker)


def child_exit(server, worker):
    _record("child_exit", worker)
