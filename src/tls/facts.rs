//! What the app may learn about a TLS connection, as Apache's mod_ssl names it in the environ
//! (`HTTPS`, `SSL_PROTOCOL`, `SSL_CIPHER`, `SSL_CLIENT_*`), so that apps and middleware written
//! for mod_wsgi or uWSGI find the client's certificate where they already look.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use x509_cert::der::Decode;

/// The facts of one established TLS connection, computed once after the handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFacts {
    /// `TLSv1.2` or `TLSv1.3`.
    pub protocol: String,
    /// The suite's OpenSSL name (what Python's `SSLSocket.cipher()` reports).
    pub cipher: String,
    /// The client's certificate, when it sent one and it was verified.
    pub client: Option<ClientCert>,
}

/// A verified client certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCert {
    /// PEM, as `ssl.DER_cert_to_pem_cert` writes it.
    pub pem: String,
    /// The subject's distinguished name, RFC 4514 (`CN=alice,O=Example`).
    pub subject: String,
    /// The issuer's distinguished name, RFC 4514.
    pub issuer: String,
    /// The serial number, upper-case hex.
    pub serial: String,
}

impl ClientCert {
    /// Read a DER certificate; `None` if it does not parse (the TLS layer already verified it,
    /// so this only happens for certificates webpki accepts and x509-cert does not).
    pub fn from_der(der: &[u8]) -> Option<ClientCert> {
        let cert = x509_cert::Certificate::from_der(der).ok()?;
        let tbs = cert.tbs_certificate();
        let serial: String = tbs.serial_number().as_bytes().iter().map(|b| format!("{b:02X}")).collect();
        Some(ClientCert {
            pem: der_to_pem(der),
            subject: tbs.subject().to_string(),
            issuer: tbs.issuer().to_string(),
            serial,
        })
    }
}

impl TlsFacts {
    /// Add the keys to a request's environ.
    pub fn apply(&self, py: Python<'_>, env: &Bound<'_, PyDict>) -> PyResult<()> {
        env.set_item(pyo3::intern!(py, "HTTPS"), pyo3::intern!(py, "on"))?;
        env.set_item(pyo3::intern!(py, "SSL_PROTOCOL"), self.protocol.as_str())?;
        env.set_item(pyo3::intern!(py, "SSL_CIPHER"), self.cipher.as_str())?;
        match &self.client {
            Some(cert) => {
                env.set_item(pyo3::intern!(py, "SSL_CLIENT_VERIFY"), pyo3::intern!(py, "SUCCESS"))?;
                env.set_item(pyo3::intern!(py, "SSL_CLIENT_CERT"), cert.pem.as_str())?;
                env.set_item(pyo3::intern!(py, "SSL_CLIENT_S_DN"), cert.subject.as_str())?;
                env.set_item(pyo3::intern!(py, "SSL_CLIENT_I_DN"), cert.issuer.as_str())?;
                env.set_item(pyo3::intern!(py, "SSL_CLIENT_M_SERIAL"), cert.serial.as_str())?;
            }
            None => env.set_item(pyo3::intern!(py, "SSL_CLIENT_VERIFY"), pyo3::intern!(py, "NONE"))?,
        }
        Ok(())
    }
}

/// PEM text for a DER certificate: base64 in 64-column lines between the usual markers.
pub fn der_to_pem(der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = Vec::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]);
            } else {
                b64.push(b'=');
            }
        }
    }
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_is_base64_in_64_columns() {
        let pem = der_to_pem(b"hello world, this is forty-eight bytes of text!!");
        assert_eq!(
            pem,
            "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQsIHRoaXMgaXMgZm9ydHktZWlnaHQgYnl0ZXMgb2YgdGV4dCEh\n-----END CERTIFICATE-----\n"
        );
        assert!(der_to_pem(b"ab").contains("\nYWI=\n"));
        assert!(der_to_pem(b"a").contains("\nYQ==\n"));
    }
}
