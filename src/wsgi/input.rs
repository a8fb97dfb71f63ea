//! `wsgi.input`: the request body as a file-like object, de-chunked, with `read(n)`,
//! `readline(n)`, `readlines(hint)` and iteration, reading the socket with the GIL released.

use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::{PyConnectionResetError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::http::{BodyFraming, ChunkedDecoder, HttpError};
use crate::io::transport::Transport;

const RECV_SIZE: usize = 64 * 1024;
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

enum Framing {
    Length(u64),
    Chunked(Box<ChunkedDecoder>),
    Done,
}

/// The body of one request, shared by `wsgi.input` and the worker (which drains what the app left
/// and takes back pipelined bytes that belong to the next request).
pub struct BodyReader {
    /// None once the request is over: the connection is not kept alive by objects the app holds.
    transport: Option<Arc<dyn Transport>>,
    /// Bytes received from the socket and not yet consumed by the framing.
    raw: Vec<u8>,
    raw_pos: usize,
    framing: Framing,
    /// Decoded body bytes not yet handed to the app.
    ready: Vec<u8>,
    ready_pos: usize,
    /// `Expect: 100-continue` not yet answered: answered on the first read.
    continue_pending: bool,
    /// The body was malformed or the client vanished: the connection cannot be reused.
    broken: bool,
    /// The framing error that broke the body, answered with its 4xx status.
    error: Option<HttpError>,
}

impl BodyReader {
    /// A reader for a body framed as `framing`; `already` holds the bytes read past the head.
    pub fn new(transport: Arc<dyn Transport>, framing: BodyFraming, already: Vec<u8>, expect_continue: bool) -> Self {
        let framing = match framing {
            BodyFraming::None | BodyFraming::Length(0) => Framing::Done,
            BodyFraming::Length(n) => Framing::Length(n),
            BodyFraming::Chunked => Framing::Chunked(Box::default()),
        };
        let continue_pending = expect_continue && !matches!(framing, Framing::Done);
        BodyReader {
            transport: Some(transport),
            raw: already,
            raw_pos: 0,
            framing,
            ready: Vec::new(),
            ready_pos: 0,
            continue_pending,
            broken: false,
            error: None,
        }
    }

    fn transport(&self) -> PyResult<Arc<dyn Transport>> {
        self.transport.clone().ok_or_else(|| PyValueError::new_err("wsgi.input read after the request finished"))
    }

    /// Drop this reader's hold on the connection (the request is over).
    pub fn release(&mut self) {
        self.transport = None;
    }

    /// The framing error found in the body, if any.
    pub fn http_error(&self) -> Option<&HttpError> {
        self.error.as_ref()
    }

    /// Read and decode a chunked body ahead of the app, up to `limit` decoded bytes, so that a
    /// malformed body is answered with 400 before the app ever sees the request.
    pub fn prefetch(&mut self, py: Python<'_>, limit: usize) -> PyResult<()> {
        while self.buffered().len() < limit {
            if !self.fill(py)? {
                break;
            }
        }
        Ok(())
    }

    fn buffered(&self) -> &[u8] {
        &self.ready[self.ready_pos..]
    }

    fn consume(&mut self, n: usize) {
        self.ready_pos += n;
        if self.ready_pos == self.ready.len() {
            self.ready.clear();
            self.ready_pos = 0;
        }
    }

    /// Whether the whole body has been received (the connection may carry another request).
    pub fn is_complete(&self) -> bool {
        matches!(self.framing, Framing::Done) && !self.broken
    }

    /// Whether the client was told to send its body (or never needed telling).
    pub fn continue_sent(&self) -> bool {
        !self.continue_pending
    }

    /// Decode more body bytes into `ready`. Returns false at the end of the body.
    fn fill(&mut self, py: Python<'_>) -> PyResult<bool> {
        loop {
            let unread = &self.raw[self.raw_pos..];
            match &mut self.framing {
                Framing::Done => return Ok(false),
                Framing::Length(remaining) => {
                    if !unread.is_empty() {
                        let take = unread.len().min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                        self.ready.extend_from_slice(&unread[..take]);
                        self.raw_pos += take;
                        *remaining -= take as u64;
                        if *remaining == 0 {
                            self.framing = Framing::Done;
                        }
                        return Ok(true);
                    }
                }
                Framing::Chunked(decoder) => {
                    if !unread.is_empty() {
                        let before = self.ready.len();
                        let decoded = decoder.decode(unread, &mut self.ready);
                        let (used, done) = match decoded {
                            Ok(v) => v,
                            Err(e) => {
                                self.broken = true;
                                let err = bad_body(&e);
                                self.error = Some(e);
                                return Err(err);
                            }
                        };
                        self.raw_pos += used;
                        if done {
                            self.framing = Framing::Done;
                        }
                        if self.ready.len() > before {
                            return Ok(true);
                        }
                        if done {
                            return Ok(false);
                        }
                        if used < unread.len() {
                            continue;
                        }
                    }
                }
            }
            self.recv_more(py)?;
        }
    }

    /// Read more raw bytes from the socket into `raw`.
    fn recv_more(&mut self, py: Python<'_>) -> PyResult<()> {
        if self.continue_pending {
            self.continue_pending = false;
            self.transport()?.send_all(py, &[CONTINUE])?;
        }
        if self.raw_pos == self.raw.len() {
            self.raw.clear();
            self.raw_pos = 0;
        }
        let start = self.raw.len();
        self.raw.resize(start + RECV_SIZE, 0);
        let transport = self.transport()?;
        let got = transport.recv(py, &mut self.raw[start..]);
        let n = match got {
            Ok(n) => n,
            Err(e) => {
                self.raw.truncate(start);
                self.broken = true;
                return Err(e);
            }
        };
        self.raw.truncate(start + n);
        if n == 0 {
            self.broken = true;
            return Err(PyConnectionResetError::new_err("client closed the connection before sending the whole body"));
        }
        Ok(())
    }

    /// Up to `limit` bytes (all of the rest when `None`).
    pub fn read(&mut self, py: Python<'_>, limit: Option<usize>) -> PyResult<Vec<u8>> {
        self.take(py, limit, false)
    }

    /// One line, ending with `\n` unless the body ends first or `limit` bytes were read.
    pub fn readline(&mut self, py: Python<'_>, limit: Option<usize>) -> PyResult<Vec<u8>> {
        self.take(py, limit, true)
    }

    /// Body bytes until `limit`, the end of the body, or (with `line`) a newline, included.
    fn take(&mut self, py: Python<'_>, limit: Option<usize>, line: bool) -> PyResult<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let want = limit.map(|l| l - out.len());
            if want == Some(0) {
                break;
            }
            if self.buffered().is_empty() && !self.fill(py)? {
                break;
            }
            let avail = self.buffered();
            let window = want.map_or(avail, |w| &avail[..w.min(avail.len())]);
            let newline = if line { memchr::memchr(b'\n', window) } else { None };
            let n = newline.map_or(window.len(), |i| i + 1);
            out.extend_from_slice(&window[..n]);
            self.consume(n);
            if newline.is_some() {
                break;
            }
        }
        Ok(out)
    }

    /// Read and discard the rest of the body, at most `budget` bytes. True if the body is complete.
    pub fn drain(&mut self, py: Python<'_>, budget: usize) -> bool {
        if self.broken || self.continue_pending {
            // The client may be waiting for 100 Continue and never send the body: do not wait for it.
            return self.is_complete();
        }
        let mut seen = 0usize;
        while !matches!(self.framing, Framing::Done) && seen <= budget {
            let n = self.buffered().len();
            self.consume(n);
            seen += n;
            match self.fill(py) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => return false,
            }
        }
        let n = self.buffered().len();
        self.consume(n);
        self.is_complete()
    }

    /// Bytes received past the end of this body: the start of the next pipelined request.
    pub fn take_leftover(&mut self) -> Vec<u8> {
        let mut raw = std::mem::take(&mut self.raw);
        raw.drain(..self.raw_pos);
        self.raw_pos = 0;
        raw
    }
}

