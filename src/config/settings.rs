//! The one table of settings: gunicorn 27's names, sections, flags and defaults.
//!
//! The CLI (clap), `--help`, config-file names, `GUNICORN_CMD_ARGS` and `--print-config` are all
//! generated from [`SETTINGS`]. [`super::Config::set`] validates a value by its [`Type`] and
//! updates the typed view the rest of the server reads.

/// How a setting is given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `--flag VALUE`; the last one wins.
    Value,
    /// `--flag` sets true.
    Flag,
    /// `--flag` sets false (`--no-sendfile`).
    FalseFlag,
    /// `--flag VALUE`, repeatable; every value is kept in order.
    List,
    /// Config file only (hooks, dicts).
    FileOnly,
}

/// What a value must look like (gunicorn's validators).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// A non-negative integer; text is read as Python's `int(text, 0)`.
    PosInt,
    /// True or false.
    Bool,
    /// Any string.
    Str,
    /// A string or None.
    OptStr,
    /// A list of strings (repeatable flag, or a list in the config file).
    ListStr,
    /// A comma-separated string turned into a list.
    CommaList,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A directory that must exist; stored absolute.
    Chdir,
    /// A user name or uid, stored as the uid.
    User,
    /// A group name or gid, stored as the gid.
    Group,
    /// A dict (config file only).
    Dict,
    /// A callable hook (config file only).
    Hook,
    /// gunicorn's `validate_class`: a dotted path or name, or a class object set in a config file.
    Class,
}

