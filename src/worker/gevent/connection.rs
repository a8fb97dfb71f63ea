//! One client connection in its own greenlet: the TLS handshake if the port speaks TLS, then
//! read request heads, answer malformed ones, hand good ones to the WSGI layer, and loop while
//! keep-alive allows (pipelined requests included).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

use super::deadline;
use super::transport::{GeventTransport, Handshake};
use super::Settings;
use crate::http::response::error_response;
use crate::http::{parse_request_head, HttpError, RequestHead};
use crate::io::transport::Transport;
use crate::worker::conn::{is_fatal, recv_more, READ_SIZE};
use crate::worker::WorkerState;
use crate::wsgi::environ::Peer;
use crate::wsgi::serve;

/// How long a closing connection keeps reading unread client bytes (see [`linger_close`]).
const LINGER: Duration = Duration::from_millis(500);

/// Why reading a head stopped without a request.
enum HeadResult {
    Request(Box<RequestHead>),
    /// The client closed, went idle between requests, or the worker is stopping: close quietly.
    Closed,
    /// Malformed or too slow: answered (if possible) and must close.
    Rejected,
}

/// Connections waiting for their next keep-alive request. When the worker stops they are closed
/// at once (their greenlets are woken), instead of holding the stop for `--keep-alive` seconds.
#[derive(Default)]
pub struct IdleConnections {
    waiting: Mutex<HashMap<usize, Arc<GeventTransport>>>,
}

impl IdleConnections {
    fn key(transport: &Arc<GeventTransport>) -> usize {
        Arc::as_ptr(transport) as usize
    }

    fn enter(&self, transport: &Arc<GeventTransport>) {
        self.lock().insert(Self::key(transport), transport.clone());
    }

