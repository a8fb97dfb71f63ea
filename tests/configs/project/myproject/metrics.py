"""prometheus_client's multiprocess pattern without the dependency: one file per worker in
PROMETHEUS_MULTIPROC_DIR, removed by child_exit through mark_process_dead."""

import os


def _dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def register_worker(pid):
    if _dir():
        open(os.path.join(_dir(), f"counter_{pid}.db"), "w").close()


def mark_process_dead(pid):
    if _dir():
        path = os.path.join(_dir(), f"counter_{pid}.db")
        if os.path.exists(path):
            os.remove(path)
