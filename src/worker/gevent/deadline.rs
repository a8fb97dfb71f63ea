//! `--request-timeout` under gevent: a hub timer per request. When it fires, the client gets a
//! 504 (or, if the response had started, a closed connection) and the error log shows where the
//! request's greenlet is. As with gthread the app is not interrupted: it runs on until it
//! returns, but nothing it sends goes out, and its reads of the body fail.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::hub::Hub;
use super::transport::GeventTransport;
use crate::http::RequestHead;

/// The timer's callback for one request (called from the hub, where it must not wait).
#[pyclass(module = "rgunicorn._rgunicorn", name = "GeventRequestDeadline", frozen)]
pub struct RequestDeadline {
    transport: Arc<GeventTransport>,
    greenlet: Py<PyAny>,
    request: String,
    started: Instant,
}

#[pymethods]
impl RequestDeadline {
    fn __call__(&self, py: Python<'_>) {
        let answered = self.transport.time_out(py);
        let what = if answered { "answered 504" } else { "closed the connection (the response had started)" };
        let stack =
            greenlet_stack(py, self.greenlet.bind(py)).unwrap_or_else(|e| format!("(stack unavailable: {e})\n"));
        crate::error!(
            "Request timeout ({:.1}s): {} in greenlet {:#x}; {what}. The app is still running it at:\n{}",
            self.started.elapsed().as_secs_f64(),
            self.request,
            self.greenlet.as_ptr() as usize,
            stack.trim_end()
        );
    }
}

/// A started deadline; [`Armed::disarm`] it when the request is done.
pub struct Armed {
    timer: Py<PyAny>,
}

impl Armed {
    /// Stop the timer (a no-op if it already fired).
    pub fn disarm(self, py: Python<'_>) {
        if let Err(err) = self.timer.bind(py).call_method0("close") {
            crate::debug!("Cannot stop a request deadline: {err}");
        }
    }
}

/// Start the deadline of `head`, served in the running greenlet over `transport`.
pub fn arm(
    py: Python<'_>,
    hub: &Hub,
    timeout: Duration,
    transport: &Arc<GeventTransport>,
    head: &RequestHead,
) -> PyResult<Armed> {
    let callback = RequestDeadline {
        transport: transport.clone(),
        greenlet: hub.current_greenlet(py)?,
        request: format!("{} {}", head.method, head.uri),
        started: Instant::now(),
    };
    let timer = hub.call_later(py, timeout, Bound::new(py, callback)?.into_any())?;
    Ok(Armed { timer })
}

/// Where a suspended greenlet is, formatted as `traceback.format_stack` does.
fn greenlet_stack(py: Python<'_>, greenlet: &Bound<'_, PyAny>) -> PyResult<String> {
    let frame = greenlet.getattr("gr_frame")?;
    if frame.is_none() {
        return Ok("(no Python frame: it is waiting for the client)\n".to_string());
    }
    let lines = py.import("traceback")?.call_method1("format_stack", (frame,))?;
    PyString::new(py, "").call_method1("join", (lines,))?.extract()
}
