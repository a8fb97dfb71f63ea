//! The byte stream of one gevent connection: non-blocking system calls made from Rust, and a
//! cooperative wait on a gevent io watcher whenever the kernel says "would block".
//!
//! The socket stays non-blocking for its whole life. Every read, write and sendfile is tried
//! first with the GIL held: a non-blocking call cannot block, and releasing the GIL would buy
//! nothing in a process where one thread runs every greenlet. Only on EAGAIN does the greenlet
//! call `gevent.socket.wait(watcher, timeout)`, which switches to the hub; the hub runs other
//! greenlets until the socket is ready (or raises `socket.timeout` into this one).
//!
//! A switch happens in the middle of Rust frames: greenlet saves and restores the C stack, Rust
//! frames included. That is sound as long as nothing shared between greenlets is locked across
//! the wait: the only locks held here belong to this connection's request (its body reader and
//! response writer).
//!
//! With TLS (tls.rs), reads and writes go through the connection's `SSLObject`, and the socket
//! carries ciphertext; the waits are the same. The handshake runs first ([`GeventTransport::
//! handshake`]), under the head deadline.

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyConnectionAbortedError, PyTimeoutError};
use pyo3::prelude::*;
use socket2::Socket;

use super::hub::{Hub, EV_READ, EV_WRITE};
use super::tls::{Step, TlsSession, WRITE_CHUNK};
use crate::http::response::simple_response;
use crate::io::transport::Transport;
use crate::tls::facts::TlsFacts;
use crate::tls::plain_http;
use crate::worker::transport::send_file;
use crate::worker::WorkerFlags;

/// Ciphertext read from the socket per receive (a TLS record is at most 16 KiB plus overhead).
const TLS_READ_SIZE: usize = 32 * 1024;

/// "No timeout" in the atomic timeout cells.
const NO_TIMEOUT: u64 = u64::MAX;

const RUNNING: u8 = 0;
const COMMITTED: u8 = 1;
const TIMED_OUT: u8 = 2;

/// Who owns the current response: nobody yet (`RUNNING`), the app once it sends a byte
/// (`COMMITTED`), or the `--request-timeout` deadline (`TIMED_OUT`), which answers 504 only if
/// it won. Both claims are compare-and-swap from `RUNNING`, so exactly one side writes.
#[derive(Default)]
struct ResponseClaim(AtomicU8);

impl ResponseClaim {
    /// A new request on the connection: nobody owns its response.
    fn reset(&self) {
        self.0.store(RUNNING, Ordering::Release);
    }

    /// The app wants to send: true if the response is (now) the app's.
    fn claim_for_app(&self) -> bool {
        matches!(
            self.0.compare_exchange(RUNNING, COMMITTED, Ordering::AcqRel, Ordering::Acquire),
            Ok(_) | Err(COMMITTED)
        )
    }

    /// The deadline fired: true if the app had sent nothing (the deadline may answer). Either
    /// way the request is timed out from now on.
    fn claim_for_deadline(&self) -> bool {
        let won = self.0.compare_exchange(RUNNING, TIMED_OUT, Ordering::AcqRel, Ordering::Acquire).is_ok();
        self.0.store(TIMED_OUT, Ordering::Release);
        won
    }

    fn timed_out(&self) -> bool {
        self.0.load(Ordering::Acquire) == TIMED_OUT
    }
}

/// A non-blocking connection socket whose waits go through the gevent hub.
pub struct GeventTransport {
    sock: Socket,
    hub: Arc<Hub>,
    claim: ResponseClaim,
    /// The worker's flags: once it stops, responses announce `Connection: close`.
    flags: Arc<WorkerFlags>,
    read_watcher: Py<PyAny>,
    /// Made on the first write that would block: most responses fit in the socket buffer.
    write_watcher: Mutex<Option<Py<PyAny>>>,
    /// TLS only: a reader that must push ciphertext (a handshake flight, an alert) waits on a
    /// watcher of its own, since gevent lets one greenlet at a time wait on a watcher and a
    /// writer in another greenlet may be waiting on `write_watcher`.
    read_side_write_watcher: Mutex<Option<Py<PyAny>>>,
    read_timeout_ms: AtomicU64,
    write_timeout_ms: u64,
    tls: Option<TlsSession>,
}

