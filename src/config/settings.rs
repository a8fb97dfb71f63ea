//! The one table of settings: gunicorn 27's names, sections, flags and defaults.
//!
//! The CLI (clap), `--help`, config-file names, `GUNICORN_CMD_ARGS` and `--print-config` are all
//! generated from [`SETTINGS`]. [`super::Config::set`] validates a value by its [`Type`] and
//! updates the typed view the rest of the server reads.

/// How a setting is given on the command line (argparse's `action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `--flag VALUE`; the last one wins.
    Value,
    /// `--flag [VALUE]` (argparse `nargs="?"`): alone it means the given constant.
    OptionalValue(&'static str),
    /// `--flag` sets true.
    Flag,
    /// `--flag` sets false (`--no-sendfile`).
    FalseFlag,
    /// `--flag VALUE`, repeatable; every value is kept in order.
    List,
    /// Config file only (hooks, dicts).
    FileOnly,
}

/// How command-line text becomes a Python value before the validator sees it (argparse's `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CliText {
    /// The text itself (`type=str`).
    Text,
    /// Python's `int(text)`: base 10, leading zeros allowed (`type=int`).
    Int,
    /// gunicorn's `auto_int`: a leading 0 means octal (`0022`), `0o`/`0x` prefixes too.
    AutoInt,
}

/// gunicorn 27's validator for a setting: what a value may be and what it becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// `validate_pos_int`: a non-negative int; a string is read as `int(text, 0)`, True is 1.
    PosInt,
    /// `validate_pos_int` with bounds (the HTTP/2 validators), inclusive.
    IntRange(i64, i64),
    /// `validate_bool`: True, False, None, or the strings "true"/"false" in any case.
    Bool,
    /// `validate_string`: a string (stripped) or None.
    Str,
    /// `validate_list_string`: a string (one item), a list of strings (each stripped), or empty.
    ListStr,
    /// `validate_list_of_files_or_patterns`: as ListStr; entries without glob characters must exist.
    FilesOrPatterns,
    /// `validate_string_to_list`: a comma-separated string turned into a list.
    CommaList,
    /// `validate_string_to_addr_list`: as CommaList, every entry `*` or an IP network (strict).
    AddrList,
    /// Exactly one of these words, as given (`validate_reload_engine`).
    Choice(&'static [&'static str]),
    /// One of these words in any case, stripped and lower-cased; None becomes the second field
    /// (`validate_header_map_behaviour`, `validate_asgi_loop`, `validate_http_parser`, ...).
    Keyword(&'static [&'static str], Option<&'static str>),
    /// `validate_proxy_protocol`: off/v1/v2/auto, with true/false/1/0/none and booleans mapped.
    ProxyProtocol,
    /// `validate_http_protocols`: a comma-separated list of h1/h2, no duplicates; empty is h1.
    HttpProtocols,
    /// `validate_http2_cleartext`: off/prior-knowledge/upgrade/both; True is prior-knowledge.
    Http2Cleartext,
    /// `validate_ssl_version`: anything, kept as given (deprecated and ignored by gunicorn too).
    SslVersion,
    /// `validate_statsd_address`: HOST[:PORT] (default port 8125) or unix:PATH.
    StatsdAddress,
    /// `validate_chdir`: a directory that must exist; stored absolute.
    Chdir,
    /// `validate_user`: a user name or uid, stored as the uid.
    User,
    /// `validate_group`: a group name or gid, stored as the gid.
    Group,
    /// `validate_class`: a dotted class path (a string) or a class.
    Class,
    /// `validate_dict`.
    Dict,
    /// `validate_callable(arity)`: a callable (or a dotted path to one) taking exactly this many
    /// positional arguments; `post_request` takes 2, 3 or 4 (gunicorn pads the missing ones).
    Hook(u8),
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
    /// Computed at start from the process or the environment (`chdir`, `user`, `bind`, ...);
    /// the text says how, for the settings reference.
    Dynamic(&'static str),
}

