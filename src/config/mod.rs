//! Configuration: one map of setting values (what `--print-config` shows) and the typed view of
//! it that the server reads. Every source — defaults, environment, config file,
//! `GUNICORN_CMD_ARGS`, command line — goes through [`Config::set_value`], so a bad value is
//! reported the same way whichever source it came from.

pub mod addr;
mod apply;
pub mod cli;
pub mod docs;
pub mod file;
pub mod hooks;
pub mod parse;
pub mod paste_server;
pub mod settings;
pub mod sources;
pub mod tls_options;
pub mod value;
pub mod view;

use std::collections::BTreeMap;
use std::fmt;

use crate::http::{HeaderMapPolicy, Limits};
use parse::{from_cli_text, validate};
use settings::{DefaultValue, Setting, Support, SETTINGS};
use value::Value;

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
        expected: String,
    },
    /// A setting name nobody knows.
    UnknownSetting(String),
    /// The command line did not parse (clap's message).
    Usage(String),
    /// The config file is missing or failed to run (its traceback was already printed).
    ConfigFile(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadValue { name, value, expected } => {
                write!(f, "Invalid value for {name}: {value:?} ({expected})")
            }
            ConfigError::UnknownSetting(name) => write!(f, "Unknown setting: {name}"),
            ConfigError::Usage(msg) | ConfigError::ConfigFile(msg) => f.write_str(msg),
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
    /// A Python worker class (`module.Class`, `egg:dist#name`, `tornado`, a class object): run
    /// through gunicorn's Worker contract (`src/worker/plugin/`).
    Plugin,
}

impl WorkerClass {
    /// gunicorn's name for the class.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerClass::Sync => "sync",
            WorkerClass::Gthread => "gthread",
            WorkerClass::Gevent => "gevent",
            WorkerClass::Plugin => "plugin",
        }
    }

    /// The Rust worker a name or dotted path means (gunicorn's and rgunicorn's names for the
    /// built-ins, as in `rgunicorn.workers.SUPPORTED_WORKERS`); anything else is a Python class.
    fn parse(text: &str) -> WorkerClass {
        match text.trim() {
            "sync" | "gunicorn.workers.sync.SyncWorker" | "rgunicorn.workers.rust.SyncWorker" => WorkerClass::Sync,
            "gthread" | "gunicorn.workers.gthread.ThreadWorker" | "rgunicorn.workers.rust.ThreadWorker" => {
                WorkerClass::Gthread
            }
            "gevent"
            | "gevent_wsgi"
            | "gevent_pywsgi"
            | "gunicorn.workers.ggevent.GeventWorker"
            | "gunicorn.workers.ggevent.GeventPyWSGIWorker"
            | "rgunicorn.workers.rust.GeventWorker" => WorkerClass::Gevent,
            _ => WorkerClass::Plugin,
        }
    }
}

/// Facts about the process that some defaults come from.
#[derive(Clone, Debug)]
pub struct Environment {
    /// The working directory at start (`chdir`'s default).
    pub cwd: String,
    /// Effective uid and gid (`user` and `group` defaults).
    pub euid: u32,
    /// Effective gid.
    pub egid: u32,
    /// Environment variables.
    pub vars: BTreeMap<String, String>,
}

