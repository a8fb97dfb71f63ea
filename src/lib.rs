//! rgunicorn: a WSGI HTTP server for Python, written in Rust, compatible with gunicorn.
//!
//! `run(argv)` is the whole program: the console script hands it `sys.argv`. It parses the
//! configuration, binds the listeners, and runs the master ([`arbiter`]), which forks workers
//! ([`worker`]) that parse HTTP ([`http`]) and call the app through [`wsgi`].

#![deny(missing_docs)]

pub mod app;
pub mod arbiter;
pub mod config;
pub mod console;
pub mod errors;
pub use rgunicorn_http as http;
pub mod io;
pub mod logging;
pub mod reload;
pub mod sock;
pub mod tls;
pub mod worker;
pub mod wsgi;

use pyo3::prelude::*;

use crate::config::sources::Invocation;
use crate::config::Config;

/// The version, as `rgunicorn --version` prints it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Exit code for a usage or configuration error (argparse's, as gunicorn).
const USAGE_ERROR: i32 = 2;
/// Exit code when the server cannot start (e.g. the address is in use).
const START_ERROR: i32 = 1;

/// Run rgunicorn with `argv` (program name first); returns the exit code.
#[pyfunction]
fn run(py: Python<'_>, argv: Vec<String>) -> i32 {
    run_with_app(py, &argv, None)
}

/// `[server:main]` with `use = egg:rgunicorn#main` (`pserve`): serve `app`, which PasteDeploy
/// already loaded, with the section's keys (`local`) as settings. See [`config::paste_server`].
#[pyfunction]
fn serve_paste_app(py: Python<'_>, app: Py<PyAny>, ini: String, local: Vec<(String, String)>) -> i32 {
    match config::paste_server::server_argv(&ini, &local) {
        Ok(argv) => run_with_app(py, &argv, Some(app)),
        Err(err) => {
            eprintln!("Error: [server:main] of {ini}: {err}");
            USAGE_ERROR
        }
    }
}

/// `run`, with the app already loaded when `app` is given.
fn run_with_app(py: Python<'_>, argv: &[String], app: Option<Py<PyAny>>) -> i32 {
    console::install_panic_hook();
    let invocation = match config::sources::resolve(py, argv, config::Environment::current()) {
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
        Invocation::Version => return console::print_stdout(&format!("rgunicorn (version {VERSION})\n")),
        Invocation::Help(text) => return console::print_stdout(&format!("{text}\n")),
        Invocation::Serve(cfg, hooks) => (*cfg, hooks),
    };
    if cfg.print_config || cfg.check_config {
        return check(py, &cfg);
    }
    match serve(py, cfg, hooks, argv, app) {
        Ok(code) => code,
        Err((code, message)) => {
            crate::error!("{message}");
            code
        }
    }
}

