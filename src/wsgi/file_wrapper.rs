//! `wsgi.file_wrapper`: wraps a file-like object; the worker sends it with sendfile(2) when it has
//! a real file descriptor, and otherwise iterates it in blocks.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// PEP 3333's optional platform-specific file handling.
#[pyclass(module = "rgunicorn._rgunicorn", name = "FileWrapper", frozen)]
pub struct FileWrapper {
    /// The wrapped file-like object.
    pub filelike: Py<PyAny>,
    /// Block size for reads when sendfile cannot be used.
    pub blksize: usize,
}

#[pymethods]
impl FileWrapper {
    #[new]
    #[pyo3(signature = (filelike, blksize=8192))]
    fn py_new(filelike: Py<PyAny>, blksize: usize) -> Self {
        FileWrapper { filelike, blksize: blksize.max(1) }
    }

    #[getter]
    fn filelike(&self, py: Python<'_>) -> Py<PyAny> {
        self.filelike.clone_ref(py)
    }

    #[getter]
    fn blksize(&self) -> usize {
        self.blksize
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let data = self.filelike.bind(py).call_method1("read", (self.blksize,))?;
        let empty = match data.cast::<PyBytes>() {
            Ok(b) => b.as_bytes().is_empty(),
            Err(_) => data.len().unwrap_or(0) == 0,
        };
        Ok((!empty).then_some(data))
    }

    /// Close the wrapped file, as PEP 3333 asks of the iterable's `close()`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let filelike = self.filelike.bind(py);
        if filelike.hasattr("close")? {
            filelike.call_method0("close")?;
        }
        Ok(())
    }
}

/// The descriptor, offset and size left for sendfile, when `filelike` is a real regular file.
pub fn sendfile_source(py: Python<'_>, filelike: &Bound<'_, PyAny>) -> Option<(i32, u64, u64)> {
    let _ = py;
    let fd: i32 = filelike.call_method0("fileno").ok()?.extract().ok()?;
    // Flush Python-side buffering so the descriptor's offset is the logical one.
    if filelike.hasattr("flush").unwrap_or(false) {
        let _ = filelike.call_method0("flush");
    }
    let borrowed = {
        // SAFETY: the file object owns fd and stays alive (we hold a reference) during this call.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
    };
    let stat = nix::sys::stat::fstat(borrowed).ok()?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFREG {
        return None;
    }
    let offset = match filelike.call_method0("tell").ok().and_then(|t| t.extract::<u64>().ok()) {
        Some(pos) => pos,
        None => nix::unistd::lseek(borrowed, 0, nix::unistd::Whence::SeekCur).ok()? as u64,
    };
    let size = u64::try_from(stat.st_size).ok()?;
    Some((fd, offset, size.saturating_sub(offset)))
}
