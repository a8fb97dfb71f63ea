//! The `log` object hooks and apps see (`server.log.info(...)`), writing to the error log; and
//! the functions through which Python's logging handlers of plug-in workers
//! (`rgunicorn.glogging`) write to rgunicorn's log files.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::{emit, Level};

/// gunicorn's logger interface: `debug`, `info`, `warning`, `error`, `critical`, `exception`.
#[pyclass(module = "rgunicorn._rgunicorn", name = "Logger", frozen)]
pub struct PyLogger;

fn render(msg: &Bound<'_, PyAny>, args: &Bound<'_, PyTuple>) -> PyResult<String> {
    let text = if args.is_empty() { msg.str()? } else { msg.str()?.call_method1("__mod__", (args,))?.str()? };
    Ok(text.to_string())
}

#[pymethods]
impl PyLogger {
    #[pyo3(signature = (msg, *args, **_kwargs))]
    fn debug(
        &self,
        msg: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        emit(Level::Debug, format_args!("{}", render(msg, args)?));
        Ok(())
    }

    #[pyo3(signature = (msg, *args, **_kwargs))]
    fn info(
        &self,
        msg: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        emit(Level::Info, format_args!("{}", render(msg, args)?));
        Ok(())
    }

    #[pyo3(signature = (msg, *args, **_kwargs))]
    fn warning(
        &self,
        msg: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        emit(Level::Warning, format_args!("{}", render(msg, args)?));
        Ok(())
    }

    #[pyo3(signature = (msg, *args, **_kwargs))]
    fn error(
        &self,
        msg: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        emit(Level::Error, format_args!("{}", render(msg, args)?));
        Ok(())
    }

    #[pyo3(signature = (msg, *args, **_kwargs))]
    fn critical(
        &self,
        msg: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        emit(Level::Critical, format_args!("{}", render(msg, args)?));
        Ok(())
    }

    /// `error` plus the traceback of the exception being handled.
    #[pyo3(signature = (msg, *args, **_kwargs))]
    fn exception(
        &self,
        py: Python<'_>,
        msg: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let tb: String = py.import("traceback")?.call_method0("format_exc")?.extract()?;
        emit(Level::Error, format_args!("{}\n{}", render(msg, args)?, tb.trim_end()));
        Ok(())
    }

    /// Reopen the log files (USR1 does this too).
    fn reopen_files(&self) {
        super::reopen_all();
    }
}

/// Write a record Python already formatted to the error log (`rgunicorn.glogging`'s handler).
#[pyfunction]
pub fn write_error_line(py: Python<'_>, levelno: i32, line: &str) {
    py.detach(|| super::write_formatted(Level::from_python(levelno), line));
}

/// Write a formatted line to the access log (`rgunicorn.glogging`'s handler).
#[pyfunction]
pub fn write_access_line(py: Python<'_>, line: &str) {
    py.detach(|| super::access::write_line(line));
}

/// Reopen rgunicorn's own log files (a plug-in's `log.reopen_files()`).
#[pyfunction]
pub fn reopen_logs() {
    super::reopen_own_files();
}

/// Whether a logging configuration (`--log-config`, `logconfig_dict`, `--log-config-json`) owns
/// the `gunicorn.error` and `gunicorn.access` handlers.
#[pyfunction]
pub fn python_logging_configured() -> bool {
    super::python::replaces_writers()
}