/// `--print-config` and `--check-config`: show the settings (print), import the app, exit 0 or 1.
fn check(py: Python<'_>, cfg: &Config) -> i32 {
    if cfg.print_config && console::print_stdout(&cfg.print_config()) != 0 {
        return START_ERROR;
    }
    if !cfg.has_app() {
        eprintln!("rgunicorn: error: No application module specified.");
        return START_ERROR;
    }
    if let Err(e) = prepare_python(py, cfg) {
        eprintln!("Error: {e}");
        return START_ERROR;
    }
    if let Err(e) = tls::rustls_config(cfg) {
        eprintln!("Error: TLS: {e}");
        return START_ERROR;
    }
    match app::load_configured(py, cfg) {
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
fn serve(
    py: Python<'_>,
    cfg: Config,
    hooks: config::hooks::Hooks,
    argv: &[String],
    app: Option<Py<PyAny>>,
) -> Result<i32, (i32, String)> {
    let level = logging::Level::from_name(&cfg.loglevel).unwrap_or(logging::Level::Info);
    logging::configure(level, &cfg.errorlog)
        .map_err(|e| (START_ERROR, format!("Cannot open error log {}: {e}", cfg.errorlog)))?;
    if !cfg.has_app() {
        eprintln!("rgunicorn: error: No application module specified.");
        return Ok(USAGE_ERROR);
    }
    if let Some(host) = &cfg.statsd_host {
        logging::statsd::configure(host, &cfg.statsd_prefix, &cfg.dogstatsd_tags)
            .map_err(|e| (START_ERROR, format!("Cannot reach statsd at {host}: {e}")))?;
    }
    if cfg.capture_output {
        logging::capture_output();
    }
    // A logger_class sets up logging itself (files, syslog, logconfig), as gunicorn's Logger does.
    let python_logging = !cfg.custom_logger_class()
        && (cfg.logconfig.is_some() || cfg.logconfig_json.is_some() || cfg.has_logconfig_dict() || cfg.syslog);
    if python_logging {
        configure_python_logging(py, &cfg, &hooks)
            .map_err(|e| (START_ERROR, format!("Cannot configure logging: {e}")))?;
    }
    // With a logging configuration, gunicorn.access records flow even without --access-logfile.
    // So do a logger_class's, which gunicorn calls for every request whatever --access-logfile says.
    let access_target = cfg
        .accesslog
        .clone()
        .or_else(|| (logging::python::replaces_writers() || cfg.custom_logger_class()).then(|| "-".to_string()));
    if let Some(target) = &access_target {
        logging::access::configure(target, &cfg.access_log_format)
            .map_err(|e| (START_ERROR, format!("Cannot open access log {target}: {e}")))?;
    }
    if cfg.effective_worker_class() == config::WorkerClass::Gevent {
        // As gunicorn, which imports its worker class in the master: fail once, here, not in every worker.
        if let Err(err) = py.import("gevent") {
            let reason = err.value(py).to_string();
            let reason = reason.lines().next().unwrap_or_default();
            eprintln!("rgunicorn: error: worker class gevent needs gevent ({reason}); pip install 'rgunicorn[gevent]'");
            return Ok(USAGE_ERROR);
        }
    }
    warn_unimplemented(&cfg, &hooks);
    if cfg.reload {
        let start = std::path::Path::new(cfg.start_dir());
        for pattern in reload::files::unmatched_patterns(py, &cfg.reload_extra_files, start) {
            crate::warning!("Pattern {pattern} currently matches no files.");
        }
    }
    prepare_python(py, &cfg).map_err(|e| (START_ERROR, format!("Cannot prepare the Python environment: {e}")))?;
    if cfg.custom_logger_class() {
        configure_logger_class(py, &cfg, &hooks).map_err(|why| (START_ERROR, why))?;
    }
    if cfg.effective_worker_class() == config::WorkerClass::Plugin {
        // As gunicorn, which loads the worker class in its arbiter: fail once, here, in one line.
        worker::plugin::prepare(py, &cfg, &hooks).map_err(|why| (START_ERROR, why))?;
    }
    // After --chdir, so that relative paths mean what they mean to gunicorn.
    let tls = tls::rustls_config(&cfg).map_err(|e| (START_ERROR, format!("TLS: {e}")))?;

    let preloaded = if let Some(app) = app {
        // Under --reload every worker loads the ini's app itself, so that edits are served.
        (!cfg.reload).then_some(app)
    } else if cfg.preload_app && !cfg.reload {
        match app::load_configured(py, &cfg) {
            Ok(app) => Some(app),
            Err(err) => {
                if let Some(tb) = &err.traceback {
                    crate::error!("{}", tb.trim_end());
                }
                return Err((errors::APP_LOAD_ERROR, err.message));
            }
        }
    } else {
        None
    };

    if cfg.daemon {
        daemonize(py).map_err(|e| (START_ERROR, format!("Cannot daemonize: {e}")))?;
    }
    let arbiter = arbiter::Arbiter::new(py, cfg, hooks, argv.to_vec(), preloaded, tls)
        .map_err(|e| (START_ERROR, format!("Cannot start the master: {e}")))?;
    Ok(arbiter.run(py))
}

/// `logger_class`: build the one logger instance that writes every log from now on.
fn configure_logger_class(py: Python<'_>, cfg: &Config, hooks: &config::hooks::Hooks) -> Result<(), String> {
    let configured = worker::plugin::cfg::python_config(py, cfg, hooks).and_then(|cfg_object| {
        let uri = worker::plugin::cfg::class_setting(py, cfg, hooks, "logger_class");
        logging::logger_class::configure(py, &uri, &cfg_object)
    });
    configured.map_err(|err| {
        let text = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
        let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().to_string();
        format!("logger_class {}: {line}", cfg.get("logger_class").map(ToString::to_string).unwrap_or_default())
    })
}

/// Settings that are accepted for compatibility but have no effect yet: say so, never ignore silently.
fn warn_unimplemented(cfg: &Config, hooks: &config::hooks::Hooks) {
    let custom_context = hooks.has("ssl_context");
    let rustls_worker =
        matches!(cfg.effective_worker_class(), config::WorkerClass::Sync | config::WorkerClass::Gthread);
    if custom_context && rustls_worker {
        crate::warning!(
            "The ssl_context hook builds a Python SSLContext, which only -k gevent uses; the {} worker's TLS \
             (rustls) is configured by certfile, keyfile, ca_certs, cert_reqs and ciphers",
            cfg.effective_worker_class().as_str()
        );
    }
    if cfg.reload && cfg.preload_app {
        crate::warning!(
            "--reload and --preload: each worker imports the app itself, so that code changes are served \
             (gunicorn's workers would keep the app the master preloaded)"
        );
    }
    if logging::Level::from_name(&cfg.loglevel).is_none() {
        crate::warning!("Unknown log level '{}': logging at info, as gunicorn does", cfg.loglevel);
    }
    for name in cfg.unimplemented_in_use() {
        crate::warning!("Setting '{name}' is accepted but not implemented yet: it has no effect");
    }
}

/// `--log-config`, `logconfig_dict`, `--log-config-json`, `--log-syslog` through Python's logging.
fn configure_python_logging(py: Python<'_>, cfg: &Config, hooks: &config::hooks::Hooks) -> PyResult<()> {
    let prefix = cfg.syslog_prefix.clone().unwrap_or_else(|| {
        format!("rgunicorn.{}", cfg.proc_name.clone().or_else(|| cfg.wsgi_app()).unwrap_or_default())
    });
    logging::python::configure(
        py,
        logging::python::PythonLogging {
            loglevel: &cfg.loglevel,
            logconfig: cfg.logconfig.as_deref(),
            logconfig_dict: if cfg.has_logconfig_dict() { hooks.get(py, "logconfig_dict") } else { None },
            logconfig_json: cfg.logconfig_json.as_deref(),
            syslog: cfg.syslog.then_some((
                cfg.syslog_addr.as_str(),
                cfg.syslog_facility.as_str(),
                prefix.as_str(),
                !cfg.disable_redirect_access_to_syslog,
            )),
        },
    )
}

/// `--daemon`: detach from the terminal as gunicorn does (fork, setsid, fork, stdio to /dev/null).
fn daemonize(py: Python<'_>) -> PyResult<()> {
    let os = py.import("os")?;
    for step in 0..2 {
        let pid: i32 = os.call_method0("fork")?.extract()?;
        if pid != 0 {
            // SAFETY: the parent leaves at once, without running Python or Rust teardown.
            unsafe { libc::_exit(0) };
        }
        if step == 0 {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
        }
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let devnull = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors; devnull stays open until after the calls.
        unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&devnull), fd) };
    }
    Ok(())
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
    m.add_function(wrap_pyfunction!(serve_paste_app, m)?)?;
    m.add_class::<wsgi::input::WsgiInput>()?;
    m.add_class::<wsgi::response::StartResponse>()?;
    m.add_class::<wsgi::file_wrapper::FileWrapper>()?;
    m.add_class::<wsgi::error_stream::ErrorStream>()?;
    m.add_class::<worker::object::WorkerObject>()?;
    m.add_class::<arbiter::server_object::ServerObject>()?;
    m.add_class::<arbiter::server_object::ListenerObject>()?;
    m.add_class::<logging::pylogger::PyLogger>()?;
    m.add_class::<reload::fail_app::FailApp>()?;
    m.add_class::<worker::plugin::tmp::WorkerTmp>()?;
    m.add_function(wrap_pyfunction!(worker::plugin::load_wsgi_app, m)?)?;
    m.add_function(wrap_pyfunction!(logging::pylogger::write_error_line, m)?)?;
    m.add_function(wrap_pyfunction!(logging::pylogger::write_access_line, m)?)?;
    m.add_function(wrap_pyfunction!(logging::pylogger::reopen_logs, m)?)?;
    m.add_function(wrap_pyfunction!(logging::pylogger::python_logging_configured, m)?)?;
    Ok(())
}