/// How a TLS handshake ended, short of an error.
#[derive(Debug, PartialEq, Eq)]
pub enum Handshake {
    /// Established: serve requests.
    Done,
    /// The client closed before sending anything.
    Closed,
    /// The client spoke plain HTTP and got a plain-text 400; close.
    PlainHttp,
}

/// Which of the transport's write watchers a write wait uses (see `read_side_write_watcher`).
#[derive(Clone, Copy)]
enum Side {
    Read,
    Write,
}

fn to_ms(timeout: Option<Duration>) -> u64 {
    timeout.map_or(NO_TIMEOUT, |t| u64::try_from(t.as_millis()).unwrap_or(NO_TIMEOUT - 1))
}

fn from_ms(ms: u64) -> Option<Duration> {
    (ms != NO_TIMEOUT).then(|| Duration::from_millis(ms))
}

impl GeventTransport {
    /// Wrap an accepted socket (made non-blocking here), with its TLS session if the port speaks
    /// TLS. A write that makes no progress for `write_timeout` fails with `TimeoutError`; reads
    /// use [`Self::set_read_timeout`].
    pub fn new(
        py: Python<'_>,
        sock: Socket,
        hub: Arc<Hub>,
        flags: Arc<WorkerFlags>,
        write_timeout: Option<Duration>,
        tls: Option<TlsSession>,
    ) -> PyResult<GeventTransport> {
        sock.set_nonblocking(true)?;
        let read_watcher = hub.watcher(py, sock.as_raw_fd(), EV_READ)?;
        Ok(GeventTransport {
            sock,
            hub,
            claim: ResponseClaim::default(),
            flags,
            read_watcher,
            write_watcher: Mutex::new(None),
            read_side_write_watcher: Mutex::new(None),
            read_timeout_ms: AtomicU64::new(NO_TIMEOUT),
            write_timeout_ms: to_ms(write_timeout),
            tls,
        })
    }

