//! Response heads, chunked framing, canned error responses, the cached `Date`, and checks on
//! what the app hands to `start_response`.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use super::errors::HttpError;
use super::request::Version;
use super::token::is_tchar;

/// Appends `"{version} {status}\r\n"`, each `"name: value\r\n"`, then `"\r\n"`.
///
/// `status` is the app's status line, e.g. `"200 OK"`, already checked by [`parse_status`];
/// names and values must already have passed [`is_valid_header_name`] /
/// [`is_valid_header_value`]. Nothing is checked here.
pub fn write_head(out: &mut Vec<u8>, version: Version, status: &str, headers: &[(&str, &str)]) {
    let needed = 8 + 1 + status.len() + 3 + 2 + headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum::<usize>();
    out.reserve(needed);
    out.extend_from_slice(version.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a chunk-size line, `"{len:x}\r\n"`. Follow the data with [`CHUNK_TRAILER`];
/// never write a zero-length chunk this way (that is [`LAST_CHUNK`]).
pub fn write_chunk_header(out: &mut Vec<u8>, len: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 2 * std::mem::size_of::<usize>()];
    let mut start = digits.len();
    let mut n = len;
    loop {
        start -= 1;
        digits[start] = HEX[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
    out.extend_from_slice(b"\r\n");
}

/// Written after each chunk's data.
pub const CHUNK_TRAILER: &[u8] = b"\r\n";
/// The last chunk and the empty trailer section that end a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The full response for a protocol error: status line, `Server: rgunicorn`, `Date`,
/// `Connection: close`, `Content-Type: text/plain; charset=utf-8`, `Content-Length`, and a body
/// of the reason and the detail on two lines. The connection must be closed after it.
pub fn error_response(err: &HttpError) -> Vec<u8> {
    let reason = err.reason();
    let detail = err.detail();
    let mut body = String::with_capacity(reason.len() + detail.len() + 2);
    body.push_str(reason);
    body.push('\n');
    body.push_str(detail);
    body.push('\n');
    simple_response(err.status(), reason, &body)
}

/// A complete `HTTP/1.1` response of the same shape as [`error_response`] (used for 500, 503,
/// 504…). Bytes of `reason` that may not appear in a reason phrase are replaced by spaces.
pub fn simple_response(status: u16, reason: &str, body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + reason.len() + body.len());
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(itoa::Buffer::new().format(status.clamp(100, 999)).as_bytes());
    out.push(b' ');
    out.extend(reason.bytes().map(|b| if b == b'\t' || (b >= b' ' && b != 0x7f) { b } else { b' ' }));
    out.extend_from_slice(b"\r\nServer: rgunicorn\r\nDate: ");
    push_http_date(&mut out);
    out.extend_from_slice(b"\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ");
    out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
    out
}

const DATE_LEN: usize = 29;

thread_local! {
    /// (unix second, its IMF-fixdate); second `u64::MAX` = not yet computed.
    static DATE: Cell<(u64, [u8; DATE_LEN])> = const { Cell::new((u64::MAX, [0; DATE_LEN])) };
}

fn cached_date() -> [u8; DATE_LEN] {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|cache| {
        let (second, date) = cache.get();
        if second == now {
            return date;
        }
        let date = format_imf_fixdate(now);
        cache.set((now, date));
        date
    })
}

/// Appends the current IMF-fixdate without allocating (see [`http_date`]).
pub fn push_http_date(out: &mut Vec<u8>) {
    out.extend_from_slice(&cached_date());
}

/// The current IMF-fixdate (`"Sun, 06 Nov 1994 08:49:37 GMT"`), recomputed at most once a
/// second per thread.
pub fn http_date() -> String {
    String::from_utf8_lossy(&cached_date()).into_owned()
}

/// Formats seconds since the Unix epoch as an IMF-fixdate (RFC 9110 §5.6.7).
fn format_imf_fixdate(secs: u64) -> [u8; DATE_LEN] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    let days = secs / 86_400;
    let in_day = secs % 86_400;
    // Howard Hinnant's civil_from_days, on days since 1970-01-01 (a Thursday).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = (yoe + era * 400 + u64::from(month <= 2)).min(9999);

    let mut out = [0u8; DATE_LEN];
    let digit = |n: u64| b'0' + (n % 10) as u8;
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    out[3..5].copy_from_slice(b", ");
    out[5] = digit(day / 10);
    out[6] = digit(day);
    out[7] = b' ';
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize % 12]);
    out[11] = b' ';
    out[12] = digit(year / 1000);
    out[13] = digit(year / 100);
    out[14] = digit(year / 10);
    out[15] = digit(year);
    out[16] = b' ';
    out[17] = digit(in_day / 36_000);
    out[18] = digit(in_day / 3600);
    out[19] = b':';
    out[20] = digit(in_day % 3600 / 600);
    out[21] = digit(in_day % 3600 / 60);
    out[22] = b':';
    out[23] = digit(in_day % 60 / 10);
    out[24] = digit(in_day % 60);
    out[25..].copy_from_slice(b" GMT");
    out
}

/// True if `name` is a non-empty token, as a header name from the app must be.
pub fn is_valid_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_tchar)
}

/// True if `value` has no CR, LF, NUL or other control character except HTAB.
pub fn is_valid_header_value(value: &str) -> bool {
    value.bytes().all(|b| b == b'\t' || (b >= b' ' && b != 0x7f))
}

