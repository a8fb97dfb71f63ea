"""A stand-in for a database pool: connections must not cross a fork (the preload pattern)."""

import os

_conn = None


def connect():
    global _conn
    _conn = {"pid": os.getpid()}


def close():
    global _conn
    _conn = None


def state():
    if _conn is None:
        return "closed"
    return "mine" if _conn["pid"] == os.getpid() else "inherited"
