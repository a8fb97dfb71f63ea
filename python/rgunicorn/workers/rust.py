"""Names for the workers served in Rust (`src/worker/`): `-k rgunicorn.workers.rust.SyncWorker`
is `-k sync`. They are not Python workers: the master never instantiates these classes, and a
subclass cannot change how they serve (write a plug-in on `rgunicorn.workers.base.Worker` instead).
"""


class RustWorker:
    """A worker class whose accept loop, HTTP parsing and app calls are in Rust."""

    name = None

    def __init__(self, *args, **kwargs):
        raise TypeError("%s is served in Rust: select it with -k %s; it cannot be run as a Python class"
                        % (type(self).__name__, self.name))


class SyncWorker(RustWorker):
    name = "sync"


class ThreadWorker(RustWorker):
    name = "gthread"


class GeventWorker(RustWorker):
    name = "gevent"
