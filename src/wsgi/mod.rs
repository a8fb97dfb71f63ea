//! WSGI glue: call the app for one parsed request and stream its response back (PEP 3333).

pub mod environ;
pub mod error_stream;
pub mod file_wrapper;
pub mod input;
pub mod request_hooks;
pub mod response;

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyConnectionError, PyKeyboardInterrupt, PySystemExit, PyTimeoutError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::errors::format_traceback;
use crate::http::response::{error_response, simple_response};
use crate::http::RequestHead;
use crate::io::transport::Transport;
use environ::{Peer, ServerInfo};
use file_wrapper::{sendfile_source, FileWrapper};
use input::{BodyReader, WsgiInput};
use response::{lock_writer, RequestFacts, ResponseWriter, StartResponse};

/// How much of an unread request body the worker reads and discards to keep a connection alive.
const DRAIN_BUDGET: usize = 1 << 20;

/// Worker-wide switches for serving requests.
pub struct ServeOptions {
    /// The worker keeps connections open between requests.
    pub keep_alive: bool,
    /// `wsgi.file_wrapper` may use sendfile(2).
    pub sendfile: bool,
    /// `pre_request` / `post_request`, when the config file defines them.
    pub hooks: Option<Arc<request_hooks::RequestHooks>>,
}

/// What happened, for the access log and for the connection loop.
#[derive(Debug)]
pub struct Outcome {
    /// The status sent (500 when the app failed before its headers, 0 if nothing was sent).
    pub code: u16,
    /// Body bytes sent.
    pub body_sent: u64,
    /// The connection may carry another request.
    pub keep_alive: bool,
    /// Bytes already received that belong to the next request.
    pub leftover: Vec<u8>,
    /// The whole request body was read (closing now will not reset the connection).
    pub body_complete: bool,
}

/// Call `app` for `head` and send its response. Returns `Err` only for `SystemExit` and
/// `KeyboardInterrupt` (the worker must stop); every other failure is logged and answered here.
#[allow(clippy::too_many_arguments)]
pub fn serve(
    py: Python<'_>,
    app: &Bound<'_, PyAny>,
    info: &ServerInfo,
    opts: &ServeOptions,
    head: &RequestHead,
    already: Vec<u8>,
    transport: Arc<dyn Transport>,
    peer: &Peer,
) -> PyResult<Outcome> {
    let body = Arc::new(Mutex::new(BodyReader::new(transport.clone(), head.framing, already, head.expect_continue)));
    let facts = RequestFacts {
        version: head.version,
        is_head: head.method == "HEAD",
        keep_alive: opts.keep_alive && head.keep_alive,
    };
    let writer = Arc::new(Mutex::new(ResponseWriter::new(transport.clone(), facts)));
    let outcome = call_app(py, app, info, opts, head, &transport, peer, &body, &writer);
    // The app may keep wsgi.input or start_response alive (exception cycles, globals): cut their
    // hold on the socket so the connection closes when the worker is done with it.
    lock_body(&body).release();
    lock_writer(&writer)?.release();
    outcome
}

/// A malformed chunked body is read ahead of the app up to this many decoded bytes, so the
/// client gets its 400 and the app never sees the request; larger bodies stream.
const CHUNKED_PREFETCH: usize = 1 << 20;