/// What rgunicorn does with a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// It works as in gunicorn.
    Works,
    /// Accepted, printed and validated as in gunicorn, but without effect yet: a value other than
    /// the default is named in one warning line at start.
    NoEffect,
}

/// One row of the settings table.
#[derive(Debug)]
pub struct Setting {
    /// gunicorn's setting name, as used in config files and `--print-config`.
    pub name: &'static str,
    /// gunicorn's section, for `--help` (`rgunicorn` for rgunicorn's own settings).
    pub section: &'static str,
    /// Command-line flags, long ones with `--`, short ones with `-`.
    pub flags: &'static [&'static str],
    /// How the value is given on the command line.
    pub kind: Kind,
    /// How command-line text is read before validation.
    pub cli_text: CliText,
    /// gunicorn's validator.
    pub ty: Type,
    /// The default.
    pub default: DefaultValue,
    /// What rgunicorn does with it.
    pub support: Support,
    /// One line of help.
    pub help: &'static str,
    /// Where rgunicorn differs from gunicorn (empty: it does not).
    pub differs: &'static str,
}

impl Setting {
    /// A gunicorn setting (printed by `--print-config` always), not one of rgunicorn's own.
    pub fn is_gunicorns(&self) -> bool {
        self.section != OWN_SECTION
    }
}

/// The section of the settings gunicorn does not have.
pub const OWN_SECTION: &str = "rgunicorn";

macro_rules! s {
    ($name:literal, $section:literal, [$($flag:literal),*], $kind:expr, $ty:expr, $default:expr, $support:ident, $help:literal $(, differs: $differs:literal)? $(, cli: $cli:ident)?) => {
        Setting {
            name: $name, section: $section, flags: &[$($flag),*], kind: { use Kind::*; $kind }, ty: $ty,
            cli_text: cli_text!($ty $(, $cli)?), default: $default, support: Support::$support, help: $help,
            differs: concat!("" $(, $differs)?),
        }
    };
}

