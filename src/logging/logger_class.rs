//! `logger_class`: a Python class with gunicorn's Logger interface (typically a subclass of
//! `gunicorn.glogging.Logger`) that writes the error and the access log instead of rgunicorn's
//! own writers, as it does under gunicorn. The master builds the one instance before forking;
//! workers inherit it. Error records go to its `debug`/`info`/…/`critical`, each request to its
//! `access(resp, req, environ, request_time)`, USR1 to its `reopen_files()`.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

use super::record::Record;
use super::Level;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Load `uri` (a dotted path, `egg:` entry point or class object) and build the logger with the
/// `cfg` object plug-in workers also get. From then on it writes every log record.
pub fn configure(py: Python<'_>, uri: &Bound<'_, PyAny>, cfg_object: &Bound<'_, PyAny>) -> PyResult<()> {
    let class = py.import("rgunicorn.glogging")?.call_method1("load_logger_class", (uri,))?;
    let logger = class.call1((cfg_object,))?;
    let _ = LOGGER.set(py, logger.unbind());
    ACTIVE.store(true, Ordering::Relaxed);
    Ok(())
}

/// Whether a `logger_class` writes the logs.
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// The configured logger, if any (the `log` plug-in workers get).
pub fn instance(py: Python<'_>) -> Option<Bound<'_, PyAny>> {
    LOGGER.get(py).map(|l| l.bind(py).clone())
}

/// Hand an error-log record to the logger's method for its level.
pub fn forward_error(level: Level, message: &str) {
    Python::attach(|py| {
        let Some(logger) = instance(py) else { return };
        if let Err(err) = logger.call_method1(level.method(), (message,)) {
            // Never through the error log itself: that is what just failed.
            let line = format!("logger_class {}() failed: {err}\n{message}\n", level.method());
            super::write_all_fd(libc::STDERR_FILENO, line.as_bytes());
        }
    });
}

/// Call the logger's `access()` for a request a Rust worker served, with an environ rebuilt from
/// the record (for requests that never got one: rejected, or failed before the app was called).
pub fn forward_access(rec: &Record<'_>) {
    Python::attach(|py| forward_access_with(py, rec, None));
}

/// Call the logger's `access()` with the environ the app was given, as gunicorn does, so keys
/// the app or its middleware added (`REMOTE_USER`, a request id) reach the logger.
pub fn forward_access_with(py: Python<'_>, rec: &Record<'_>, app_environ: Option<&Bound<'_, PyDict>>) {
    let Some(logger) = instance(py) else { return };
    if let Err(err) = call_access(py, &logger, rec, app_environ) {
        let line = format!("logger_class access() failed: {err}\n");
        super::write_all_fd(libc::STDERR_FILENO, line.as_bytes());
    }
}

fn call_access(
    py: Python<'_>,
    logger: &Bound<'_, PyAny>,
    rec: &Record<'_>,
    app_environ: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let request_headers = PyList::empty(py);
    for (name, value) in rec.request_headers {
        request_headers.append((name, latin1(value)))?;
    }
    let environ = match app_environ {
        Some(env) => env.clone(),
        None => rebuilt_environ(py, rec)?,
    };
    let response_headers = PyList::empty(py);
    for (name, value) in rec.response_headers {
        response_headers.append((name, value))?;
    }
    py.import("rgunicorn.glogging")?.call_method1(
        "log_access",
        (logger, rec.status, rec.sent, request_headers, response_headers, environ, rec.duration.as_micros() as u64),
    )?;
    Ok(())
}

/// The CGI keys, `HTTP_*` headers and the format's `{x}e` keys of a request that has no environ
/// of its own.
fn rebuilt_environ<'py>(py: Python<'py>, rec: &Record<'_>) -> PyResult<Bound<'py, PyDict>> {
    let environ = PyDict::new(py);
    environ.set_item("REQUEST_METHOD", rec.method)?;
    environ.set_item("RAW_URI", rec.raw_uri)?;
    environ.set_item("PATH_INFO", rec.path_info)?;
    environ.set_item("QUERY_STRING", rec.query)?;
    environ.set_item("SERVER_PROTOCOL", rec.protocol)?;
    environ.set_item("REMOTE_ADDR", rec.remote_addr)?;
    for (name, value) in rec.request_headers {
        let value = latin1(value);
        let key = format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_"));
        let joined = match environ.get_item(&key)? {
            Some(previous) => format!("{},{value}", previous.extract::<String>()?),
            None => value,
        };
        environ.set_item(key, joined)?;
    }
    for (key, value) in &rec.environ {
        if !environ.contains(key)? {
            environ.set_item(key, value)?;
        }
    }
    Ok(environ)
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// USR1: the logger reopens its files.
pub fn reopen_files() {
    if !active() {
        return;
    }
    Python::attach(|py| {
        if let Some(logger) = instance(py) {
            if let Err(err) = logger.call_method0("reopen_files") {
                let line = format!("logger_class reopen_files() failed: {err}\n");
                super::write_all_fd(libc::STDERR_FILENO, line.as_bytes());
            }
        }
    });
}