/// A setting's default before any source is applied.
#[derive(Clone, Copy, Debug)]
pub enum DefaultValue {
    /// Python's None.
    None,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(&'static str),
    /// A list of strings.
    List(&'static [&'static str]),
    /// A dict of strings.
    Dict(&'static [(&'static str, &'static str)]),
    /// A hook, shown as gunicorn shows its built-in no-op (`<OnStarting.on_starting()>`).
    Hook(&'static str),
    /// Computed at start from the process or the environment (`chdir`, `user`, `bind`, …).
    Dynamic,
}

/// One row of the settings table.
#[derive(Debug)]
pub struct Setting {
    /// gunicorn's setting name, as used in config files and `--print-config`.
    pub name: &'static str,
    /// gunicorn's section, for `--help`.
    pub section: &'static str,
    /// Command-line flags, long ones with `--`, short ones with `-`.
    pub flags: &'static [&'static str],
    /// How the value is given on the command line.
    pub kind: Kind,
    /// What the value must look like.
    pub ty: Type,
    /// The default.
    pub default: DefaultValue,
    /// False: accepted for compatibility, warned about at start when set, no effect yet.
    pub implemented: bool,
    /// One line of help.
    pub help: &'static str,
}

macro_rules! s {
    ($name:literal, $section:literal, [$($flag:literal),*], $kind:ident, $ty:expr, $default:expr, $imp:literal, $help:literal) => {
        Setting {
            name: $name, section: $section, flags: &[$($flag),*], kind: Kind::$kind, ty: $ty,
            default: $default, implemented: $imp, help: $help,
        }
    };
}

use DefaultValue as D;
use Type as T;

const LOCAL: &[&str] = &["127.0.0.1", "::1"];
const SECURE_SCHEME_HEADERS: &[(&str, &str)] =
    &[("X-FORWARDED-PROTOCOL", "ssl"), ("X-FORWARDED-PROTO", "https"), ("X-FORWARDED-SSL", "on")];
const ACCESS_LOG_FORMAT: &str = r#"%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s""#;

/// Every setting rgunicorn understands.
#[rustfmt::skip]
pub static SETTINGS: &[Setting] = &[
    // Config file
    s!("config", "Config File", ["-c", "--config"], Value, T::Str, D::Str("./gunicorn.conf.py"), true, "The config file: PATH, file:PATH or python:MODULE."),
    s!("wsgi_app", "Config File", [], FileOnly, T::OptStr, D::None, true, "The WSGI application, MODULE:CALLABLE, when not given on the command line."),
    // Debugging
    s!("reload", "Debugging", ["--reload"], Flag, T::Bool, D::Bool(false), false, "Restart workers when code changes."),
    s!("reload_engine", "Debugging", ["--reload-engine"], Value, T::Choice(&["auto", "poll", "inotify"]), D::Str("auto"), false, "How code changes are detected."),
    s!("reload_extra_files", "Debugging", ["--reload-extra-file"], List, T::ListStr, D::List(&[]), false, "Extra files to watch with --reload."),
    s!("spew", "Debugging", ["--spew"], Flag, T::Bool, D::Bool(false), false, "Trace every line the server executes."),
    s!("check_config", "Debugging", ["--check-config"], Flag, T::Bool, D::Bool(false), true, "Check the configuration and the app import, then exit (0 = fine)."),
    s!("print_config", "Debugging", ["--print-config"], Flag, T::Bool, D::Bool(false), true, "Print the configuration settings as fully resolved, then exit."),
    // Control (gunicorn 27's control socket: rgunicorn has none, so disabling it is a no-op)
    s!("control_socket", "Control", ["--control-socket"], Value, T::Str, D::Dynamic, false, "gunicorn's control socket path (rgunicorn has no control socket)."),
    s!("control_socket_mode", "Control", ["--control-socket-mode"], Value, T::PosInt, D::Int(0o600), false, "gunicorn's control socket permissions."),
    s!("control_socket_disable", "Control", ["--no-control-socket"], Flag, T::Bool, D::Bool(false), true, "Disable the control socket (rgunicorn never opens one)."),
    // Logging
    s!("accesslog", "Logging", ["--access-logfile"], Value, T::OptStr, D::None, true, "The access log file ('-' is stdout)."),
    s!("disable_redirect_access_to_syslog", "Logging", ["--disable-redirect-access-to-syslog"], Flag, T::Bool, D::Bool(false), true, "Do not send access logs to syslog."),
    s!("access_log_format", "Logging", ["--access-logformat"], Value, T::Str, D::Str(ACCESS_LOG_FORMAT), true, "The access log line format (gunicorn's atoms)."),
    s!("errorlog", "Logging", ["--error-logfile", "--log-file"], Value, T::Str, D::Str("-"), true, "The error log file ('-' is stderr)."),
    s!("loglevel", "Logging", ["--log-level"], Value, T::Choice(&["debug", "info", "warning", "error", "critical"]), D::Str("info"), true, "The error log level."),
    s!("capture_output", "Logging", ["--capture-output"], Flag, T::Bool, D::Bool(false), true, "Send the workers' stdout and stderr to the error log."),
    s!("logger_class", "Logging", ["--logger-class"], Value, T::Class, D::Str("gunicorn.glogging.Logger"), true, "The logger class: a subclass of gunicorn.glogging.Logger (dotted path or class)."),
    s!("logconfig", "Logging", ["--log-config"], Value, T::OptStr, D::None, true, "A logging.config.fileConfig file."),
    s!("logconfig_dict", "Logging", [], FileOnly, T::Dict, D::Dict(&[]), true, "A logging.config.dictConfig dict."),
    s!("logconfig_json", "Logging", ["--log-config-json"], Value, T::OptStr, D::None, true, "A JSON file for logging.config.dictConfig."),
    s!("syslog_addr", "Logging", ["--log-syslog-to"], Value, T::Str, D::Str("udp://localhost:514"), true, "Where syslog messages go."),
    s!("syslog", "Logging", ["--log-syslog"], Flag, T::Bool, D::Bool(false), true, "Send the error log to syslog."),
    s!("syslog_prefix", "Logging", ["--log-syslog-prefix"], Value, T::OptStr, D::None, true, "The program name in syslog entries."),
    s!("syslog_facility", "Logging", ["--log-syslog-facility"], Value, T::Str, D::Str("user"), true, "The syslog facility."),
    s!("enable_stdio_inheritance", "Logging", ["-R", "--enable-stdio-inheritance"], Flag, T::Bool, D::Bool(false), false, "Keep stdio open in daemon mode."),
    s!("statsd_host", "Logging", ["--statsd-host"], Value, T::OptStr, D::None, true, "The statsd server, HOST:PORT or unix:PATH."),
    s!("dogstatsd_tags", "Logging", ["--dogstatsd-tags"], Value, T::Str, D::Str(""), true, "Comma-separated tags for every statsd metric."),
    s!("statsd_prefix", "Logging", ["--statsd-prefix"], Value, T::Str, D::Str(""), true, "A prefix for every statsd metric."),
    // Process naming
    s!("proc_name", "Process Naming", ["-n", "--name"], Value, T::OptStr, D::None, true, "The process title base (visible in ps)."),
    s!("default_proc_name", "Process Naming", [], FileOnly, T::Str, D::Str("gunicorn"), true, "The process title base when proc_name is unset (the app name)."),
    // SSL
    s!("keyfile", "SSL", ["--keyfile"], Value, T::OptStr, D::None, true, "The TLS key file."),
    s!("certfile", "SSL", ["--certfile"], Value, T::OptStr, D::None, true, "The TLS certificate file."),
    s!("cert_reqs", "SSL", ["--cert-reqs"], Value, T::PosInt, D::Int(0), true, "Client certificates: 0 none, 1 optional, 2 required."),
    s!("ca_certs", "SSL", ["--ca-certs"], Value, T::OptStr, D::None, true, "CA certificates for client verification."),
    s!("suppress_ragged_eofs", "SSL", ["--suppress-ragged-eofs"], Flag, T::Bool, D::Bool(true), true, "Treat a TLS EOF without close_notify as a normal EOF."),
    s!("do_handshake_on_connect", "SSL", ["--do-handshake-on-connect"], Flag, T::Bool, D::Bool(false), true, "Do the TLS handshake at accept time."),
    s!("ciphers", "SSL", ["--ciphers"], Value, T::OptStr, D::None, true, "TLS cipher suites."),
    // Security
    s!("limit_request_line", "Security", ["--limit-request-line"], Value, T::PosInt, D::Int(4094), true, "The maximum request line size in bytes (0 = 8190)."),
    s!("limit_request_fields", "Security", ["--limit-request-fields"], Value, T::PosInt, D::Int(100), true, "The maximum number of request header fields."),
    s!("limit_request_field_size", "Security", ["--limit-request-field_size", "--limit-request-field-size"], Value, T::PosInt, D::Int(8190), true, "The maximum size of one request header field (0 = unlimited)."),
    // Server hooks
    s!("on_starting", "Server Hooks", [], FileOnly, T::Hook, D::Hook("OnStarting.on_starting"), true, "Called before the master initialises: on_starting(server)."),
    s!("on_reload", "Server Hooks", [], FileOnly, T::Hook, D::Hook("OnReload.on_reload"), true, "Called on HUP: on_reload(server)."),
    s!("when_ready", "Server Hooks", [], FileOnly, T::Hook, D::Hook("WhenReady.when_ready"), true, "Called when the server is started: when_ready(server)."),
    s!("pre_fork", "Server Hooks", [], FileOnly, T::Hook, D::Hook("Prefork.pre_fork"), true, "Called before a worker is forked: pre_fork(server, worker)."),
    s!("post_fork", "Server Hooks", [], FileOnly, T::Hook, D::Hook("Postfork.post_fork"), true, "Called in a worker after fork: post_fork(server, worker)."),
    s!("post_worker_init", "Server Hooks", [], FileOnly, T::Hook, D::Hook("PostWorkerInit.post_worker_init"), true, "Called after a worker loaded the app: post_worker_init(worker)."),
    s!("worker_int", "Server Hooks", [], FileOnly, T::Hook, D::Hook("WorkerInt.worker_int"), true, "Called when a worker gets INT or QUIT: worker_int(worker)."),
    s!("worker_abort", "Server Hooks", [], FileOnly, T::Hook, D::Hook("WorkerAbort.worker_abort"), true, "Called when a worker gets ABRT (timeout): worker_abort(worker)."),
    s!("pre_exec", "Server Hooks", [], FileOnly, T::Hook, D::Hook("PreExec.pre_exec"), true, "Called before a new master is exec'd: pre_exec(server)."),
    s!("pre_request", "Server Hooks", [], FileOnly, T::Hook, D::Hook("PreRequest.pre_request"), true, "Called before a request: pre_request(worker, req)."),
    s!("post_request", "Server Hooks", [], FileOnly, T::Hook, D::Hook("PostRequest.post_request"), true, "Called after a request: post_request(worker, req, environ, resp)."),
    s!("child_exit", "Server Hooks", [], FileOnly, T::Hook, D::Hook("ChildExit.child_exit"), true, "Called in the master when a worker exited: child_exit(server, worker)."),
    s!("worker_exit", "Server Hooks", [], FileOnly, T::Hook, D::Hook("WorkerExit.worker_exit"), true, "Called in the worker as it exits: worker_exit(server, worker)."),
    s!("nworkers_changed", "Server Hooks", [], FileOnly, T::Hook, D::Hook("NumWorkersChanged.nworkers_changed"), true, "Called when the number of workers changes: nworkers_changed(server, new, old)."),
    s!("on_exit", "Server Hooks", [], FileOnly, T::Hook, D::Hook("OnExit.on_exit"), true, "Called as the master exits: on_exit(server)."),
    s!("ssl_context", "Server Hooks", [], FileOnly, T::Hook, D::Hook("NewSSLContext.ssl_context"), false, "Builds the TLS context: ssl_context(config, default_ssl_context_factory)."),
    // Server mechanics
    s!("preload_app", "Server Mechanics", ["--preload"], Flag, T::Bool, D::Bool(false), true, "Import the app in the master before forking workers."),
    s!("sendfile", "Server Mechanics", ["--no-sendfile"], FalseFlag, T::Bool, D::None, true, "Disable sendfile() for wsgi.file_wrapper (default: the SENDFILE variable, else on)."),
    s!("reuse_port", "Server Mechanics", ["--reuse-port"], Flag, T::Bool, D::Bool(false), true, "Set SO_REUSEPORT on the listening sockets."),
    s!("chdir", "Server Mechanics", ["--chdir"], Value, T::Chdir, D::Dynamic, true, "Change to this directory before loading the app."),
    s!("daemon", "Server Mechanics", ["-D", "--daemon"], Flag, T::Bool, D::Bool(false), true, "Detach from the terminal and run in the background."),
    s!("raw_env", "Server Mechanics", ["-e", "--env"], List, T::ListStr, D::List(&[]), true, "Set an environment variable in the workers, KEY=VALUE (repeatable)."),
    s!("pidfile", "Server Mechanics", ["-p", "--pid"], Value, T::OptStr, D::None, true, "Write the master's pid to this file."),
    s!("worker_tmp_dir", "Server Mechanics", ["--worker-tmp-dir"], Value, T::OptStr, D::None, true, "The directory for the workers' heartbeat files (default: shared memory)."),
    s!("user", "Server Mechanics", ["-u", "--user"], Value, T::User, D::Dynamic, true, "Switch the workers to this user (name or uid)."),
    s!("group", "Server Mechanics", ["-g", "--group"], Value, T::Group, D::Dynamic, true, "Switch the workers to this group (name or gid)."),
    s!("umask", "Server Mechanics", ["-m", "--umask"], Value, T::PosInt, D::Int(0), true, "The umask of the processes (e.g. 0o22)."),
    s!("initgroups", "Server Mechanics", ["--initgroups"], Flag, T::Bool, D::Bool(false), true, "Set the workers' supplementary groups from the user's."),
    s!("tmp_upload_dir", "Server Mechanics", [], FileOnly, T::OptStr, D::None, false, "The directory for temporary request data."),
    s!("secure_scheme_headers", "Server Mechanics", [], FileOnly, T::Dict, D::Dict(SECURE_SCHEME_HEADERS), true, "Headers (and values) from a trusted front end that mean https."),
    s!("forwarded_allow_ips", "Server Mechanics", ["--forwarded-allow-ips"], Value, T::CommaList, D::Dynamic, true, "Front-end addresses trusted for secure_scheme_headers ('*' = all)."),
    s!("pythonpath", "Server Mechanics", ["--pythonpath"], Value, T::OptStr, D::None, true, "Comma-separated directories to add to the Python path."),
    s!("proxy_protocol", "Server Mechanics", ["--proxy-protocol"], Value, T::Choice(&["off", "v1", "v2", "auto"]), D::Str("off"), false, "Accept the PROXY protocol: off, v1, v2 or auto."),
    s!("proxy_allow_ips", "Server Mechanics", ["--proxy-allow-from"], Value, T::CommaList, D::List(LOCAL), false, "Front-end addresses allowed to send the PROXY protocol."),
    s!("permit_obsolete_folding", "Server Mechanics", ["--permit-obsolete-folding"], Flag, T::Bool, D::Bool(false), true, "Accept obsolete line folding in request headers."),
    s!("strip_header_spaces", "Server Mechanics", ["--strip-header-spaces"], Flag, T::Bool, D::Bool(false), true, "Strip spaces before ':' in header names (dangerous)."),
    s!("permit_unconventional_http_method", "Server Mechanics", ["--permit-unconventional-http-method"], Flag, T::Bool, D::Bool(false), true, "Accept lowercase and unusually long HTTP methods."),
    s!("permit_unconventional_http_version", "Server Mechanics", ["--permit-unconventional-http-version"], Flag, T::Bool, D::Bool(false), true, "Accept HTTP/1.x versions other than 1.0 and 1.1."),
    s!("casefold_http_method", "Server Mechanics", ["--casefold-http-method"], Flag, T::Bool, D::Bool(false), true, "Upper-case the HTTP method before validating it."),
    s!("forwarder_headers", "Server Mechanics", ["--forwarder-headers"], Value, T::CommaList, D::List(&["SCRIPT_NAME", "PATH_INFO"]), false, "Headers a trusted front end may use to set these environ keys."),
    s!("header_map", "Server Mechanics", ["--header-map"], Value, T::Choice(&["drop", "refuse", "dangerous"]), D::Str("drop"), true, "Header names with '_': drop, refuse (400) or dangerous (keep)."),
    // Server socket
    s!("bind", "Server Socket", ["-b", "--bind"], List, T::ListStr, D::Dynamic, true, "Where to listen: HOST:PORT, [V6]:PORT, unix:PATH or fd://N (repeatable)."),
    s!("backlog", "Server Socket", ["--backlog"], Value, T::PosInt, D::Int(2048), true, "The listen backlog."),
    // Worker processes
    s!("workers", "Worker Processes", ["-w", "--workers"], Value, T::PosInt, D::Dynamic, true, "The number of worker processes (default: WEB_CONCURRENCY, else 1)."),
    s!("worker_class", "Worker Processes", ["-k", "--worker-class"], Value, T::Class, D::Str("sync"), true, "The worker type: sync, gthread, gevent, tornado, or a worker class (module.Class, egg:dist#name)."),
    s!("threads", "Worker Processes", ["--threads"], Value, T::PosInt, D::Int(1), true, "Threads per worker; more than 1 makes a sync worker gthread."),
    s!("worker_connections", "Worker Processes", ["--worker-connections"], Value, T::PosInt, D::Int(1000), true, "The maximum number of open connections per worker."),
    s!("max_requests", "Worker Processes", ["--max-requests"], Value, T::PosInt, D::Int(0), true, "Restart a worker after this many requests (0 = never)."),
    s!("max_requests_jitter", "Worker Processes", ["--max-requests-jitter"], Value, T::PosInt, D::Int(0), true, "A random extra 0..N requests for max_requests."),
    s!("timeout", "Worker Processes", ["-t", "--timeout"], Value, T::PosInt, D::Int(30), true, "Kill a worker silent for this many seconds (0 = never)."),
    s!("graceful_timeout", "Worker Processes", ["--graceful-timeout"], Value, T::PosInt, D::Int(30), true, "Seconds workers get to finish on a graceful stop or restart."),
    s!("keepalive", "Worker Processes", ["--keep-alive"], Value, T::PosInt, D::Int(2), true, "Seconds to wait for the next request on a keep-alive connection."),
    // rgunicorn's own
    s!("header_timeout", "rgunicorn", ["--header-timeout"], Value, T::PosInt, D::Int(10), true, "Seconds a client gets to send a complete request head."),
    s!("request_timeout", "rgunicorn", ["--request-timeout"], Value, T::PosInt, D::Int(0), true, "gthread/gevent: log the stack and answer 504 after this many seconds (0 = off)."),
];

/// The row for `name`, if it exists.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_flags_are_unique() {
        let mut names = std::collections::HashSet::new();
        let mut flags = std::collections::HashSet::new();
        for s in SETTINGS {
            assert!(names.insert(s.name), "duplicate setting {}", s.name);
            for f in s.flags {
                assert!(flags.insert(*f), "duplicate flag {f}");
            }
            assert_eq!(s.kind == Kind::FileOnly, s.flags.is_empty(), "{}", s.name);
        }
    }
}
