//! `-k gthread`: a Rust I/O thread feeding a pool of Python threads, as gunicorn's ThreadWorker.
//!
//! ```text
//!  listeners ─► I/O thread (mio, no GIL) ──heads──► JobQueue ──► pool threads (--threads, GIL)
//!                 ▲  accept, keep-alive, head deadlines,                │ body, app, response
//!                 └──────────── connections back (waker) ◄──────────────┘
//!  main thread (Python): signal handlers, heartbeat, request deadlines, graceful stop
//! ```
//!
//! - [`io_loop`]: the poll loop; [`table`]: its connections and their deadlines.
//! - [`pool`]: the threads that call the app; [`transport`]: their sockets.
//! - [`handoff`]: what the threads pass to each other; [`queue`]: the pool's work and when to
//!   wake a thread for it; [`watchdog`]: `--request-timeout`.
//!
//! The main thread beats the heartbeat only after it got the GIL back from a sleep, so the beat
//! proves that Python can run: a request that sleeps past `--timeout` does not get the worker
//! killed (gunicorn semantics), a C extension that holds the GIL does. The other threads block
//! the worker's signals, so that every signal interrupts the main thread's sleep at once.

pub mod handoff;
pub mod io_loop;
pub mod pool;
pub mod queue;
pub mod shared;
pub mod table;
pub mod transport;
pub mod watchdog;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Poll, Waker};
use nix::poll::{poll, PollFd, PollTimeout};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::conn::is_fatal;
use super::WorkerState;
use crate::config::Config;
use crate::sock::Listener;
use crate::wsgi::ServeOptions;
use io_loop::{IoLoop, IoSettings, WAKER};
use pool::PoolContext;
use shared::Shared;
use watchdog::Watchdog;

/// How often the main thread looks at the I/O thread while stopping.
const STOP_TICK: Duration = Duration::from_millis(20);

/// Serve until told to stop. `Err` carries `SystemExit` (quick shutdown, or raised by the app).
pub fn run(py: Python<'_>, state: &Arc<WorkerState>, listeners: &[Listener], cfg: &Config) -> PyResult<()> {
    let threads = cfg.threads.max(1);
    let head_timeout = Duration::from_secs(cfg.header_timeout.max(1));
    let poll = Poll::new()?;
    let waker = Waker::new(poll.registry(), WAKER)?;
    let max_connections = cfg.worker_connections.max(1);
    let shared = Arc::new(Shared::new(waker, max_connections, threads));
    let request_timeout = (cfg.request_timeout > 0).then(|| Duration::from_secs(cfg.request_timeout));
    let watchdog = Arc::new(Watchdog::new(threads, request_timeout));
    let own = listeners
        .iter()
        .map(|l| Ok(Listener { socket: l.socket.try_clone()?, addr: l.addr.clone(), local: l.local.clone() }))
        .collect::<std::io::Result<Vec<_>>>()?;
    let settings = IoSettings {
        limits: cfg.limits.clone(),
        head_timeout,
        keepalive: Duration::from_secs(cfg.keepalive.max(1)),
        max_connections,
        tls: state.conn.tls.clone(),
        suppress_ragged_eofs: state.conn.suppress_ragged_eofs,
    };
    let io = IoLoop::new(poll, own, shared.clone(), settings)?;
    let ctx = Arc::new(PoolContext {
        state: state.clone(),
        shared: shared.clone(),
        watchdog: watchdog.clone(),
        opts: ServeOptions {
            keep_alive: state.conn.opts.keep_alive,
            sendfile: state.conn.opts.sendfile,
            hooks: state.conn.opts.hooks.clone(),
        },
        closing: ServeOptions {
            keep_alive: false,
            sendfile: state.conn.opts.sendfile,
            hooks: state.conn.opts.hooks.clone(),
        },
        limits: cfg.limits.clone(),
        recv_timeout: Some(head_timeout),
        send_timeout: state.conn.send_timeout,
    });
    let handles = with_signals_blocked(|| -> std::io::Result<Vec<JoinHandle<()>>> {
        let mut handles = vec![std::thread::Builder::new().name("rgunicorn-io".to_string()).spawn(move || io.run())?];
        handles.extend(pool::spawn(&ctx, threads)?);
        Ok(handles)
    })?;
    let result = supervise(py, state, &shared, &watchdog, &handles, cfg);
    shared.jobs.close();
    result
}

/// The main thread's loop: signals, heartbeat, request deadlines, and the graceful stop.
fn supervise(
    py: Python<'_>,
    state: &WorkerState,
    shared: &Shared,
    watchdog: &Watchdog,
    threads: &[JoinHandle<()>],
    cfg: &Config,
) -> PyResult<()> {
    let beat = Duration::from_millis(u64::from(state.poll_interval_ms()));
    let tick = watchdog.tick().map_or(beat, |t| t.min(beat));
    let mut stop_by: Option<Instant> = None;
    loop {
        let wait = if stop_by.is_some() { STOP_TICK.min(tick) } else { tick };
        // Any signal cuts the sleep short (the other threads block them), and Python's handlers
        // run right after: TERM clears `alive`, INT and QUIT raise SystemExit.
        let ms = PollTimeout::try_from(wait.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX);
        py.detach(|| {
            let mut none: [PollFd<'_>; 0] = [];
            let _ = poll(&mut none, ms);
        });
        if let Err(err) = py.check_signals() {
            if is_fatal(py, &err) {
                return Err(err);
            }
            crate::error!("Signal handler failed: {err}");
        }
        if let Some(err) = shared.take_fatal() {
            return Err(err);
        }
        // We hold the GIL again: Python can run, the worker is alive.
        state.heartbeat.notify();
        if stop_by.is_none() && threads.iter().any(|t| t.is_finished()) {
            // Only a bug ends one of them early; a worker that cannot serve must be replaced.
            return Err(PyRuntimeError::new_err("a thread of the gthread worker stopped unexpectedly"));
        }
        match stop_by {
            None => {
                if state.parent_changed() {
                    crate::info!("Parent changed, shutting down: {}", state.pid);
                    state.flags.alive.store(false, std::sync::atomic::Ordering::Relaxed);
                }
                if !state.is_alive() {
                    shared.stop();
                    stop_by = Some(Instant::now() + Duration::from_secs(cfg.graceful_timeout));
                }
            }
            Some(deadline) => {
                if shared.io_done() {
                    return Ok(());
                }
                if Instant::now() >= deadline {
                    crate::info!("Graceful timeout reached with requests still running; exiting");
                    return Ok(());
                }
            }
        }
        watchdog.check(py);
    }
}

/// The signals that Python handles in a worker (and the dump signal), which must reach the main
/// thread: Python runs its handlers only there, and only an interrupted sleep notices them at once.
fn worker_signals() -> [libc::c_int; 13] {
    [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGABRT,
        libc::SIGCHLD,
        libc::SIGWINCH,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGALRM,
        super::signals::dump_signal(),
    ]
}

/// Run `f` (which spawns threads) with the worker's signals blocked, so that the new threads
/// inherit a mask that sends every such signal to the main thread.
fn with_signals_blocked<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before any other use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above; pthread_sigmask fills it.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to initialised sets; the signal numbers are valid.
    let blocked = unsafe {
        libc::sigemptyset(&mut set);
        for sig in worker_signals() {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) == 0
    };
    let result = f();
    if blocked {
        // SAFETY: `old` is the mask pthread_sigmask returned above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    }
    result
}
