//! The response side of one request: `start_response`, the `write()` callable, and the writer that
//! frames the body (Content-Length, chunked, or close-delimited) and sends it.
//!
//! Headers go out together with the first non-empty body block, in one system call, as PEP 3333
//! requires ("the server must not send headers until the first non-empty bytestring").

use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::{PyAssertionError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::http::response::{
    is_valid_header_name, is_valid_header_value, parse_status, push_http_date, status_allows_body, write_chunk_header,
};
use crate::http::Version;
use crate::io::transport::Transport;

/// Headers an application must not set (PEP 3333); they are dropped, `Connection: close` is honoured.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

/// Everything the writer needs to know about the request it answers.
#[derive(Clone, Copy, Debug)]
pub struct RequestFacts {
    /// The request's HTTP version; the response uses the same.
    pub version: Version,
    /// HEAD: send no body bytes.
    pub is_head: bool,
    /// The client allows keep-alive and the worker supports it.
    pub keep_alive: bool,
}

/// The state of one response.
pub struct ResponseWriter {
    /// None once the request is over: the connection is not kept alive by objects the app holds.
    transport: Option<Arc<dyn Transport>>,
    facts: RequestFacts,
    status: Option<String>,
    code: u16,
    headers: Vec<(String, String)>,
    has_server: bool,
    has_date: bool,
    content_length: Option<u64>,
    chunked: bool,
    headers_sent: bool,
    body_sent: u64,
    must_close: bool,
}

impl ResponseWriter {
    /// A writer for a request described by `facts`.
    pub fn new(transport: Arc<dyn Transport>, facts: RequestFacts) -> Self {
        ResponseWriter {
            transport: Some(transport),
            facts,
            status: None,
            code: 0,
            headers: Vec::new(),
            has_server: false,
            has_date: false,
            content_length: None,
            chunked: false,
            headers_sent: false,
            body_sent: 0,
            must_close: !facts.keep_alive,
        }
    }

    fn transport(&self) -> PyResult<Arc<dyn Transport>> {
        self.transport.clone().ok_or_else(|| PyValueError::new_err("write() called after the request finished"))
    }

    /// Drop this writer's hold on the connection (the request is over).
    pub fn release(&mut self) {
        self.transport = None;
    }

    /// The status code set by the app (0 before `start_response`).
    pub fn code(&self) -> u16 {
        self.code
    }

    /// Whether `start_response` has been called.
    pub fn started(&self) -> bool {
        self.status.is_some()
    }

    /// Whether the head has gone out.
    pub fn headers_sent(&self) -> bool {
        self.headers_sent
    }

    /// Body bytes sent so far.
    pub fn body_sent(&self) -> u64 {
        self.body_sent
    }

    /// Whether the connection must be closed after this response.
    pub fn must_close(&self) -> bool {
        self.must_close
    }

    /// Force the connection to close after this response.
    pub fn set_must_close(&mut self) {
        self.must_close = true;
    }

    /// The Content-Length the app declared, if any.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The app's response headers (after validation), for the access log.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Record the app's status and headers (the checks of `start_response`).
    pub fn start(&mut self, status: &Bound<'_, PyAny>, headers: &Bound<'_, PyAny>) -> PyResult<()> {
        let status: String =
            status.cast::<PyString>().map_err(|_| PyTypeError::new_err("status must be a str"))?.to_str()?.to_string();
        let code = parse_status(&status).map_err(|_| PyValueError::new_err(format!("invalid status {status:?}")))?;
        let list = headers.cast::<PyList>().map_err(|_| PyTypeError::new_err("headers must be a list"))?;
        let mut parsed = Vec::with_capacity(list.len() + 2);
        let (mut has_server, mut has_date, mut content_length, mut must_close) = (false, false, None, false);
        for item in list.iter() {
            let pair = item.cast::<PyTuple>().map_err(|_| PyTypeError::new_err("each header must be a tuple"))?;
            if pair.len() != 2 {
                return Err(PyTypeError::new_err("each header must be a (name, value) tuple"));
            }
            let name = pair.get_item(0)?;
            let value = pair.get_item(1)?;
            let name =
                name.cast::<PyString>().map_err(|_| PyTypeError::new_err("header names must be str"))?.to_str()?;
            let value = value
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err(format!("header {name:?} value must be a str")))?
                .to_str()?;
            if !is_valid_header_name(name) {
                return Err(PyValueError::new_err(format!("invalid header name {name:?}")));
            }
            if !is_valid_header_value(value) || value.chars().any(|c| c as u32 > 0xFF) {
                return Err(PyValueError::new_err(format!("invalid value for header {name:?}: {value:?}")));
            }
            let lname = name.to_ascii_lowercase();
            if HOP_BY_HOP.contains(&lname.as_str()) {
                if lname == "connection" && value.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")) {
                    must_close = true;
                }
                continue;
            }
            match lname.as_str() {
                "content-length" => {
                    let n = value
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| PyValueError::new_err(format!("invalid Content-Length header value {value:?}")))?;
                    if content_length.is_some_and(|prev| prev != n) {
                        return Err(PyValueError::new_err("conflicting Content-Length headers"));
                    }
                    if content_length.is_some() {
                        continue;
                    }
                    content_length = Some(n);
                }
                "server" => has_server = true,
                "date" => has_date = true,
                _ => {}
            }
            // As gunicorn 27 (RFC 9110 5.5): no leading or trailing whitespace in field values.
            // Django's cookies come as " csrftoken=…" from Morsel.output(header="").
            parsed.push((name.to_string(), value.trim_matches([' ', '\t']).to_string()));
        }
        self.status = Some(status);
        self.code = code;
        self.headers = parsed;
        self.has_server = has_server;
        self.has_date = has_date;
        self.content_length = content_length;
        if must_close {
            self.must_close = true;
        }
        Ok(())
    }

    fn body_allowed(&self) -> bool {
        status_allows_body(self.code) && !self.facts.is_head
    }

    /// The body length is known before anything was sent (a list result): announce it.
    pub fn set_known_length(&mut self, len: u64) {
        if !self.headers_sent && self.content_length.is_none() && self.body_allowed() {
            self.content_length = Some(len);
            self.headers.push(("Content-Length".to_string(), len.to_string()));
        }
    }

    /// Decide the framing and serialise the head.
    fn head(&mut self) -> PyResult<Vec<u8>> {
        let status =
            self.status.as_deref().ok_or_else(|| PyAssertionError::new_err("start_response was not called"))?;
        if self.content_length.is_none() && status_allows_body(self.code) && !self.facts.is_head {
            if self.facts.version == Version::Http11 {
                self.chunked = true;
            } else {
                self.must_close = true;
            }
        }
        if !self.must_close && self.transport.as_ref().is_some_and(|t| t.closing()) {
            self.must_close = true;
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(self.facts.version.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.as_bytes());
        out.extend_from_slice(b"\r\n");
        if !self.has_server {
            out.extend_from_slice(b"Server: rgunicorn\r\n");
        }
        if !self.has_date {
            out.extend_from_slice(b"Date: ");
            push_http_date(&mut out);
            out.extend_from_slice(b"\r\n");
        }
        if self.must_close {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if self.facts.version == Version::Http10 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        if self.chunked {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            push_latin1(&mut out, value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }

    /// Send body blocks (the head first, in the same system call, if it has not gone out).
    pub fn write(&mut self, py: Python<'_>, blocks: &[&[u8]]) -> PyResult<()> {
        let mut head = Vec::new();
        if !self.headers_sent {
            if blocks.iter().all(|b| b.is_empty()) {
                return Ok(());
            }
            head = self.head()?;
            self.headers_sent = true;
        }
        // Blocks cut to what the declared Content-Length still allows.
        let mut body: Vec<&[u8]> = Vec::with_capacity(blocks.len());
        if self.body_allowed() {
            let mut budget = self.content_length.map(|cl| cl.saturating_sub(self.body_sent));
            for block in blocks.iter().filter(|b| !b.is_empty()) {
                let block = match budget.as_mut() {
                    Some(0) => break,
                    Some(left) => {
                        let cut = &block[..block.len().min(usize::try_from(*left).unwrap_or(usize::MAX))];
                        *left -= cut.len() as u64;
                        cut
                    }
                    None => block,
                };
                body.push(block);
            }
        }
        // Every chunk-size line goes into one buffer, written without formatting machinery.
        let mut frames = Vec::new();
        let mut frame_ends = Vec::with_capacity(if self.chunked { body.len() } else { 0 });
        if self.chunked {
            for block in &body {
                write_chunk_header(&mut frames, block.len());
                frame_ends.push(frames.len());
            }
        }
        let mut out: Vec<&[u8]> = Vec::with_capacity(body.len() * 3 + 1);
        out.push(&head);
        for (i, block) in body.iter().enumerate() {
            if self.chunked {
                let start = if i == 0 { 0 } else { frame_ends[i - 1] };
                out.push(&frames[start..frame_ends[i]]);
                out.push(block);
                out.push(b"\r\n");
            } else {
                out.push(block);
            }
            self.body_sent += block.len() as u64;
        }
        let transport = self.transport()?;
        transport.send_all(py, &out).inspect_err(|_| self.must_close = true)
    }

    /// Send a file's bytes with sendfile(2): the head first, then `count` bytes from `offset`.
    /// Returns false if the transport cannot sendfile (nothing was sent then).
    pub fn sendfile(&mut self, py: Python<'_>, fd: i32, offset: u64, count: u64) -> PyResult<bool> {
        if !self.transport()?.can_sendfile() {
            return Ok(false);
        }
        let count = match self.content_length {
            Some(cl) => count.min(cl.saturating_sub(self.body_sent)),
            None => count,
        };
        if !self.headers_sent {
            if self.content_length.is_none() {
                self.set_known_length(count);
            }
            let head = self.head()?;
            self.transport()?.send_all(py, &[&head])?;
            self.headers_sent = true;
        }
        if !self.body_allowed() || count == 0 {
            return Ok(true);
        }
        if self.chunked {
            let mut frame = Vec::with_capacity(20);
            write_chunk_header(&mut frame, usize::try_from(count).unwrap_or(usize::MAX));
            self.transport()?.send_all(py, &[&frame])?;
        }
        let sent = match self.transport()?.sendfile(py, fd, offset, count)? {
            Some(n) => n,
            None if self.body_sent == 0 && !self.chunked => return Ok(false),
            None => return Err(PyRuntimeError::new_err("sendfile unavailable after the head was sent")),
        };
        self.body_sent += sent;
        if sent < count {
            // The file shrank under us: the declared length cannot be met.
            self.must_close = true;
            return Ok(true);
        }
        if self.chunked {
            self.transport()?.send_all(py, &[b"\r\n"])?;
        }
        Ok(true)
    }

    /// End the response: send the head if no body block did, and the last chunk.
    pub fn finish(&mut self, py: Python<'_>) -> PyResult<()> {
        if !self.headers_sent {
            if self.content_length.is_none() && self.body_allowed() {
                self.set_known_length(0);
            }
            let head = self.head()?;
            self.headers_sent = true;
            self.transport()?.send_all(py, &[&head])?;
        } else if self.chunked && self.body_allowed() {
            self.transport()?.send_all(py, &[b"0\r\n\r\n"])?;
        }
        if self.body_allowed() && self.content_length.is_some_and(|cl| self.body_sent < cl) {
            // Fewer bytes than announced: only closing tells the client the response is over.
            self.must_close = true;
        }
        Ok(())
    }
}

fn push_latin1(out: &mut Vec<u8>, value: &str) {
    if value.is_ascii() {
        out.extend_from_slice(value.as_bytes());
    } else {
        // Checked in `start`: every char is ≤ U+00FF, i.e. one latin-1 byte.
        out.extend(value.chars().map(|c| c as u32 as u8));
    }
}

/// The `start_response` callable handed to the app; its `write` method is the PEP 3333 `write()`.
#[pyclass(module = "rgunicorn._rgunicorn", name = "StartResponse", frozen)]
pub struct StartResponse {
    writer: Arc<Mutex<ResponseWriter>>,
}

impl StartResponse {
    /// Wrap a shared writer.
    pub fn new(writer: Arc<Mutex<ResponseWriter>>) -> Self {
        StartResponse { writer }
    }

    fn lock(&self) -> PyResult<MutexGuard<'_, ResponseWriter>> {
        lock_writer(&self.writer)
    }
}

/// Lock a writer from Python-facing code. Sending happens with the lock held and the GIL released,
/// so a second thread writing the same response would deadlock against the GIL: refuse it instead.
pub fn lock_writer(writer: &Mutex<ResponseWriter>) -> PyResult<MutexGuard<'_, ResponseWriter>> {
    match writer.try_lock() {
        Ok(guard) => Ok(guard),
        Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => {
            Err(PyRuntimeError::new_err("the response is being written by another thread"))
        }
    }
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, headers, exc_info=None))]
    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        status: &Bound<'py, PyAny>,
        headers: &Bound<'py, PyAny>,
        exc_info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        let mut writer = this.lock()?;
        let exc_info = exc_info.filter(|e| !e.is_none());
        if let Some(info) = exc_info {
            if writer.headers_sent() {
                // PEP 3333: too late to change the status; re-raise the app's exception.
                let value = info.get_item(1)?;
                drop(writer);
                return Err(PyErr::from_value(value));
            }
        } else if writer.started() {
            return Err(PyAssertionError::new_err("start_response called a second time without exc_info"));
        }
        writer.start(status, headers)?;
        drop(writer);
        slf.getattr("write")
    }

    /// PEP 3333's `write(data)`: send a block now (the legacy imperative API).
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes =
            data.cast::<pyo3::types::PyBytes>().map_err(|_| PyTypeError::new_err("write() argument must be bytes"))?;
        let mut writer = self.lock()?;
        if !writer.started() {
            return Err(PyAssertionError::new_err("write() called before start_response"));
        }
        let block = bytes.as_bytes();
        if block.is_empty() {
            return Ok(());
        }
        writer.write(py, &[block])
    }
}