    fn leave(&self, transport: &Arc<GeventTransport>) {
        self.lock().remove(&Self::key(transport));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Arc<GeventTransport>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wake every idle connection's greenlet so that it closes its connection.
    pub fn close_all(&self, py: Python<'_>) {
        let idle: Vec<_> = self.lock().drain().map(|(_, t)| t).collect();
        for transport in idle {
            if let Err(err) = transport.cancel_read(py) {
                crate::debug!("Cannot wake an idle connection: {err}");
            }
        }
    }
}

/// Serve `transport` until the connection closes. `Err` only for what must end the worker
/// (`SystemExit`, `KeyboardInterrupt`).
pub fn serve_connection(
    py: Python<'_>,
    state: &WorkerState,
    settings: &Settings,
    idle_set: &IdleConnections,
    transport: &Arc<GeventTransport>,
    peer: &Peer,
) -> PyResult<()> {
    let conn = &state.conn;
    // The handshake and the first request head share the head deadline, from the accept.
    let first_head_by = Instant::now() + settings.head_timeout;
    match transport.handshake(py, first_head_by) {
        Ok(Handshake::Done) => {}
        Ok(Handshake::Closed | Handshake::PlainHttp) => return Ok(()),
        Err(err) if is_fatal(py, &err) => return Err(err),
        Err(err) => {
            crate::debug!("TLS handshake failed with {}: {err}", peer_text(peer));
            return Ok(());
        }
    }
    let mut buf: Vec<u8> = Vec::with_capacity(READ_SIZE);
    let mut served = 0u64;
    loop {
        let between_requests = served > 0 && buf.is_empty();
        if between_requests && !state.is_alive() {
            // Stopping: finish what was asked, take no new request on an idle connection.
            break;
        }
        let deadlines = HeadDeadlines {
            idle: between_requests.then_some(conn.keepalive_timeout),
            head: settings.head_timeout,
            first_by: (served == 0).then_some(first_head_by),
        };
        if between_requests {
            // No switch since the check above: the stop either came before it or will find us here.
            idle_set.enter(transport);
        }
        let head = read_head(py, state, transport, &mut buf, deadlines);
        if between_requests {
            idle_set.leave(transport);
        }
        let head = match head? {
            HeadResult::Request(head) => head,
            HeadResult::Closed => break,
            HeadResult::Rejected => {
                linger_close(py, transport)?;
                break;
            }
        };
        let already = buf.split_off(head.head_len);
        buf.clear();
        transport.set_read_timeout(settings.body_timeout);
        transport.begin_request();
        let deadline = match settings.request_timeout {
            Some(timeout) => Some(deadline::arm(py, transport.hub(), timeout, transport, &head)?),
            None => None,
        };
        let outcome = serve(
            py,
            conn.app.bind(py),
            &conn.info,
            &conn.opts,
            &head,
            already,
            transport.clone() as Arc<dyn Transport>,
            peer,
        );
        if let Some(deadline) = deadline {
            deadline.disarm(py);
        }
        let outcome = outcome?;
        served += 1;
        state.count_requests(1);
        if transport.timed_out() {
            break;
        }
        if !outcome.keep_alive {
            if !outcome.body_complete {
                linger_close(py, transport)?;
            }
            break;
        }
        buf = outcome.leftover;
    }
    Ok(())
}

/// How long a request head may take.
struct HeadDeadlines {
    /// Between keep-alive requests: how long the connection may stay silent.
    idle: Option<Duration>,
    /// From the accept, or from the first byte after an idle wait, to the end of the head.
    head: Duration,
    /// The first request's head is due by then (the TLS handshake took part of the time).
    first_by: Option<Instant>,
}

/// Read until `buf` holds a complete head. Errors are answered and close.
fn read_head(
    py: Python<'_>,
    state: &WorkerState,
    transport: &GeventTransport,
    buf: &mut Vec<u8>,
    deadlines: HeadDeadlines,
) -> PyResult<HeadResult> {
    let mut deadline = deadlines.first_by.unwrap_or_else(|| Instant::now() + deadlines.idle.unwrap_or(deadlines.head));
    let mut idle = deadlines.idle.is_some();
    loop {
        if !buf.is_empty() {
            if idle {
                // The next request has begun: from here on it gets the head deadline.
                idle = false;
                deadline = Instant::now() + deadlines.head;
            }
            match parse_request_head(buf, &state.conn.limits) {
                Ok(Some(head)) => return Ok(HeadResult::Request(Box::new(head))),
                Ok(None) => {}
                Err(err) => return reject(py, transport, &err),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            if !buf.is_empty() {
                crate::debug!("Closing a connection whose request head did not arrive within {:?}", deadlines.head);
            }
            return Ok(HeadResult::Closed);
        }
        transport.set_read_timeout(Some(left));
        match recv_more(py, transport, buf) {
            Ok(0) => return Ok(HeadResult::Closed),
            Ok(_) => {}
            Err(err) => {
                if is_fatal(py, &err) {
                    return Err(err);
                }
                if !err.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py) {
                    crate::debug!("Closing connection while reading a request head: {err}");
                }
                return Ok(HeadResult::Closed);
            }
        }
    }
}

/// Answer a malformed request with its status; the app never sees it.
fn reject(py: Python<'_>, transport: &GeventTransport, err: &HttpError) -> PyResult<HeadResult> {
    crate::debug!("Invalid request: {} {}", err.status(), err.detail());
    match transport.send_all(py, &[&error_response(err)]) {
        Err(e) if is_fatal(py, &e) => Err(e),
        _ => Ok(HeadResult::Rejected),
    }
}

/// Close after the client may have sent bytes we did not read: closing a socket with unread data
/// makes the kernel send RST, which can destroy the response before the client reads it. So stop
/// writing (after `close_notify`, under TLS), read and drop what arrives for a short while
/// (cooperatively, undecrypted), then close.
fn linger_close(py: Python<'_>, transport: &GeventTransport) -> PyResult<()> {
    if transport.shutdown_write(py).is_err() {
        return Ok(());
    }
    let deadline = Instant::now() + LINGER;
    let mut scratch = [0u8; 4096];
    let mut budget = 64 * 1024usize;
    while budget > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        transport.set_read_timeout(Some(left));
        match transport.discard(py, &mut scratch) {
            Ok(0) => break,
            Ok(n) => budget = budget.saturating_sub(n),
            Err(e) if is_fatal(py, &e) => return Err(e),
            Err(_) => break,
        }
    }
    Ok(())
}

/// The client's address for a log line.
fn peer_text(peer: &Peer) -> String {
    match peer {
        Peer::Inet(addr) => addr.to_string(),
        Peer::Unix => "a unix socket client".to_string(),
    }
}
