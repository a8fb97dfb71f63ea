"""`-k gevent`: the accept loop, the greenlet pool, the heartbeat and the graceful stop.

Only the orchestration lives here. Reading, parsing, the environ, the app call and writing
happen in Rust (`src/worker/gevent/`), in each connection's greenlet, waiting on gevent io
watchers whenever a socket is not ready. The worker process calls `patch()` right after the
fork, before it imports the app, then `run(server)` with a `GeventServer`. With TLS on, the
worker first asks `ssl_context(cfg)` for the `ssl.SSLContext` it serves with (Rust drives it
as a sans-I/O engine over memory BIOs).
"""

import os
import signal
import time

# After accept() fails for lack of descriptors or memory, wait this long before trying again
# (the listener stays readable, so trying at once would spin).
ACCEPT_BACKOFF = 0.1


def patch():
    """Monkey-patch the standard library (as gunicorn's gevent worker does), then give the hub
    a fresh start in this forked process.

    This runs before the worker drops privileges (-u/-g), so it also imports what the worker
    needs later: the new user may not be able to read the Python installation."""
    from gevent import monkey

    monkey.patch_all()

    import gevent.pool  # noqa: F401
    import gevent.socket  # noqa: F401
    from gevent import hub

    hub.reinit()
    hub.get_hub()


def ssl_context(conf):
    """The SSLContext to serve with, built as gunicorn 27's `gunicorn.sock.ssl_context` does, plus
    TLS 1.2 as the minimum and ALPN `http/1.1`; a config file's `ssl_context(config,
    default_ssl_context_factory)` hook may adjust it or return its own."""
    import ssl

    def default_ssl_context_factory():
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=conf.ca_certs)
        context.load_cert_chain(certfile=conf.certfile, keyfile=conf.keyfile)
        context.verify_mode = conf.cert_reqs
        if conf.ciphers:
            context.set_ciphers(conf.ciphers)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        return context

    hook = getattr(conf, "ssl_context", None)
    context = hook(conf, default_ssl_context_factory) if callable(hook) else default_ssl_context_factory()
    if not isinstance(context, ssl.SSLContext):
        raise TypeError(f"the ssl_context hook must return an ssl.SSLContext, not {type(context).__name__}")
    return context


def run(server):
    """Serve until the worker is told to stop, then stop as gunicorn's gevent worker does."""
    import gevent
    from gevent.pool import Pool

    _defer_signals_to_greenlets()
    pool = Pool(server.worker_connections)
    acceptors = [gevent.spawn(_accept_loop, server, index, pool) for index in range(server.listener_count)]
    # The heartbeat: beaten only when this greenlet gets to run, so a greenlet that blocks the hub
    # silences it and the master kills the worker (after dumping its stack) at --timeout.
    while server.alive:
        server.notify()
        if server.parent_changed():
            return
        gevent.sleep(server.tick)

    gevent.killall(acceptors)
    server.close_idle()
    if server.graceful and not server.parent_changed():
        _drain_backlog(server, pool)
    deadline = time.monotonic() + server.graceful_timeout
    while len(pool):
        server.notify()
        left = deadline - time.monotonic()
        if left <= 0:
            server.log.warning("Worker graceful timeout (pid:%s)", os.getpid())
            return
        pool.join(timeout=min(server.tick, left))


def _accept_loop(server, index, pool):
    """Accept on one listener while the pool has room; each connection gets its own greenlet."""
    from gevent import get_hub, sleep
    from gevent.socket import wait

    watcher = get_hub().loop.io(server.listener_fileno(index), 1)
    try:
        while True:
            pool.wait_available()
            for _ in range(server.max_accept):
                if not server.alive:
                    # TERM or --max-requests: accept nothing more, even before the main greenlet
                    # wakes up to stop us.
                    return
                try:
                    conn = server.accept(index)
                except OSError:  # logged by accept()
                    sleep(ACCEPT_BACKOFF)
                    break
                if conn is None:
                    break
                pool.spawn(server.handle, conn)
                if pool.full():
                    break
            wait(watcher)
    except Exception:
        # Never die silently: a worker without its acceptor would look alive and serve nothing.
        server.log.exception("The accept loop failed; the worker stops")
        server.stop()
    finally:
        watcher.close()


def _drain_backlog(server, pool):
    """After TERM: serve the clients that connected before the stop and are still waiting in the
    listen queue, rather than let them be reset when the listeners close."""
    for index in range(server.listener_count):
        while not pool.full():
            try:
                conn = server.accept(index)
            except OSError:
                break
            if conn is None:
                break
            pool.spawn(server.handle, conn)


def _defer_signals_to_greenlets():
    """Run the INT, QUIT and USR1 handlers, and the hooks they call (`worker_int`), in a greenlet
    of their own, as gunicorn's gevent worker does: a Python signal handler may run inside the
    hub, where any cooperative call (a patched sleep, socket, lock) raises BlockingSwitchOutError.
    SystemExit from INT/QUIT still reaches the main greenlet (gevent forwards it)."""
    import gevent

    def deferred(handler):
        return lambda signum, frame: gevent.spawn(handler, signum, frame)

    for signum in (signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1):
        handler = signal.getsignal(signum)
        if callable(handler):
            signal.signal(signum, deferred(handler))