/// `"200 OK"` → `Ok(200)`: three digits (100–999), then a space and a reason that may be
/// empty and has no control character but HTAB. A bare `"200"` is refused, as PEP 3333 and
/// the status-line grammar (which needs the space) require.
#[allow(clippy::result_unit_err)] // the only failure is "not a status line"; callers map it to their own error
pub fn parse_status(status: &str) -> Result<u16, ()> {
    let bytes = status.as_bytes();
    let code = match bytes.get(..3) {
        Some([a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9']) => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(()),
    };
    match &bytes[3..] {
        [b' ', reason @ ..] if reason.iter().all(|&b| b == b'\t' || (b >= b' ' && b != 0x7f)) => Ok(code),
        _ => Err(()),
    }
}

/// False for statuses that never carry a body: 1xx, 204 and 304.
pub fn status_allows_body(code: u16) -> bool {
    !((100..200).contains(&code) || code == 204 || code == 304)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_layout() {
        let mut out = b"prefix|".to_vec();
        write_head(&mut out, Version::Http11, "200 OK", &[("Content-Type", "text/plain"), ("X-A", "")]);
        assert_eq!(out, b"prefix|HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: \r\n\r\n");
        let mut out = Vec::new();
        write_head(&mut out, Version::Http10, "204 ", &[]);
        assert_eq!(out, b"HTTP/1.0 204 \r\n\r\n");
    }

    #[test]
    fn chunk_headers() {
        let cases: &[(usize, &[u8])] = &[
            (1, b"1\r\n"),
            (9, b"9\r\n"),
            (10, b"a\r\n"),
            (255, b"ff\r\n"),
            (4096, b"1000\r\n"),
            (usize::MAX, b"ffffffffffffffff\r\n"),
        ];
        for (len, expected) in cases {
            let mut out = Vec::new();
            write_chunk_header(&mut out, *len);
            assert_eq!(out, *expected, "{len}");
        }
        assert_eq!(LAST_CHUNK, b"0\r\n\r\n");
        assert_eq!(CHUNK_TRAILER, b"\r\n");
    }

    fn split_response(resp: &[u8]) -> (String, String) {
        let text = String::from_utf8(resp.to_vec()).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head end");
        (head.to_owned(), body.to_owned())
    }

    #[test]
    fn error_response_shape() {
        let (head, body) = split_response(&error_response(&HttpError::RequestLineTooLong));
        let lines: Vec<&str> = head.split("\r\n").collect();
        assert_eq!(lines[0], "HTTP/1.1 414 URI Too Long");
        assert_eq!(lines[1], "Server: rgunicorn");
        assert!(lines[2].starts_with("Date: ") && lines[2].ends_with(" GMT") && lines[2].len() == 6 + DATE_LEN);
        assert_eq!(lines[3], "Connection: close");
        assert_eq!(lines[4], "Content-Type: text/plain; charset=utf-8");
        assert_eq!(lines[5], format!("Content-Length: {}", body.len()));
        assert_eq!(body, "URI Too Long\nrequest line too long\n");
    }

    #[test]
    fn simple_response_sanitizes_reason() {
        let (head, body) = split_response(&simple_response(500, "Internal\r\nX-Evil: 1", "oops"));
        assert!(head.starts_with("HTTP/1.1 500 Internal  X-Evil: 1\r\nServer: rgunicorn\r\n"));
        assert_eq!(body, "oops");
    }

    #[test]
    fn imf_fixdate() {
        let cases: &[(u64, &str)] = &[
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_709_251_199, "Thu, 29 Feb 2024 23:59:59 GMT"),
            (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
            (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ];
        for (secs, expected) in cases {
            assert_eq!(&format_imf_fixdate(*secs)[..], expected.as_bytes(), "{secs}");
        }
        let now = http_date();
        assert_eq!(now.len(), DATE_LEN);
        assert!(now.ends_with(" GMT"));
        let mut out = Vec::new();
        push_http_date(&mut out);
        assert_eq!(out.len(), DATE_LEN);
    }

    #[test]
    fn header_checks() {
        for name in ["Content-Type", "X-Custom_1", "a", "!#$%&'*+-.^_`|~"] {
            assert!(is_valid_header_name(name), "{name}");
        }
        for name in ["", "Bad Name", "Bad:Name", "X\r\n", "caf\u{e9}", "(x)", "a\tb"] {
            assert!(!is_valid_header_name(name), "{name:?}");
        }
        for value in ["", "text/plain", "a\tb", "caf\u{e9}", "  spaced  ", "~"] {
            assert!(is_valid_header_value(value), "{value:?}");
        }
        for value in ["a\r\nX: y", "a\nb", "a\rb", "nul\0", "bell\x07", "del\x7f"] {
            assert!(!is_valid_header_value(value), "{value:?}");
        }
    }

    #[test]
    fn status_parsing() {
        let ok: &[(&str, u16)] =
            &[("200 OK", 200), ("404 Not Found", 404), ("200 ", 200), ("599 a\tb", 599), ("999 x", 999)];
        for (status, code) in ok {
            assert_eq!(parse_status(status), Ok(*code), "{status}");
        }
        let bad = [
            "",
            "200",
            "20",
            "2000 OK",
            "099 x",
            "abc OK",
            " 200 OK",
            "200OK",
            "200 OK\r\n",
            "200 O\nK",
            "2x0 OK",
            "200\tOK",
        ];
        for status in bad {
            assert_eq!(parse_status(status), Err(()), "{status:?}");
        }
    }

    #[test]
    fn bodies_by_status() {
        for code in [100, 101, 199, 204, 304] {
            assert!(!status_allows_body(code), "{code}");
        }
        for code in [200, 201, 206, 301, 302, 400, 404, 500] {
            assert!(status_allows_body(code), "{code}");
        }
    }
}
