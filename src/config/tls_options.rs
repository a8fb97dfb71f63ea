//! The TLS settings as the configuration holds them. They are read by [`crate::tls`], which
//! builds the rustls configuration from them; the configuration layer itself knows nothing of TLS.

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
    /// An OpenSSL cipher string (see [`crate::tls::ciphers`]).
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
