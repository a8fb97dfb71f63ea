//! TLS for `-k gevent` with Python's `ssl` as a sans-I/O engine.
//!
//! The worker builds one `ssl.SSLContext` (as gunicorn does, or the config file's `ssl_context`
//! hook does: `rgunicorn.workers.ggevent.ssl_context`). Each connection gets an `ssl.SSLObject`
//! over two `ssl.MemoryBIO`s, which never touches a socket: the transport (transport.rs) moves
//! ciphertext between the socket and the BIOs with the same non-blocking calls and cooperative
//! waits as a plain connection, so TLS changes nothing about how a greenlet yields.
//!
//! ```text
//!  socket ──recv──► incoming BIO ──SSLObject.read──► request bytes
//!  socket ◄─send─── pending ◄── outgoing BIO ◄──SSLObject.write── response bytes
//! ```
//!
//! `pending` holds ciphertext the socket has not taken yet, in the order the session made it.
//! A session's state is locked only around steps that cannot switch greenlets (the SSLObject's
//! C methods and non-blocking socket calls), never across a wait; so another greenlet of the
//! same connection (an app that reads its body in one greenlet and writes in another, or the
//! `--request-timeout` callback in the hub) never finds it locked. It is `try_lock`ed anyway: a
//! contended lock would be a bug, and an error is better than a hub stuck on a mutex.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyType};
use socket2::Socket;

use crate::tls::facts::{ClientCert, TlsFacts};

/// Plaintext encrypted per step when sending: bounds the ciphertext buffered ahead of the socket.
pub const WRITE_CHUNK: usize = 64 * 1024;

/// The worker's TLS context and the `ssl` names the sessions need, looked up once.
pub struct TlsEngine {
    context: Py<PyAny>,
    memory_bio: Py<PyAny>,
    want_read: Py<PyType>,
    zero_return: Py<PyType>,
    eof: Py<PyType>,
    syscall: Py<PyType>,
    suppress_ragged_eofs: bool,
}

impl TlsEngine {
    /// Serve with `context` (an `ssl.SSLContext`).
    pub fn new(py: Python<'_>, context: Bound<'_, PyAny>, suppress_ragged_eofs: bool) -> PyResult<TlsEngine> {
        let ssl = py.import("ssl")?;
        let class = |name: &str| -> PyResult<Py<PyType>> { Ok(ssl.getattr(name)?.cast_into::<PyType>()?.unbind()) };
        Ok(TlsEngine {
            context: context.unbind(),
            memory_bio: ssl.getattr("MemoryBIO")?.unbind(),
            want_read: class("SSLWantReadError")?,
            zero_return: class("SSLZeroReturnError")?,
            eof: class("SSLEOFError")?,
            syscall: class("SSLSyscallError")?,
            suppress_ragged_eofs,
        })
    }

    /// A server-side session for a new connection.
    pub fn session(self: &Arc<Self>, py: Python<'_>) -> PyResult<TlsSession> {
        let incoming = self.memory_bio.bind(py).call0()?;
        let outgoing = self.memory_bio.bind(py).call0()?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("server_side", true)?;
        let sslobj = self.context.bind(py).call_method("wrap_bio", (&incoming, &outgoing), Some(&kwargs))?;
        Ok(TlsSession {
            engine: self.clone(),
            sslobj: sslobj.unbind(),
            incoming: incoming.unbind(),
            outgoing: outgoing.unbind(),
            state: Mutex::new(State::default()),
        })
    }
}

/// What one handshake or read step asks for next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Done: the handshake is complete, or this many bytes were read.
    Ready(usize),
    /// More ciphertext from the client is needed.
    WantRead,
    /// The stream ended: `close_notify` from the client, or a ragged EOF when suppressed.
    End,
}

#[derive(Default)]
struct State {
    /// Ciphertext not yet taken by the socket: `pending[sent..]`.
    pending: Vec<u8>,
    sent: usize,
    /// The client closed its side (fed to the incoming BIO as EOF).
    eof_fed: bool,
    established: bool,
    /// `close_notify` was sent.
    closed: bool,
    facts: Option<Arc<TlsFacts>>,
}

/// One connection's TLS session.
pub struct TlsSession {
    engine: Arc<TlsEngine>,
    sslobj: Py<PyAny>,
    incoming: Py<PyAny>,
    outgoing: Py<PyAny>,
    state: Mutex<State>,
}

