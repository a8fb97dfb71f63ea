//! The typed view of the configuration: how each validated setting value updates the fields of
//! [`Config`] the rest of the server reads (a value's shape was checked by `parse` before).

use super::settings::Setting;
use super::value::Value;
use super::*;

impl Config {
    /// Update the typed view from a validated value.
    pub(super) fn apply(&mut self, setting: &Setting, value: &Value) -> Result<(), ConfigError> {
        let bad = |expected: &str| ConfigError::BadValue {
            name: setting.name.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        };
        let int = || match value {
            Value::Int(n) => Ok(*n),
            _ => Err(bad("an integer")),
        };
        let uint = || int().and_then(|n| u64::try_from(n).map_err(|_| bad("a non-negative integer")));
        let positive =
            || uint().and_then(|n| usize::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| bad("a positive integer")));
        let flag = || matches!(value, Value::Bool(true));
        let text = || match value {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        };
        let list = || match value {
            Value::List(items) => items.clone(),
            _ => Vec::new(),
        };
        // gunicorn's validate_string lets None through; the server then behaves as by default.
        let text_or_default = || {
            text().unwrap_or_else(|| match setting.default {
                DefaultValue::Str(d) => d.to_string(),
                _ => String::new(),
            })
        };
        match setting.name {
            "bind" => {
                let items = list();
                for item in &items {
                    crate::sock::BindAddr::parse(item).map_err(|why| ConfigError::BadValue {
                        name: "bind".into(),
                        value: item.clone(),
                        expected: why,
                    })?;
                }
                self.bind = items;
            }
            "backlog" => self.backlog = i32::try_from(uint()?).map_err(|_| bad("an integer below 2^31"))?,
            // 0 is valid, as in gunicorn: the master runs and TTIN adds workers.
            "workers" => self.workers = uint()? as usize,
            "worker_class" => {
                // A class object from a config file (Value::Hook) always runs as a plug-in.
                self.worker_class = text().map_or(WorkerClass::Plugin, |name| WorkerClass::parse(&name));
            }
            // 0 is valid, as in gunicorn; the threaded workers use at least 1.
            "threads" => self.threads = uint()? as usize,
            "worker_connections" => self.worker_connections = uint()? as usize,
            "max_requests" => self.max_requests = uint()?,
            "max_requests_jitter" => self.max_requests_jitter = uint()?,
            "timeout" => self.timeout = uint()?,
            "graceful_timeout" => self.graceful_timeout = uint()?,
            "keepalive" => self.keepalive = uint()?,
            "header_timeout" => self.header_timeout = positive()? as u64,
            "request_timeout" => self.request_timeout = uint()?,
            "limit_request_line" => {
                // gunicorn: 0, or anything above 8190, means the maximum, 8190.
                let n = uint()? as usize;
                self.limits.request_line = if n == 0 || n > 8190 { 8190 } else { n };
            }
            "limit_request_fields" => {
                let n = uint()? as usize;
                self.limits.fields = if n == 0 || n > 32768 { 32768 } else { n };
            }
            "limit_request_field_size" => {
                // gunicorn: 0 means its default maximum, 8190, not unlimited.
                let n = uint()? as usize;
                self.limits.field_size = if n == 0 { 8190 } else { n };
            }
            "permit_obsolete_folding" => self.limits.permit_obsolete_folding = flag(),
            "strip_header_spaces" => self.limits.strip_header_spaces = flag(),
            "permit_unconventional_http_method" => self.limits.permit_unconventional_http_method = flag(),
            "permit_unconventional_http_version" => self.limits.permit_unconventional_http_version = flag(),
            "casefold_http_method" => self.limits.casefold_http_method = flag(),
            "header_map" => {
                self.limits.header_map = match text().unwrap_or_default().to_ascii_lowercase().as_str() {
                    "drop" => HeaderMapPolicy::Drop,
                    "refuse" => HeaderMapPolicy::Refuse,
                    _ => HeaderMapPolicy::Dangerous,
                }
            }
            "chdir" => self.chdir = text().unwrap_or_default(),
            "pythonpath" => {
                self.pythonpath = text()
                    .map(|t| t.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect())
                    .unwrap_or_default()
            }
            "preload_app" => self.preload_app = flag(),
            "sendfile" => {
                self.sendfile = match value {
                    Value::Bool(b) => *b,
                    _ => self
                        .env
                        .var("SENDFILE")
                        .is_none_or(|v| matches!(v.to_ascii_lowercase().as_str(), "y" | "1" | "yes" | "true")),
                }
            }
            "reuse_port" => self.reuse_port = flag(),
            "raw_env" => {
                let items = list();
                if let Some(bad_item) = items.iter().find(|e| !e.contains('=')) {
                    return Err(ConfigError::BadValue {
                        name: "raw_env".into(),
                        value: bad_item.clone(),
                        expected: "KEY=VALUE".into(),
                    });
                }
                self.raw_env = items;
            }
            "proc_name" => self.proc_name = text(),
            "loglevel" => self.loglevel = text_or_default().to_ascii_lowercase(),
            "errorlog" => self.errorlog = text_or_default(),
            "accesslog" => self.accesslog = text(),
            "access_log_format" => self.access_log_format = text_or_default(),
            "worker_tmp_dir" => self.worker_tmp_dir = text(),
            "forwarded_allow_ips" => self.forwarded_allow_ips = list(),
            "secure_scheme_headers" => {
                if let Value::Dict(pairs) = value {
                    self.secure_scheme_headers =
                        pairs.iter().map(|(k, v)| (unquote(k).to_ascii_uppercase(), unquote(v))).collect();
                }
            }
            "daemon" => self.daemon = flag(),
            // As os.umask: only the permission bits count.
            "umask" => self.umask = (uint()? & 0o777) as u32,
            "user" => self.uid = u32::try_from(uint()?).map_err(|_| bad("a uid"))?,
            "group" => self.gid = u32::try_from(uint()?).map_err(|_| bad("a gid"))?,
            "initgroups" => self.initgroups = flag(),
            "statsd_host" => self.statsd_host = addr::statsd_target(value),
            "statsd_prefix" => self.statsd_prefix = text().unwrap_or_default(),
            "dogstatsd_tags" => self.dogstatsd_tags = text().unwrap_or_default(),
            "capture_output" => self.capture_output = flag(),
            "logconfig" => self.logconfig = text(),
            "logconfig_json" => self.logconfig_json = text(),
            "syslog" => self.syslog = flag(),
            "syslog_addr" => self.syslog_addr = text_or_default(),
            "syslog_facility" => self.syslog_facility = text_or_default(),
            "syslog_prefix" => self.syslog_prefix = text(),
            "disable_redirect_access_to_syslog" => self.disable_redirect_access_to_syslog = flag(),
            "check_config" => self.check_config = flag(),
            "print_config" => self.print_config = flag(),
            "certfile" => self.tls.certfile = text().filter(|t| !t.is_empty()),
            "keyfile" => self.tls.keyfile = text().filter(|t| !t.is_empty()),
            "ca_certs" => self.tls.ca_certs = text().filter(|t| !t.is_empty()),
            "cert_reqs" => {
                self.tls.cert_reqs = u8::try_from(uint()?)
                    .ok()
                    .filter(|n| *n <= 2)
                    .ok_or_else(|| bad("0 (none), 1 (optional) or 2 (required)"))?
            }
            "ciphers" => self.tls.ciphers = text(),
            "suppress_ragged_eofs" => self.tls.suppress_ragged_eofs = flag(),
            "do_handshake_on_connect" => self.tls.do_handshake_on_connect = flag(),
            "reload" => self.reload = flag(),
            "reload_engine" => self.reload_engine = text().unwrap_or_default(),
            "reload_extra_files" => {
                let items = list();
                // gunicorn's validate_list_of_files_or_patterns: a literal path must exist now; a
                // pattern may match nothing yet (it is re-expanded on every check).
                let start = std::path::Path::new(&self.env.cwd);
                if let Some(missing) = items.iter().find(|e| !is_glob_pattern(e) && !start.join(e).exists()) {
                    return Err(ConfigError::BadValue {
                        name: "reload_extra_files".into(),
                        value: missing.clone(),
                        expected: format!("File {missing} does not exists."),
                    });
                }
                self.reload_extra_files = items;
            }
            "paste" => self.paste = text(),
            "raw_paste_global_conf" => self.raw_paste_global_conf = list(),
            "wsgi_app" => {}
            _ => {}
        }
        Ok(())
    }
}
