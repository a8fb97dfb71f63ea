//! Routing records to Python's `logging` (loggers `gunicorn.error` and `gunicorn.access`) when
//! the user configured it (`--log-config`, `logconfig_dict`, `--log-config-json`) or asked for
//! syslog. With a logging config, Python's handlers replace rgunicorn's own writers; with syslog
//! alone, records go to both.

use std::sync::atomic::{AtomicU8, Ordering};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use super::Level;

const OFF: u8 = 0;
const REPLACE: u8 = 1;
const ALSO: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(OFF);
static ERROR_ACCESS_TOO: AtomicU8 = AtomicU8::new(1);
static ERROR_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static ACCESS_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// What the Python side needs to set logging up.
pub struct PythonLogging<'a> {
    /// Error log level name.
    pub loglevel: &'a str,
    /// `--log-config` (fileConfig).
    pub logconfig: Option<&'a str>,
    /// `logconfig_dict` from the config file, as a Python dict.
    pub logconfig_dict: Option<Bound<'a, PyAny>>,
    /// `--log-config-json`.
    pub logconfig_json: Option<&'a str>,
    /// `--log-syslog`: (address, facility, prefix, send the access log too).
    pub syslog: Option<(&'a str, &'a str, &'a str, bool)>,
}

/// Configure Python logging and start routing records to it. Call in the master before forking.
pub fn configure(py: Python<'_>, setup: PythonLogging<'_>) -> PyResult<()> {
    let module = py.import("rgunicorn._logging")?;
    let has_config = setup.logconfig.is_some() || setup.logconfig_dict.is_some() || setup.logconfig_json.is_some();
    if has_config {
        module
            .call_method1("configure", (setup.loglevel, setup.logconfig, setup.logconfig_dict, setup.logconfig_json))?;
    }
    if let Some((addr, facility, prefix, access_too)) = setup.syslog {
        module.call_method1("add_syslog", (addr, facility, prefix, access_too))?;
        ERROR_ACCESS_TOO.store(u8::from(access_too), Ordering::Relaxed);
    }
    let logging = py.import("logging")?;
    let _ = ERROR_LOGGER.set(py, logging.call_method1("getLogger", ("gunicorn.error",))?.unbind());
    let _ = ACCESS_LOGGER.set(py, logging.call_method1("getLogger", ("gunicorn.access",))?.unbind());
    let mode = if has_config {
        REPLACE
    } else if setup.syslog.is_some() {
        ALSO
    } else {
        OFF
    };
    MODE.store(mode, Ordering::Relaxed);
    Ok(())
}

/// Whether Python handlers replace rgunicorn's own log writers.
pub fn replaces_writers() -> bool {
    MODE.load(Ordering::Relaxed) == REPLACE
}

/// Whether records go to Python at all.
pub fn active() -> bool {
    MODE.load(Ordering::Relaxed) != OFF
}

fn python_level(level: Level) -> i32 {
    level as i32
}

/// `extra={"rgunicorn_forwarded": True}`: rgunicorn already wrote this record itself, so the
/// handlers that write to rgunicorn's files (`rgunicorn.glogging`) skip it.
fn forwarded_marker(py: Python<'_>) -> Option<Bound<'_, pyo3::types::PyDict>> {
    let extra = pyo3::types::PyDict::new(py);
    extra.set_item("rgunicorn_forwarded", true).ok()?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("extra", extra).ok()?;
    Some(kwargs)
}

/// Hand an error-log record to `gunicorn.error`.
pub fn forward_error(level: Level, message: &str) {
    if !active() {
        return;
    }
    Python::attach(|py| {
        if let Some(logger) = ERROR_LOGGER.get(py) {
            let _ = logger.bind(py).call_method("log", (python_level(level), message), forwarded_marker(py).as_ref());
        }
    });
}

/// Hand an access line to `gunicorn.access`.
pub fn forward_access(line: &str) {
    if !active() || (MODE.load(Ordering::Relaxed) == ALSO && ERROR_ACCESS_TOO.load(Ordering::Relaxed) == 0) {
        return;
    }
    Python::attach(|py| {
        if let Some(logger) = ACCESS_LOGGER.get(py) {
            let _ = logger.bind(py).call_method("info", (line,), forwarded_marker(py).as_ref());
        }
    });
}