impl Environment {
    /// This process's environment.
    pub fn current() -> Environment {
        Environment {
            cwd: std::env::var("PWD")
                .ok()
                .filter(|pwd| same_dir(pwd, "."))
                .or_else(|| std::env::current_dir().ok().map(|p| p.display().to_string()))
                .unwrap_or_else(|| "/".to_string()),
            euid: nix::unistd::geteuid().as_raw(),
            egid: nix::unistd::getegid().as_raw(),
            vars: std::env::vars().collect(),
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

fn same_dir(a: &str, b: &str) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// The complete, validated configuration of one server.
#[derive(Clone, Debug)]
pub struct Config {
    /// Every setting's current value, by name.
    values: BTreeMap<&'static str, Value>,
    /// Settings given by some source (not left at their default).
    explicit: std::collections::BTreeSet<&'static str>,
    env: Environment,
    /// APP_MODULE from the command line (wins over `wsgi_app`).
    pub app_module: Option<String>,
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
    pub chdir: String,
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
    /// Access log destination (`-` = stdout), if any.
    pub accesslog: Option<String>,
    /// Access log line format.
    pub access_log_format: String,
    /// Directory for heartbeat files.
    pub worker_tmp_dir: Option<String>,
    /// Front-end addresses trusted for forwarded headers.
    pub forwarded_allow_ips: Vec<String>,
    /// Headers (upper-case) and values that mean https when sent by a trusted front end.
    pub secure_scheme_headers: Vec<(String, String)>,
    /// `--daemon`.
    pub daemon: bool,
    /// `--umask` for the processes and unix sockets.
    pub umask: u32,
    /// uid the workers switch to (the master's own when unchanged).
    pub uid: u32,
    /// gid the workers switch to.
    pub gid: u32,
    /// `--initgroups`.
    pub initgroups: bool,
    /// `--statsd-host`, if set.
    pub statsd_host: Option<String>,
    /// `--statsd-prefix`.
    pub statsd_prefix: String,
    /// `--dogstatsd-tags`.
    pub dogstatsd_tags: String,
    /// `--capture-output`.
    pub capture_output: bool,
    /// `--log-config` (a logging.config.fileConfig file).
    pub logconfig: Option<String>,
    /// `--log-config-json`.
    pub logconfig_json: Option<String>,
    /// `--log-syslog`.
    pub syslog: bool,
    /// `--log-syslog-to`.
    pub syslog_addr: String,
    /// `--log-syslog-facility`.
    pub syslog_facility: String,
    /// `--log-syslog-prefix`.
    pub syslog_prefix: Option<String>,
    /// `--disable-redirect-access-to-syslog`.
    pub disable_redirect_access_to_syslog: bool,
    /// `--check-config`.
    pub check_config: bool,
    /// TLS: certfile, keyfile, ca_certs, cert_reqs, ciphers and friends.
    pub tls: tls_options::TlsOptions,
    /// `--print-config`.
    pub print_config: bool,
    /// `--reload`: workers restart when a watched file changes.
    pub reload: bool,
    /// `--reload-engine`: auto, poll or inotify.
    pub reload_engine: String,
    /// `--reload-extra-file`: literal paths and glob patterns, as given.
    pub reload_extra_files: Vec<String>,
    /// `--paste`: a PasteDeploy config file, `FILE` or `FILE#section`.
    pub paste: Option<String>,
    /// `--paste-global`: `KEY=VALUE` entries for PasteDeploy's `global_conf`.
    pub raw_paste_global_conf: Vec<String>,
}

impl Config {
    /// Built-in defaults, with gunicorn's environment defaults (`PORT`, `WEB_CONCURRENCY`,
    /// `FORWARDED_ALLOW_IPS`, `SENDFILE`).
    pub fn with_env_defaults(env: Environment) -> Result<Config, ConfigError> {
        let mut cfg = Config {
            values: BTreeMap::new(),
            explicit: Default::default(),
            env,
            app_module: None,
            bind: Vec::new(),
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
            chdir: String::new(),
            pythonpath: Vec::new(),
            preload_app: false,
            sendfile: true,
            reuse_port: false,
            raw_env: Vec::new(),
            proc_name: None,
            loglevel: "info".to_string(),
            errorlog: "-".to_string(),
            accesslog: None,
            access_log_format: String::new(),
            worker_tmp_dir: None,
            forwarded_allow_ips: Vec::new(),
            secure_scheme_headers: Vec::new(),
            daemon: false,
            umask: 0,
            uid: 0,
            gid: 0,
            initgroups: false,
            statsd_host: None,
            statsd_prefix: String::new(),
            dogstatsd_tags: String::new(),
            capture_output: false,
            logconfig: None,
            logconfig_json: None,
            syslog: false,
            syslog_addr: String::new(),
            syslog_facility: String::new(),
            syslog_prefix: None,
            disable_redirect_access_to_syslog: false,
            check_config: false,
            print_config: false,
            tls: tls_options::TlsOptions::default(),
            reload: false,
            reload_engine: String::new(),
            reload_extra_files: Vec::new(),
            paste: None,
            raw_paste_global_conf: Vec::new(),
        };
        for setting in SETTINGS {
            let value = cfg.default_value(setting)?;
            cfg.store(setting, value)?;
        }
        cfg.explicit.clear();
        Ok(cfg)
    }

    fn default_value(&self, setting: &Setting) -> Result<Value, ConfigError> {
        let env = &self.env;
        Ok(match setting.default {
            DefaultValue::None => Value::None,
            DefaultValue::Bool(b) => Value::Bool(b),
            DefaultValue::Int(n) => Value::Int(n),
            DefaultValue::Str(s) => Value::Str(s.to_string()),
            DefaultValue::List(items) => Value::List(items.iter().map(|s| s.to_string()).collect()),
            DefaultValue::Dict(pairs) => Value::str_dict(pairs),
            DefaultValue::Hook(qualname) => Value::Hook(qualname.to_string()),
            DefaultValue::Dynamic(_) => match setting.name {
                "chdir" => Value::Str(env.cwd.clone()),
                "user" => Value::Int(i64::from(env.euid)),
                "group" => Value::Int(i64::from(env.egid)),
                "bind" => match env.var("PORT") {
                    Some(port) => Value::List(vec![format!("0.0.0.0:{port}")]),
                    None => Value::List(vec!["127.0.0.1:8000".to_string()]),
                },
                "workers" => match env.var("WEB_CONCURRENCY") {
                    // gunicorn: int(os.environ["WEB_CONCURRENCY"]).
                    Some(n) => validate(setting, from_cli_text(setting, n)?)?,
                    None => Value::Int(1),
                },
                "forwarded_allow_ips" => validate(
                    setting,
                    Value::Str(env.var("FORWARDED_ALLOW_IPS").unwrap_or("127.0.0.1,::1").to_string()),
                )?,
                "control_socket" => Value::Str(default_control_socket(env)),
                other => unreachable_default(other),
            },
        })
    }

    /// Set one setting from command-line text (read as argparse reads it, then validated).
    pub fn set(&mut self, name: &str, text: &str) -> Result<(), ConfigError> {
        let setting = settings::find(name).ok_or_else(|| ConfigError::UnknownSetting(name.to_string()))?;
        let value = from_cli_text(setting, text)?;
        self.set_value(name, value)
    }

    /// Set one setting from a Python-shaped value (config file, flags, repeated options).
    pub fn set_value(&mut self, name: &str, value: Value) -> Result<(), ConfigError> {
        let setting = settings::find(name).ok_or_else(|| ConfigError::UnknownSetting(name.to_string()))?;
        let value = validate(setting, value)?;
        self.store(setting, value)?;
        self.explicit.insert(setting.name);
        Ok(())
    }

    /// The current value of a setting.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    fn store(&mut self, setting: &'static Setting, value: Value) -> Result<(), ConfigError> {
        self.apply(setting, &value)?;
        self.values.insert(setting.name, value);
        Ok(())
    }

    /// `--paste`'s file (and `#section`), absolute against the start directory as gunicorn's
    /// `os.path.abspath(opts.paste)`.
    pub fn paste_uri(&self) -> Option<String> {
        let paste = self.paste.as_deref().filter(|p| !p.is_empty())?;
        Some(std::path::Path::new(&self.env.cwd).join(paste).display().to_string())
    }

    /// The ini file of `--paste`, without its `#section`.
    pub fn paste_file(&self) -> Option<String> {
        self.paste_uri().map(|uri| uri.split('#').next().unwrap_or_default().to_string())
    }

    /// What gunicorn's `WSGIApplication.init` does for `--paste`: the ini file must exist, it is
    /// the process name, and its `[loggers]` section (if any) is the logging configuration unless
    /// one was given. Call once every source is applied.
    pub fn apply_paste(&mut self) -> Result<(), ConfigError> {
        let Some(file) = self.paste_file() else { return Ok(()) };
        let text =
            std::fs::read_to_string(&file).map_err(|_| ConfigError::ConfigFile(format!("'{file}' not found")))?;
        self.values.insert("default_proc_name", Value::Str(file.clone()));
        if !self.explicit.contains("logconfig") && text.lines().any(|l| l.trim() == "[loggers]") {
            self.values.insert("logconfig", Value::Str(file.clone()));
            self.logconfig = Some(file);
        }
        Ok(())
    }

    /// Whether an app to serve was named (APP_MODULE, `wsgi_app` or `--paste`).
    pub fn has_app(&self) -> bool {
        self.paste_uri().is_some() || self.wsgi_app().is_some()
    }

    /// The directory the server was started from (before `--chdir`).
    pub fn start_dir(&self) -> &str {
        &self.env.cwd
    }

    /// Whether `logconfig_dict` was set to a non-empty dict.
    pub fn has_logconfig_dict(&self) -> bool {
        matches!(self.values.get("logconfig_dict"), Some(Value::Dict(items)) if !items.is_empty())
    }

    /// `--pid FILE`, if set.
    pub fn get_pidfile(&self) -> Option<std::path::PathBuf> {
        match self.values.get("pidfile") {
            Some(Value::Str(p)) if !p.is_empty() => Some(std::path::PathBuf::from(p)),
            _ => None,
        }
    }

    /// The worker class that will really run: as gunicorn, `sync` with more than one thread is gthread.
    pub fn effective_worker_class(&self) -> WorkerClass {
        if self.sync_made_threaded() || self.worker_class == WorkerClass::Sync && self.threads > 1 {
            WorkerClass::Gthread
        } else {
            self.worker_class
        }
    }

    /// gunicorn's `cfg.worker_class_str`: `gthread` for sync with threads, the name or path as
    /// given, or a class object's name. What "Using worker:" shows.
    pub fn worker_class_str(&self) -> String {
        match self.values.get("worker_class") {
            Some(Value::Str(_)) if self.sync_made_threaded() => "gthread".to_string(),
            Some(Value::Str(given)) => given.clone(),
            Some(Value::Hook(qualname)) => qualname.rsplit('.').next().unwrap_or_default().to_string(),
            _ => self.effective_worker_class().as_str().to_string(),
        }
    }

    /// gunicorn: a worker class named `sync` or `…SyncWorker` with `--threads` above 1 runs gthread.
    fn sync_made_threaded(&self) -> bool {
        let named_sync = match self.values.get("worker_class") {
            Some(Value::Str(uri)) => uri == "sync" || uri.ends_with("SyncWorker"),
            _ => false,
        };
        named_sync && self.threads > 1
    }

    /// `logger_class` names a class other than gunicorn's default Logger: that class then writes
    /// the error and access logs (`src/logging/logger_class.rs`).
    pub fn custom_logger_class(&self) -> bool {
        match self.values.get("logger_class") {
            Some(Value::Str(uri)) => {
                !matches!(uri.trim(), "gunicorn.glogging.Logger" | "simple" | "rgunicorn.glogging.Logger" | "")
            }
            Some(Value::Hook(_)) => true,
            _ => false,
        }
    }

    /// The WSGI app to load: APP_MODULE from the command line, else `wsgi_app` from the config.
    pub fn wsgi_app(&self) -> Option<String> {
        self.app_module.clone().or_else(|| match self.values.get("wsgi_app") {
            Some(Value::Str(s)) => Some(s.clone()),
            _ => None,
        })
    }

    /// Record APP_MODULE from the command line (also gunicorn's `default_proc_name`).
    pub fn set_app_module(&mut self, app: &str) {
        self.app_module = Some(app.to_string());
        self.values.insert("default_proc_name", Value::Str(app.to_string()));
    }

    /// `wsgi.multiprocess`: more than one process may serve the same app.
    pub fn multiprocess(&self) -> bool {
        self.workers > 1
    }

    /// Settings without effect yet that some source set to something other than their default,
    /// to warn about at start (a config file repeating a default is not worth a warning).
    pub fn unimplemented_in_use(&self) -> Vec<&'static str> {
        SETTINGS
            .iter()
            .filter(|s| s.support == Support::NoEffect && self.explicit.contains(s.name))
            .filter(|s| self.default_value(s).ok().as_ref() != self.values.get(s.name))
            .map(|s| s.name)
            .collect()
    }

    /// `--print-config`: every gunicorn setting, sorted, as `name = value` with the names aligned,
    /// as gunicorn prints them; rgunicorn's own settings only when some source set them.
    pub fn print_config(&self) -> String {
        let shown: Vec<(&str, &Value)> = self
            .values
            .iter()
            .filter(|(name, _)| {
                settings::find(name).is_some_and(Setting::is_gunicorns) || self.explicit.contains(*name)
            })
            .map(|(name, value)| (*name, value))
            .collect();
        let width = shown.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (name, value) in shown {
            out.push_str(&format!("{name:width$} = {value}\n"));
        }
        out
    }
}

/// gunicorn's `_get_default_control_socket`: `$XDG_RUNTIME_DIR/gunicorn.ctl` when that is a
/// directory, else `~/.gunicorn/gunicorn.ctl` (`~` as `os.path.expanduser` finds it).
fn default_control_socket(env: &Environment) -> String {
    if let Some(xdg) = env.var("XDG_RUNTIME_DIR").filter(|d| !d.is_empty() && std::path::Path::new(d).is_dir()) {
        return py_path_join(xdg, "gunicorn.ctl");
    }
    let home = match env.var("HOME") {
        Some(home) => home.to_string(),
        None => nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(env.euid))
            .ok()
            .flatten()
            .map(|u| u.dir.display().to_string())
            .unwrap_or_else(|| "~".to_string()),
    };
    // expanduser strips trailing slashes and turns an empty home into "/".
    let trimmed = home.trim_end_matches('/');
    let home = if trimmed.is_empty() { "/" } else { trimmed };
    py_path_join(&py_path_join(home, ".gunicorn"), "gunicorn.ctl")
}

