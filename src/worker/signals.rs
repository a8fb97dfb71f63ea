//! Worker signals, handled in Python as gunicorn's workers do: TERM = graceful, INT/QUIT = now,
//! USR1 = reopen logs, ABRT = timed out; and [`dump_signal`] = write every thread's stack.
//!
//! Python owns the worker's signals (unlike the master's): its handlers run between bytecodes, so
//! a quick shutdown can raise `SystemExit` inside the app, and our blocking calls see EINTR and
//! run them through `check_signals`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use pyo3::exceptions::PySystemExit;
use pyo3::prelude::*;

use super::heartbeat::Heartbeat;
use super::WorkerFlags;

/// The `worker` object: signal handlers and the attributes hooks use (`pid`, `ppid`, `age`, `alive`).
#[pyclass(module = "rgunicorn._rgunicorn", name = "Worker", frozen)]
pub struct WorkerObject {
    flags: Arc<WorkerFlags>,
    heartbeat: Arc<Heartbeat>,
    #[pyo3(get)]
    age: u64,
    #[pyo3(get)]
    ppid: u32,
}

#[pymethods]
impl WorkerObject {
    #[getter]
    fn pid(&self) -> u32 {
        std::process::id()
    }

    #[getter]
    fn alive(&self) -> bool {
        self.flags.alive.load(Ordering::Relaxed)
    }

    #[setter]
    fn set_alive(&self, value: bool) {
        self.flags.alive.store(value, Ordering::Relaxed);
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

    fn handle_exit(&self, _signum: i32, _frame: &Bound<'_, PyAny>) {
        self.flags.alive.store(false, Ordering::Relaxed);
    }

    fn handle_quit(&self, _signum: i32, _frame: &Bound<'_, PyAny>) -> PyResult<()> {
        self.flags.alive.store(false, Ordering::Relaxed);
        Err(PySystemExit::new_err(0))
    }

    fn handle_abort(&self, _signum: i32, _frame: &Bound<'_, PyAny>) -> PyResult<()> {
        self.flags.alive.store(false, Ordering::Relaxed);
        Err(PySystemExit::new_err(1))
    }

    fn handle_usr1(&self, _signum: i32, _frame: &Bound<'_, PyAny>) {
        crate::logging::reopen_all();
    }
}

/// Take the signals over from the master's handlers and arm `faulthandler` for timeouts.
pub fn install(
    py: Python<'_>,
    flags: Arc<WorkerFlags>,
    heartbeat: Arc<Heartbeat>,
    age: u64,
    ppid: u32,
) -> PyResult<Py<WorkerObject>> {
    let worker = Bound::new(py, WorkerObject { flags, heartbeat, age, ppid })?;
    let signal = py.import("signal")?;
    let set = |name: &str, handler: Bound<'_, PyAny>| -> PyResult<()> {
        signal.call_method1("signal", (signal.getattr(name)?, handler))?;
        Ok(())
    };
    let default = signal.getattr("SIG_DFL")?;
    for name in ["SIGHUP", "SIGTTIN", "SIGTTOU", "SIGUSR2", "SIGCHLD"] {
        set(name, default.clone())?;
    }
    set("SIGWINCH", signal.getattr("SIG_IGN")?)?;
    set("SIGTERM", worker.getattr("handle_exit")?)?;
    set("SIGINT", worker.getattr("handle_quit")?)?;
    set("SIGQUIT", worker.getattr("handle_quit")?)?;
    set("SIGUSR1", worker.getattr("handle_usr1")?)?;
    set("SIGABRT", worker.getattr("handle_abort")?)?;
    // faulthandler writes every thread's stack from a C signal handler, so the dump works even when
    // the worker is stuck in C code holding the GIL. It cannot take SIGABRT, hence a signal of its own.
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("file", crate::logging::raw_fd())?;
    kwargs.set_item("all_threads", true)?;
    kwargs.set_item("chain", false)?;
    py.import("faulthandler")?.call_method("register", (dump_signal(),), Some(&kwargs))?;
    Ok(worker.unbind())
}

/// The signal that makes a worker write every thread's Python stack to the error log: the
/// master sends it to a hung worker before SIGABRT and SIGKILL. A real-time signal, so it cannot
/// collide with any signal gunicorn gives a meaning.
pub fn dump_signal() -> i32 {
    libc::SIGRTMIN() + 1
}
