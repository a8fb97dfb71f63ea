//! USR2: start a new master from the same command line, handing it the listening sockets
//! through `GUNICORN_FD` (or `LISTEN_FDS` under systemd), as gunicorn's `reexec` does. The new
//! master writes `<pidfile>.2` and takes the pidfile's name once the old master has exited.

use std::os::fd::RawFd;

use pyo3::prelude::*;

/// How the running master was started, to start it again.
pub struct StartContext {
    /// `sys.executable`.
    pub executable: String,
    /// The command-line arguments after the program name.
    pub args: Vec<String>,
    /// The working directory at start.
    pub cwd: String,
}

impl StartContext {
    /// Capture this process's start context.
    pub fn capture(py: Python<'_>, argv: &[String]) -> PyResult<StartContext> {
        let executable: String = py.import("sys")?.getattr("executable")?.extract()?;
        let cwd = std::env::current_dir()?.display().to_string();
        Ok(StartContext { executable, args: argv.iter().skip(1).cloned().collect(), cwd })
    }
}

/// In a freshly forked child of the master: exec a new master that inherits `fds`.
/// Returns only if the exec failed.
pub fn exec_new_master(py: Python<'_>, ctx: &StartContext, fds: &[RawFd], master_pid: u32) -> PyErr {
    for &fd in fds {
        // The listeners are close-on-exec for workers' sake; the new master must inherit them.
        // SAFETY: fcntl on descriptors this process owns; no memory is involved.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    }
    let result = (|| -> PyResult<()> {
        let os = py.import("os")?;
        let environ = os.getattr("environ")?.call_method0("copy")?;
        environ.set_item("GUNICORN_PID", master_pid.to_string())?;
        environ.set_item("GUNICORN_FD", fds.iter().map(|fd| fd.to_string()).collect::<Vec<_>>().join(","))?;
        os.call_method1("chdir", (&ctx.cwd,))?;
        let mut args = vec![ctx.executable.clone(), "-m".to_string(), "rgunicorn".to_string()];
        args.extend(ctx.args.iter().cloned());
        os.call_method1("execve", (&ctx.executable, args, environ))?;
        Ok(())
    })();
    match result {
        Ok(()) => pyo3::exceptions::PyRuntimeError::new_err("execve returned"),
        Err(e) => e,
    }
}
