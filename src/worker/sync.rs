//! `-k sync`: one request at a time, no keep-alive, as gunicorn's SyncWorker.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use pyo3::prelude::*;

use super::conn::{handle_connection, is_fatal};
use super::WorkerState;
use crate::sock::Listener;
use crate::wsgi::environ::Peer;

/// Accept and serve until told to stop. `Err` carries `SystemExit` from a quick-shutdown signal.
pub fn run(py: Python<'_>, state: &WorkerState, listeners: &[Listener]) -> PyResult<()> {
    let wait_ms = state.poll_interval_ms();
    while state.is_alive() {
        // A signal that arrived outside poll() (during accept, say) did not interrupt anything:
        // run Python's pending handlers here, or TERM and INT would wait for the next EINTR forever.
        run_signal_handlers(py)?;
        if !state.is_alive() {
            break;
        }
        state.heartbeat.notify();
        if state.parent_changed() {
            crate::info!("Parent changed, shutting down: {}", state.pid);
            return Ok(());
        }
        let mut accepted = false;
        for listener in listeners {
            match listener.socket.accept() {
                Ok((sock, addr)) => {
                    accepted = true;
                    state.heartbeat.notify();
                    let peer = addr.as_socket().map(Peer::Inet).unwrap_or(Peer::Unix);
                    let served = handle_connection(py, &state.conn, sock, peer)?;
                    state.count_requests(served);
                    if !state.is_alive() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => run_signal_handlers(py)?,
                Err(e) if crate::sock::is_transient_accept_error(&e) => crate::debug!("accept() failed: {e}"),
                Err(e) => {
                    crate::error!("accept() failed on {}: {e}", listener.local);
                }
            }
        }
        if accepted {
            continue;
        }
        let fds: Vec<_> = listeners.iter().map(|l| l.socket.as_fd()).collect();
        let waited = py.detach(|| {
            let mut pollfds: Vec<PollFd<'_>> = fds.iter().map(|fd| PollFd::new(*fd, PollFlags::POLLIN)).collect();
            poll(&mut pollfds, PollTimeout::from(wait_ms))
        });
        match waited {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => run_signal_handlers(py)?,
            Err(e) => crate::error!("poll() failed: {e}"),
        }
    }
    if state.flags.graceful.load(std::sync::atomic::Ordering::Relaxed) && !state.parent_changed() {
        drain_queue(py, state, listeners)?;
    }
    Ok(())
}

/// After TERM: serve the connections that were already waiting in the listen queue (clients that
/// connected before the stop and would otherwise be reset), and only those: under steady load the
/// queue never empties, and a worker retired by HUP must not keep serving old code. The count
/// comes from the kernel (TCP); for unix sockets the drain stops at an empty queue or after
/// [`UNIX_DRAIN`]. Other workers take their share, so a worker stops early at an empty queue.
fn drain_queue(py: Python<'_>, state: &WorkerState, listeners: &[Listener]) -> PyResult<()> {
    let now = Instant::now();
    let deadline = now + state.graceful_timeout.saturating_sub(Duration::from_secs(1));
    for listener in listeners {
        let (mut budget, until) = match listener.queued() {
            Some(n) => (n, deadline),
            None => (usize::MAX, deadline.min(now + UNIX_DRAIN)),
        };
        while budget > 0 && Instant::now() < until {
            let Ok((sock, addr)) = listener.socket.accept() else { break };
            budget -= 1;
            state.heartbeat.notify();
            let peer = addr.as_socket().map(Peer::Inet).unwrap_or(Peer::Unix);
            let served = handle_connection(py, &state.conn, sock, peer)?;
            state.flags.requests.fetch_add(served, std::sync::atomic::Ordering::Relaxed);
        }
    }
    Ok(())
}

/// How long a stopping worker keeps draining a unix listener, whose queue length is unknown.
const UNIX_DRAIN: Duration = Duration::from_secs(1);

/// Run Python's pending signal handlers; only `SystemExit` and `KeyboardInterrupt` stop the loop.
fn run_signal_handlers(py: Python<'_>) -> PyResult<()> {
    match py.check_signals() {
        Err(err) if is_fatal(py, &err) => Err(err),
        Err(err) => {
            crate::error!("Signal handler failed: {err}");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}
