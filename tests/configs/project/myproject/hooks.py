"""Hooks kept in the project and named from the config file by dotted path."""

from myproject.events import record


def on_starting(server):
    record("on_starting")


def post_fork(server, worker):
    record("post_fork")


def worker_exit(server, worker):
    record("worker_exit")