    /// How long a read may wait for the client before failing with `TimeoutError`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) {
        self.read_timeout_ms.store(to_ms(timeout), Ordering::Relaxed);
    }

    /// The hub this connection waits on.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The socket, for shutdown.
    pub fn socket(&self) -> &Socket {
        &self.sock
    }

    /// Wake a greenlet waiting to read with `OSError(EBADF)` (it then closes the connection).
    pub fn cancel_read(&self, py: Python<'_>) -> PyResult<()> {
        self.hub.cancel_wait(py, &self.read_watcher)
    }

    /// A new request begins on the connection: its response belongs to nobody yet.
    pub fn begin_request(&self) {
        self.claim.reset();
    }

    /// The request's deadline gave up on it: the connection must not carry another one.
    pub fn timed_out(&self) -> bool {
        self.claim.timed_out()
    }

    /// The request ran past `--request-timeout` (called from the hub, so it must not wait).
    /// Answers 504 if the app has not started its response, then shuts the socket down either
    /// way, which fails the app's pending and later reads and writes. Returns whether the 504
    /// went out.
    pub fn time_out(&self, py: Python<'_>) -> bool {
        let mut answered = false;
        if self.claim.claim_for_deadline() {
            let response = simple_response(504, "Gateway Timeout", "Gateway Timeout\nThe request took too long.\n");
            // Nothing of this response was sent, so the send buffer has room: a non-blocking
            // send either takes it all or the client is gone.
            answered = match &self.tls {
                Some(tls) => {
                    tls.encrypt(py, response.len(), |dst| dst.copy_from_slice(&response)).is_ok()
                        && matches!(tls.send_pending(&self.sock), Ok(Ok(true)))
                }
                None => {
                    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
                    self.sock.send_with_flags(&response, flags).is_ok_and(|n| n == response.len())
                }
            };
        }
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
        answered
    }

    /// The app is about to send response bytes: claim the response, unless the deadline
    /// already answered it.
    fn begin_send(&self) -> PyResult<()> {
        if self.claim.claim_for_app() {
            Ok(())
        } else {
            Err(PyConnectionAbortedError::new_err("the request timed out; the server answered it"))
        }
    }

    /// Release the watchers' loop resources now rather than at garbage collection.
    pub fn close_watchers(&self, py: Python<'_>) {
        let _ = self.read_watcher.bind(py).call_method0("close");
        for slot in [&self.write_watcher, &self.read_side_write_watcher] {
            let write = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(w) = write {
                let _ = w.bind(py).call_method0("close");
            }
        }
    }

    fn wait_readable(&self, py: Python<'_>) -> PyResult<()> {
        self.hub.wait(py, &self.read_watcher, from_ms(self.read_timeout_ms.load(Ordering::Relaxed)))
    }

    /// Wait for the client's next bytes, at most until `deadline` (then `TimeoutError`).
    fn wait_readable_until(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<()> {
        self.hub.wait(py, &self.read_watcher, remaining(deadline)?)
    }

    fn wait_writable(&self, py: Python<'_>) -> PyResult<()> {
        self.wait_writable_on(py, Side::Write, None)
    }

    /// Wait until the socket takes more, at most the write timeout (and not past `deadline`).
    fn wait_writable_on(&self, py: Python<'_>, side: Side, deadline: Option<Instant>) -> PyResult<()> {
        let slot = match side {
            Side::Write => &self.write_watcher,
            Side::Read => &self.read_side_write_watcher,
        };
        let watcher = {
            let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            match slot.as_ref() {
                Some(w) => w.clone_ref(py),
                None => {
                    let w = self.hub.watcher(py, self.sock.as_raw_fd(), EV_WRITE)?;
                    *slot = Some(w.clone_ref(py));
                    w
                }
            }
        };
        let timeout = match (from_ms(self.write_timeout_ms), remaining(deadline)?) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // The lock is released before the wait: another greenlet may write in the meantime.
        self.hub.wait(py, &watcher, timeout)
    }

    /// One non-blocking receive straight from the socket (ciphertext, under TLS), waiting for
    /// readability until `deadline`.
    fn raw_recv(&self, py: Python<'_>, buf: &mut [u8], deadline: Option<Instant>) -> PyResult<usize> {
        loop {
            match (&self.sock).read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_readable_until(py, deadline)?,
                Err(e) => check_interrupted(py, e)?,
            }
        }
    }

    /// Read and drop what the client still sends, without decrypting it: for a connection that
    /// is closing (see `linger_close` in connection.rs). Uses the read timeout.
    pub fn discard(&self, py: Python<'_>, scratch: &mut [u8]) -> PyResult<usize> {
        let deadline = from_ms(self.read_timeout_ms.load(Ordering::Relaxed)).map(|t| Instant::now() + t);
        self.raw_recv(py, scratch, deadline)
    }

    /// Stop writing: `close_notify` first under TLS (without waiting), then shut the socket's
    /// write side, so the client sees the end of the response.
    pub fn shutdown_write(&self, py: Python<'_>) -> io::Result<()> {
        self.close_notify(py);
        self.sock.shutdown(std::net::Shutdown::Write)
    }

    /// Under TLS, say goodbye properly (`close_notify`), so the client can tell a complete
    /// response from a truncated one; without waiting, as the connection is closing anyway.
    /// Not after a `--request-timeout` shut the socket down.
    pub fn close_notify(&self, py: Python<'_>) {
        let Some(tls) = &self.tls else { return };
        if self.timed_out() {
            return;
        }
        match tls.close_notify(py) {
            Ok(()) => {
                let _ = tls.send_pending(&self.sock);
            }
            Err(err) => crate::debug!("TLS close_notify: {err}"),
        }
    }

    /// The TLS handshake (a no-op without TLS), done by `deadline`. A client that opens with an
    /// ASCII upper-case letter rather than a handshake record speaks plain HTTP: it gets a
    /// plain-text 400 that says the port speaks HTTPS (as nginx answers), and the connection
    /// closes. Errors (a failed or timed-out handshake) are the caller's to log and close on.
    pub fn handshake(&self, py: Python<'_>, deadline: Instant) -> PyResult<Handshake> {
        let Some(tls) = &self.tls else { return Ok(Handshake::Done) };
        let byte = loop {
            match plain_http::peek_first_byte(&self.sock) {
                Ok(None) => return Ok(Handshake::Closed),
                Ok(Some(byte)) => break byte,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_readable_until(py, Some(deadline))?,
                Err(e) => check_interrupted(py, e)?,
            }
        };
        if plain_http::is_plain_http(byte) {
            self.refuse_plain_http(py);
            return Ok(Handshake::PlainHttp);
        }
        loop {
            let step = tls.handshake(py);
            if step.is_err() {
                // The alert that says why, if the socket takes it now.
                let _ = tls.send_pending(&self.sock);
            }
            let step = step?;
            self.flush_tls(py, tls, Side::Read, Some(deadline))?;
            match step {
                Step::Ready(_) => return Ok(Handshake::Done),
                Step::WantRead | Step::End => self.fill_tls(py, tls, Some(deadline))?,
            }
        }
    }

    fn refuse_plain_http(&self, py: Python<'_>) {
        let mut budget = plain_http::refuse(&self.sock);
        // Then wait (briefly) for the client to close, reading what else it sends.
        let deadline = Instant::now() + Duration::from_millis(500);
        let mut scratch = vec![0u8; 8192];
        while budget > 0 {
            match self.raw_recv(py, &mut scratch, Some(deadline)) {
                Ok(n) if n > 0 => budget = budget.saturating_sub(n),
                _ => break,
            }
        }
    }

    /// Push the session's pending ciphertext to the socket, waiting while it is full.
    fn flush_tls(&self, py: Python<'_>, tls: &TlsSession, side: Side, deadline: Option<Instant>) -> PyResult<()> {
        loop {
            match tls.send_pending(&self.sock)? {
                Ok(true) => return Ok(()),
                Ok(false) => self.wait_writable_on(py, side, deadline)?,
                Err(e) => check_interrupted(py, e)?,
            }
        }
    }

    /// Give the session the client's next ciphertext (or its EOF), waiting until `deadline`.
    fn fill_tls(&self, py: Python<'_>, tls: &TlsSession, deadline: Option<Instant>) -> PyResult<()> {
        let mut buf = vec![0u8; TLS_READ_SIZE];
        let n = self.raw_recv(py, &mut buf, deadline)?;
        tls.feed(py, &mut buf[..n])
    }

    fn tls_recv(&self, py: Python<'_>, tls: &TlsSession, buf: &mut [u8]) -> PyResult<usize> {
        // One receive may take several records: the read timeout bounds the whole call.
        let deadline = from_ms(self.read_timeout_ms.load(Ordering::Relaxed)).map(|t| Instant::now() + t);
        loop {
            let step = tls.read(py, buf);
            if step.is_err() {
                let _ = tls.send_pending(&self.sock);
            }
            let step = step?;
            if tls.has_pending()? {
                // Rare after the handshake (a TLS 1.3 key update, an alert).
                self.flush_tls(py, tls, Side::Read, deadline)?;
            }
            match step {
                Step::Ready(n) => return Ok(n),
                Step::End => return Ok(0),
                Step::WantRead => self.fill_tls(py, tls, deadline)?,
            }
        }
    }

    fn tls_send_all(&self, py: Python<'_>, tls: &TlsSession, bufs: &[&[u8]]) -> PyResult<()> {
        let mut total: usize = bufs.iter().map(|b| b.len()).sum();
        let (mut index, mut offset) = (0usize, 0usize);
        while total > 0 {
            // Up to WRITE_CHUNK bytes across the buffers, so that a response head and a small
            // body share one record.
            let len = total.min(WRITE_CHUNK);
            tls.encrypt(py, len, |mut dst| {
                while !dst.is_empty() {
                    let src = &bufs[index][offset..];
                    let n = src.len().min(dst.len());
                    dst[..n].copy_from_slice(&src[..n]);
                    dst = &mut dst[n..];
                    offset += n;
                    if offset == bufs[index].len() {
                        index += 1;
                        offset = 0;
                    }
                }
            })?;
            total -= len;
            self.flush_tls(py, tls, Side::Write, None)?;
        }
        Ok(())
    }
}

