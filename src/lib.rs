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

use crate::config::sources::Invocation;
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
    let invocation = match config::sources::resolve(py, &argv, config::Environment::current()) {
        Ok(inv) => inv,
        Err(err @ config::ConfigError::Usage(_)) => {
            eprintln!("rgunicorn: error: {err}");
            return USAGE_ERROR;
        }
        Err(err) => {
            eprintln!("Error: {err}");
            return START_ERROR;
        }
    };
    let (cfg, hooks) = match invocation {
        Invocation::Version => {
            println!("rgunicorn (version {VERSION})");
            return 0;
        }
        Invocation::Help(text) => {
            println!("{text}");
            return 0;
        }
        Invocation::Serve(cfg, hooks) => (*cfg, hooks),
    };
    if cfg.print_config || cfg.check_config {
        return check(py, &cfg);
    }
    match serve(py, cfg, hooks) {
        Ok(code) => code,
        Err((code, message)) => {
            crate::error!("{message}");
            code
        }
    }
}

/// `--print-config` and `--check-config`: show the settings (print), import the app, exit 0 or 1.
fn check(py: Python<'_>, cfg: &Config) -> i32 {
    if cfg.print_config {
        print!("{}", cfg.print_config());
    }
    let Some(spec) = cfg.wsgi_app() else {
        eprintln!("rgunicorn: error: No application module specified.");
        return START_ERROR;
    };
    if let Err(e) = prepare_python(py, cfg) {
        eprintln!("Error: {e}");
        return START_ERROR;
    }
    match app::load_app(py, &spec) {
        Ok(_) => 0,
        Err(err) => {
            eprintln!("\nError while loading the application:\n");
            if let Some(tb) = &err.traceback {
                eprint!("{tb}");
            }
            eprintln!("{}", err.message);
            START_ERROR
        }
    }
}

/// Set up the master's process and run it. `Err` carries an exit code and a one-line reason.
fn serve(py: Python<'_>, cfg: Config, hooks: config::hooks::Hooks) -> Result<i32, (i32, String)> {
    let level = logging::Level::from_name(&cfg.loglevel).unwrap_or(logging::Level::Info);
    logging::configure(level, &cfg.errorlog)
        .map_err(|e| (START_ERROR, format!("Cannot open error log {}: {e}", cfg.errorlog)))?;
    let Some(spec) = cfg.wsgi_app() else {
        eprintln!("rgunicorn: error: No application module specified.");
        return Ok(USAGE_ERROR);
    };
    if let Some(target) = &cfg.accesslog {
        logging::access::configure(target, &cfg.access_log_format)
            .map_err(|e| (START_ERROR, format!("Cannot open access log {target}: {e}")))?;
    }
    if cfg.effective_worker_class() == config::WorkerClass::Gevent {
        eprintln!("rgunicorn: error: worker class gevent is not implemented yet; use -k sync");
        return Ok(USAGE_ERROR);
    }
    warn_unimplemented(&cfg, &hooks);
    prepare_python(py, &cfg).map_err(|e| (START_ERROR, format!("Cannot prepare the Python environment: {e}")))?;

    let opts = BindOptions { backlog: cfg.backlog, reuse_port: cfg.reuse_port };
    let mut listeners = Vec::new();
    for text in &cfg.bind {
        let addr = BindAddr::parse(text).map_err(|e| (USAGE_ERROR, e))?;
        let listener = Listener::bind(&addr, opts).map_err(|e| (START_ERROR, format!("Cannot bind {text}: {e}")))?;
        listeners.push(listener);
    }

    let preloaded = if cfg.preload_app {
        match app::load_app(py, &spec) {
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
fn warn_unimplemented(cfg: &Config, hooks: &config::hooks::Hooks) {
    for name in cfg.unimplemented_in_use() {
        crate::warning!("Setting '{name}' is accepted but not implemented yet: it has no effect");
    }
    let _ = hooks;
}

/// chdir, `sys.path`, and Python's own SIGINT handler (the master owns its signals).
fn prepare_python(py: Python<'_>, cfg: &Config) -> PyResult<()> {
    let dir = &cfg.chdir;
    std::env::set_current_dir(dir).map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("chdir {dir}: {e}")))?;
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
