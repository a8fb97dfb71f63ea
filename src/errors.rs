//! Exit codes shared by master and workers, and the Python traceback text that goes to the error log.

use pyo3::prelude::*;

/// A worker could not boot (gunicorn's `WORKER_BOOT_ERROR`): the master stops instead of respawning.
pub const WORKER_BOOT_ERROR: i32 = 3;
/// The app could not be loaded (gunicorn's `APP_LOAD_ERROR`): the master stops instead of respawning.
pub const APP_LOAD_ERROR: i32 = 4;

/// The full traceback of `err` as `traceback.format_exception` prints it.
pub fn format_traceback(py: Python<'_>, err: &PyErr) -> String {
    let formatted = (|| -> PyResult<String> {
        let tb = py.import("traceback")?;
        let lines = tb.call_method1("format_exception", (err.get_type(py), err.value(py), err.traceback(py)))?;
        let joined = pyo3::types::PyString::new(py, "").call_method1("join", (lines,))?;
        joined.extract()
    })();
    formatted.unwrap_or_else(|_| format!("{err}\n"))
}

/// The last line of a traceback: `ModuleNotFoundError: No module named 'x'`.
pub fn exception_line(py: Python<'_>, err: &PyErr) -> String {
    let name = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".to_string());
    let msg = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    if msg.is_empty() {
        name
    } else {
        format!("{name}: {msg}")
    }
}
