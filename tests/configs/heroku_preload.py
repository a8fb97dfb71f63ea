# Heroku-style: preload the app in the master, and never share a DB connection across fork.
import os

from myproject import db
from myproject.events import record

workers = int(os.environ.get("WEB_CONCURRENCY", 2))
preload_app = True
max_requests = 1200
max_requests_jitter = 100
timeout = 20
graceful_timeout = 5


def on_starting(server):
    db.connect()
    record("on_starting")


def post_fork(server, worker):
    # The connection opened in the master is not this process's: close and reopen.
    db.close()
    db.connect()
    record("post_fork")


def worker_exit(server, worker):
    db.close()
    record("worker_exit")
