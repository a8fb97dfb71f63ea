//! The byte stream under one connection, with the GIL released around every blocking call.
//!
//! The WSGI layer reads and writes through [`Transport`] so that the sync and gthread workers
//! (plain sockets) and the gevent worker (cooperative sockets) share it.

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};

use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use socket2::Socket;

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

/// A kernel socket used in blocking mode with timeouts.
pub struct SocketTransport {
    sock: Socket,
}

impl SocketTransport {
    /// Wrap an accepted socket (which must be in blocking mode).
    pub fn new(sock: Socket) -> SocketTransport {
        SocketTransport { sock }
    }

    /// The socket, for options and shutdown.
    pub fn socket(&self) -> &Socket {
        &self.sock
    }
}

/// Map an I/O error to Python, retrying EINTR after running Python's signal handlers
/// (which may raise `SystemExit` for a quick shutdown).
fn retry_or_raise(py: Python<'_>, err: io::Error) -> PyResult<()> {
    match err.kind() {
        io::ErrorKind::Interrupted => py.check_signals(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Err(PyTimeoutError::new_err("socket timed out")),
        _ => Err(err.into()),
    }
}

impl Transport for SocketTransport {
    fn recv(&self, py: Python<'_>, buf: &mut [u8]) -> PyResult<usize> {
        loop {
            match py.detach(|| (&self.sock).read(buf)) {
                Ok(n) => return Ok(n),
                Err(e) => retry_or_raise(py, e)?,
            }
        }
    }

    fn send_all(&self, py: Python<'_>, bufs: &[&[u8]]) -> PyResult<()> {
        let mut slices: Vec<IoSlice<'_>> = bufs.iter().filter(|b| !b.is_empty()).map(|b| IoSlice::new(b)).collect();
        let mut rest: &mut [IoSlice<'_>] = &mut slices;
        while !rest.is_empty() {
            let result = py.detach(|| (&self.sock).write_vectored(rest));
            match result {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) => retry_or_raise(py, e)?,
            }
        }
        Ok(())
    }

    fn sendfile(&self, py: Python<'_>, file: RawFd, offset: u64, count: u64) -> PyResult<Option<u64>> {
        let mut off = libc::off_t::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut sent = 0u64;
        while sent < count {
            let chunk = usize::try_from(count - sent).unwrap_or(usize::MAX).min(1 << 30);
            let sock_fd = self.sock.as_fd();
            // SAFETY: `file` is a descriptor the caller keeps open for the duration of this call.
            let file_fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(file) };
            let result = py.detach(|| nix::sys::sendfile::sendfile(sock_fd, file_fd, Some(&mut off), chunk));
            match result {
                Ok(0) => break,
                Ok(n) => sent += n as u64,
                Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS) if sent == 0 => return Ok(None),
                Err(e) => retry_or_raise(py, io::Error::from(e))?,
            }
        }
        Ok(Some(sent))
    }
}

impl AsRawFd for SocketTransport {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
