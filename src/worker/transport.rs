//! The sync worker's byte stream under one connection, with the GIL released around every
//! blocking call, and the sendfile loop the gthread and gevent transports share. The trait the
//! WSGI layer writes through is [`crate::io::transport::Transport`].

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use socket2::Socket;

use crate::io::transport::Transport;
use crate::tls::conn::TlsConn;
use crate::tls::facts::TlsFacts;

/// A kernel socket used in blocking mode with timeouts, maybe speaking TLS.
pub struct SocketTransport {
    sock: Socket,
    /// The TLS session. Only one thread uses a sync connection, so the lock is never contended;
    /// it is there because the WSGI layer shares transports between threads in general.
    tls: Option<Mutex<TlsConn>>,
    /// The receive timeout last set: a TLS read may take several receives and must not take
    /// longer than one would.
    read_timeout: Mutex<Option<Duration>>,
}

impl SocketTransport {
    /// Wrap an accepted socket (which must be in blocking mode), with its TLS session if any.
    pub fn new(sock: Socket, tls: Option<TlsConn>) -> SocketTransport {
        SocketTransport { sock, tls: tls.map(Mutex::new), read_timeout: Mutex::new(None) }
    }

    /// The socket, for options and shutdown.
    pub fn socket(&self) -> &Socket {
        &self.sock
    }

    /// How long a receive may wait (`None`: forever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        *lock(&self.read_timeout) = timeout;
        self.sock.set_read_timeout(timeout)
    }

    /// Before closing: a TLS connection says `close_notify`, so the client can tell a complete
    /// close-delimited response from a truncated one. Never waits.
    pub fn close_notify(&self) {
        if let Some(tls) = &self.tls {
            lock(tls).close_notify(&self.sock);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// sendfile(2) `count` bytes of `file` from `offset` to `sock`, as the kernel takes them. On a
/// blocking socket (`blocking`) each call runs with the GIL released; on a non-blocking one,
/// `EAGAIN` calls `on_full`, which waits for room or fails. Returns the bytes sent, fewer than
/// `count` only if the file was shorter; `None` if the kernel cannot sendfile between these
/// descriptors (nothing was sent then).
pub fn send_file(
    py: Python<'_>,
    sock: &Socket,
    file: RawFd,
    offset: u64,
    count: u64,
    blocking: bool,
    mut on_full: impl FnMut(Python<'_>) -> PyResult<()>,
) -> PyResult<Option<u64>> {
    let mut off = libc::off_t::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut sent = 0u64;
    while sent < count {
        let chunk = usize::try_from(count - sent).unwrap_or(usize::MAX).min(1 << 30);
        let sock_fd = sock.as_fd();
        // SAFETY: `file` is a descriptor the caller keeps open for the duration of this call.
        let file_fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(file) };
        let result = if blocking {
            py.detach(|| nix::sys::sendfile::sendfile(sock_fd, file_fd, Some(&mut off), chunk))
        } else {
            nix::sys::sendfile::sendfile(sock_fd, file_fd, Some(&mut off), chunk)
        };
        match result {
            Ok(0) => break,
            Ok(n) => sent += n as u64,
            Err(nix::errno::Errno::EAGAIN) => on_full(py)?,
            Err(nix::errno::Errno::EINTR) => py.check_signals()?,
            Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS) if sent == 0 => return Ok(None),
            Err(e) => return Err(io::Error::from(e).into()),
        }
    }
    Ok(Some(sent))
}

/// Map an I/O error to Python, retrying EINTR after running Python's signal handlers
/// (which may raise `SystemExit` for a quick shutdown).
fn retry_or_raise(py: Python<'_>, err: io::Error) -> PyResult<()> {
    match err.kind() {
        io::ErrorKind::Interrupted => py.check_signals(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Err(PyTimeoutError::new_err("socket timed out")),
        io::ErrorKind::InvalidData => Err(pyo3::exceptions::PyConnectionError::new_err(err.to_string())),
        _ => Err(err.into()),
    }
}

impl Transport for SocketTransport {
    fn recv(&self, py: Python<'_>, buf: &mut [u8]) -> PyResult<usize> {
        let deadline = self.tls.as_ref().and_then(|_| lock(&self.read_timeout).map(|t| Instant::now() + t));
        loop {
            let result = py.detach(|| match &self.tls {
                Some(tls) => lock(tls).read(&self.sock, buf, deadline),
                None => (&self.sock).read(buf),
            });
            match result {
                Ok(n) => return Ok(n),
                Err(e) => retry_or_raise(py, e)?,
            }
        }
    }

    fn send_all(&self, py: Python<'_>, bufs: &[&[u8]]) -> PyResult<()> {
        let mut slices: Vec<IoSlice<'_>> = bufs.iter().filter(|b| !b.is_empty()).map(|b| IoSlice::new(b)).collect();
        let mut rest: &mut [IoSlice<'_>] = &mut slices;
        while !rest.is_empty() {
            let result = py.detach(|| match &self.tls {
                Some(tls) => lock(tls).write(&self.sock, rest),
                None => (&self.sock).write_vectored(rest),
            });
            match result {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) => retry_or_raise(py, e)?,
            }
        }
        if let Some(tls) = &self.tls {
            // What the session still holds must reach the client before the call returns.
            while let Err(e) = py.detach(|| lock(tls).flush(&self.sock)) {
                retry_or_raise(py, e)?;
            }
        }
        Ok(())
    }

    fn sendfile(&self, py: Python<'_>, file: RawFd, offset: u64, count: u64) -> PyResult<Option<u64>> {
        if self.tls.is_some() {
            return Ok(None); // the file must be encrypted: read and send it
        }
        // A blocking socket: EAGAIN means its send timeout passed.
        send_file(py, &self.sock, file, offset, count, true, |_| Err(PyTimeoutError::new_err("socket timed out")))
    }

    fn tls_facts(&self) -> Option<std::sync::Arc<TlsFacts>> {
        self.tls.as_ref().and_then(|tls| lock(tls).facts())
    }

    fn can_sendfile(&self) -> bool {
        self.tls.is_none()
    }
}

impl AsRawFd for SocketTransport {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
