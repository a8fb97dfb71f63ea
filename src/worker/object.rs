//! The `worker` object of gunicorn's hooks and signal handlers: `pid`, `ppid`, `age`, `alive`,
//! `nr`, `cfg`, `log`, `tmp` and `notify()`. The master creates it before forking (so `pre_fork`
//! can see it); the child keeps using its copy.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use pyo3::exceptions::PySystemExit;
use pyo3::prelude::*;

use super::heartbeat::Heartbeat;

/// Shared between the accept loop and the Python-level signal handlers of one worker.
pub struct WorkerFlags {
    /// Cleared by TERM (finish the current request, then exit) and by max-requests.
    pub alive: AtomicBool,
    /// Requests served so far (gunicorn's `worker.nr`).
    pub requests: AtomicU64,
    /// Set by TERM: before exiting, serve the connections already waiting in the listen queue.
    pub graceful: AtomicBool,
}

impl WorkerFlags {
    /// A live worker that has served nothing yet.
    pub fn new() -> WorkerFlags {
        WorkerFlags { alive: AtomicBool::new(true), requests: AtomicU64::new(0), graceful: AtomicBool::new(false) }
    }
}

impl Default for WorkerFlags {
    fn default() -> Self {
        Self::new()
    }
}

/// gunicorn's worker object.
#[pyclass(module = "rgunicorn._rgunicorn", name = "Worker", frozen)]
pub struct WorkerObject {
    /// Flags flipped by signals and read by the accept loop.
    pub flags: Arc<WorkerFlags>,
    /// The heartbeat page the master watches.
    pub heartbeat: Arc<Heartbeat>,
    pid: AtomicU32,
    #[pyo3(get)]
    age: u64,
    #[pyo3(get)]
    ppid: u32,
    #[pyo3(get)]
    cfg: Py<PyAny>,
    #[pyo3(get)]
    log: Py<PyAny>,
    worker_int: Option<Py<PyAny>>,
    worker_abort: Option<Py<PyAny>>,
}

impl WorkerObject {
    /// A worker object for the `age`-th worker of master `ppid`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        heartbeat: Arc<Heartbeat>,
        age: u64,
        ppid: u32,
        cfg: Py<PyAny>,
        log: Py<PyAny>,
        worker_int: Option<Py<PyAny>>,
        worker_abort: Option<Py<PyAny>>,
    ) -> WorkerObject {
        WorkerObject {
            flags: Arc::new(WorkerFlags::new()),
            heartbeat,
            pid: AtomicU32::new(0),
            age,
            ppid,
            cfg,
            log,
            worker_int,
            worker_abort,
        }
    }

    /// Record the pid (the master after fork; the child for itself).
    pub fn set_pid(&self, pid: u32) {
        self.pid.store(pid, Ordering::Relaxed);
    }

    fn run_hook(&self, slf: &Bound<'_, Self>, hook: &Option<Py<PyAny>>, name: &str) {
        let py = slf.py();
        if let Some(hook) = hook {
            if let Err(err) = hook.bind(py).call1((slf,)) {
                crate::error!("Exception in {name} hook\n{}", crate::errors::format_traceback(py, &err).trim_end());
            }
        }
    }
}

#[pymethods]
impl WorkerObject {
    #[getter]
    fn pid(&self) -> u32 {
        self.pid.load(Ordering::Relaxed)
    }

    #[getter]
    fn alive(&self) -> bool {
        self.flags.alive.load(Ordering::Relaxed)
    }

    #[setter]
    fn set_alive(&self, value: bool) {
        self.flags.alive.store(value, Ordering::Relaxed);
    }

    /// Requests served so far.
    #[getter]
    fn nr(&self) -> u64 {
        self.flags.requests.load(Ordering::Relaxed)
    }

    /// gunicorn's `worker.notify()`: prove that the worker is alive.
    fn notify(&self) {
        self.heartbeat.notify();
    }

    /// gunicorn's `worker.tmp`: an object whose `notify()` beats the heartbeat.
    #[getter]
    fn tmp<'py>(slf: &Bound<'py, Self>) -> Bound<'py, Self> {
        slf.clone()
    }

    fn __repr__(&self) -> String {
        format!("<Worker {}>", self.pid())
    }

    /// TERM: finish the current request(s) and those already queued, then exit.
    fn handle_exit(&self, _signum: i32, _frame: &Bound<'_, PyAny>) {
        self.flags.graceful.store(true, Ordering::Relaxed);
        self.flags.alive.store(false, Ordering::Relaxed);
    }

    /// INT and QUIT: run `worker_int`, then exit now.
    fn handle_quit(slf: &Bound<'_, Self>, _signum: i32, _frame: &Bound<'_, PyAny>) -> PyResult<()> {
        let this = slf.get();
        this.flags.alive.store(false, Ordering::Relaxed);
        this.run_hook(slf, &this.worker_int, "worker_int");
        Err(PySystemExit::new_err(0))
    }

    /// ABRT (the master's timeout): run `worker_abort`, then exit with 1.
    fn handle_abort(slf: &Bound<'_, Self>, _signum: i32, _frame: &Bound<'_, PyAny>) -> PyResult<()> {
        let this = slf.get();
        this.flags.alive.store(false, Ordering::Relaxed);
        this.run_hook(slf, &this.worker_abort, "worker_abort");
        Err(PySystemExit::new_err(1))
    }

    /// USR1: reopen the log files.
    fn handle_usr1(&self, _signum: i32, _frame: &Bound<'_, PyAny>) {
        crate::logging::reopen_all();
    }
}