fn bad_body(err: &HttpError) -> PyErr {
    PyValueError::new_err(format!("invalid request body: {}", err.detail()))
}

/// The `wsgi.input` object handed to the app.
#[pyclass(module = "rgunicorn._rgunicorn", name = "WsgiInput", frozen)]
pub struct WsgiInput {
    body: Arc<Mutex<BodyReader>>,
}

impl WsgiInput {
    /// Wrap a shared body reader.
    pub fn new(body: Arc<Mutex<BodyReader>>) -> Self {
        WsgiInput { body }
    }

    /// The reader is locked while the socket is read with the GIL released, so a second thread
    /// reading the same body at the same time would deadlock against the GIL: refuse it instead.
    fn lock(&self) -> PyResult<MutexGuard<'_, BodyReader>> {
        match self.body.try_lock() {
            Ok(guard) => Ok(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => {
                Err(pyo3::exceptions::PyRuntimeError::new_err("wsgi.input is being read by another thread"))
            }
        }
    }
}

/// `None` or a negative size mean "no limit", as for Python files.
fn size_limit(size: Option<isize>) -> Option<usize> {
    size.and_then(|s| usize::try_from(s).ok())
}

#[pymethods]
impl WsgiInput {
    /// Read up to `size` bytes, or the whole rest of the body.
    #[pyo3(signature = (size=None))]
    fn read<'py>(&self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.lock()?.read(py, size_limit(size))?;
        Ok(PyBytes::new(py, &data))
    }

    /// Read one line, at most `size` bytes.
    #[pyo3(signature = (size=None))]
    fn readline<'py>(&self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.lock()?.readline(py, size_limit(size))?;
        Ok(PyBytes::new(py, &data))
    }

    /// Read lines until their total size reaches `hint` (all lines when `hint` is absent or ≤ 0).
    #[pyo3(signature = (hint=None))]
    fn readlines<'py>(&self, py: Python<'py>, hint: Option<isize>) -> PyResult<Bound<'py, PyList>> {
        let hint = size_limit(hint).filter(|h| *h > 0);
        let lines = PyList::empty(py);
        let mut total = 0usize;
        let mut body = self.lock()?;
        loop {
            let line = body.readline(py, None)?;
            if line.is_empty() {
                break;
            }
            total += line.len();
            lines.append(PyBytes::new(py, &line))?;
            if hint.is_some_and(|h| total >= h) {
                break;
            }
        }
        Ok(lines)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.lock()?.readline(py, None)?;
        Ok((!line.is_empty()).then(|| PyBytes::new(py, &line)))
    }

    fn readable(&self) -> bool {
        true
    }
}
