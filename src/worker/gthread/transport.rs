//! The byte stream of one gthread request, and the handover between the app's thread and the
//! request-timeout watchdog.
//!
//! The socket stays non-blocking for its whole life (the I/O loop needs it so, and switching
//! modes costs a system call each way). Every read and write is first tried with the GIL held:
//! a non-blocking call cannot block, and most requests never need to wait, so the thread keeps
//! the GIL instead of handing it to another thread and queueing to get it back. Only when the
//! kernel says "would block" does the thread release the GIL and wait in poll(2), with the
//! no-progress timeout of that direction.
//!
//! Handover: `state` goes `RUNNING → COMMITTED` when the app's thread starts to send its
//! response, or `RUNNING → TIMED_OUT` when the watchdog gives up on the request. Both are
//! compare-and-swap from `RUNNING`, so exactly one side owns the response bytes: the watchdog
//! answers 504 only if it won, and the app's thread refuses to send once it has lost. Either way
//! the watchdog then shuts the socket down, which fails the app's pending reads and writes and
//! makes its thread close the connection instead of reusing it.

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use pyo3::exceptions::{PyConnectionAbortedError, PyConnectionError, PyTimeoutError};
use pyo3::prelude::*;
use socket2::Socket;

use super::shared::Shared;
use crate::http::response::simple_response;
use crate::io::transport::Transport;
use crate::tls::conn::TlsConn;
use crate::tls::facts::TlsFacts;
use crate::worker::transport::send_file;

fn lock(tls: &Mutex<Box<TlsConn>>) -> MutexGuard<'_, Box<TlsConn>> {
    tls.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

const RUNNING: u8 = 0;
const COMMITTED: u8 = 1;
const TIMED_OUT: u8 = 2;

/// Slices kept on the stack for one vectored write; more spill to the heap.
const INLINE_SLICES: usize = 16;

/// A non-blocking connection socket serving one request.
pub struct ConnTransport {
    sock: Socket,
    /// The TLS session. The lock is held only around non-blocking calls, never across a wait,
    /// so the watchdog can always get it to send its 504.
    tls: Option<Mutex<Box<TlsConn>>>,
    recv_timeout: Option<Duration>,
    send_timeout: Option<Duration>,
    state: AtomicU8,
    shared: Option<Arc<Shared>>,
}

impl ConnTransport {
    /// Wrap a non-blocking socket. A wait for the client that makes no progress for the
    /// timeout of its direction fails with `TimeoutError` (`None`: wait as long as it takes).
    pub fn new(
        sock: Socket,
        tls: Option<Box<TlsConn>>,
        recv_timeout: Option<Duration>,
        send_timeout: Option<Duration>,
    ) -> Self {
        let tls = tls.map(Mutex::new);
        ConnTransport { sock, tls, recv_timeout, send_timeout, state: AtomicU8::new(RUNNING), shared: None }
    }

    /// Let the response see the worker's graceful stop (see [`Transport::closing`]).
    pub fn watching(mut self, shared: Arc<Shared>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Take the socket and its TLS session back for the next request on the connection.
    pub fn into_parts(self) -> (Socket, Option<Box<TlsConn>>) {
        let tls = self.tls.map(|m| m.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner));
        (self.sock, tls)
    }

    /// The socket, for shutdown.
    pub fn socket(&self) -> &Socket {
        &self.sock
    }

    /// The watchdog gave up on this request: the connection must not carry another one.
    pub fn timed_out(&self) -> bool {
        self.state.load(Ordering::Acquire) == TIMED_OUT
    }

    /// Called by the watchdog when the request ran past its deadline. Answers 504 if the app had
    /// not started its response, then shuts the socket down either way. Returns whether the 504
    /// was sent.
    pub fn time_out(&self) -> bool {
        let won = self.state.compare_exchange(RUNNING, TIMED_OUT, Ordering::AcqRel, Ordering::Acquire).is_ok();
        if !won {
            self.state.store(TIMED_OUT, Ordering::Release);
        }
        let mut answered = false;
        if won {
            let response = simple_response(504, "Gateway Timeout", "Gateway Timeout\nThe request took too long.\n");
            // Nothing of this response was sent, so the send buffer has room: a non-blocking send
            // either takes it all or the client is gone.
            match &self.tls {
                Some(tls) => {
                    let mut tls = lock(tls);
                    tls.send_nowait(&self.sock, &response);
                    answered = !tls.wants_write();
                }
                None => {
                    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
                    answered = self.sock.send_with_flags(&response, flags).is_ok_and(|n| n == response.len());
                }
            }
        }
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
        answered
    }

