//! TLS termination with rustls: gunicorn's `--certfile`, `--keyfile`, `--ca-certs`,
//! `--cert-reqs`, `--ciphers`, `--suppress-ragged-eofs` and `--do-handshake-on-connect` for the
//! sync and gthread workers. TLS 1.2 and 1.3 only, ALPN `http/1.1`.

pub mod ciphers;
pub mod config;
pub mod conn;
pub mod facts;
pub mod plain_http;

/// The TLS settings, as gunicorn names them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// The certificate chain (PEM); TLS is on when this or `keyfile` is set.
    pub certfile: Option<String>,
    /// The private key (PEM); by default read from `certfile`.
    pub keyfile: Option<String>,
    /// CA certificates that client certificates are verified against.
    pub ca_certs: Option<String>,
    /// 0: no client certificate; 1: optional (verified if sent); 2: required.
    pub cert_reqs: u8,
    /// An OpenSSL cipher string (see [`ciphers`]).
    pub ciphers: Option<String>,
    /// A client that closes without `close_notify` ends the stream normally.
    pub suppress_ragged_eofs: bool,
    /// Handshake at accept time rather than at the first read; with rustls both happen before
    /// the request head is read, so this changes nothing but is accepted.
    pub do_handshake_on_connect: bool,
}

impl TlsOptions {
    /// gunicorn's `is_ssl`: a certificate or key is configured.
    pub fn enabled(&self) -> bool {
        self.certfile.is_some() || self.keyfile.is_some()
    }
}

/// The rustls configuration the sync and gthread workers serve with, if TLS is on (the gevent
/// worker uses Python's `ssl`, configured in the worker; a plug-in worker class does its own TLS).
pub fn rustls_config(cfg: &crate::config::Config) -> Result<Option<std::sync::Arc<rustls::ServerConfig>>, String> {
    use crate::config::WorkerClass;
    if !cfg.tls.enabled() || matches!(cfg.effective_worker_class(), WorkerClass::Gevent | WorkerClass::Plugin) {
        return Ok(None);
    }
    config::server_config(&cfg.tls).map(Some)
}
