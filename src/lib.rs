//! rgunicorn: a WSGI HTTP server for Python, written in Rust, compatible with gunicorn.
//!
//! `run(argv)` is the whole program: the console script hands it `sys.argv`. It parses the
//! configuration, binds the listeners, and runs the master ([`arbiter`]), which forks workers
//! ([`worker`]) that parse HTTP ([`http`]) and call the app through [`wsgi`].

#![deny(missing_docs)]

pub mod app;
pub mod arbiter;
pub mod cli;
pub mod config;
pub mod errors;
pub mod http;
pub mod logging;
pub mod sock;
pub mod worker;
pub mod wsgi;

use pyo3::prelude::*;

use crate::cli::Invocation;
use crate::config::Config;
use crate::sock::{BindAddr, BindOptions, Listener};

/// The version, as `rgunicorn --version` prints it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Exit code for a usage or configuration error (argparse's, as gunicorn).
const USAGE_ERROR: i32 = 2;
/// Exit code when the server cannot start (e.g. the address is in use).
const START_ERROR: i32 = 1;

/// Run rgunicorn with `argv` (program name first); returns the exit code.
#[pyfunction]
fn run(py: Python<'_>, argv: Vec<String>) -> i32 {
    let invocation = match cli::parse(&argv, |k| std::env::var(k).ok()) {
        Ok(inv) => inv,
        Err(err) => {
            eprintln!("rgunicorn: error: {err}");
            return USAGE_ERROR;
        }
    };
    let cfg = match invocation {
        Invocation::Version => {
            println!("rgunicorn (version {VERSION})");
            return 0;
        }
        Invocation::Help(text) => {
            println!("{text}");
            return 0;
        }
        Invocation::Serve(cfg) => *cfg,
    };
    match serve(py, cfg) {
        Ok(code) => code,
        Err((code, message)) => {
            crate::error!("{message}");
            code
        }
    }
}

/// Set up the master's process and run it. `Err` carries an exit code and a one-line reason.
fn serve(py: Python<'_>, cfg: Config) -> Result<i32, (i32, String)> {
    let level = logging::Level::from_name(&cfg.loglevel).unwrap_or(logging::Level::Info);
    logging::configure(level, &cfg.errorlog)
        .map_err(|e| (START_ERROR, format!("Cannot open error log {}: {e}", cfg.errorlog)))?;
    if cfg.wsgi_app.is_none() {
        eprintln!("rgunicorn: error: No application module specified.");
        return Ok(USAGE_ERROR);
    }
    if cfg.effective_worker_class() == config::WorkerClass::Gevent {
        eprintln!("rgunicorn: error: worker class gevent is not implemented yet; use -k sync");
        return Ok(USAGE_ERROR);
    }
    warn_unimplemented(&cfg);
    prepare_python(py, &cfg).map_err(|e| (START_ERROR, format!("Cannot prepare the Python environment: {e}")))?;

    let opts = BindOptions { backlog: cfg.backlog, reuse_port: cfg.reuse_port };
    let mut listeners = Vec::new();
    for text in &cfg.bind {
        let addr = BindAddr::parse(text).map_err(|e| (USAGE_ERROR, e))?;
        let listener = Listener::bind(&addr, opts).map_err(|e| (START_ERROR, format!("Cannot bind {text}: {e}")))?;
        listeners.push(listener);
    }

    let preloaded = if cfg.preload_app {
        let spec = cfg.wsgi_app.as_deref().unwrap_or_default();
        match app::load_app(py, spec) {
            Ok(app) => Some(app),
            Err(err) => {
                if let Some(tb) = &err.traceback {
                    crate::error!("{}", tb.trim_end());
                }
                for l in &listeners {
                    l.unlink();
                }
                return Err((errors::APP_LOAD_ERROR, err.message));
            }
        }
    } else {
        None
    };

    let arbiter = arbiter::Arbiter::new(cfg, listeners, preloaded)
        .map_err(|e| (START_ERROR, format!("Cannot install signal handlers: {e}")))?;
    Ok(arbiter.run(py))
}

/// Settings that are accepted for compatibility but have no effect yet: say so, never ignore silently.
fn warn_unimplemented(cfg: &Config) {
    if let Some(path) = &cfg.config {
        crate::warning!("Setting 'config' ({path}) is not implemented yet: the config file is not read");
    } else if std::path::Path::new("gunicorn.conf.py").exists() {
        crate::warning!("./gunicorn.conf.py exists but config files are not implemented yet: it is not read");
    }
    if cfg.proc_name.is_some() {
        crate::warning!("Setting 'proc_name' is not implemented yet: process titles are unchanged");
    }
}

/// chdir, `sys.path`, and Python's own SIGINT handler (the master owns its signals).
fn prepare_python(py: Python<'_>, cfg: &Config) -> PyResult<()> {
    if let Some(dir) = &cfg.chdir {
        std::env::set_current_dir(dir).map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("chdir {dir}: {e}")))?;
    }
    let sys_path = py.import("sys")?.getattr("path")?;
    let cwd = std::env::current_dir()?.display().to_string();
    // gunicorn puts the working directory first, then --pythonpath entries before it.
    if !sys_path.contains(&cwd)? {
        sys_path.call_method1("insert", (0, &cwd))?;
    }
    for entry in cfg.pythonpath.iter().rev() {
        sys_path.call_method1("insert", (0, entry))?;
    }
    let signal = py.import("signal")?;
    signal.call_method1("signal", (signal.getattr("SIGINT")?, signal.getattr("SIG_DFL")?))?;
    Ok(())
}

/// The extension module `rgunicorn._rgunicorn`.
#[pymodule]
fn _rgunicorn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", VERSION)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_class::<wsgi::input::WsgiInput>()?;
    m.add_class::<wsgi::response::StartResponse>()?;
    m.add_class::<wsgi::file_wrapper::FileWrapper>()?;
    m.add_class::<wsgi::error_stream::ErrorStream>()?;
    m.add_class::<worker::signals::WorkerObject>()?;
    Ok(())
}
