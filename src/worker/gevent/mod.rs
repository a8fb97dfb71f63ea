//! `-k gevent`: greenlets give the concurrency, Rust handles the bytes.
//!
//! ```text
//!  main greenlet   rgunicorn.workers.ggevent.run(server): heartbeat, TERM / max-requests, graceful stop
//!  acceptor        one greenlet per listener: pool.wait_available() → server.accept(i) → pool.spawn
//!  connection      server.handle(conn), one greenlet each (connection.rs): read → parse → wsgi::serve
//!                  → write, keep-alive; on EAGAIN it waits on a gevent io watcher (transport.rs)
//!  hub timers      --request-timeout: 504 and the greenlet's stack in the log (deadline.rs)
//! ```
//!
//! With `--certfile`, the worker builds a Python `ssl.SSLContext` at start, as gunicorn's gevent
//! worker does (`ssl_context` in ggevent.py, which calls the config file's `ssl_context` hook),
//! and each connection drives an `SSLObject` over memory BIOs from Rust (tls.rs).
//!
//! `gevent.monkey.patch_all()` runs first in the worker ([`patch`]), before the app is imported, so
//! that `time.sleep`, sockets, `requests`, … in the app yield to the hub instead of blocking it.
//! The heartbeat is beaten by the main greenlet between sleeps: a greenlet that blocks the hub
//! stops the beat, and the master dumps the worker's stack and kills it after `--timeout`.

pub mod connection;
pub mod deadline;
pub mod hub;
pub mod tls;
pub mod transport;

use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use socket2::Socket;

use super::conn::is_fatal;
use super::WorkerState;
use crate::config::Config;
use crate::logging::pylogger::PyLogger;
use crate::sock::Listener;
use crate::wsgi::environ::Peer;
use connection::IdleConnections;
use hub::Hub;
use tls::TlsEngine;
use transport::GeventTransport;

/// The Python half of the worker: the accept loop, the pool, the heartbeat and the stop.
const PYTHON_MODULE: &str = "rgunicorn.workers.ggevent";
/// The longest the main greenlet sleeps between beats (and between looks at the TERM flag).
const MAX_TICK: Duration = Duration::from_millis(250);

/// Run `gevent.monkey.patch_all()` (and reinitialise the hub after the fork). Must come before
/// the worker imports the app or installs its signal handlers.
pub fn patch(py: Python<'_>) -> PyResult<()> {
    py.import(PYTHON_MODULE)?.call_method0("patch")?;
    Ok(())
}

/// Serve until told to stop. `Err` carries `SystemExit` (quick shutdown, or raised by the app).
pub fn run(
    py: Python<'_>,
    state: &Arc<WorkerState>,
    listeners: &[Listener],
    cfg: &Config,
    worker: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let tls = match tls_engine(py, cfg, worker) {
        Ok(tls) => tls,
        Err(err) => {
            crate::error!("Cannot set up TLS:\n{}", crate::errors::format_traceback(py, &err).trim_end());
            // A boot error: the master stops rather than start workers that fail the same way.
            return Err(pyo3::exceptions::PySystemExit::new_err(crate::errors::WORKER_BOOT_ERROR));
        }
    };
    let server = Py::new(py, GeventServer::new(py, state.clone(), listeners, cfg, tls)?)?;
    py.import(PYTHON_MODULE)?.call_method1("run", (server,))?;
    Ok(())
}

/// The worker's TLS engine, if TLS is on: the context from `ggevent.ssl_context(worker.cfg)`,
/// the `cfg` the hooks see (so the `ssl_context` hook gets it too).
fn tls_engine(py: Python<'_>, cfg: &Config, worker: &Bound<'_, PyAny>) -> PyResult<Option<Arc<TlsEngine>>> {
    if !cfg.tls.enabled() {
        return Ok(None);
    }
    let context = py.import(PYTHON_MODULE)?.call_method1("ssl_context", (worker.getattr("cfg")?,))?;
    Ok(Some(Arc::new(TlsEngine::new(py, context, cfg.tls.suppress_ragged_eofs)?)))
}

/// Per-worker deadlines and options that the WSGI layer's `ConnContext` does not carry.
pub struct Settings {
    /// A new connection's first request head must arrive within this long.
    pub head_timeout: Duration,
    /// A request body read that makes no progress for this long fails.
    pub body_timeout: Option<Duration>,
    /// `--request-timeout`: answer 504 and log the greenlet's stack after this long.
    pub request_timeout: Option<Duration>,
}

/// An accepted client socket on its way to the greenlet that serves it.
#[pyclass(module = "rgunicorn._rgunicorn", name = "GeventConnection", frozen)]
pub struct Connection {
    inner: Mutex<Option<(Socket, Peer)>>,
}

/// What `rgunicorn.workers.ggevent` drives: the worker's state and listeners, and the Rust
/// entry points for accepting and serving connections.
#[pyclass(module = "rgunicorn._rgunicorn", name = "GeventServer", frozen)]
pub struct GeventServer {
    state: Arc<WorkerState>,
    settings: Settings,
    listeners: Vec<Socket>,
    hub: Arc<Hub>,
    idle: IdleConnections,
    /// Set when the listeners speak TLS.
    tls: Option<Arc<TlsEngine>>,
    /// `--worker-connections`: the size of the greenlet pool.
    #[pyo3(get)]
    worker_connections: usize,
    /// Connections accepted per wake-up: one when workers share the listeners, as gunicorn.
    #[pyo3(get)]
    max_accept: usize,
    /// Seconds between beats.
    #[pyo3(get)]
    tick: f64,
    /// Seconds a stopping worker waits for its connections (a little under `--graceful-timeout`,
    /// so that the master's SIGKILL at `--graceful-timeout` never cuts a request short).
    #[pyo3(get)]
    graceful_timeout: f64,
    /// The error log, with gunicorn's logger methods.
    #[pyo3(get)]
    log: Py<PyLogger>,
}

