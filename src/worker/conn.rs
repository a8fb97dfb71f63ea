//! One client connection: read request heads, answer malformed ones, hand good ones to the WSGI
//! layer, and loop while keep-alive allows. Shared by the sync and gthread workers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use socket2::Socket;

use crate::http::response::error_response;
use crate::http::{parse_request_head, HttpError, Limits, RequestHead};
use crate::io::transport::Transport;
use crate::tls::conn::TlsConn;
use crate::worker::transport::SocketTransport;
use crate::wsgi::environ::{Peer, ServerInfo};
use crate::wsgi::{serve, ServeOptions};

/// How much one receive of a request head may take.
pub const READ_SIZE: usize = 8192;
/// How long a closing connection keeps reading unread client bytes (see [`linger_close`]).
const LINGER: Duration = Duration::from_millis(500);

/// What a worker needs to serve connections.
pub struct ConnContext {
    /// The WSGI callable.
    pub app: Py<PyAny>,
    /// Constant environ keys and listener facts.
    pub info: ServerInfo,
    /// Keep-alive and sendfile switches.
    pub opts: ServeOptions,
    /// Parser limits.
    pub limits: Limits,
    /// A request head must arrive within this long (slow clients are cut off).
    pub head_timeout: Duration,
    /// A send that makes no progress for this long fails (None = wait forever).
    pub send_timeout: Option<Duration>,
    /// Idle time allowed between keep-alive requests.
    pub keepalive_timeout: Duration,
    /// Connections speak TLS with this configuration (sync and gthread workers).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `--suppress-ragged-eofs`.
    pub suppress_ragged_eofs: bool,
}

/// Why reading a head stopped without a request.
enum HeadResult {
    Request(Box<RequestHead>),
    /// The client closed or went idle between requests: close quietly.
    Closed,
    /// Malformed or too slow: answered (if possible) and must close.
    Rejected,
}

/// Serve one accepted connection until it closes. `Err` only for `SystemExit` and friends.
/// Returns the number of requests served.
pub fn handle_connection(py: Python<'_>, ctx: &ConnContext, sock: Socket, peer: Peer) -> PyResult<u64> {
    if sock.set_nonblocking(false).is_err() {
        return Ok(0);
    }
    if matches!(peer, Peer::Inet(_)) {
        let _ = sock.set_tcp_nodelay(true);
    }
    let _ = sock.set_write_timeout(ctx.send_timeout);
    let tls = match &ctx.tls {
        Some(config) => match TlsConn::new(config, ctx.suppress_ragged_eofs) {
            Ok(tls) => Some(tls),
            Err(e) => {
                crate::error!("Cannot start a TLS session: {e}");
                return Ok(0);
            }
        },
        None => None,
    };
    let transport = Arc::new(SocketTransport::new(sock, tls));
    let served = serve_requests(py, ctx, &transport, &peer);
    transport.close_notify();
    served
}

fn serve_requests(py: Python<'_>, ctx: &ConnContext, transport: &Arc<SocketTransport>, peer: &Peer) -> PyResult<u64> {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_SIZE);
    let mut served = 0u64;
    loop {
        let idle = if served == 0 { ctx.head_timeout } else { ctx.keepalive_timeout };
        let head = match read_head(py, ctx, transport, &mut buf, idle)? {
            HeadResult::Request(head) => head,
            HeadResult::Closed => break,
            HeadResult::Rejected => {
                linger_close(py, transport);
                break;
            }
        };
        let already = buf.split_off(head.head_len);
        buf.clear();
        let _ = transport.set_read_timeout(ctx.send_timeout.or(Some(ctx.head_timeout)));
        let outcome = serve(py, ctx.app.bind(py), &ctx.info, &ctx.opts, &head, already, transport.clone(), peer)?;
        served += 1;
        if !outcome.keep_alive {
            if !outcome.body_complete {
                linger_close(py, transport);
            }
            break;
        }
        buf = outcome.leftover;
    }
    Ok(served)
}

/// Read until `buf` holds a complete head. Errors are answered with their status and close.
fn read_head(
    py: Python<'_>,
    ctx: &ConnContext,
    transport: &Arc<SocketTransport>,
    buf: &mut Vec<u8>,
    idle: Duration,
) -> PyResult<HeadResult> {
    let deadline = Instant::now() + idle;
    loop {
        if !buf.is_empty() {
            match parse_request_head(buf, &ctx.limits) {
                Ok(Some(head)) => return Ok(HeadResult::Request(Box::new(head))),
                Ok(None) => {}
                Err(err) => return Ok(reject(py, transport.as_ref(), &err)),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(HeadResult::Closed);
        }
        let _ = transport.set_read_timeout(Some(left));
        match recv_more(py, transport.as_ref(), buf) {
            Ok(0) => return Ok(HeadResult::Closed),
            Ok(_) => {}
            Err(err) => {
                if is_fatal(py, &err) {
                    return Err(err);
                }
                crate::debug!("Closing connection while reading a request head: {err}");
                return Ok(HeadResult::Closed);
            }
        }
    }
}

/// Append what one receive brings to `buf` (`Ok(0)`: the peer closed).
pub fn recv_more(py: Python<'_>, transport: &dyn Transport, buf: &mut Vec<u8>) -> PyResult<usize> {
    let start = buf.len();
    buf.resize(start + READ_SIZE, 0);
    let got = transport.recv(py, &mut buf[start..]);
    buf.truncate(start + *got.as_ref().unwrap_or(&0));
    got
}

/// Answer a malformed request with its status and close; the app never sees it.
fn reject(py: Python<'_>, transport: &dyn Transport, err: &HttpError) -> HeadResult {
    crate::debug!("Invalid request: {} {}", err.status(), err.detail());
    let _ = transport.send_all(py, &[&error_response(err)]);
    HeadResult::Rejected
}

/// Close after the client may have sent bytes we did not read: closing a socket with unread data
/// makes the kernel send RST, which can destroy the response before the client reads it. So stop
/// writing, read and drop what arrives for a short while, then close.
pub fn linger_close(py: Python<'_>, transport: &SocketTransport) {
    transport.close_notify();
    let sock = transport.socket();
    if sock.shutdown(std::net::Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + LINGER;
    let mut scratch = [0u8; 4096];
    let mut budget = 64 * 1024usize;
    while budget > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || sock.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match py.detach(|| std::io::Read::read(&mut &*sock, &mut scratch)) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget = budget.saturating_sub(n),
        }
    }
}

/// Errors that must stop the worker rather than just this connection.
pub fn is_fatal(py: Python<'_>, err: &PyErr) -> bool {
    err.is_instance_of::<pyo3::exceptions::PySystemExit>(py)
        || err.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py)
}
