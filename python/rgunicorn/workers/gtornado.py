"""`-k tornado`: Tornado's HTTP server in each worker, serving a `tornado.web.Application` or,
through `tornado.wsgi.WSGIContainer`, any WSGI app. Built on `rgunicorn.workers.base.Worker`, so
it needs Tornado (`pip install tornado`) but not gunicorn; it behaves as gunicorn's TornadoWorker.
"""

import os

try:
    import tornado.httpserver
    import tornado.web
    from tornado.ioloop import IOLoop, PeriodicCallback
    from tornado.wsgi import WSGIContainer
except ImportError:
    raise RuntimeError("You need tornado installed to use this worker.") from None

from rgunicorn.workers.base import Worker


class TornadoWorker(Worker):
    def handle_exit(self, sig, frame):
        if self.alive:
            super().handle_exit(sig, frame)

    def handle_request(self):
        self.nr += 1
        if self.alive and self.nr >= self.max_requests:
            self.log.info("Autorestarting worker after current request.")
            self.alive = False

    def watchdog(self):
        if self.alive:
            self.notify()
        if self.ppid != os.getppid():
            self.log.info("Parent changed, shutting down: %s", self)
            self.alive = False

    def heartbeat(self):
        """Once the worker is told to stop: stop accepting, then (a tick later) stop the loop."""
        if self.alive:
            return
        if self.server_alive:
            try:
                self.server.stop()
            except Exception:
                pass
            self.server_alive = False
        else:
            for callback in self.callbacks:
                callback.stop()
            self.ioloop.stop()

    def init_process(self):
        # An IOLoop cannot survive a fork: each worker makes its own.
        IOLoop.clear_current()
        super().init_process()

    def run(self):
        self.ioloop = IOLoop.current()
        self.alive = True
        self.server_alive = False
        self.callbacks = [PeriodicCallback(self.watchdog, 1000), PeriodicCallback(self.heartbeat, 1000)]
        for callback in self.callbacks:
            callback.start()

        app = self.wsgi
        if not isinstance(app, (WSGIContainer, tornado.web.Application)):
            app = WSGIContainer(app)

        worker = self

        class _HTTPServer(tornado.httpserver.HTTPServer):
            def on_close(self, server_conn):
                worker.handle_request()
                super().on_close(server_conn)

        if self.cfg.is_ssl:
            from rgunicorn.workers.ggevent import ssl_context

            server = _HTTPServer(app, ssl_options=ssl_context(self.cfg))
        else:
            server = _HTTPServer(app)
        self.server = server
        self.server_alive = True
        for sock in self.sockets:
            sock.setblocking(False)
            server.add_socket(sock)
        server.no_keep_alive = self.cfg.keepalive <= 0
        server.start(num_processes=1)
        self.ioloop.start()