impl GeventServer {
    fn new(
        py: Python<'_>,
        state: Arc<WorkerState>,
        listeners: &[Listener],
        cfg: &Config,
        tls: Option<Arc<TlsEngine>>,
    ) -> PyResult<GeventServer> {
        let head_timeout = Duration::from_secs(cfg.header_timeout.max(1));
        let settings = Settings {
            head_timeout,
            body_timeout: state.conn.send_timeout.or(Some(head_timeout)),
            request_timeout: (cfg.request_timeout > 0).then(|| Duration::from_secs(cfg.request_timeout)),
        };
        let listeners = listeners.iter().map(|l| l.socket.try_clone()).collect::<std::io::Result<Vec<_>>>()?;
        let tick = Duration::from_millis(u64::from(state.poll_interval_ms())).min(MAX_TICK);
        Ok(GeventServer {
            settings,
            listeners,
            hub: Arc::new(Hub::current(py)?),
            idle: IdleConnections::default(),
            tls,
            worker_connections: cfg.worker_connections.max(1),
            max_accept: if cfg.workers > 1 { 1 } else { 100 },
            tick: tick.as_secs_f64(),
            graceful_timeout: state.graceful_timeout.saturating_sub(Duration::from_secs(1)).as_secs_f64(),
            log: Py::new(py, PyLogger)?,
            state,
        })
    }

    fn listener(&self, index: usize) -> PyResult<&Socket> {
        self.listeners.get(index).ok_or_else(|| PyIndexError::new_err("no such listener"))
    }
}

#[pymethods]
impl GeventServer {
    /// False once TERM, INT/QUIT, ABRT or `--max-requests` asked the worker to stop.
    #[getter]
    fn alive(&self) -> bool {
        self.state.is_alive()
    }

    /// The stop was a TERM: connections already waiting in the listen queue are still served.
    #[getter]
    fn graceful(&self) -> bool {
        self.state.flags.graceful.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many listeners there are.
    #[getter]
    fn listener_count(&self) -> usize {
        self.listeners.len()
    }

    /// The file descriptor of listener `index`, to watch for readiness.
    fn listener_fileno(&self, index: usize) -> PyResult<RawFd> {
        Ok(self.listener(index)?.as_raw_fd())
    }

    /// Stop the worker (it finishes its requests and exits; the master starts another).
    fn stop(&self) {
        self.state.flags.alive.store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Tell the master that the worker (and its hub) is alive.
    fn notify(&self) {
        self.state.heartbeat.notify();
    }

    /// The master died and we were re-parented: the worker should exit.
    fn parent_changed(&self) -> bool {
        let changed = self.state.parent_changed();
        if changed {
            crate::info!("Parent changed, shutting down: {}", self.state.pid);
        }
        changed
    }

    /// The stop has begun: close the keep-alive connections that wait for another request.
    fn close_idle(&self, py: Python<'_>) {
        self.idle.close_all(py);
    }

    /// Accept one connection from listener `index` without blocking; `None` if none is waiting.
    /// Other failures are logged and raised (the caller backs off).
    fn accept(&self, index: usize) -> PyResult<Option<Connection>> {
        let listener = self.listener(index)?;
        match listener.accept() {
            Ok((sock, addr)) => {
                let peer = addr.as_socket().map(Peer::Inet).unwrap_or(Peer::Unix);
                Ok(Some(Connection { inner: Mutex::new(Some((sock, peer))) }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::Interrupted => {
                Ok(None)
            }
            Err(e) => {
                if crate::sock::is_transient_accept_error(&e) {
                    crate::debug!("accept() failed: {e}");
                } else {
                    crate::error!("accept() failed: {e}");
                }
                Err(e.into())
            }
        }
    }

    /// Serve `conn` until it closes; called in the connection's own greenlet. Raises only what
    /// must end the worker (`SystemExit`).
    fn handle(&self, py: Python<'_>, conn: &Bound<'_, Connection>) -> PyResult<()> {
        let taken = conn.get().inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some((sock, peer)) = taken else { return Ok(()) };
        if matches!(peer, Peer::Inet(_)) {
            let _ = sock.set_tcp_nodelay(true);
        }
        let hub = self.hub.clone();
        let session = self.tls.as_ref().map(|engine| engine.session(py)).transpose();
        let transport = session.and_then(|session| {
            GeventTransport::new(py, sock, hub, self.state.flags.clone(), self.state.conn.send_timeout, session)
        });
        let transport = match transport {
            Ok(t) => Arc::new(t),
            Err(err) => {
                crate::debug!("Cannot set up a connection: {err}");
                return Ok(());
            }
        };
        let result = connection::serve_connection(py, &self.state, &self.settings, &self.idle, &transport, &peer);
        transport.close_notify(py);
        transport.close_watchers(py);
        match result {
            Err(err) if is_fatal(py, &err) => Err(err),
            Err(err) => {
                crate::error!("Error handling a connection:\n{}", crate::errors::format_traceback(py, &err).trim_end());
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }
}
