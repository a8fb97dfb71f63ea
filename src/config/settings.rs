//! The one table of settings: names, flags, defaults and help, as gunicorn spells them.
//!
//! The CLI (clap), `--help` and validation are generated from [`SETTINGS`]; [`super::Config::set`]
//! turns a textual value into the typed field. Adding a setting means one row here and one arm there.

/// How a setting's value is given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `--flag VALUE`, the last one wins.
    Value,
    /// `--flag`, sets true.
    Flag,
    /// `--flag VALUE`, repeatable; every value is kept in order.
    List,
}

/// One row of the settings table.
#[derive(Debug)]
pub struct Setting {
    /// gunicorn's setting name, as used in config files and `--print-config`.
    pub name: &'static str,
    /// Command-line flags, long ones with `--`, short ones with `-`.
    pub flags: &'static [&'static str],
    /// How the value is given.
    pub kind: Kind,
    /// Placeholder shown in `--help`.
    pub meta: &'static str,
    /// One line of help.
    pub help: &'static str,
}

macro_rules! setting {
    ($name:literal, [$($flag:literal),*], $kind:ident, $meta:literal, $help:literal) => {
        Setting { name: $name, flags: &[$($flag),*], kind: Kind::$kind, meta: $meta, help: $help }
    };
}

/// Every setting rgunicorn understands, in `--help` order.
pub static SETTINGS: &[Setting] = &[
    setting!("config", ["-c", "--config"], Value, "CONFIG", "The gunicorn config file: PATH, file:PATH or python:MODULE."),
    setting!("bind", ["-b", "--bind"], List, "ADDRESS", "The socket to bind: HOST:PORT, [V6]:PORT, unix:PATH or fd://N. Repeatable."),
    setting!("backlog", ["--backlog"], Value, "INT", "The maximum number of pending connections."),
    setting!("workers", ["-w", "--workers"], Value, "INT", "The number of worker processes."),
    setting!("worker_class", ["-k", "--worker-class"], Value, "STRING", "The type of workers to use: sync, gthread or gevent."),
    setting!("threads", ["--threads"], Value, "INT", "The number of worker threads for handling requests (gthread)."),
    setting!("worker_connections", ["--worker-connections"], Value, "INT", "The maximum number of simultaneous clients per worker."),
    setting!("max_requests", ["--max-requests"], Value, "INT", "Restart a worker after this many requests (0 disables)."),
    setting!("max_requests_jitter", ["--max-requests-jitter"], Value, "INT", "The maximum jitter to add to max_requests."),
    setting!("timeout", ["-t", "--timeout"], Value, "INT", "Workers silent for more than this many seconds are killed and restarted (0 disables)."),
    setting!("graceful_timeout", ["--graceful-timeout"], Value, "INT", "Timeout for graceful workers restart."),
    setting!("keepalive", ["--keep-alive"], Value, "INT", "Seconds to wait for requests on a keep-alive connection."),
    setting!("header_timeout", ["--header-timeout"], Value, "INT", "Seconds a client gets to send a complete request head (slow clients are cut off). rgunicorn only."),
    setting!("request_timeout", ["--request-timeout"], Value, "INT", "gthread/gevent: seconds a request may run before its thread's stack is logged and the client gets 504 (0 = off). rgunicorn only."),
    setting!("limit_request_line", ["--limit-request-line"], Value, "INT", "The maximum size of an HTTP request line in bytes (0 = unlimited)."),
    setting!("limit_request_fields", ["--limit-request-fields"], Value, "INT", "Limit the number of HTTP header fields in a request."),
    setting!("limit_request_field_size", ["--limit-request-field_size", "--limit-request-field-size"], Value, "INT", "Limit the allowed size of an HTTP request header field (0 = unlimited)."),
    setting!("permit_obsolete_folding", ["--permit-obsolete-folding"], Flag, "", "Accept obsolete line folding in request headers."),
    setting!("strip_header_spaces", ["--strip-header-spaces"], Flag, "", "Strip spaces before the colon in header names (dangerous)."),
    setting!("permit_unconventional_http_method", ["--permit-unconventional-http-method"], Flag, "", "Accept lowercase and unusually long HTTP methods."),
    setting!("permit_unconventional_http_version", ["--permit-unconventional-http-version"], Flag, "", "Accept HTTP/1.x versions other than 1.0 and 1.1."),
    setting!("casefold_http_method", ["--casefold-http-method"], Flag, "", "Upper-case the HTTP method before validating it."),
    setting!("header_map", ["--header-map"], Value, "STRING", "What to do with header names containing '_': drop, refuse or dangerous."),
    setting!("chdir", ["--chdir"], Value, "PATH", "Change directory to this one before loading apps."),
    setting!("pythonpath", ["--pythonpath"], Value, "STRING", "A comma-separated list of directories to add to the Python path."),
    setting!("preload_app", ["--preload"], Flag, "", "Load application code before the worker processes are forked."),
    setting!("sendfile", ["--no-sendfile"], Flag, "", "Disable the use of sendfile()."),
    setting!("reuse_port", ["--reuse-port"], Flag, "", "Set SO_REUSEPORT on the listening socket."),
    setting!("raw_env", ["-e", "--env"], List, "ENV", "Set an environment variable in the workers (KEY=VALUE). Repeatable."),
    setting!("proc_name", ["-n", "--name"], Value, "STRING", "A base to use with setproctitle for process naming."),
    setting!("loglevel", ["--log-level"], Value, "LEVEL", "The granularity of error log outputs: debug, info, warning, error, critical."),
    setting!("errorlog", ["--error-logfile", "--log-file"], Value, "FILE", "The error log file to write to ('-' is stderr)."),
    setting!("worker_tmp_dir", ["--worker-tmp-dir"], Value, "DIR", "A directory for the workers' heartbeat files."),
    setting!("forwarded_allow_ips", ["--forwarded-allow-ips"], Value, "STRING", "Front-end IPs allowed to set secure headers (comma-separated, '*' for all)."),
];

/// The row for `name`, if it exists.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}