macro_rules! cli_text {
    ($ty:expr) => {
        match $ty {
            // argparse `type=int` for every gunicorn integer setting unless the row says otherwise.
            Type::PosInt | Type::IntRange(..) => CliText::Int,
            _ => CliText::Text,
        }
    };
    ($ty:expr, $cli:ident) => {
        CliText::$cli
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
    s!("config", "Config File", ["-c", "--config"], Value, T::Str, D::Str("./gunicorn.conf.py"), Works, "The config file: PATH, file:PATH or python:MODULE.", differs: "A --chdir on the command line is on sys.path before the file runs, so the file can import the project there (gunicorn adds only the working directory)."),
    s!("wsgi_app", "Config File", [], FileOnly, T::Str, D::None, Works, "The WSGI application, MODULE:CALLABLE, when not given on the command line."),
    // Debugging
    s!("reload", "Debugging", ["--reload"], Flag, T::Bool, D::Bool(false), Works, "Restart workers when code changes.", differs: "An app that fails to import for any reason (not only a SyntaxError) is served as a 500 with the traceback and watched; with --preload each worker imports the app itself, so new code is served."),
    s!("reload_engine", "Debugging", ["--reload-engine"], Value, T::Choice(&["auto", "poll", "inotify"]), D::Str("auto"), Works, "How code changes are detected: auto (inotify, else poll), poll or inotify.", differs: "inotify reacts only to the watched files, not to any file in their directories, and works under -k gevent."),
    s!("reload_extra_files", "Debugging", ["--reload-extra-file"], List, T::FilesOrPatterns, D::List(&[]), Works, "Extra files or glob patterns (*, ?, [, ** recurses) to watch with --reload."),
    s!("spew", "Debugging", ["--spew"], Flag, T::Bool, D::Bool(false), NoEffect, "Trace every line the server executes."),
    s!("check_config", "Debugging", ["--check-config"], Flag, T::Bool, D::Bool(false), Works, "Check the configuration and the app import, then exit (0 = fine)."),
    s!("print_config", "Debugging", ["--print-config"], Flag, T::Bool, D::Bool(false), Works, "Print the configuration settings as fully resolved, then exit.", differs: "rgunicorn's own settings (header_timeout, request_timeout) are printed only when set."),
    // Control (gunicorn 27's control socket: rgunicorn has none, so disabling it is a no-op)
    s!("control_socket", "Control", ["--control-socket"], Value, T::Str, D::Dynamic("$XDG_RUNTIME_DIR/gunicorn.ctl, else $HOME/.gunicorn/gunicorn.ctl"), NoEffect, "gunicorn's control socket path (gunicornc)."),
    s!("control_socket_mode", "Control", ["--control-socket-mode"], Value, T::PosInt, D::Int(0o600), NoEffect, "The control socket's permissions.", cli: AutoInt),
    s!("control_socket_disable", "Control", ["--no-control-socket"], Flag, T::Bool, D::Bool(false), Works, "Disable the control socket.", differs: "rgunicorn never opens a control socket, so this changes nothing."),
    // Logging
    s!("accesslog", "Logging", ["--access-logfile"], Value, T::Str, D::None, Works, "The access log file ('-' is stdout)."),
    s!("disable_redirect_access_to_syslog", "Logging", ["--disable-redirect-access-to-syslog"], Flag, T::Bool, D::Bool(false), Works, "Do not send access logs to syslog."),
    s!("access_log_format", "Logging", ["--access-logformat"], Value, T::Str, D::Str(ACCESS_LOG_FORMAT), Works, "The access log line format (gunicorn's atoms)."),
    s!("errorlog", "Logging", ["--error-logfile", "--log-file"], Value, T::Str, D::Str("-"), Works, "The error log file ('-' is stderr)."),
    s!("loglevel", "Logging", ["--log-level"], Value, T::Str, D::Str("info"), Works, "The error log level: debug, info, warning, error or critical.", differs: "An unknown level means info, as in gunicorn, but rgunicorn says so in a warning."),
    s!("capture_output", "Logging", ["--capture-output"], Flag, T::Bool, D::Bool(false), Works, "Send the workers' stdout and stderr to the error log."),
    s!("logger_class", "Logging", ["--logger-class"], Value, T::Class, D::Str("gunicorn.glogging.Logger"), Works, "The logger class: a subclass of gunicorn.glogging.Logger (dotted path or class).", differs: "Its access() is given an environ rebuilt from the request (CGI keys, HTTP_* headers, the format's {x}e keys), not the app's own."),
    s!("logconfig", "Logging", ["--log-config"], Value, T::Str, D::None, Works, "A logging.config.fileConfig file."),
    s!("logconfig_dict", "Logging", [], FileOnly, T::Dict, D::Dict(&[]), Works, "A logging.config.dictConfig dict."),
    s!("logconfig_json", "Logging", ["--log-config-json"], Value, T::Str, D::None, Works, "A JSON file for logging.config.dictConfig."),
    s!("syslog_addr", "Logging", ["--log-syslog-to"], Value, T::Str, D::Str("udp://localhost:514"), Works, "Where syslog messages go."),
    s!("syslog", "Logging", ["--log-syslog"], Flag, T::Bool, D::Bool(false), Works, "Send the error log to syslog."),
    s!("syslog_prefix", "Logging", ["--log-syslog-prefix"], Value, T::Str, D::None, Works, "The program name in syslog entries."),
    s!("syslog_facility", "Logging", ["--log-syslog-facility"], Value, T::Str, D::Str("user"), Works, "The syslog facility."),
    s!("enable_stdio_inheritance", "Logging", ["-R", "--enable-stdio-inheritance"], Flag, T::Bool, D::Bool(false), NoEffect, "Keep stdio open in daemon mode."),
    s!("statsd_host", "Logging", ["--statsd-host"], Value, T::StatsdAddress, D::None, Works, "The statsd server, HOST[:PORT] or unix:PATH."),
    s!("dogstatsd_tags", "Logging", ["--dogstatsd-tags"], Value, T::Str, D::Str(""), Works, "Comma-separated tags for every statsd metric."),
    s!("statsd_prefix", "Logging", ["--statsd-prefix"], Value, T::Str, D::Str(""), Works, "A prefix for every statsd metric."),
    s!("enable_backlog_metric", "Logging", ["--enable-backlog-metric"], Flag, T::Bool, D::Bool(false), NoEffect, "Send the listen backlog length to statsd."),
    // Process naming
    s!("proc_name", "Process Naming", ["-n", "--name"], Value, T::Str, D::None, Works, "The process title base (visible in ps)."),
    s!("default_proc_name", "Process Naming", [], FileOnly, T::Str, D::Str("gunicorn"), Works, "The process title base when proc_name is unset (the app name).", differs: "The title says rgunicorn where gunicorn's says gunicorn."),
    // SSL
    s!("keyfile", "SSL", ["--keyfile"], Value, T::Str, D::None, Works, "The TLS key file."),
    s!("certfile", "SSL", ["--certfile"], Value, T::Str, D::None, Works, "The TLS certificate file."),
    s!("ssl_version", "SSL", ["--ssl-version"], Value, T::SslVersion, D::Int(2), NoEffect, "The TLS protocol version (deprecated: use ssl_context).", differs: "Ignored by both; gunicorn's warning is replaced by rgunicorn's no-effect warning."),
    s!("cert_reqs", "SSL", ["--cert-reqs"], Value, T::PosInt, D::Int(0), Works, "Client certificates: 0 none, 1 optional, 2 required.", cli: Text),
    s!("ca_certs", "SSL", ["--ca-certs"], Value, T::Str, D::None, Works, "CA certificates for client verification."),
    s!("suppress_ragged_eofs", "SSL", ["--suppress-ragged-eofs"], Flag, T::Bool, D::Bool(true), Works, "Treat a TLS EOF without close_notify as a normal EOF."),
    s!("do_handshake_on_connect", "SSL", ["--do-handshake-on-connect"], Flag, T::Bool, D::Bool(false), Works, "Do the TLS handshake at accept time."),
    s!("ciphers", "SSL", ["--ciphers"], Value, T::Str, D::None, Works, "TLS cipher suites (OpenSSL cipher list syntax).", differs: "Cipher names rustls does not implement are refused at start, in the sync and gthread workers."),
    // HTTP/2 (another issue delivers it)
    s!("http_protocols", "HTTP/2", ["--http-protocols"], Value, T::HttpProtocols, D::List(&["h1"]), NoEffect, "Protocols to offer, in order of preference: h1, h2."),
    s!("http2_cleartext", "HTTP/2", ["--http2-cleartext"], Value, T::Http2Cleartext, D::Str("off"), NoEffect, "HTTP/2 without TLS: off, prior-knowledge, upgrade or both."),
    s!("http2_max_concurrent_streams", "HTTP/2", ["--http2-max-concurrent-streams"], Value, T::IntRange(1, i64::MAX), D::Int(100), NoEffect, "The maximum number of concurrent HTTP/2 streams per connection."),
    s!("http2_initial_window_size", "HTTP/2", ["--http2-initial-window-size"], Value, T::IntRange(0, 2_147_483_647), D::Int(65535), NoEffect, "The initial HTTP/2 flow-control window in bytes."),
    s!("http2_max_frame_size", "HTTP/2", ["--http2-max-frame-size"], Value, T::IntRange(16384, 16_777_215), D::Int(16384), NoEffect, "The largest HTTP/2 frame payload accepted, in bytes."),
    s!("http2_max_header_list_size", "HTTP/2", ["--http2-max-header-list-size"], Value, T::PosInt, D::Int(65536), NoEffect, "The largest HTTP/2 header list accepted, in bytes."),
    // Security
    s!("limit_request_line", "Security", ["--limit-request-line"], Value, T::PosInt, D::Int(4094), Works, "The maximum request line size in bytes (0 or above 8190 = 8190)."),
    s!("limit_request_fields", "Security", ["--limit-request-fields"], Value, T::PosInt, D::Int(100), Works, "The maximum number of request header fields (0 or above 32768 = 32768)."),
    s!("limit_request_field_size", "Security", ["--limit-request-field_size", "--limit-request-field-size"], Value, T::PosInt, D::Int(8190), Works, "The maximum size of one request header field (0 = 8190).", differs: "Also accepted as --limit-request-field-size."),
    // Server hooks
    s!("on_starting", "Server Hooks", [], FileOnly, T::Hook(1), D::Hook("OnStarting.on_starting"), Works, "Called before the master initialises: on_starting(server)."),
    s!("on_reload", "Server Hooks", [], FileOnly, T::Hook(1), D::Hook("OnReload.on_reload"), Works, "Called on HUP: on_reload(server)."),
    s!("when_ready", "Server Hooks", [], FileOnly, T::Hook(1), D::Hook("WhenReady.when_ready"), Works, "Called when the server is started: when_ready(server)."),
    s!("pre_fork", "Server Hooks", [], FileOnly, T::Hook(2), D::Hook("Prefork.pre_fork"), Works, "Called before a worker is forked: pre_fork(server, worker)."),
    s!("post_fork", "Server Hooks", [], FileOnly, T::Hook(2), D::Hook("Postfork.post_fork"), Works, "Called in a worker after fork: post_fork(server, worker)."),
    s!("post_worker_init", "Server Hooks", [], FileOnly, T::Hook(1), D::Hook("PostWorkerInit.post_worker_init"), Works, "Called after a worker loaded the app: post_worker_init(worker)."),
    s!("worker_int", "Server Hooks", [], FileOnly, T::Hook(1), D::Hook("WorkerInt.worker_int"), Works, "Called when a worker gets INT or QUIT: worker_int(worker)."),
    s!("worker_abort", "Server Hooks", [], FileOnly, T::Hook(1), D::Hook("WorkerAbort.worker_abort"), Works, "Called when a worker gets ABRT (timeout): worker_abort(worker)."),
    s!("pre_exec", "Server Hooks", [], FileOnly, T::Hook(1), D::Hook("PreExec.pre_exec"), Works, "Called before a new master is exec'd: pre_exec(server)."),
    s!("pre_request", "Server Hooks", [], FileOnly, T::Hook(2), D::Hook("PreRequest.pre_request"), Works, "Called before a request: pre_request(worker, req)."),
    s!("post_request", "Server Hooks", [], FileOnly, T::Hook(4), D::Hook("PostRequest.post_request"), Works, "Called after a request: post_request(worker, req, environ, resp); 2 or 3 arguments also do."),
    s!("child_exit", "Server Hooks", [], FileOnly, T::Hook(2), D::Hook("ChildExit.child_exit"), Works, "Called in the master when a worker exited: child_exit(server, worker)."),
    s!("worker_exit", "Server Hooks", [], FileOnly, T::Hook(2), D::Hook("WorkerExit.worker_exit"), Works, "Called in the worker as it exits: worker_exit(server, worker)."),
    s!("nworkers_changed", "Server Hooks", [], FileOnly, T::Hook(3), D::Hook("NumWorkersChanged.nworkers_changed"), Works, "Called when the number of workers changes: nworkers_changed(server, new, old)."),
    s!("on_exit", "Server Hooks", [], FileOnly, T::Hook(1), D::Hook("OnExit.on_exit"), Works, "Called as the master exits: on_exit(server)."),
    s!("ssl_context", "Server Hooks", [], FileOnly, T::Hook(2), D::Hook("NewSSLContext.ssl_context"), Works, "Builds the TLS context: ssl_context(config, default_ssl_context_factory).", differs: "Used by -k gevent only; the sync and gthread workers' TLS (rustls) is configured by certfile, keyfile, ca_certs, cert_reqs and ciphers, and a warning says so."),
    // Server mechanics
    s!("preload_app", "Server Mechanics", ["--preload"], Flag, T::Bool, D::Bool(false), Works, "Import the app in the master before forking workers."),
    s!("sendfile", "Server Mechanics", ["--no-sendfile"], FalseFlag, T::Bool, D::None, Works, "Disable sendfile() for wsgi.file_wrapper (default: the SENDFILE variable, else on)."),
    s!("reuse_port", "Server Mechanics", ["--reuse-port"], Flag, T::Bool, D::Bool(false), Works, "Set SO_REUSEPORT on the listening sockets."),
    s!("chdir", "Server Mechanics", ["--chdir"], Value, T::Chdir, D::Dynamic("the working directory"), Works, "Change to this directory before loading the app.", differs: "Given on the command line, it is also on sys.path while the config file runs."),
    s!("daemon", "Server Mechanics", ["-D", "--daemon"], Flag, T::Bool, D::Bool(false), Works, "Detach from the terminal and run in the background."),
    s!("raw_env", "Server Mechanics", ["-e", "--env"], List, T::ListStr, D::List(&[]), Works, "Set an environment variable in the workers, KEY=VALUE (repeatable)."),
    s!("pidfile", "Server Mechanics", ["-p", "--pid"], Value, T::Str, D::None, Works, "Write the master's pid to this file."),
    s!("worker_tmp_dir", "Server Mechanics", ["--worker-tmp-dir"], Value, T::Str, D::None, Works, "The directory for the workers' heartbeat files.", differs: "Heartbeats use shared memory; the directory only has to exist."),
    s!("user", "Server Mechanics", ["-u", "--user"], Value, T::User, D::Dynamic("the effective uid"), Works, "Switch the workers to this user (name or uid)."),
    s!("group", "Server Mechanics", ["-g", "--group"], Value, T::Group, D::Dynamic("the effective gid"), Works, "Switch the workers to this group (name or gid)."),
    s!("umask", "Server Mechanics", ["-m", "--umask"], Value, T::PosInt, D::Int(0), Works, "The umask of the processes (0022, 0o22 or 18).", cli: AutoInt),
    s!("initgroups", "Server Mechanics", ["--initgroups"], Flag, T::Bool, D::Bool(false), Works, "Set the workers' supplementary groups from the user's."),
    s!("tmp_upload_dir", "Server Mechanics", [], FileOnly, T::Str, D::None, NoEffect, "The directory for temporary request data."),
    s!("secure_scheme_headers", "Server Mechanics", [], FileOnly, T::Dict, D::Dict(SECURE_SCHEME_HEADERS), Works, "Headers (and values) from a trusted front end that mean https."),
    s!("forwarded_allow_ips", "Server Mechanics", ["--forwarded-allow-ips"], Value, T::AddrList, D::Dynamic("the FORWARDED_ALLOW_IPS variable, else 127.0.0.1,::1"), Works, "Front-end addresses or networks trusted for secure_scheme_headers ('*' = all)."),
    s!("pythonpath", "Server Mechanics", ["--pythonpath"], Value, T::Str, D::None, Works, "Comma-separated directories to add to the Python path."),
    s!("paste", "Server Mechanics", ["--paste", "--paster"], Value, T::Str, D::None, Works, "Load a PasteDeploy config file (FILE or FILE#app_section).", differs: "paste in a config file also works (gunicorn: No application module specified)."),
    s!("raw_paste_global_conf", "Server Mechanics", ["--paste-global"], List, T::ListStr, D::List(&[]), Works, "A PasteDeploy global config variable, KEY=VALUE (repeatable)."),
    s!("proxy_protocol", "Server Mechanics", ["--proxy-protocol"], OptionalValue("auto"), T::ProxyProtocol, D::Str("off"), NoEffect, "Accept the PROXY protocol: off, v1, v2 or auto (the flag alone)."),
    s!("proxy_allow_ips", "Server Mechanics", ["--proxy-allow-from"], Value, T::AddrList, D::List(LOCAL), NoEffect, "Front-end addresses allowed to send the PROXY protocol."),
    s!("protocol", "Server Mechanics", ["--protocol"], Value, T::Str, D::Str("http"), NoEffect, "The protocol spoken on the listeners: http or uwsgi."),
    s!("uwsgi_allow_ips", "Server Mechanics", ["--uwsgi-allow-from"], Value, T::AddrList, D::List(LOCAL), NoEffect, "Front-end addresses allowed to speak the uwsgi protocol."),
    s!("permit_obsolete_folding", "Server Mechanics", ["--permit-obsolete-folding"], Flag, T::Bool, D::Bool(false), Works, "Accept obsolete line folding in request headers."),
    s!("strip_header_spaces", "Server Mechanics", ["--strip-header-spaces"], Flag, T::Bool, D::Bool(false), Works, "Strip spaces before ':' in header names (dangerous)."),
    s!("permit_unconventional_http_method", "Server Mechanics", ["--permit-unconventional-http-method"], Flag, T::Bool, D::Bool(false), Works, "Accept lowercase and unusually long HTTP methods."),
    s!("permit_unconventional_http_version", "Server Mechanics", ["--permit-unconventional-http-version"], Flag, T::Bool, D::Bool(false), Works, "Accept HTTP/1.x versions other than 1.0 and 1.1."),
    s!("casefold_http_method", "Server Mechanics", ["--casefold-http-method"], Flag, T::Bool, D::Bool(false), Works, "Upper-case the HTTP method before validating it."),
    s!("forwarder_headers", "Server Mechanics", ["--forwarder-headers"], Value, T::CommaList, D::List(&["SCRIPT_NAME", "PATH_INFO"]), NoEffect, "Headers a trusted front end may use to set these environ keys."),
    s!("header_map", "Server Mechanics", ["--header-map"], Value, T::Keyword(&["drop", "refuse", "dangerous"], None), D::Str("drop"), Works, "Header names with '_': drop, refuse (400) or dangerous (keep)."),
    s!("root_path", "Server Mechanics", ["--root-path"], Value, T::Str, D::Str(""), NoEffect, "The ASGI root_path (the mount point behind a proxy)."),
    // Server socket
    s!("bind", "Server Socket", ["-b", "--bind"], List, T::ListStr, D::Dynamic("0.0.0.0:$PORT when PORT is set, else 127.0.0.1:8000"), Works, "Where to listen: HOST:PORT, [V6]:PORT, unix:PATH or fd://N (repeatable).", differs: "An address that cannot be parsed is refused when the configuration is read, not when binding."),
    s!("backlog", "Server Socket", ["--backlog"], Value, T::PosInt, D::Int(2048), Works, "The listen backlog."),
    // Worker processes
    s!("workers", "Worker Processes", ["-w", "--workers"], Value, T::PosInt, D::Dynamic("the WEB_CONCURRENCY variable, else 1"), Works, "The number of worker processes (0: none until TTIN adds one)."),
    s!("worker_class", "Worker Processes", ["-k", "--worker-class"], Value, T::Class, D::Str("sync"), Works, "The worker type: sync, gthread, gevent, tornado, or a worker class (module.Class, egg:dist#name)."),
    s!("threads", "Worker Processes", ["--threads"], Value, T::PosInt, D::Int(1), Works, "Threads per worker; more than 1 makes a sync worker gthread."),
    s!("worker_connections", "Worker Processes", ["--worker-connections"], Value, T::PosInt, D::Int(1000), Works, "The maximum number of open connections per worker."),
    s!("max_requests", "Worker Processes", ["--max-requests"], Value, T::PosInt, D::Int(0), Works, "Restart a worker after this many requests (0 = never)."),
    s!("max_requests_jitter", "Worker Processes", ["--max-requests-jitter"], Value, T::PosInt, D::Int(0), Works, "A random extra 0..N requests for max_requests."),
    s!("timeout", "Worker Processes", ["-t", "--timeout"], Value, T::PosInt, D::Int(30), Works, "Kill a worker silent for this many seconds (0 = never).", differs: "The log shows every thread's Python stack before the worker is killed."),
    s!("graceful_timeout", "Worker Processes", ["--graceful-timeout"], Value, T::PosInt, D::Int(30), Works, "Seconds workers get to finish on a graceful stop or restart."),
    s!("keepalive", "Worker Processes", ["--keep-alive"], Value, T::PosInt, D::Int(2), Works, "Seconds to wait for the next request on a keep-alive connection."),
    s!("asgi_loop", "Worker Processes", ["--asgi-loop"], Value, T::Keyword(&["auto", "asyncio", "uvloop"], Some("auto")), D::Str("auto"), NoEffect, "The event loop of the ASGI worker: auto, asyncio or uvloop."),
    s!("asgi_lifespan", "Worker Processes", ["--asgi-lifespan"], Value, T::Keyword(&["auto", "on", "off"], Some("auto")), D::Str("auto"), NoEffect, "The ASGI lifespan protocol: auto, on or off."),
    s!("asgi_disconnect_grace_period", "Worker Processes", ["--asgi-disconnect-grace-period"], Value, T::PosInt, D::Int(3), NoEffect, "Seconds an ASGI app gets to finish after the client left."),
    s!("websocket_max_message_size", "Worker Processes", ["--websocket-max-message-size"], Value, T::PosInt, D::Int(16_777_216), NoEffect, "The largest WebSocket message accepted, in bytes."),
    s!("http_parser", "Worker Processes", ["--http-parser"], Value, T::Keyword(&["auto", "fast", "python"], Some("auto")), D::Str("auto"), NoEffect, "gunicorn's HTTP parser choice: auto, fast or python.", differs: "rgunicorn always parses HTTP in Rust."),
    // Dirty arbiters (another issue delivers them)
    s!("dirty_apps", "Dirty Arbiters", ["--dirty-app"], List, T::ListStr, D::List(&[]), NoEffect, "Apps for the dirty worker pool, MODULE:CLASS[:N] (repeatable)."),
    s!("dirty_workers", "Dirty Arbiters", ["--dirty-workers"], Value, T::PosInt, D::Int(0), NoEffect, "The number of dirty workers (0 = no dirty arbiter)."),
    s!("dirty_timeout", "Dirty Arbiters", ["--dirty-timeout"], Value, T::PosInt, D::Int(300), NoEffect, "Seconds a dirty task may run."),
    s!("dirty_threads", "Dirty Arbiters", ["--dirty-threads"], Value, T::PosInt, D::Int(1), NoEffect, "Threads per dirty worker."),
    s!("dirty_graceful_timeout", "Dirty Arbiters", ["--dirty-graceful-timeout"], Value, T::PosInt, D::Int(30), NoEffect, "Seconds dirty workers get to finish on a graceful stop."),
    s!("on_dirty_starting", "Dirty Arbiter Hooks", [], FileOnly, T::Hook(1), D::Hook("OnDirtyStarting.on_dirty_starting"), NoEffect, "Called as the dirty arbiter starts: on_dirty_starting(arbiter)."),
    s!("dirty_post_fork", "Dirty Arbiter Hooks", [], FileOnly, T::Hook(2), D::Hook("DirtyPostFork.dirty_post_fork"), NoEffect, "Called in a dirty worker after fork: dirty_post_fork(arbiter, worker)."),
    s!("dirty_worker_init", "Dirty Arbiter Hooks", [], FileOnly, T::Hook(1), D::Hook("DirtyWorkerInit.dirty_worker_init"), NoEffect, "Called when a dirty worker loaded its apps: dirty_worker_init(worker)."),
    s!("dirty_worker_exit", "Dirty Arbiter Hooks", [], FileOnly, T::Hook(2), D::Hook("DirtyWorkerExit.dirty_worker_exit"), NoEffect, "Called as a dirty worker exits: dirty_worker_exit(arbiter, worker)."),
    // rgunicorn's own
    s!("header_timeout", "rgunicorn", ["--header-timeout"], Value, T::PosInt, D::Int(10), Works, "Seconds a client gets to send a complete request head (at least 1)."),
    s!("request_timeout", "rgunicorn", ["--request-timeout"], Value, T::PosInt, D::Int(0), Works, "gthread/gevent: log the stack and answer 504 after this many seconds (0 = off)."),
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