/// Call `f` with a writable memoryview over `buf`, released before returning, so that nothing
/// can reach `buf` through it afterwards (`SSLObject.read` and `MemoryBIO.write` hold the buffer
/// only for the duration of the call).
fn with_memoryview<R>(py: Python<'_>, buf: &mut [u8], f: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<R>) -> PyResult<R> {
    let len = pyo3::ffi::Py_ssize_t::try_from(buf.len()).map_err(|_| PyRuntimeError::new_err("buffer too large"))?;
    // SAFETY: `buf` is valid for reads and writes of `len` bytes for the whole call, and the
    // view is released below, before `buf`'s borrow ends.
    let view = unsafe {
        let ptr = pyo3::ffi::PyMemoryView_FromMemory(buf.as_mut_ptr().cast(), len, pyo3::ffi::PyBUF_WRITE);
        Bound::from_owned_ptr_or_err(py, ptr)?
    };
    let result = f(&view);
    if let Err(err) = view.call_method0(pyo3::intern!(py, "release")) {
        // Something kept an export of the view: it must not outlive `buf`. Never expected from
        // `ssl`; abort rather than risk a use after free.
        crate::error!("A memoryview over a connection buffer is still in use: {err}");
        std::process::abort();
    }
    result
}

impl TlsSession {
    fn state(&self) -> PyResult<MutexGuard<'_, State>> {
        match self.state.try_lock() {
            Ok(guard) => Ok(guard),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => {
                Err(PyRuntimeError::new_err("the TLS session is in use by another greenlet"))
            }
        }
    }

    /// Move what the session wrote into the outgoing BIO to `pending`.
    fn collect(&self, py: Python<'_>, state: &mut State) -> PyResult<()> {
        let out = self.outgoing.bind(py);
        if out.getattr(pyo3::intern!(py, "pending"))?.extract::<usize>()? > 0 {
            let bytes = out.call_method0(pyo3::intern!(py, "read"))?;
            let bytes = bytes.cast::<PyBytes>()?;
            if state.sent > 0 && state.sent == state.pending.len() {
                state.pending.clear();
                state.sent = 0;
            }
            state.pending.extend_from_slice(bytes.as_bytes());
        }
        Ok(())
    }

    /// Whether the error is "the client closed without `close_notify`" (or the session asks for
    /// more after the client closed, which can only end the same way).
    fn is_ragged_eof(&self, py: Python<'_>, state: &State, err: &PyErr) -> bool {
        state.eof_fed
            && (err.is_instance(py, self.engine.eof.bind(py))
                || err.is_instance(py, self.engine.syscall.bind(py))
                || err.is_instance(py, self.engine.want_read.bind(py)))
    }

    /// One handshake step. `Ready(0)` when it is complete (the facts are then known).
    pub fn handshake(&self, py: Python<'_>) -> PyResult<Step> {
        let mut state = self.state()?;
        let result = self.sslobj.bind(py).call_method0(pyo3::intern!(py, "do_handshake"));
        self.collect(py, &mut state)?;
        match result {
            Ok(_) => {
                state.established = true;
                state.facts = Some(Arc::new(self.read_facts(py)?));
                Ok(Step::Ready(0))
            }
            Err(err) if err.is_instance(py, self.engine.want_read.bind(py)) && !state.eof_fed => Ok(Step::WantRead),
            Err(err) if state.eof_fed => Err(pyo3::exceptions::PyConnectionAbortedError::new_err(format!(
                "the client closed the connection during the TLS handshake ({err})"
            ))),
            Err(err) => Err(err),
        }
    }

    /// One read step: decrypt up to `buf.len()` bytes into `buf`.
    pub fn read(&self, py: Python<'_>, buf: &mut [u8]) -> PyResult<Step> {
        if buf.is_empty() {
            return Ok(Step::Ready(0));
        }
        let mut state = self.state()?;
        // Straight into `buf`: read(len) without a buffer would allocate `len` bytes per call.
        let len = buf.len();
        let result = with_memoryview(py, buf, |view| {
            self.sslobj.bind(py).call_method1(pyo3::intern!(py, "read"), (len, view))?.extract::<usize>()
        });
        self.collect(py, &mut state)?;
        match result {
            // 0 is the client's close_notify (CPython's read() returns it for SSL_ERROR_ZERO_RETURN).
            Ok(n) => Ok(if n == 0 { Step::End } else { Step::Ready(n.min(len)) }),
            Err(err) if err.is_instance(py, self.engine.zero_return.bind(py)) => Ok(Step::End),
            Err(err) if self.is_ragged_eof(py, &state, &err) => {
                if self.engine.suppress_ragged_eofs {
                    Ok(Step::End)
                } else {
                    Err(err)
                }
            }
            Err(err) if err.is_instance(py, self.engine.want_read.bind(py)) => Ok(Step::WantRead),
            Err(err) => Err(err),
        }
    }

    /// Give the session ciphertext from the client; empty `data` is the client's EOF.
    pub fn feed(&self, py: Python<'_>, data: &mut [u8]) -> PyResult<()> {
        let mut state = self.state()?;
        let incoming = self.incoming.bind(py);
        if data.is_empty() {
            state.eof_fed = true;
            incoming.call_method0(pyo3::intern!(py, "write_eof"))?;
        } else {
            with_memoryview(py, data, |view| incoming.call_method1(pyo3::intern!(py, "write"), (view,)).map(drop))?;
        }
        Ok(())
    }

    /// Encrypt `len` bytes of plaintext, which `fill` writes into the buffer it is given.
    pub fn encrypt(&self, py: Python<'_>, len: usize, fill: impl FnOnce(&mut [u8])) -> PyResult<()> {
        let plain = PyBytes::new_with(py, len, |dst| {
            fill(dst);
            Ok(())
        })?;
        let mut state = self.state()?;
        if state.closed {
            return Err(pyo3::exceptions::PyBrokenPipeError::new_err("the TLS connection is closed"));
        }
        let written: usize = self.sslobj.bind(py).call_method1(pyo3::intern!(py, "write"), (plain,))?.extract()?;
        self.collect(py, &mut state)?;
        if written != len {
            // A memory BIO takes everything: a short write would be an `ssl` change we must not
            // paper over by dropping bytes.
            return Err(PyRuntimeError::new_err(format!("TLS write took {written} of {len} bytes")));
        }
        Ok(())
    }

    /// Send `close_notify` (it lands in `pending`), once, and only on an established session.
    pub fn close_notify(&self, py: Python<'_>) -> PyResult<()> {
        let mut state = self.state()?;
        if !state.established || state.closed {
            return Ok(());
        }
        state.closed = true;
        // With memory BIOs, unwrap() writes close_notify, then raises SSLWantReadError while it
        // waits for the client's: that wait is not ours to do.
        let result = self.sslobj.bind(py).call_method0(pyo3::intern!(py, "unwrap"));
        self.collect(py, &mut state)?;
        match result {
            Err(err) if !err.is_instance(py, self.engine.want_read.bind(py)) => {
                crate::debug!("TLS close_notify: {err}");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Whether ciphertext waits for the socket.
    pub fn has_pending(&self) -> PyResult<bool> {
        let state = self.state()?;
        Ok(state.sent < state.pending.len())
    }

    /// Push pending ciphertext to the non-blocking `sock` as far as it takes it. `Ok(true)` when
    /// nothing is left; `Ok(false)` when the socket is full (wait for writability, call again).
    pub fn send_pending(&self, sock: &Socket) -> PyResult<io::Result<bool>> {
        let mut state = self.state()?;
        while state.sent < state.pending.len() {
            match sock.send_with_flags(&state.pending[state.sent..], libc::MSG_NOSIGNAL) {
                Ok(0) => return Ok(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => state.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if state.sent >= WRITE_CHUNK {
                        let sent = state.sent;
                        state.pending.drain(..sent);
                        state.sent = 0;
                    }
                    return Ok(Ok(false));
                }
                Err(e) => return Ok(Err(e)),
            }
        }
        state.pending.clear();
        state.sent = 0;
        Ok(Ok(true))
    }

    /// The environ's facts, once the handshake is complete.
    pub fn facts(&self) -> Option<Arc<TlsFacts>> {
        self.state().ok().and_then(|s| s.facts.clone())
    }

    fn read_facts(&self, py: Python<'_>) -> PyResult<TlsFacts> {
        let sslobj = self.sslobj.bind(py);
        let protocol: Option<String> = sslobj.call_method0("version")?.extract()?;
        let cipher = sslobj.call_method0("cipher")?;
        let cipher: String = if cipher.is_none() { String::new() } else { cipher.get_item(0)?.extract()? };
        let der = sslobj.call_method1("getpeercert", (true,))?;
        let client = if der.is_none() { None } else { ClientCert::from_der(der.cast::<PyBytes>()?.as_bytes()) };
        Ok(TlsFacts { protocol: protocol.unwrap_or_default(), cipher, client })
    }
}
