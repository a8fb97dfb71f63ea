//! One server-side TLS session over a socket, for blocking and non-blocking sockets alike.
//!
//! The methods never wait themselves: on a non-blocking socket they return `WouldBlock` and
//! the caller waits (for readability, and also for writability while [`TlsConn::wants_write`]);
//! on a blocking socket with timeouts, `WouldBlock` means the timeout passed. So the sync
//! worker, the gthread I/O loop and the gthread pool threads share this code and differ only
//! in how they wait.

use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use rustls::{ServerConfig, ServerConnection};
use socket2::Socket;

use super::ciphers::openssl_name;
use super::facts::{ClientCert, TlsFacts};
use super::plain_http;

/// A TLS session and the facts the environ reports about it.
pub struct TlsConn {
    conn: ServerConnection,
    suppress_ragged_eofs: bool,
    first_byte_checked: bool,
    facts: Option<Arc<TlsFacts>>,
}

impl TlsConn {
    /// A session for a freshly accepted connection.
    pub fn new(config: &Arc<ServerConfig>, suppress_ragged_eofs: bool) -> io::Result<TlsConn> {
        let conn = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
        Ok(TlsConn { conn, suppress_ragged_eofs, first_byte_checked: false, facts: None })
    }

    /// Whether the session has bytes for the socket (a handshake flight, an alert, a record
    /// the socket did not take): a non-blocking caller must then also wait for writability.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Whether decrypted bytes are waiting in the session (already taken from the socket, so
    /// no readiness event will announce them).
    pub fn has_buffered_plaintext(&mut self) -> bool {
        self.conn.process_new_packets().is_ok_and(|state| state.plaintext_bytes_to_read() > 0)
    }

    /// Read decrypted bytes, doing the handshake first if needed. `Ok(0)` is the end of the
    /// stream (a ragged EOF too, with `suppress_ragged_eofs`). On a blocking socket each
    /// receive waits up to the socket's timeout; `deadline` bounds the whole call, so a client
    /// that trickles a record a byte at a time cannot stretch it.
    pub fn read(&mut self, sock: &Socket, buf: &mut [u8], deadline: Option<Instant>) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && self.suppress_ragged_eofs => return Ok(0),
                Err(e) => return Err(e),
            }
            self.flush(sock)?;
            if !self.first_byte_checked {
                self.refuse_plain_http(sock)?;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(io::ErrorKind::TimedOut.into());
            }
            // EOF (Ok(0)) is recorded by the session: the reader reports it on the next turn.
            self.conn.read_tls(&mut &*sock)?;
            if let Err(err) = self.conn.process_new_packets() {
                let _ = self.flush_nowait(sock); // the alert that says why
                let what = if self.conn.is_handshaking() { "TLS handshake failed" } else { "TLS error" };
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {err}")));
            }
        }
    }

    /// Encrypt what the session accepts of `bufs` and push what the socket takes. Returns how
    /// many bytes of `bufs` were accepted; `WouldBlock` only when none were.
    pub fn write(&mut self, sock: &Socket, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Ok(0);
        }
        loop {
            let accepted = self.conn.writer().write_vectored(bufs)?;
            match self.flush(sock) {
                Ok(()) if accepted == 0 => continue, // the session's buffer was full; it is empty now
                Ok(()) => return Ok(accepted),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && accepted > 0 => return Ok(accepted),
                Err(e) => return Err(e),
            }
        }
    }

    /// Push every pending TLS byte to the socket (`WouldBlock` when it is full).
    pub fn flush(&mut self, sock: &Socket) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut &*sock)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Push what the socket takes now, without waiting even on a blocking socket.
    pub fn flush_nowait(&mut self, sock: &Socket) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut NoWait(sock))? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Send a small message (an error response) without waiting, as far as the socket takes it.
    pub fn send_nowait(&mut self, sock: &Socket, bytes: &[u8]) {
        if self.conn.writer().write_all(bytes).is_ok() {
            let _ = self.flush_nowait(sock);
        }
    }

    /// Say goodbye properly (`close_notify`), so the client can tell a complete response from
    /// a truncated one; without waiting, as the connection is closing anyway.
    pub fn close_notify(&mut self, sock: &Socket) {
        if !self.conn.is_handshaking() {
            self.conn.send_close_notify();
            let _ = self.flush_nowait(sock);
        }
    }

    /// The connection's facts for the environ, once the handshake is done.
    pub fn facts(&mut self) -> Option<Arc<TlsFacts>> {
        if self.facts.is_none() && !self.conn.is_handshaking() {
            let protocol = match self.conn.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
                _ => "",
            };
            let cipher = self.conn.negotiated_cipher_suite().map(openssl_name).unwrap_or_default();
            let client =
                self.conn.peer_certificates().and_then(|certs| certs.first()).and_then(|c| ClientCert::from_der(c));
            self.facts = Some(Arc::new(TlsFacts { protocol: protocol.into(), cipher: cipher.into(), client }));
        }
        self.facts.clone()
    }

    /// A client that speaks plain HTTP to the TLS port gets a plain-text 400 that says so (as
    /// nginx answers), then the connection closes; TLS clients start with a handshake record.
    fn refuse_plain_http(&mut self, sock: &Socket) -> io::Result<()> {
        let first = plain_http::peek_first_byte(sock)?;
        self.first_byte_checked = true;
        if first.is_some_and(plain_http::is_plain_http) {
            plain_http::refuse(sock);
            return Err(io::Error::new(io::ErrorKind::InvalidData, "plain HTTP request sent to the HTTPS port"));
        }
        Ok(())
    }
}

/// A writer that never waits, even on a blocking socket.
struct NoWait<'a>(&'a Socket);

impl Write for NoWait<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.send_with_flags(buf, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
