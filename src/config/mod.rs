//! Typed configuration: defaults, environment defaults, and values from the command line.
//!
//! Every source ends in [`Config::set`], which parses and validates one setting by its gunicorn
//! name, so a bad value is reported the same way whichever source it came from.

pub mod settings;

use std::fmt;

use crate::http::{HeaderMapPolicy, Limits};

/// Why a configuration could not be built. Printed as one line; the process then exits non-zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A setting's value did not parse or validate.
    BadValue {
        /// The setting's name.
        name: String,
        /// The value as given.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A setting name nobody knows.
    UnknownSetting(String),
    /// The command line did not parse (clap's message).
    Usage(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadValue { name, value, expected } => {
                write!(f, "Invalid value for {name}: {value:?} ({expected})")
            }
            ConfigError::UnknownSetting(name) => write!(f, "Unknown setting: {name}"),
            ConfigError::Usage(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The worker class selected with `-k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerClass {
    /// One request at a time, no keep-alive.
    Sync,
    /// A Rust I/O loop feeding a pool of Python threads.
    Gthread,
    /// gevent's hub owns the I/O.
    Gevent,
}

impl WorkerClass {
    /// gunicorn's name for the class.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerClass::Sync => "sync",
            WorkerClass::Gthread => "gthread",
            WorkerClass::Gevent => "gevent",
        }
    }
}

/// The complete, validated configuration of one server.
#[derive(Clone, Debug)]
pub struct Config {
    /// Config file given with `-c`.
    pub config: Option<String>,
    /// Addresses to listen on.
    pub bind: Vec<String>,
    /// listen(2) backlog.
    pub backlog: i32,
    /// Number of worker processes.
    pub workers: usize,
    /// `-k`.
    pub worker_class: WorkerClass,
    /// Threads per gthread worker.
    pub threads: usize,
    /// Maximum simultaneous clients per worker (gthread, gevent).
    pub worker_connections: usize,
    /// Requests after which a worker restarts (0 = never).
    pub max_requests: u64,
    /// Random extra requests added to `max_requests`.
    pub max_requests_jitter: u64,
    /// Heartbeat timeout in seconds (0 = disabled).
    pub timeout: u64,
    /// Seconds workers get to finish during a graceful stop.
    pub graceful_timeout: u64,
    /// Keep-alive idle timeout in seconds.
    pub keepalive: u64,
    /// Seconds allowed for a complete request head.
    pub header_timeout: u64,
    /// Per-request deadline in seconds for threaded workers (0 = none).
    pub request_timeout: u64,
    /// HTTP parser limits and strictness switches.
    pub limits: Limits,
    /// Directory to change to before loading the app.
    pub chdir: Option<String>,
    /// Extra entries for `sys.path`.
    pub pythonpath: Vec<String>,
    /// Import the app in the master before forking.
    pub preload_app: bool,
    /// Use sendfile(2) for `wsgi.file_wrapper`.
    pub sendfile: bool,
    /// SO_REUSEPORT on listeners.
    pub reuse_port: bool,
    /// `KEY=VALUE` pairs set in the workers' environment.
    pub raw_env: Vec<String>,
    /// Process name base.
    pub proc_name: Option<String>,
    /// Error log level name.
    pub loglevel: String,
    /// Error log destination (`-` = stderr).
    pub errorlog: String,
    /// Directory for heartbeat files.
    pub worker_tmp_dir: Option<String>,
    /// Front-end addresses trusted for forwarded headers.
    pub forwarded_allow_ips: Vec<String>,
    /// The WSGI application (`module:callable`).
    pub wsgi_app: Option<String>,
}

impl Config {
    /// Built-in defaults, with gunicorn's environment defaults (`PORT`, `WEB_CONCURRENCY`,
    /// `FORWARDED_ALLOW_IPS`, `SENDFILE`) applied from `env`.
    pub fn with_env_defaults(env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut cfg = Config {
            config: None,
            bind: vec!["127.0.0.1:8000".to_string()],
            backlog: 2048,
            workers: 1,
            worker_class: WorkerClass::Sync,
            threads: 1,
            worker_connections: 1000,
            max_requests: 0,
            max_requests_jitter: 0,
            timeout: 30,
            graceful_timeout: 30,
            keepalive: 2,
            header_timeout: 10,
            request_timeout: 0,
            limits: Limits::default(),
            chdir: None,
            pythonpath: Vec::new(),
            preload_app: false,
            sendfile: true,
            reuse_port: false,
            raw_env: Vec::new(),
            proc_name: None,
            loglevel: "info".to_string(),
            errorlog: "-".to_string(),
            worker_tmp_dir: None,
            forwarded_allow_ips: vec!["127.0.0.1".to_string(), "::1".to_string()],
            wsgi_app: None,
        };
        if let Some(port) = env("PORT").filter(|p| !p.is_empty()) {
            cfg.bind = vec![format!("0.0.0.0:{port}")];
        }
        if let Some(n) = env("WEB_CONCURRENCY").filter(|n| !n.is_empty()) {
            cfg.set("workers", &n)?;
        }
        if let Some(ips) = env("FORWARDED_ALLOW_IPS").filter(|v| !v.is_empty()) {
            cfg.set("forwarded_allow_ips", &ips)?;
        }
        if let Some(v) = env("SENDFILE") {
            cfg.sendfile = matches!(v.to_ascii_lowercase().as_str(), "1" | "y" | "yes" | "true" | "on");
        }
        Ok(cfg)
    }

    /// Set one setting from its textual form. List settings replace the whole list.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let bad = |expected| ConfigError::BadValue { name: name.to_string(), value: value.to_string(), expected };
        let uint = || value.trim().parse::<u64>().map_err(|_| bad("a non-negative integer"));
        let boolean = || match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "y" | "on" => Ok(true),
            "0" | "false" | "no" | "n" | "off" => Ok(false),
            _ => Err(bad("true or false")),
        };
        match name {
            "config" => self.config = Some(value.to_string()),
            "bind" => self.bind = vec![value.to_string()],
            "backlog" => self.backlog = i32::try_from(uint()?).map_err(|_| bad("an integer below 2^31"))?,
            "workers" => self.workers = positive(uint()?).ok_or_else(|| bad("a positive integer"))?,
            "worker_class" => {
                self.worker_class = match value.trim() {
                    "sync" | "gunicorn.workers.sync.SyncWorker" => WorkerClass::Sync,
                    "gthread" | "gunicorn.workers.gthread.ThreadWorker" => WorkerClass::Gthread,
                    "gevent" | "gunicorn.workers.ggevent.GeventWorker" => WorkerClass::Gevent,
                    _ => return Err(bad("sync, gthread or gevent")),
                }
            }
            "threads" => self.threads = positive(uint()?).ok_or_else(|| bad("a positive integer"))?,
            "worker_connections" => {
                self.worker_connections = positive(uint()?).ok_or_else(|| bad("a positive integer"))?
            }
            "max_requests" => self.max_requests = uint()?,
            "max_requests_jitter" => self.max_requests_jitter = uint()?,
            "timeout" => self.timeout = uint()?,
            "graceful_timeout" => self.graceful_timeout = uint()?,
            "keepalive" => self.keepalive = uint()?,
            "header_timeout" => self.header_timeout = positive(uint()?).ok_or_else(|| bad("a positive integer"))? as u64,
            "request_timeout" => self.request_timeout = uint()?,
            "limit_request_line" => {
                // gunicorn: 0 or anything above 8190 means "the maximum", 8190.
                let n = uint()? as usize;
                self.limits.request_line = if n == 0 || n > 8190 { 8190 } else { n };
            }
            "limit_request_fields" => {
                let n = uint()? as usize;
                self.limits.fields = if n == 0 || n > 32768 { 32768 } else { n };
            }
            "limit_request_field_size" => {
                let n = uint()? as usize;
                self.limits.field_size = if n == 0 { 8190 * 4 } else { n };
            }
            "permit_obsolete_folding" => self.limits.permit_obsolete_folding = boolean()?,
            "strip_header_spaces" => self.limits.strip_header_spaces = boolean()?,
            "permit_unconventional_http_method" => self.limits.permit_unconventional_http_method = boolean()?,
            "permit_unconventional_http_version" => self.limits.permit_unconventional_http_version = boolean()?,
            "casefold_http_method" => self.limits.casefold_http_method = boolean()?,
            "header_map" => {
                self.limits.header_map = match value.trim() {
                    "drop" => HeaderMapPolicy::Drop,
                    "refuse" => HeaderMapPolicy::Refuse,
                    "dangerous" => HeaderMapPolicy::Dangerous,
                    _ => return Err(bad("drop, refuse or dangerous")),
                }
            }
            "chdir" => self.chdir = Some(value.to_string()),
            "pythonpath" => {
                self.pythonpath = value.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect()
            }
            "preload_app" => self.preload_app = boolean()?,
            "sendfile" => self.sendfile = boolean()?,
            "reuse_port" => self.reuse_port = boolean()?,
            "raw_env" => {
                if !value.contains('=') {
                    return Err(bad("KEY=VALUE"));
                }
                self.raw_env = vec![value.to_string()]
            }
            "proc_name" => self.proc_name = Some(value.to_string()),
            "loglevel" => {
                let level = value.trim().to_ascii_lowercase();
                if !matches!(level.as_str(), "debug" | "info" | "warning" | "error" | "critical") {
                    return Err(bad("debug, info, warning, error or critical"));
                }
                self.loglevel = level;
            }
            "errorlog" => self.errorlog = value.to_string(),
            "worker_tmp_dir" => self.worker_tmp_dir = Some(value.to_string()),
            "forwarded_allow_ips" => {
                self.forwarded_allow_ips =
                    value.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect()
            }
            "wsgi_app" => self.wsgi_app = Some(value.to_string()),
            _ => return Err(ConfigError::UnknownSetting(name.to_string())),
        }
        Ok(())
    }

    /// Append to a list setting (repeated `-b` or `-e` flags).
    pub fn append(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "bind" => self.bind.push(value.to_string()),
            "raw_env" => {
                let before = std::mem::take(&mut self.raw_env);
                self.set(name, value)?;
                let added = std::mem::replace(&mut self.raw_env, before);
                self.raw_env.extend(added);
            }
            _ => self.set(name, value)?,
        }
        Ok(())
    }

    /// The worker class that will really run: as gunicorn, `sync` with more than one thread is gthread.
    pub fn effective_worker_class(&self) -> WorkerClass {
        if self.worker_class == WorkerClass::Sync && self.threads > 1 {
            WorkerClass::Gthread
        } else {
            self.worker_class
        }
    }

    /// `wsgi.multiprocess`: more than one process may serve the same app.
    pub fn multiprocess(&self) -> bool {
        self.workers > 1
    }
}

fn positive(n: u64) -> Option<usize> {
    usize::try_from(n).ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn env_defaults() {
        let cfg = Config::with_env_defaults(|k| match k {
            "PORT" => Some("9000".into()),
            "WEB_CONCURRENCY" => Some("3".into()),
            _ => None,
        })
        .expect("valid env");
        assert_eq!(cfg.bind, vec!["0.0.0.0:9000"]);
        assert_eq!(cfg.workers, 3);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let mut cfg = Config::with_env_defaults(no_env).expect("defaults");
        for (name, value) in [("workers", "0"), ("workers", "x"), ("timeout", "-1"), ("header_map", "keep")] {
            let err = cfg.set(name, value).expect_err("must be rejected");
            assert!(err.to_string().contains(name), "{err}");
        }
        assert!(matches!(cfg.set("nope", "1"), Err(ConfigError::UnknownSetting(_))));
    }

    #[test]
    fn sync_with_threads_is_gthread() {
        let mut cfg = Config::with_env_defaults(no_env).expect("defaults");
        assert_eq!(cfg.effective_worker_class(), WorkerClass::Sync);
        cfg.set("threads", "4").expect("valid");
        assert_eq!(cfg.effective_worker_class(), WorkerClass::Gthread);
    }

    #[test]
    fn limits_follow_gunicorn_caps() {
        let mut cfg = Config::with_env_defaults(no_env).expect("defaults");
        cfg.set("limit_request_line", "0").expect("valid");
        assert_eq!(cfg.limits.request_line, 8190);
        cfg.set("limit_request_line", "100").expect("valid");
        assert_eq!(cfg.limits.request_line, 100);
    }
}