#[allow(clippy::too_many_arguments)]
fn call_app(
    py: Python<'_>,
    app: &Bound<'_, PyAny>,
    info: &ServerInfo,
    opts: &ServeOptions,
    head: &RequestHead,
    transport: &Arc<dyn Transport>,
    peer: &Peer,
    body: &Arc<Mutex<BodyReader>>,
    writer: &Arc<Mutex<ResponseWriter>>,
) -> PyResult<Outcome> {
    let started = std::time::Instant::now();
    let https = match info.https(head, peer) {
        Ok(https) => https,
        Err(http_err) => {
            crate::debug!("Invalid request {}: {}", head.uri, http_err.detail());
            let _ = transport.send_all(py, &[&error_response(&http_err)]);
            return Ok(closed_outcome(http_err.status(), false));
        }
    };
    if head.framing == crate::http::BodyFraming::Chunked {
        let prefetched = lock_body(body).prefetch(py, CHUNKED_PREFETCH);
        if let Err(err) = prefetched {
            return reject_body(py, head, transport, body, err);
        }
    }
    let hook_req = match &opts.hooks {
        Some(hooks) => {
            let req = hooks.request_object(py, head)?;
            hooks.pre_request(py, &req);
            Some(req)
        }
        None => None,
    };
    let input = Bound::new(py, WsgiInput::new(body.clone()))?;
    let start_response = Bound::new(py, StartResponse::new(writer.clone()))?;
    let mut environ_for_log = None;
    let result = info
        .environ(py, head, peer, https, transport.tls_facts().as_deref(), input.into_any())
        .inspect(|environ| environ_for_log = Some(environ.clone()))
        .and_then(|environ| app.call1((environ, start_response)))
        .and_then(|iterable| {
            let sent = send_iterable(py, &iterable, writer, opts);
            let closed = close_iterable(&iterable);
            sent.and(closed)
        })
        .and_then(|()| lock_writer(writer)?.finish(py));

    let mut writer = lock_writer(writer)?;
    if let (Some(hooks), Some(req)) = (&opts.hooks, &hook_req) {
        let code = if result.is_err() && !writer.headers_sent() { 500 } else { writer.code() };
        hooks.post_request(py, req, environ_for_log.as_ref(), code, writer.headers(), writer.body_sent());
    }
    if let Err(err) = result {
        if is_fatal(py, &err) {
            return Err(err);
        }
        writer.set_must_close();
        let body_error = lock_body(body).http_error().cloned();
        if let (Some(http_err), false) = (&body_error, writer.headers_sent()) {
            // The app tripped over a malformed body it was streaming: the client's fault, not the app's.
            crate::debug!("Invalid request body on {}: {}", head.uri, http_err.detail());
            let _ = transport.send_all(py, &[&error_response(http_err)]);
            log_access(py, head, peer, environ_for_log.as_ref(), http_err.status(), 0, &[], started);
            return Ok(closed_outcome(http_err.status(), false));
        }
        if err.is_instance_of::<PyConnectionError>(py)
            || err.is_instance_of::<PyTimeoutError>(py)
            || body_error.is_some()
        {
            crate::debug!("Ignoring connection error on {}: {}", head.uri, err);
        } else {
            crate::error!("Error handling request {}\n{}", head.uri, format_traceback(py, &err).trim_end());
            if !writer.headers_sent() {
                let response = simple_response(500, "Internal Server Error", "Internal Server Error");
                let _ = transport.send_all(py, &[&response]);
                log_access(py, head, peer, environ_for_log.as_ref(), 500, 0, &[], started);
                return Ok(closed_outcome(500, lock_body(body).is_complete()));
            }
        }
    }
    log_access(py, head, peer, environ_for_log.as_ref(), writer.code(), writer.body_sent(), writer.headers(), started);
    let mut body = lock_body(body);
    let mut keep_alive = !writer.must_close();
    if keep_alive && !body.is_complete() {
        keep_alive = body.continue_sent() && body.drain(py, DRAIN_BUDGET);
    }
    let leftover = if keep_alive { body.take_leftover() } else { Vec::new() };
    let body_complete = body.is_complete();
    Ok(Outcome { code: writer.code(), body_sent: writer.body_sent(), keep_alive, leftover, body_complete })
}

/// The chunked body failed before the app was called: answer its 4xx (or nothing, if the client
/// went away) and close.
fn reject_body(
    py: Python<'_>,
    head: &RequestHead,
    transport: &Arc<dyn Transport>,
    body: &Arc<Mutex<BodyReader>>,
    err: PyErr,
) -> PyResult<Outcome> {
    if is_fatal(py, &err) {
        return Err(err);
    }
    match lock_body(body).http_error().cloned() {
        Some(http_err) => {
            crate::debug!("Invalid request body on {}: {}", head.uri, http_err.detail());
            let _ = transport.send_all(py, &[&error_response(&http_err)]);
            Ok(closed_outcome(http_err.status(), false))
        }
        None => {
            crate::debug!("Client went away while sending the body of {}: {}", head.uri, err);
            Ok(closed_outcome(0, false))
        }
    }
}

fn closed_outcome(code: u16, body_complete: bool) -> Outcome {
    Outcome { code, body_sent: 0, keep_alive: false, leftover: Vec::new(), body_complete }
}

fn is_fatal(py: Python<'_>, err: &PyErr) -> bool {
    err.is_instance_of::<PySystemExit>(py) || err.is_instance_of::<PyKeyboardInterrupt>(py)
}

fn lock_body(body: &Mutex<BodyReader>) -> std::sync::MutexGuard<'_, BodyReader> {
    body.lock().unwrap_or_else(|p| p.into_inner())
}

