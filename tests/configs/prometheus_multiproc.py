# prometheus_client multiprocess mode: a dead worker's metrics file is removed by child_exit.
import os

from myproject import metrics
from myproject.events import record

workers = 2
bind = "0.0.0.0:8000"


def post_fork(server, worker):
    metrics.register_worker(worker.pid)
    record("post_fork")


def child_exit(server, worker):
    metrics.mark_process_dead(worker.pid)
    record("child_exit")
