"""`rgunicorn.workers.base.Worker`: gunicorn's Worker contract without gunicorn.

Subclass it and write `run()`, as for `gunicorn.workers.base.Worker`. The master builds the
instance before forking with `(age, ppid, sockets, app, timeout, cfg, log)`; in the forked child
it calls `init_process()`, which sets the environment, the signal handlers, loads the app
(`self.wsgi`), runs the `post_worker_init` hook and ends in `run()`.

`run()` must call `self.notify()` at least every `self.timeout` seconds (half the `--timeout`)
or the master decides the worker hangs: it logs every thread's stack, sends SIGABRT, then SIGKILL.
`notify()` is a store into a page of memory the master reads, cheap enough to call per request.
Stop serving when `self.alive` turns false (TERM, max-requests), and when `self.ppid` is no
longer `os.getppid()` (the master died).
"""

import os
import random
import signal
import sys
import time

from rgunicorn.workers import _boot


class Worker:
    SIGNALS = [getattr(signal, "SIG%s" % x) for x in "ABRT HUP QUIT INT TERM USR1 USR2 WINCH CHLD".split()]

    PIPE = []

    def __init__(self, age, ppid, sockets, app, timeout, cfg, log):
        """Runs in the master before the fork: change nothing process-wide here."""
        self.age = age
        self.pid = "[booting]"
        self.ppid = ppid
        self.sockets = sockets
        self.app = app
        self.timeout = timeout
        self.cfg = cfg
        self.booted = False
        self.aborted = False
        self.reloader = None
        self.nr = 0
        if cfg.max_requests > 0:
            self.max_requests = cfg.max_requests + random.randint(0, cfg.max_requests_jitter)
        else:
            self.max_requests = sys.maxsize
        self.alive = True
        self.log = log
        self.tmp = _boot.worker_tmp(cfg)

    def __str__(self):
        return "<Worker %s>" % self.pid

    def notify(self):
        """Tell the master this worker is alive."""
        self.tmp.notify()

    def run(self):
        """The worker's main loop: override it."""
        raise NotImplementedError()

    def init_process(self):
        """Set the process up, load the app, then `run()`. An override must end by calling
        `super().init_process()`."""
        for key, value in self.cfg.env.items():
            os.environ[key] = value
        # The master already switched user, group and umask (-u, -g, -m) before calling this.
        random.seed()
        self.PIPE = os.pipe()
        for fd in self.PIPE:
            os.set_blocking(fd, False)
            os.set_inheritable(fd, False)
        for sock in self.sockets:
            sock.set_inheritable(False)
        self.wait_fds = self.sockets + [self.PIPE[0]]
        self.log.close_on_exec()
        self.init_signals()
        self.load_wsgi()
        self.cfg.post_worker_init(self)
        self.booted = True
        self.run()

    def load_wsgi(self):
        self.wsgi = self.app.wsgi()

    def init_signals(self):
        for s in self.SIGNALS:
            signal.signal(s, signal.SIG_DFL)
        signal.signal(signal.SIGQUIT, self.handle_quit)
        signal.signal(signal.SIGTERM, self.handle_exit)
        signal.signal(signal.SIGINT, self.handle_quit)
        signal.signal(signal.SIGWINCH, self.handle_winch)
        signal.signal(signal.SIGUSR1, self.handle_usr1)
        signal.signal(signal.SIGABRT, self.handle_abort)
        # Let TERM and USR1 arrive without interrupting the system call a request is in.
        signal.siginterrupt(signal.SIGTERM, False)
        signal.siginterrupt(signal.SIGUSR1, False)
        signal.set_wakeup_fd(self.PIPE[1])

    def handle_usr1(self, sig, frame):
        self.log.reopen_files()

    def handle_exit(self, sig, frame):
        self.alive = False

    def handle_quit(self, sig, frame):
        self.alive = False
        self.cfg.worker_int(self)
        time.sleep(0.1)
        sys.exit(0)

    def handle_abort(self, sig, frame):
        self.alive = False
        self.cfg.worker_abort(self)
        sys.exit(1)

    def handle_winch(self, sig, frame):
        self.log.debug("worker: SIGWINCH ignored.")
