"""A gunicorn config file whose hooks record each call (name, pid, details) in $HOOK_LOG."""

import os

_LOG = os.environ["HOOK_LOG"]


def _record(name, *details):
    with open(_LOG, "a") as f:
        f.write(" ".join([name, str(os.getpid()), *map(str, details)]) + "\n")


def on_starting(server):
    _record("on_starting", server.pid, len(server.LISTENERS))


def on_reload(server):
    _record("on_reload")


def when_ready(server):
    _record("when_ready", server.cfg.workers, str(server.LISTENERS[0]).startswith("http://"))


def pre_fork(server, worker):
    _record("pre_fork", worker.age)


def post_fork(server, worker):
    _record("post_fork", worker.pid == os.getpid(), worker.ppid == server.pid)


def post_worker_init(worker):
    _record("post_worker_init", worker.alive)


def pre_request(worker, req):
    _record("pre_request", req.method, req.path)


def post_request(worker, req, environ, resp):
    _record("post_request", req.path, resp.status_code, environ["PATH_INFO"])


def worker_exit(server, worker):
    _record("worker_exit", worker.pid)


def child_exit(server, worker):
    _record("child_exit", worker.pid)


def nworkers_changed(server, new_value, old_value):
    _record("nworkers_changed", new_value, old_value)


def on_exit(server):
    _record("on_exit")


def worker_int(worker):
    _record("worker_int", worker.pid)


def worker_abort(worker):
    _record("worker_abort", worker.pid)


def pre_exec(server):
    _record("pre_exec", server.pid)