/// `os.path.join(a, b)` for a relative `b`.
fn py_path_join(a: &str, b: &str) -> String {
    if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

fn unreachable_default(name: &str) -> Value {
    // Only the names matched above are Dynamic; a new Dynamic row without a rule shows as None.
    debug_assert!(false, "no dynamic default for {name}");
    Value::None
}

/// `'X-FORWARDED-PROTO'` → `X-FORWARDED-PROTO` (dict entries are kept as Python literals).
fn unquote(literal: &str) -> String {
    let t = literal.trim();
    if t.len() >= 2 && (t.starts_with('\'') && t.ends_with('\'') || t.starts_with('"') && t.ends_with('"')) {
        t[1..t.len() - 1].to_string()
    } else {
        t.to_string()
    }
}

/// gunicorn's `util.is_glob_pattern`: any of `*`, `?` or `[`. Here because validating
/// `reload_extra_files` needs it; the reloader (`reload::files`) uses it too.
pub fn is_glob_pattern(entry: &str) -> bool {
    entry.contains(['*', '?', '['])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment {
            cwd: "/srv".into(),
            euid: 1000,
            egid: 1000,
            vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn env_defaults() {
        let cfg = Config::with_env_defaults(env(&[("PORT", "9000"), ("WEB_CONCURRENCY", "3")])).expect("valid env");
        assert_eq!(cfg.bind, vec!["0.0.0.0:9000"]);
        assert_eq!(cfg.workers, 3);
        assert_eq!(cfg.get("chdir"), Some(&Value::Str("/srv".into())));
    }

    #[test]
    fn bad_values_name_the_setting() {
        let mut cfg = Config::with_env_defaults(env(&[])).expect("defaults");
        for (name, value) in
            [("workers", "-1"), ("workers", "x"), ("timeout", "-1"), ("header_map", "keep"), ("raw_env", "NOEQUALS")]
        {
            let err = cfg.set(name, value).expect_err("must be rejected");
            assert!(err.to_string().contains(name), "{err}");
        }
        assert!(matches!(cfg.set("nope", "1"), Err(ConfigError::UnknownSetting(_))));
    }

    #[test]
    fn sync_with_threads_is_gthread() {
        let mut cfg = Config::with_env_defaults(env(&[])).expect("defaults");
        assert_eq!(cfg.effective_worker_class(), WorkerClass::Sync);
        cfg.set("threads", "4").expect("valid");
        assert_eq!(cfg.effective_worker_class(), WorkerClass::Gthread);
    }

    #[test]
    fn worker_class_names_builtins_or_a_plugin() {
        let mut cfg = Config::with_env_defaults(env(&[])).expect("defaults");
        for (given, class, shown) in [
            ("gevent_wsgi", WorkerClass::Gevent, "gevent_wsgi"),
            ("gunicorn.workers.gthread.ThreadWorker", WorkerClass::Gthread, "gunicorn.workers.gthread.ThreadWorker"),
            ("tornado", WorkerClass::Plugin, "tornado"),
            ("uvicorn_worker.UvicornWorker", WorkerClass::Plugin, "uvicorn_worker.UvicornWorker"),
            ("eventlet", WorkerClass::Plugin, "eventlet"),
        ] {
            cfg.set("worker_class", given).expect("any class text is accepted until it is loaded");
            assert_eq!(cfg.effective_worker_class(), class, "{given}");
            assert_eq!(cfg.worker_class_str(), shown);
        }
        cfg.set("worker_class", "sync").expect("valid");
        cfg.set("threads", "3").expect("valid");
        assert_eq!(cfg.worker_class_str(), "gthread");
        cfg.set_value("worker_class", Value::Hook("conf.MyWorker".into())).expect("a class object");
        assert_eq!((cfg.effective_worker_class(), cfg.worker_class_str().as_str()), (WorkerClass::Plugin, "MyWorker"));
        assert!(cfg.print_config().contains("worker_class                       = <conf.MyWorker()>\n"));
        assert!(!cfg.custom_logger_class());
        cfg.set("logger_class", "mylogs.JsonLogger").expect("valid");
        assert!(cfg.custom_logger_class());
    }

    #[test]
    fn limits_follow_gunicorn_caps_but_print_raw() {
        let mut cfg = Config::with_env_defaults(env(&[])).expect("defaults");
        cfg.set("limit_request_line", "0").expect("valid");
        assert_eq!(cfg.limits.request_line, 8190);
        assert!(cfg.print_config().contains("limit_request_line                 = 0\n"));
    }

    #[test]
    fn print_config_matches_gunicorn_shapes() {
        let cfg = Config::with_env_defaults(env(&[])).expect("defaults");
        let text = cfg.print_config();
        for line in [
            "bind                               = ['127.0.0.1:8000']",
            "forwarded_allow_ips                = ['127.0.0.1', '::1']",
            "secure_scheme_headers              = {'X-FORWARDED-PROTOCOL': 'ssl', 'X-FORWARDED-PROTO': 'https', 'X-FORWARDED-SSL': 'on'}",
            "sendfile                           = None",
            "on_starting                        = <OnStarting.on_starting()>",
            "umask                              = 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?}");
        }
    }

    #[test]
    fn sendfile_env_and_flag() {
        let cfg = Config::with_env_defaults(env(&[("SENDFILE", "0")])).expect("defaults");
        assert!(!cfg.sendfile);
        let mut cfg = Config::with_env_defaults(env(&[])).expect("defaults");
        assert!(cfg.sendfile);
        cfg.set_value("sendfile", Value::Bool(false)).expect("valid");
        assert!(!cfg.sendfile);
    }
}
