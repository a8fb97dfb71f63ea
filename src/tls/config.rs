//! Building the rustls server configuration from gunicorn's TLS settings.
//!
//! The master builds it at start and again on HUP (so a renewed certificate needs no restart),
//! and workers inherit it through fork. Every failure is a one-line message naming the setting
//! and the file.

use std::sync::Arc;

use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use super::ciphers;
use crate::config::tls_options::TlsOptions;

/// Tickets up to this long are accepted by every worker from the start (see `server_config`).
const PRIMED_TICKET_LEN: usize = 8192;

/// Read the certificates, the key and the CA bundle, and build the configuration.
pub fn server_config(opts: &TlsOptions) -> Result<Arc<ServerConfig>, String> {
    let Some(certfile) = opts.certfile.as_deref() else {
        return Err("keyfile is set but certfile is not".into());
    };
    let certs = read_certs("certfile", certfile)?;
    let keyfile = opts.keyfile.as_deref().unwrap_or(certfile);
    let key = PrivateKeyDer::from_pem_file(keyfile).map_err(|e| format!("keyfile {keyfile}: {}", pem_error(&e)))?;

    let mut provider = ring::default_provider();
    if let Some(spec) = opts.ciphers.as_deref().filter(|s| !s.trim().is_empty()) {
        provider.cipher_suites = ciphers::select(spec)?;
    }
    let provider = Arc::new(provider);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS configuration: {e}"))?;
    let verifier = match opts.cert_reqs {
        0 => WebPkiClientVerifier::no_client_auth(),
        reqs => {
            let Some(ca_certs) = opts.ca_certs.as_deref() else {
                return Err(format!("cert_reqs {reqs} verifies client certificates and needs ca_certs (--ca-certs)"));
            };
            let mut roots = RootCertStore::empty();
            for cert in read_certs("ca_certs", ca_certs)? {
                roots.add(cert).map_err(|e| format!("ca_certs {ca_certs}: {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if reqs == 1 { verifier.allow_unauthenticated() } else { verifier };
            verifier.build().map_err(|e| format!("ca_certs {ca_certs}: {e}"))?
        }
    };
    let mut config = builder
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| format!("certfile {certfile} with keyfile {keyfile}: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // Made here, in the master, so every worker forked from it shares the ticket key: a client
    // resumes its session (no RSA signature) whichever worker accepts its next connection. The
    // key changes with each HUP, and each worker rotates its own copy after 12 hours.
    config.ticketer = ring::Ticketer::new().map_err(|e| format!("TLS session tickets: {e}"))?;
    // The ticketer refuses to decrypt anything longer than the longest ticket its process has
    // made (a hedge against partitioning oracles), so a fresh worker would refuse every ticket
    // its siblings issued until it had issued one itself. One ticket made here, as long as a
    // session with a client certificate chain, sets that bound for every worker.
    let _ = config.ticketer.encrypt(&[0u8; PRIMED_TICKET_LEN]);
    Ok(Arc::new(config))
}

fn read_certs(setting: &str, path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{setting} {path}: {}", pem_error(&e)))?;
    if certs.is_empty() {
        return Err(format!("{setting} {path}: no PEM certificate in the file"));
    }
    Ok(certs)
}

fn pem_error(err: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match err {
        Error::Io(e) => e.to_string(),
        Error::NoItemsFound => "no PEM private key in the file".into(),
        other => format!("not valid PEM: {other}"),
    }
}
