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

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyConnectionAbortedError;
use pyo3::prelude::*;
use socket2::Socket;

use super::hub::{Hub, EV_READ, EV_WRITE};
use crate::http::response::simple_response;
use crate::worker::transport::Transport;
use crate::worker::WorkerFlags;

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
    read_timeout_ms: AtomicU64,
    write_timeout_ms: u64,
}

fn to_ms(timeout: Option<Duration>) -> u64 {
    timeout.map_or(NO_TIMEOUT, |t| u64::try_from(t.as_millis()).unwrap_or(NO_TIMEOUT - 1))
}

fn from_ms(ms: u64) -> Option<Duration> {
    (ms != NO_TIMEOUT).then(|| Duration::from_millis(ms))
}

impl GeventTransport {
    /// Wrap an accepted socket (made non-blocking here). A write that makes no progress for
    /// `write_timeout` fails with `TimeoutError`; reads use [`Self::set_read_timeout`].
    pub fn new(
        py: Python<'_>,
        sock: Socket,
        hub: Arc<Hub>,
        flags: Arc<WorkerFlags>,
        write_timeout: Option<Duration>,
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
            read_timeout_ms: AtomicU64::new(NO_TIMEOUT),
            write_timeout_ms: to_ms(write_timeout),
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
    pub fn time_out(&self) -> bool {
        let mut answered = false;
        if self.claim.claim_for_deadline() {
            let response = simple_response(504, "Gateway Timeout", "Gateway Timeout\nThe request took too long.\n");
            // Nothing of this response was sent, so the send buffer has room: a non-blocking
            // send either takes it all or the client is gone.
            let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
            answered = self.sock.send_with_flags(&response, flags).is_ok_and(|n| n == response.len());
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
        let write = self.write_watcher.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = write {
            let _ = w.bind(py).call_method0("close");
        }
    }

    fn wait_readable(&self, py: Python<'_>) -> PyResult<()> {
        self.hub.wait(py, &self.read_watcher, from_ms(self.read_timeout_ms.load(Ordering::Relaxed)))
    }

    fn wait_writable(&self, py: Python<'_>) -> PyResult<()> {
        let watcher = {
            let mut slot = self.write_watcher.lock().unwrap_or_else(|p| p.into_inner());
            match slot.as_ref() {
                Some(w) => w.clone_ref(py),
                None => {
                    let w = self.hub.watcher(py, self.sock.as_raw_fd(), EV_WRITE)?;
                    *slot = Some(w.clone_ref(py));
                    w
                }
            }
        };
        // The lock is released before the wait: another greenlet may write in the meantime.
        self.hub.wait(py, &watcher, from_ms(self.write_timeout_ms))
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

    fn sendfile(&self, py: Python<'_>, file: RawFd, offset: u64, count: u64) -> PyResult<Option<u64>> {
        self.begin_send()?;
        let mut off = libc::off_t::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut sent = 0u64;
        while sent < count {
            let chunk = usize::try_from(count - sent).unwrap_or(usize::MAX).min(1 << 30);
            // SAFETY: `file` is a descriptor the caller keeps open for the duration of this call.
            let file_fd = unsafe { BorrowedFd::borrow_raw(file) };
            match nix::sys::sendfile::sendfile(self.sock.as_fd(), file_fd, Some(&mut off), chunk) {
                Ok(0) => break,
                Ok(n) => sent += n as u64,
                Err(nix::errno::Errno::EAGAIN) => self.wait_writable(py)?,
                Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS) if sent == 0 => return Ok(None),
                Err(e) => check_interrupted(py, io::Error::from(e))?,
            }
        }
        Ok(Some(sent))
    }

    fn closing(&self) -> bool {
        !self.flags.alive.load(Ordering::Relaxed)
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
