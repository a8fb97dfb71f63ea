//! TLS termination with rustls: gunicorn's `--certfile`, `--keyfile`, `--ca-certs`,
//! `--cert-reqs`, `--ciphers`, `--suppress-ragged-eofs` and `--do-handshake-on-connect` for the
//! sync and gthread workers. TLS 1.2 and 1.3 only, ALPN `http/1.1`.

pub mod ciphers;
pub mod config;
pub mod conn;
pub mod facts;
pub mod plain_http;

/// The rustls configuration the sync and gthread workers serve with, if TLS is on (the gevent
/// worker uses Python's `ssl`, configured in the worker; a plug-in worker class does its own TLS).
pub fn rustls_config(cfg: &crate::config::Config) -> Result<Option<std::sync::Arc<rustls::ServerConfig>>, String> {
    use crate::config::WorkerClass;
    if !cfg.tls.enabled() || matches!(cfg.effective_worker_class(), WorkerClass::Gevent | WorkerClass::Plugin) {
        return Ok(None);
    }
    config::server_config(&cfg.tls).map(Some)
}
