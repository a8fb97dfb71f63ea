//! The `server` object of gunicorn's hooks: `pid`, `cfg`, `log`, `num_workers`, `WORKERS`,
//! `LISTENERS`, `proc_name`. The master keeps it current as workers come and go.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// A listening socket as hooks see it: `fileno()` and `str()`.
#[pyclass(module = "rgunicorn._rgunicorn", name = "Listener", frozen)]
pub struct ListenerObject {
    fd: i32,
    text: String,
}

#[pymethods]
impl ListenerObject {
    fn fileno(&self) -> i32 {
        self.fd
    }

    fn __str__(&self) -> String {
        self.text.clone()
    }

    fn __repr__(&self) -> String {
        format!("<Listener {}>", self.text)
    }
}

/// gunicorn's `Arbiter` as hooks see it.
#[pyclass(module = "rgunicorn._rgunicorn", name = "Arbiter", frozen)]
pub struct ServerObject {
    #[pyo3(get)]
    pid: u32,
    cfg: Mutex<Py<PyAny>>,
    #[pyo3(get)]
    log: Py<PyAny>,
    #[pyo3(get, name = "WORKERS")]
    workers: Py<PyDict>,
    #[pyo3(get, name = "LISTENERS")]
    listeners: Py<PyList>,
    num_workers: AtomicUsize,
    #[pyo3(get)]
    proc_name: String,
}

impl ServerObject {
    /// The server object for master `pid`.
    pub fn new(py: Python<'_>, pid: u32, cfg: Py<PyAny>, log: Py<PyAny>, proc_name: String) -> ServerObject {
        ServerObject {
            pid,
            cfg: Mutex::new(cfg),
            log,
            workers: PyDict::new(py).unbind(),
            listeners: PyList::empty(py).unbind(),
            num_workers: AtomicUsize::new(0),
            proc_name,
        }
    }

    /// Replace `cfg` after a reload.
    pub fn set_cfg(&self, cfg: Py<PyAny>) {
        *self.cfg.lock().unwrap_or_else(|p| p.into_inner()) = cfg;
    }

    /// The current `cfg` object.
    pub fn cfg_object(&self, py: Python<'_>) -> Py<PyAny> {
        self.cfg.lock().unwrap_or_else(|p| p.into_inner()).clone_ref(py)
    }

    /// Record the target number of workers.
    pub fn set_num_workers(&self, n: usize) {
        self.num_workers.store(n, Ordering::Relaxed);
    }

    /// The `WORKERS` dict (pid → worker object).
    pub fn workers<'py>(&self, py: Python<'py>) -> &Bound<'py, PyDict> {
        self.workers.bind(py)
    }

    /// Replace `LISTENERS` with `(fd, text)` pairs.
    pub fn set_listeners(&self, py: Python<'_>, items: &[(i32, String)]) -> PyResult<()> {
        let list = self.listeners.bind(py);
        list.call_method1("clear", ())?;
        for (fd, text) in items {
            list.append(Bound::new(py, ListenerObject { fd: *fd, text: text.clone() })?)?;
        }
        Ok(())
    }
}

#[pymethods]
impl ServerObject {
    #[getter]
    fn cfg(&self, py: Python<'_>) -> Py<PyAny> {
        self.cfg_object(py)
    }

    #[getter]
    fn num_workers(&self) -> usize {
        self.num_workers.load(Ordering::Relaxed)
    }

    fn __repr__(&self) -> String {
        format!("<Arbiter {}>", self.pid)
    }
}
