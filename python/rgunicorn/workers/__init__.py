"""Worker classes.

rgunicorn's own workers, by the names `-k` takes. `sync`, `gthread` and `gevent` (with gevent's
own aliases) are served in Rust (`rgunicorn.workers.rust` names them; they are not Python classes
to subclass). `tornado` is a Python worker on `rgunicorn.workers.base.Worker`. A name only
gunicorn has (`asgi`) means gunicorn's class, when gunicorn is installed. Any other value of
`-k` is a plug-in class loaded as gunicorn loads it (`load_class`).
"""

from rgunicorn._classes import ClassLoadError, load_class as _load_class

SUPPORTED_WORKERS = {
    "sync": "rgunicorn.workers.rust.SyncWorker",
    "gthread": "rgunicorn.workers.rust.ThreadWorker",
    "gevent": "rgunicorn.workers.rust.GeventWorker",
    "gevent_wsgi": "rgunicorn.workers.rust.GeventWorker",
    "gevent_pywsgi": "rgunicorn.workers.rust.GeventWorker",
    "tornado": "rgunicorn.workers.gtornado.TornadoWorker",
}

# Worker classes gunicorn once had and no longer ships, with what to use instead.
REMOVED_WORKERS = {
    "eventlet": "the eventlet worker was removed in gunicorn 26; use -k gevent",
    "gunicorn.workers.geventlet.EventletWorker": "the eventlet worker was removed in gunicorn 26; use -k gevent",
}

__all__ = ["SUPPORTED_WORKERS", "REMOVED_WORKERS", "ClassLoadError", "load_class"]


def load_class(uri):
    """The worker class `uri` names (a class object is returned as it is)."""
    if isinstance(uri, str) and uri.strip() in REMOVED_WORKERS:
        raise ClassLoadError("worker class %r: %s" % (uri, REMOVED_WORKERS[uri.strip()]))
    return _load_class(uri, default="gunicorn.workers.sync.SyncWorker", section="gunicorn.workers",
                       supported={**_gunicorn_only_workers(), **SUPPORTED_WORKERS})


def _gunicorn_only_workers():
    """gunicorn's own names that rgunicorn has no worker for (gunicorn 27's `asgi`): with
    gunicorn installed, `-k asgi` runs gunicorn's class as a plug-in, as it would under gunicorn."""
    try:
        from gunicorn.workers import SUPPORTED_WORKERS as gunicorn_workers
    except Exception:
        return {}
    return {name: path for name, path in gunicorn_workers.items() if name not in SUPPORTED_WORKERS}
