//! Worker signals, handled in Python as gunicorn's workers do: TERM = graceful, INT/QUIT = now,
//! USR1 = reopen logs, ABRT = timed out; and [`dump_signal`] = write every thread's stack.
//!
//! Python owns the worker's signals (unlike the master's): its handlers run between bytecodes, so
//! a quick shutdown can raise `SystemExit` inside the app, and our blocking calls see EINTR and
//! run them through `check_signals`.

use pyo3::prelude::*;

use super::object::WorkerObject;

/// Take the signals over from the master's handlers and arm `faulthandler` for timeouts.
pub fn install(py: Python<'_>, worker: &Bound<'_, WorkerObject>) -> PyResult<()> {
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
    arm_stack_dump(py)
}

/// Let the master's [`dump_signal`] write every thread's Python stack to the error log.
pub fn arm_stack_dump(py: Python<'_>) -> PyResult<()> {
    // faulthandler writes every thread's stack from a C signal handler, so the dump works even when
    // the worker is stuck in C code holding the GIL. It cannot take SIGABRT, hence a signal of its own.
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("file", crate::logging::raw_fd())?;
    kwargs.set_item("all_threads", true)?;
    kwargs.set_item("chain", false)?;
    py.import("faulthandler")?.call_method("register", (dump_signal(),), Some(&kwargs))?;
    Ok(())
}

/// The signal that makes a worker write every thread's Python stack to the error log: the
/// master sends it to a hung worker before SIGABRT and SIGKILL. A real-time signal, so it cannot
/// collide with any signal gunicorn gives a meaning.
pub fn dump_signal() -> i32 {
    libc::SIGRTMIN() + 1
}
