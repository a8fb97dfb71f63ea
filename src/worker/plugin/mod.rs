//! Plug-in worker classes (`-k module.Class`, `-k tornado`, a class object in the config file):
//! gunicorn's Worker contract, with the Rust master underneath.
//!
//! The master loads the class once ([`prepare`], at start and on HUP) and builds one instance per
//! worker before forking ([`construct`]) with gunicorn's `(age, ppid, sockets, app, timeout, cfg,
//! log)`, so `pre_fork`, `post_fork`, `worker_exit` and `child_exit` see it. The forked child
//! switches user, arms the stack dump the master asks for before killing a hung worker, and calls
//! `init_process()`, which ends in `run()` ([`run`]). Heartbeats (`notify()`, [`tmp`]), timeouts,
//! HUP, USR2 and the exit codes 3 and 4 stay the master's, as for the built-in workers.

pub mod cfg;
pub mod tmp;

use std::sync::Arc;

use pyo3::prelude::*;

use crate::config::hooks::Hooks;
use crate::config::Config;
use crate::errors::{exception_line, format_traceback, WORKER_BOOT_ERROR};
use crate::sock::Listener;
use crate::worker::heartbeat::Heartbeat;

/// In the master: load the worker class and build the `cfg` and `log` its instances get. `Err`
/// is one line naming the class and why it cannot be used.
pub fn prepare(py: Python<'_>, config: &Config, hooks: &Hooks) -> Result<(), String> {
    let prepared = (|| -> PyResult<()> {
        let cfg_object = cfg::python_config(py, config, hooks)?;
        let log = match crate::logging::logger_class::instance(py) {
            Some(log) => log,
            None => py.import("rgunicorn.glogging")?.getattr("Logger")?.call1((&cfg_object,))?,
        };
        let uri = cfg::class_setting(py, config, hooks, "worker_class");
        py.import("rgunicorn.workers._boot")?.call_method1("prepare", (uri, cfg_object, log))?;
        Ok(())
    })();
    prepared.map_err(|err| {
        let class_error =
            py.import("rgunicorn._classes").and_then(|m| m.getattr("ClassLoadError")).map(|c| err.is_instance(py, &c));
        if class_error.unwrap_or(false) {
            err.value(py).str().map(|s| s.to_string()).unwrap_or_default()
        } else {
            crate::debug!("{}", format_traceback(py, &err).trim_end());
            format!("worker class {}: {}", config.worker_class_str(), exception_line(py, &err))
        }
    })
}

/// In the master, before forking: the worker instance (what hooks and `server.WORKERS` see).
pub fn construct(
    py: Python<'_>,
    config: &Config,
    heartbeat: Arc<Heartbeat>,
    age: u64,
    ppid: u32,
    listeners: &[Listener],
    preloaded: Option<&Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let tmp = Py::new(py, tmp::WorkerTmp::new(heartbeat, config.worker_tmp_dir.clone()))?;
    let fds: Vec<i32> = listeners.iter().map(Listener::fd).collect();
    // gunicorn hands workers half the timeout: beating that often keeps them well inside it.
    let timeout = config.timeout as f64 / 2.0;
    let preloaded = preloaded.map(|app| app.clone_ref(py));
    let built = py
        .import("rgunicorn.workers._boot")
        .and_then(|boot| boot.call_method1("construct", (age, ppid, fds, config.wsgi_app(), preloaded, timeout, tmp)));
    match built {
        Ok(worker) => Ok(worker.unbind()),
        Err(err) => {
            crate::error!("Exception while creating the worker:\n{}", format_traceback(py, &err).trim_end());
            Err(err)
        }
    }
}

/// gunicorn's `worker.pid`: the child's pid, set in the master after the fork and in the child.
pub fn set_pid(worker: &Bound<'_, PyAny>, pid: u32) {
    if let Err(err) = worker.setattr("pid", pid) {
        crate::debug!("Cannot set the worker's pid: {err}");
    }
}

/// In the forked child: set the process up and run the instance; returns the exit code.
pub fn run(py: Python<'_>, config: &Config, worker: &Bound<'_, PyAny>) -> i32 {
    if let Err(err) = crate::worker::process::become_worker(config) {
        crate::error!("Cannot set up the worker process: {err}");
        return WORKER_BOOT_ERROR;
    }
    if let Err(err) = crate::worker::signals::arm_stack_dump(py) {
        crate::error!("Exception in worker process:\n{}", format_traceback(py, &err));
        return WORKER_BOOT_ERROR;
    }
    set_pid(worker, std::process::id());
    let ran = py.import("rgunicorn.workers._boot").and_then(|boot| boot.call_method1("run", (worker,))?.extract());
    match ran {
        Ok(code) => code,
        Err(err) => {
            crate::error!("Exception in worker process:\n{}", format_traceback(py, &err));
            WORKER_BOOT_ERROR
        }
    }
}

/// `app.wsgi()` of a plug-in worker: import APP_MODULE as the built-in workers do. A failure is
/// logged with its traceback and raised as `rgunicorn.app.AppImportError` (exit 4).
#[pyfunction]
pub fn load_wsgi_app(py: Python<'_>, spec: &str) -> PyResult<Py<PyAny>> {
    match crate::app::load_app(py, spec) {
        Ok(app) => Ok(app),
        Err(err) => {
            if let Some(code) = err.exit_code {
                return Err(pyo3::exceptions::PySystemExit::new_err(code));
            }
            if let Some(tb) = &err.traceback {
                crate::error!("Exception in worker process:\n{}", tb.trim_end());
            }
            let class = py.import("rgunicorn.app")?.getattr("AppImportError")?;
            Err(PyErr::from_value(class.call1((err.message,))?))
        }
    }
}
