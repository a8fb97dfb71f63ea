//! Plain HTTP sent to a TLS port: told so in plain text (as nginx does), not reset.
//!
//! Every TLS client opens with a handshake record (0x16); an HTTP request opens with its method,
//! upper-case ASCII. Shared by the rustls workers and the gevent worker's Python `ssl`.

use std::io;
use std::mem::MaybeUninit;

use socket2::Socket;

use crate::http::response::simple_response;

/// The first byte of every TLS connection: a handshake record.
const HANDSHAKE_RECORD: u8 = 0x16;

/// How much of the client's request is read and dropped before answering.
const DRAIN_BUDGET: usize = 64 * 1024;

/// The connection's first byte, left in the socket; `None` if the client closed first.
/// (`WouldBlock` on a non-blocking socket with nothing yet.)
pub fn peek_first_byte(sock: &Socket) -> io::Result<Option<u8>> {
    let mut first = [MaybeUninit::<u8>::uninit(); 1];
    if sock.peek(&mut first)? == 0 {
        return Ok(None);
    }
    // SAFETY: peek() returned 1, so it wrote the byte.
    Ok(Some(unsafe { first[0].assume_init() }))
}

/// Whether a connection that opens with `byte` speaks plain HTTP rather than TLS.
pub fn is_plain_http(byte: u8) -> bool {
    byte != HANDSHAKE_RECORD && byte.is_ascii_uppercase()
}

/// Answer 400 in plain text and stop writing, without waiting. What the client already sent
/// (its request head, usually whole by now) is read first, so that closing does not reset the
/// connection under the answer. Returns how much more the caller may drain while it lingers.
pub fn refuse(sock: &Socket) -> usize {
    let mut scratch = [MaybeUninit::<u8>::uninit(); 8192];
    let mut budget = DRAIN_BUDGET;
    while budget > 0 {
        match sock.recv_with_flags(&mut scratch, libc::MSG_DONTWAIT) {
            Ok(n) if n > 0 => budget = budget.saturating_sub(n),
            _ => break,
        }
    }
    let body = "Bad Request\nThis port speaks HTTPS; the request was sent as plain HTTP.\n";
    let response = simple_response(400, "Bad Request", body);
    let _ = sock.send_with_flags(&response, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL);
    let _ = sock.shutdown(std::net::Shutdown::Write);
    budget
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_plain_http_and_handshakes_and_garbage_are_not() {
        assert!(is_plain_http(b'G') && is_plain_http(b'P'));
        assert!(!is_plain_http(0x16));
        assert!(!is_plain_http(0x00) && !is_plain_http(b'g'));
    }
}
