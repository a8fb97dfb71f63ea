# Every server hook, each leaving a trace.
from myproject.events import record

workers = 2


def on_starting(server):
    record("on_starting")


def when_ready(server):
    record("when_ready")


def pre_fork(server, worker):
    record("pre_fork")


def post_fork(server, worker):
    record("post_fork")


def post_worker_init(worker):
    record("post_worker_init")


def pre_request(worker, req):
    record("pre_request")


def post_request(worker, req):
    record("post_request")


def worker_exit(server, worker):
    record("worker_exit")


def nworkers_changed(server, new_value, old_value):
    record("nworkers_changed")


def on_exit(server):
    record("on_exit")