    /// The app's thread is about to send response bytes: claim the response, unless the
    /// watchdog already answered it.
    fn begin_send(&self) -> PyResult<()> {
        if self.state.load(Ordering::Acquire) == COMMITTED {
            return Ok(());
        }
        match self.state.compare_exchange(RUNNING, COMMITTED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Ok(()),
            Err(COMMITTED) => Ok(()),
            Err(_) => Err(PyConnectionAbortedError::new_err("the request timed out; the server answered it")),
        }
    }

    /// After a non-blocking call failed: wait for `flags` if it would block, run the signal
    /// handlers if interrupted (the caller then retries), else fail with the error.
    fn wait_or_raise(&self, py: Python<'_>, e: io::Error, flags: PollFlags, timeout: Option<Duration>) -> PyResult<()> {
        match e.kind() {
            io::ErrorKind::WouldBlock => self.wait(py, flags, timeout),
            io::ErrorKind::Interrupted => py.check_signals(),
            _ => Err(e.into()),
        }
    }

    /// Wait, with the GIL released, until the socket is ready for `flags`.
    fn wait(&self, py: Python<'_>, flags: PollFlags, timeout: Option<Duration>) -> PyResult<()> {
        let ms = match timeout {
            None => PollTimeout::NONE,
            Some(t) => {
                PollTimeout::try_from(t.as_millis().clamp(1, i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        let fd = self.sock.as_fd();
        loop {
            let ready = py.detach(|| {
                let mut fds = [PollFd::new(fd, flags)];
                poll(&mut fds, ms)
            });
            match ready {
                Ok(0) => return Err(PyTimeoutError::new_err("socket timed out")),
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => py.check_signals()?,
                Err(e) => return Err(io::Error::from(e).into()),
            }
        }
    }
}

/// The non-empty buffers as slices for one vectored write: on the stack for up to
/// [`INLINE_SLICES`] of them, spilling to `heap` beyond.
fn gather<'a, 'b>(
    bufs: &[&'a [u8]],
    inline: &'b mut [IoSlice<'a>; INLINE_SLICES],
    heap: &'b mut Vec<IoSlice<'a>>,
) -> &'b mut [IoSlice<'a>] {
    let mut count = 0;
    for buf in bufs.iter().filter(|b| !b.is_empty()) {
        if count < INLINE_SLICES {
            inline[count] = IoSlice::new(buf);
        } else {
            if heap.is_empty() {
                heap.extend_from_slice(&inline[..]);
            }
            heap.push(IoSlice::new(buf));
        }
        count += 1;
    }
    if heap.is_empty() {
        &mut inline[..count]
    } else {
        heap
    }
}

impl ConnTransport {
    fn tls_recv(&self, py: Python<'_>, tls: &Mutex<Box<TlsConn>>, buf: &mut [u8]) -> PyResult<usize> {
        loop {
            let (result, wants_write) = {
                let mut tls = lock(tls);
                let result = tls.read(&self.sock, buf, None);
                (result, tls.wants_write())
            };
            // A handshake or alert may be waiting for room in the socket, as well as data to come.
            let flags = if wants_write { PollFlags::POLLIN | PollFlags::POLLOUT } else { PollFlags::POLLIN };
            match result {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Err(PyConnectionError::new_err(e.to_string()));
                }
                Err(e) => self.wait_or_raise(py, e, flags, self.recv_timeout)?,
            }
        }
    }

    fn tls_send_all(&self, py: Python<'_>, tls: &Mutex<Box<TlsConn>>, bufs: &[&[u8]]) -> PyResult<()> {
        let mut inline = [IoSlice::new(&[]); INLINE_SLICES];
        let mut heap = Vec::new();
        let mut rest = gather(bufs, &mut inline, &mut heap);
        loop {
            let result = if rest.is_empty() {
                lock(tls).flush(&self.sock).map(|()| 0)
            } else {
                lock(tls).write(&self.sock, rest)
            };
            match result {
                Ok(0) if rest.is_empty() => return Ok(()),
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) => self.wait_or_raise(py, e, PollFlags::POLLOUT, self.send_timeout)?,
            }
        }
    }
}

impl Transport for ConnTransport {
    fn recv(&self, py: Python<'_>, buf: &mut [u8]) -> PyResult<usize> {
        if let Some(tls) = &self.tls {
            return self.tls_recv(py, tls, buf);
        }
        loop {
            match (&self.sock).read(buf) {
                Ok(n) => return Ok(n),
                Err(e) => self.wait_or_raise(py, e, PollFlags::POLLIN, self.recv_timeout)?,
            }
        }
    }

