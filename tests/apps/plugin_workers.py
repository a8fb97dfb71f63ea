"""Worker classes written by "users" for the plug-in tests, and a WSGI app that tells which
worker class served it.

- `MarkedSyncWorker`, `MarkedThreadWorker`: subclasses of gunicorn's own SyncWorker and
  ThreadWorker that mark the process, as an in-house subclass adding a metric or a check would.
- `FileBeatWorker`: beats only by touching `self.tmp.fileno()` itself (as meinheld did), never
  through `notify()`; `SilentWorker` beats once and then never again.
- `OwnBaseWorker`: a worker on rgunicorn's own base class, without gunicorn.
"""

import os
import select
import time

MARK = "RGUNICORN_TEST_WORKER_CLASS"


def app(environ, start_response):
    environ["app.user"] = "alice"  # for logger_class tests: what the app adds reaches access()
    body = ("worker class: %s\n" % os.environ.get(MARK, "-")).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _serve_plain(worker, body, beat):
    """A minimal loop: answer every connection with `body` until the worker is told to stop."""
    while worker.alive and worker.ppid == os.getppid():
        beat()
        ready, _, _ = select.select(worker.sockets, [], [], 0.2)
        for listener in ready:
            try:
                client, _ = listener.accept()
            except BlockingIOError:
                continue
            with client:
                client.settimeout(2)
                try:
                    client.recv(65536)
                    client.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                except OSError:
                    pass


try:
    from gunicorn.workers.base import Worker as GunicornWorker
    from gunicorn.workers.gthread import ThreadWorker
    from gunicorn.workers.sync import SyncWorker
except ImportError:  # the own-base test runs without gunicorn too
    GunicornWorker = SyncWorker = ThreadWorker = None

if SyncWorker is not None:

    class MarkedSyncWorker(SyncWorker):
        def init_process(self):
            os.environ[MARK] = type(self).__name__
            super().init_process()

    class MarkedThreadWorker(ThreadWorker):
        def init_process(self):
            os.environ[MARK] = type(self).__name__
            super().init_process()

    class FileBeatWorker(GunicornWorker):
        def run(self):
            def beat():
                now = time.monotonic()
                os.utime(self.tmp.fileno(), (now, now))

            _serve_plain(self, b"file-beat", beat)

    class SilentWorker(GunicornWorker):
        def run(self):
            # One beat, then silence. (gunicorn's master never times out a worker that never beat:
            # its tmp file starts with a wall-clock mtime, which it compares to the monotonic clock.)
            self.notify()
            _serve_plain(self, b"silent", lambda: None)


from rgunicorn.workers.base import Worker as OwnBase  # noqa: E402


class OwnBaseWorker(OwnBase):
    def run(self):
        body = ("own base: %s %s" % (type(self.cfg).__module__, self.wsgi.__name__)).encode()
        _serve_plain(self, body, self.notify)


if GunicornWorker is not None:

    class BrokenWorker(GunicornWorker):
        """Fails while booting, before run(): the master must stop, not respawn it forever."""

        def init_process(self):
            raise RuntimeError("this worker cannot boot")
