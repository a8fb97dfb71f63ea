//! The byte stream under one connection, as the WSGI layer sees it.
//!
//! The WSGI layer reads and writes through [`Transport`] so that the sync and gthread workers
//! (plain sockets) and the gevent worker (cooperative sockets) share it; the concrete transports
//! live with their workers in `worker/`.

use std::os::fd::RawFd;

use pyo3::prelude::*;

/// A connection's byte stream. Errors surface as Python exceptions (`OSError` subclasses) because
/// they reach the app through `wsgi.input` and `write()`.
pub trait Transport: Send + Sync {
    /// Read some bytes; `Ok(0)` means the peer closed.
    fn recv(&self, py: Python<'_>, buf: &mut [u8]) -> PyResult<usize>;
    /// Write every byte of every buffer, in order.
    fn send_all(&self, py: Python<'_>, bufs: &[&[u8]]) -> PyResult<()>;
    /// Send `count` bytes of `file` from `offset` with sendfile(2). `Ok(None)` when the transport
    /// cannot (the caller then falls back to reads and writes); otherwise the bytes sent, which are
    /// fewer than `count` only if the file was shorter.
    fn sendfile(&self, py: Python<'_>, file: RawFd, offset: u64, count: u64) -> PyResult<Option<u64>>;
    /// Whether [`Transport::sendfile`] can work at all (not on TLS, whose bytes must be
    /// encrypted): asked before anything of a file response is sent, so that the fallback to
    /// reads and writes is chosen while it still can be.
    fn can_sendfile(&self) -> bool {
        true
    }
    /// The worker began a graceful stop: a response whose head is not sent yet must announce
    /// `Connection: close`, since the connection will not carry another request.
    fn closing(&self) -> bool {
        false
    }
    /// The TLS facts of the connection (`None` for plain TCP and unix sockets).
    fn tls_facts(&self) -> Option<std::sync::Arc<crate::tls::facts::TlsFacts>> {
        None
    }
}