    fn send_all(&self, py: Python<'_>, bufs: &[&[u8]]) -> PyResult<()> {
        self.begin_send()?;
        if let Some(tls) = &self.tls {
            return self.tls_send_all(py, tls, bufs);
        }
        let mut inline = [IoSlice::new(&[]); INLINE_SLICES];
        let mut heap = Vec::new();
        let mut rest = gather(bufs, &mut inline, &mut heap);
        while !rest.is_empty() {
            match (&self.sock).write_vectored(rest) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) => self.wait_or_raise(py, e, PollFlags::POLLOUT, self.send_timeout)?,
            }
        }
        Ok(())
    }

    fn sendfile(&self, py: Python<'_>, file: RawFd, offset: u64, count: u64) -> PyResult<Option<u64>> {
        if self.tls.is_some() {
            return Ok(None); // the file must be encrypted: read and send it
        }
        self.begin_send()?;
        send_file(py, &self.sock, file, offset, count, false, |py| self.wait(py, PollFlags::POLLOUT, self.send_timeout))
    }

    fn closing(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.is_stopping())
    }

    fn tls_facts(&self) -> Option<Arc<TlsFacts>> {
        self.tls.as_ref().and_then(|tls| lock(tls).facts())
    }

    fn can_sendfile(&self) -> bool {
        self.tls.is_none()
    }
}

impl AsRawFd for ConnTransport {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attach<R>(f: impl FnOnce(Python<'_>) -> R) -> R {
        Python::initialize();
        Python::attach(f)
    }

    fn pair() -> (Socket, std::os::unix::net::UnixStream) {
        let (a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        a.set_nonblocking(true).expect("nonblocking");
        (Socket::from(std::os::fd::OwnedFd::from(a)), b)
    }

    #[test]
    fn watchdog_answers_504_before_the_app_sends() {
        let (sock, mut peer) = pair();
        let t = ConnTransport::new(sock, None, None, None);
        assert!(t.time_out());
        assert!(t.timed_out());
        let mut got = Vec::new();
        peer.read_to_end(&mut got).expect("read");
        assert!(got.starts_with(b"HTTP/1.1 504 Gateway Timeout\r\n"), "{got:?}");
        attach(|py| {
            let err = t.send_all(py, &[b"HTTP/1.1 200 OK\r\n\r\n"]).expect_err("the response belongs to the watchdog");
            assert!(err.is_instance_of::<PyConnectionAbortedError>(py));
        });
    }

    #[test]
    fn watchdog_only_closes_once_the_app_has_sent() {
        let (sock, mut peer) = pair();
        let t = ConnTransport::new(sock, None, None, None);
        attach(|py| t.send_all(py, &[b"HTTP/1.1 200 OK\r\n", b"\r\n"]).expect("send"));
        assert!(!t.time_out());
        assert!(t.timed_out());
        let mut got = Vec::new();
        peer.read_to_end(&mut got).expect("read");
        assert_eq!(got, b"HTTP/1.1 200 OK\r\n\r\n");
    }

    #[test]
    fn recv_waits_for_data_and_times_out() {
        let (sock, mut peer) = pair();
        let t = ConnTransport::new(sock, None, Some(Duration::from_millis(50)), None);
        peer.write_all(b"abc").expect("write");
        let mut buf = [0u8; 8];
        attach(|py| {
            assert_eq!(t.recv(py, &mut buf).expect("recv"), 3);
            let err = t.recv(py, &mut buf).expect_err("nothing more arrives");
            assert!(err.is_instance_of::<PyTimeoutError>(py));
        });
    }

    #[test]
    fn many_slices_spill_to_the_heap() {
        let (sock, mut peer) = pair();
        let t = ConnTransport::new(sock, None, None, None);
        let blocks: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 3]).collect();
        let refs: Vec<&[u8]> = blocks.iter().map(|b| b.as_slice()).collect();
        attach(|py| t.send_all(py, &refs).expect("send"));
        drop(t);
        let mut got = Vec::new();
        peer.read_to_end(&mut got).expect("read");
        assert_eq!(got, blocks.concat());
    }
}