/// Write the access-log line, if the access log is on: facts gathered here, the line formatted
/// and written with the GIL released.
#[allow(clippy::too_many_arguments)]
fn log_access(
    py: Python<'_>,
    head: &RequestHead,
    peer: &Peer,
    environ: Option<&Bound<'_, pyo3::types::PyDict>>,
    status: u16,
    sent: u64,
    response_headers: &[(String, String)],
    started: std::time::Instant,
) {
    crate::logging::statsd::request(status, started.elapsed());
    let Some(format) = crate::logging::access::format() else { return };
    let mut environ_values = Vec::new();
    if let Some(env) = environ {
        for (key, value) in env.iter() {
            let Ok(key) = key.extract::<String>() else { continue };
            let lower = key.to_ascii_lowercase();
            if format.environ_keys().contains(&lower) {
                let text = value.str().map(|s| s.to_string()).unwrap_or_default();
                environ_values.push((lower, text));
            }
        }
    }
    let remote = match peer {
        Peer::Inet(sa) => sa.ip().to_string(),
        Peer::Unix => String::new(),
    };
    let path_info = crate::http::uri::percent_decode_latin1(&head.path);
    let record = crate::logging::record::Record {
        remote_addr: &remote,
        method: &head.method,
        raw_uri: &head.uri,
        protocol: head.version.as_str(),
        path_info: &path_info,
        query: &head.query,
        status,
        sent,
        request_headers: &head.headers,
        response_headers,
        environ: environ_values,
        duration: started.elapsed(),
    };
    if crate::logging::logger_class::active() {
        // The logger class gets the app's own environ, as under gunicorn (the GIL is held anyway).
        crate::logging::logger_class::forward_access_with(py, &record, environ);
        return;
    }
    py.detach(|| crate::logging::access::write(&record));
}

/// Send every block of the app's iterable: sendfile for a `FileWrapper` over a real file,
/// one vectored write for a list or tuple, block by block otherwise.
fn send_iterable(
    py: Python<'_>,
    iterable: &Bound<'_, PyAny>,
    writer: &Mutex<ResponseWriter>,
    opts: &ServeOptions,
) -> PyResult<()> {
    if let Ok(wrapper) = iterable.cast::<FileWrapper>() {
        if opts.sendfile {
            let filelike = wrapper.get().filelike.bind(py);
            if let Some((fd, offset, count)) = sendfile_source(py, filelike) {
                if lock_writer(writer)?.sendfile(py, fd, offset, count)? {
                    return Ok(());
                }
            }
        }
    }
    if iterable.is_instance_of::<PyList>() || iterable.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = iterable.try_iter()?.collect::<PyResult<_>>()?;
        let mut blocks = Vec::with_capacity(items.len());
        for item in &items {
            blocks.push(as_block(item)?);
        }
        let mut writer = lock_writer(writer)?;
        if !writer.started() {
            return Err(pyo3::exceptions::PyAssertionError::new_err("the app returned without calling start_response"));
        }
        writer.set_known_length(blocks.iter().map(|b| b.len() as u64).sum());
        return writer.write(py, &blocks);
    }
    for item in iterable.try_iter()? {
        let item = item?;
        let block = as_block(&item)?;
        let mut writer = lock_writer(writer)?;
        if !writer.started() {
            return Err(pyo3::exceptions::PyAssertionError::new_err(
                "the app yielded data before calling start_response",
            ));
        }
        writer.write(py, &[block])?;
    }
    Ok(())
}

fn as_block<'a>(item: &'a Bound<'_, PyAny>) -> PyResult<&'a [u8]> {
    match item.cast::<PyBytes>() {
        Ok(bytes) => Ok(bytes.as_bytes()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "the response iterable must yield bytes, not {}",
            item.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))),
    }
}

/// PEP 3333: the server calls the iterable's `close()` whatever happened.
fn close_iterable(iterable: &Bound<'_, PyAny>) -> PyResult<()> {
    // A list or tuple has no close(); asking would build and throw away an AttributeError.
    if iterable.is_exact_instance_of::<PyList>() || iterable.is_exact_instance_of::<PyTuple>() {
        return Ok(());
    }
    if iterable.hasattr(pyo3::intern!(iterable.py(), "close"))? {
        iterable.call_method0(pyo3::intern!(iterable.py(), "close"))?;
    }
    Ok(())
}
