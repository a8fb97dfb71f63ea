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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use socket2::Socket;

use crate::worker::transport::Transport;
use crate::worker::WorkerFlags;

/// libev's event bits, as gevent's `loop.io(fd, events)` takes them.
const EV_READ: u8 = 1;
const EV_WRITE: u8 = 2;
/// "No timeout" in the atomic timeout cells.
const NO_TIMEOUT: u64 = u64::MAX;

/// What every connection of a worker waits with: `gevent.socket.wait`, `cancel_wait` and the
/// hub loop's `io`.
pub struct Hub {
    wait: Py<PyAny>,
    cancel_wait: Py<PyAny>,
    io: Py<PyAny>,
}

impl Hub {
    /// Look both up on the current thread's hub (the worker's only hub).
    pub fn current(py: Python<'_>) -> PyResult<Hub> {
        let socket = py.import("gevent.socket")?;
        let wait = socket.getattr("wait")?.unbind();
        let cancel_wait = socket.getattr("cancel_wait")?.unbind();
        let io = py.import("gevent")?.call_method0("get_hub")?.getattr("loop")?.getattr("io")?.unbind();
        Ok(Hub { wait, cancel_wait, io })
    }

    /// A new, unstarted io watcher for `fd` (`EV_READ` or `EV_WRITE`).
    pub fn watcher(&self, py: Python<'_>, fd: RawFd, events: u8) -> PyResult<Py<PyAny>> {
        Ok(self.io.bind(py).call1((fd, events))?.unbind())
    }

    /// Park this greenlet until `watcher` fires, at most `timeout` (then `socket.timeout`).
    pub fn wait(&self, py: Python<'_>, watcher: &Py<PyAny>, timeout: Option<Duration>) -> PyResult<()> {
        let wait = self.wait.bind(py);
        match timeout {
            Some(t) => wait.call1((watcher, t.as_secs_f64()))?,
            None => wait.call1((watcher,))?,
        };
        Ok(())
    }

    /// A clone, for a transport that outlives the borrow of the server.
    pub fn clone_ref(&self, py: Python<'_>) -> Hub {
        Hub { wait: self.wait.clone_ref(py), cancel_wait: self.cancel_wait.clone_ref(py), io: self.io.clone_ref(py) }
    }
}

/// A non-blocking connection socket whose waits go through the gevent hub.
pub struct GeventTransport {
    sock: Socket,
    hub: Hub,
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
        hub: Hub,
        flags: Arc<WorkerFlags>,
        write_timeout: Option<Duration>,
    ) -> PyResult<GeventTransport> {
        sock.set_nonblocking(true)?;
        let read_watcher = hub.watcher(py, sock.as_raw_fd(), EV_READ)?;
        Ok(GeventTransport {
            sock,
            hub,
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

    /// The socket, for shutdown.
    pub fn socket(&self) -> &Socket {
        &self.sock
    }

    /// Wake a greenlet waiting to read with `OSError(EBADF)` (it then closes the connection).
    pub fn cancel_read(&self, py: Python<'_>) -> PyResult<()> {
        self.hub.cancel_wait.bind(py).call1((&self.read_watcher,))?;
        Ok(())
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
