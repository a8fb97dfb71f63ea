//! What a worker serves under `--reload` while the app cannot be imported: 500 with the
//! traceback as text (gunicorn's `util.make_fail_app`), until the next good save replaces it.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

/// A WSGI app that answers every request with `500 Internal Server Error` and `body`.
#[pyclass(module = "rgunicorn._rgunicorn", frozen)]
pub struct FailApp {
    body: Vec<u8>,
}

impl FailApp {
    /// An app showing `traceback`.
    pub fn new(traceback: &str) -> FailApp {
        FailApp { body: traceback.as_bytes().to_vec() }
    }
}

#[pymethods]
impl FailApp {
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        _environ: &Bound<'py, PyAny>,
        start_response: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let headers = vec![("Content-Type", "text/plain".to_string()), ("Content-Length", self.body.len().to_string())];
        start_response.call1(("500 Internal Server Error", headers))?;
        PyList::new(py, [PyBytes::new(py, &self.body)])
    }
}