/// The time left until `deadline`; `TimeoutError` if none is.
fn remaining(deadline: Option<Instant>) -> PyResult<Option<Duration>> {
    match deadline {
        None => Ok(None),
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                Err(PyTimeoutError::new_err("timed out"))
            } else {
                Ok(Some(left))
            }
        }
    }
}

/// EINTR: run Python's signal handlers (which may raise `SystemExit`) and try again.
fn check_interrupted(py: Python<'_>, err: io::Error) -> PyResult<()> {
    if err.kind() == io::ErrorKind::Interrupted {
        py.check_signals()
    } else {
        Err(err.into())
    }
}

impl Transport for GeventTransport {
    fn recv(&self, py: Python<'_>, buf: &mut [u8]) -> PyResult<usize> {
        if let Some(tls) = &self.tls {
            return self.tls_recv(py, tls, buf);
        }
        loop {
            match (&self.sock).read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_readable(py)?,
                Err(e) => check_interrupted(py, e)?,
            }
        }
    }

    fn send_all(&self, py: Python<'_>, bufs: &[&[u8]]) -> PyResult<()> {
        self.begin_send()?;
        if let Some(tls) = &self.tls {
            return self.tls_send_all(py, tls, bufs);
        }
        let mut slices: Vec<IoSlice<'_>> = bufs.iter().filter(|b| !b.is_empty()).map(|b| IoSlice::new(b)).collect();
        let mut rest: &mut [IoSlice<'_>] = &mut slices;
        while !rest.is_empty() {
            match (&self.sock).write_vectored(rest) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_writable(py)?,
                Err(e) => check_interrupted(py, e)?,
            }
        }
        Ok(())
    }

    fn can_sendfile(&self) -> bool {
        self.tls.is_none()
    }

    fn sendfile(&self, py: Python<'_>, file: RawFd, offset: u64, count: u64) -> PyResult<Option<u64>> {
        if self.tls.is_some() {
            return Ok(None); // the file must be encrypted: the caller reads and sends it
        }
        self.begin_send()?;
        send_file(py, &self.sock, file, offset, count, false, |py| self.wait_writable(py))
    }

    fn closing(&self) -> bool {
        !self.flags.alive.load(Ordering::Relaxed)
    }

    fn tls_facts(&self) -> Option<Arc<TlsFacts>> {
        self.tls.as_ref().and_then(TlsSession::facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_side_owns_the_response() {
        let claim = ResponseClaim::default();
        assert!(claim.claim_for_app() && claim.claim_for_app(), "the app keeps its claim");
        assert!(!claim.claim_for_deadline(), "a started response cannot get a 504");
        assert!(claim.timed_out() && !claim.claim_for_app(), "but nothing more of it goes out");

        claim.reset();
        assert!(!claim.timed_out());
        assert!(claim.claim_for_deadline(), "nothing sent yet: the deadline answers");
        assert!(!claim.claim_for_app(), "and the app's late response is refused");
    }

    #[test]
    fn timeouts_round_trip_through_milliseconds() {
        assert_eq!(from_ms(to_ms(None)), None);
        assert_eq!(from_ms(to_ms(Some(Duration::from_millis(1500)))), Some(Duration::from_millis(1500)));
        assert_eq!(from_ms(to_ms(Some(Duration::MAX))), Some(Duration::from_millis(NO_TIMEOUT - 1)));
    }
}
