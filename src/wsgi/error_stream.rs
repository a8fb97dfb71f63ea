//! `wsgi.errors`: a text stream whose writes go to the error log.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// `wsgi.errors`: text written here goes to the error log.
#[pyclass(module = "rgunicorn._rgunicorn", name = "ErrorStream", frozen)]
pub struct ErrorStream;

#[pymethods]
impl ErrorStream {
    fn write(&self, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let text: String = match data.cast::<PyBytes>() {
            Ok(b) => String::from_utf8_lossy(b.as_bytes()).into_owned(),
            Err(_) => data.str()?.to_string(),
        };
        crate::logging::write_raw(text.as_bytes());
        Ok(text.len())
    }

    fn writelines(&self, lines: &Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            self.write(&line?)?;
        }
        Ok(())
    }

    fn flush(&self) {}
}
