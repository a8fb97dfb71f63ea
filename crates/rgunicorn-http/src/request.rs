//! Request-head parsing: request line, header fields and body framing, as strict as gunicorn 27.
//!
//! `limits.rs` finds the end of the head and enforces the limits; the request line is
//! parsed here, the header block is tokenised by `httparse`, and framing, `Connection`,
//! `Expect` and `--header-map` rules are applied to the result.

use memchr::{memchr, memrchr};

use super::body::BodyFraming;
use super::errors::HttpError;
use super::limits::{effective, scan_fields, scan_request_line};
pub use super::limits::{max_head_len, HeaderMapPolicy, Limits};
use super::token::is_tchar;
use super::uri::{split_connect_target, split_target};

/// The protocol version of a request. Responses echo it, as gunicorn does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`
    Http10,
    /// `HTTP/1.1` (also any `HTTP/1.x` under `permit_unconventional_http_version`)
    Http11,
}

impl Version {
    /// `"HTTP/1.0"` or `"HTTP/1.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// A parsed, validated request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method token (upper-cased first under `casefold_http_method`).
    pub method: String,
    /// The request target exactly as sent (`RAW_URI`).
    pub uri: String,
    /// The path part of the target, still percent-encoded; `*` for the asterisk form,
    /// `/` for an absolute-form target with an empty path.
    pub path: String,
    /// The part after `?`, without the fragment; empty if none.
    pub query: String,
    /// The protocol version.
    pub version: Version,
    /// Fields in order: names as sent, values as bytes (latin-1) with surrounding OWS trimmed
    /// and obs-folds joined by one space. Names with `_` are gone under [`HeaderMapPolicy::Drop`].
    pub headers: Vec<(String, Vec<u8>)>,
    /// How the body is delimited.
    pub framing: BodyFraming,
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    pub expect_continue: bool,
    /// Whether the connection may be reused after this request.
    pub keep_alive: bool,
    /// Bytes of the buffer used, from any leading empty lines through the final CRLF CRLF.
    pub head_len: usize,
}

impl RequestHead {
    /// The value of the first field named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }
}

/// Check a method token without allocating; casefolding happens when the head is built.
fn check_method<'a>(raw: &'a [u8], limits: &Limits) -> Result<&'a str, HttpError> {
    if raw.is_empty() || !raw.iter().all(|&b| is_tchar(b)) {
        return Err(HttpError::InvalidMethod);
    }
    // gunicorn's conventional methods: no lowercase (after casefolding), no '#', 3 to 20 bytes.
    if !limits.permit_unconventional_http_method
        && (!(3..=20).contains(&raw.len())
            || raw.iter().any(|&b| b == b'#' || (b.is_ascii_lowercase() && !limits.casefold_http_method)))
    {
        return Err(HttpError::InvalidMethod);
    }
    std::str::from_utf8(raw).map_err(|_| HttpError::InvalidMethod)
}

fn parse_version(raw: &[u8], permit_unconventional: bool) -> Result<Version, HttpError> {
    match raw {
        b"HTTP/1.1" => Ok(Version::Http11),
        b"HTTP/1.0" => Ok(Version::Http10),
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if permit_unconventional && minor.is_ascii_digit() => {
            Ok(Version::Http11)
        }
        _ => Err(HttpError::InvalidVersion),
    }
}

/// The validated parts of a request line, borrowed from the buffer.
struct RequestLine<'a> {
    /// As sent; upper-cased only when copied out under `casefold_http_method`.
    method: &'a str,
    target: &'a str,
    path: &'a str,
    query: &'a str,
    version: Version,
    /// The method is CONNECT: whatever follows on the connection is tunnel data, never a request.
    connect: bool,
}

/// `method SP request-target SP HTTP-version`, single spaces.
fn parse_request_line<'a>(line: &'a [u8], limits: &Limits) -> Result<RequestLine<'a>, HttpError> {
    let sp1 = memchr(b' ', line).ok_or(HttpError::InvalidRequestLine)?;
    let method = check_method(&line[..sp1], limits)?;
    // One space only: an HTTP/0.9 request, or no version at all.
    let sp2 = memrchr(b' ', line).filter(|&i| i > sp1).ok_or(HttpError::InvalidVersion)?;
    let version = parse_version(&line[sp2 + 1..], limits.permit_unconventional_http_version)?;
    let raw_target = &line[sp1 + 1..sp2];
    if raw_target.is_empty() {
        return Err(HttpError::InvalidRequestLine);
    }
    let target = std::str::from_utf8(raw_target).map_err(|_| HttpError::InvalidTarget)?;
    let is_method = |name: &str| {
        if limits.casefold_http_method {
            method.eq_ignore_ascii_case(name)
        } else {
            method == name
        }
    };
    // gunicorn 27 hands CONNECT to the app (which may answer it); the connection is closed after.
    let connect = is_method("CONNECT");
    if target == "*" && !is_method("OPTIONS") {
        return Err(HttpError::InvalidTarget);
    }
    let (path, query) = if connect { split_connect_target(target)? } else { split_target(target)? };
    Ok(RequestLine { method, target, path, query, version, connect })
}

fn is_ows(b: &u8) -> bool {
    *b == b' ' || *b == b'\t'
}

fn trim_ows_start(s: &[u8]) -> &[u8] {
    &s[s.iter().position(|b| !is_ows(b)).unwrap_or(s.len())..]
}

fn trim_ows_end(s: &[u8]) -> &[u8] {
    &s[..s.iter().rposition(|b| !is_ows(b)).map_or(0, |i| i + 1)]
}

/// Split `field` on commas and yield each element with surrounding OWS trimmed.
fn list_elements(field: &[u8]) -> impl Iterator<Item = &[u8]> {
    field.split(|&b| b == b',').map(|e| trim_ows_start(trim_ows_end(e)))
}

/// RFC 9110 §5.3: a field whose value is one item cannot be sent twice (the copies cannot be
/// merged, and two readers may pick different ones).
fn repeat_of_singleton(seen: &mut bool) -> Result<(), HttpError> {
    if std::mem::replace(seen, true) {
        return Err(HttpError::RepeatedSingleton);
    }
    Ok(())
}

/// The one Content-Length value: a decimal number. RFC 9110 §8.6 would allow `5, 5` or two
/// equal fields; gunicorn 27 answers 400 to both, and so do we (a second field is refused where
/// it is seen): a length sent twice is a message some front end has already combined or split.
fn parse_content_length(value: &[u8]) -> Result<u64, HttpError> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(HttpError::InvalidContentLength);
    }
    value
        .iter()
        .try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
        .ok_or(HttpError::InvalidContentLength)
}

/// What the Transfer-Encoding fields said so far.
#[derive(Default)]
struct Codings {
    present: bool,
    chunked: bool,
    /// A compression coding: the body reaches the app still encoded, so do not reuse the
    /// connection (gunicorn's `force_close`).
    compressed: bool,
}

fn parse_transfer_encoding(value: &[u8], codings: &mut Codings) -> Result<(), HttpError> {
    codings.present = true;
    for element in list_elements(value) {
        // `,chunked`, `chunked,`, an empty field: gunicorn 27 answers 501 rather than guess, since
        // a front end that reads the list differently would frame the body differently.
        if element.is_empty() {
            return Err(HttpError::UnsupportedTransferCoding);
        }
        let is = |name: &str| element.eq_ignore_ascii_case(name.as_bytes());
        if is("chunked") {
            if codings.chunked {
                return Err(HttpError::InvalidTransferEncoding);
            }
            codings.chunked = true;
        } else if is("gzip") || is("deflate") || is("compress") || is("identity") {
            if codings.chunked {
                return Err(HttpError::ChunkedNotLast);
            }
            codings.compressed |= !is("identity");
        } else {
            return Err(HttpError::UnsupportedTransferCoding);
        }
    }
    Ok(())
}

/// Copy the header section, joining obs-fold lines with one space and, under
/// `strip_header_spaces`, dropping whitespace between a name and its colon.
fn normalize_section(section: &[u8], strip: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(section.len());
    let lines = section.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    for line in lines.filter(|l| !l.is_empty()) {
        if line[0] == b' ' || line[0] == b'\t' {
            let kept = trim_ows_end(&out).len();
            out.truncate(kept);
            out.push(b' ');
            out.extend_from_slice(trim_ows_start(line));
            continue;
        }
        if !out.is_empty() {
            out.extend_from_slice(b"\r\n");
        }
        match memchr(b':', line) {
            Some(colon) if strip => {
                out.extend_from_slice(trim_ows_end(&line[..colon]));
                out.extend_from_slice(&line[colon..]);
            }
            _ => out.extend_from_slice(line),
        }
    }
    if !out.is_empty() {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn map_httparse_error(err: httparse::Error) -> HttpError {
    match err {
        httparse::Error::HeaderValue => HttpError::InvalidHeaderValue,
        httparse::Error::NewLine => HttpError::BareLineFeed,
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders,
        _ => HttpError::InvalidHeaderName,
    }
}

/// Parse a request head from the start of `buf`.
///
/// `Ok(None)` = incomplete, feed more bytes (and call again with the whole buffer). Errors
/// come as soon as a limit is provably exceeded, even on incomplete input (no CRLF within
/// `request_line` bytes → [`HttpError::RequestLineTooLong`], and so on); an incomplete
/// prefix of a valid head never gives an error.
pub fn parse_request_head(buf: &[u8], limits: &Limits) -> Result<Option<RequestHead>, HttpError> {
    let lim = effective(limits);
    let Some((start, line_end)) = scan_request_line(buf, &lim)? else {
        return Ok(None);
    };
    // Checked as soon as it is complete, so a bad request line fails before the headers arrive.
    let line = parse_request_line(&buf[start..line_end], limits)?;
    let Some(scan) = scan_fields(buf, line_end + 2, &lim, limits.permit_obsolete_folding)? else {
        return Ok(None);
    };
    let version = line.version;

    // Header fields.
    let raw_section = &buf[line_end + 2..scan.head_len];
    let normalized;
    let section: &[u8] = if scan.folded || limits.strip_header_spaces {
        normalized = normalize_section(raw_section, limits.strip_header_spaces);
        &normalized
    } else {
        raw_section
    };
    let mut stack = [httparse::EMPTY_HEADER; 32];
    let mut heap = Vec::new();
    let slots = if scan.count <= stack.len() {
        &mut stack[..scan.count]
    } else {
        heap.resize(scan.count, httparse::EMPTY_HEADER);
        &mut heap[..]
    };
    let parsed = match httparse::parse_headers(section, slots).map_err(map_httparse_error)? {
        httparse::Status::Complete((_, parsed)) => parsed,
        // The scan found the end of the section, so httparse must have too.
        httparse::Status::Partial => return Err(HttpError::InvalidHeaderName),
    };

    let mut headers = Vec::with_capacity(parsed.len());
    let mut content_length = None;
    let mut codings = Codings::default();
    // gunicorn 27 checks every field first and the framing after (a repeat or a bad coding as it
    // meets them, the length's value last), so framing errors wait until the whole section has
    // been seen: the status is then the same as gunicorn's when a request breaks several rules.
    let mut framing_error = None;
    let (mut host_seen, mut content_type_seen) = (false, false);
    let (mut close, mut keep_alive_token, mut expect_continue) = (false, false, false);
    for field in parsed {
        let (name, value) = (field.name, field.value);
        if memchr(b'_', name.as_bytes()).is_some() {
            // An `_` name never names a framing field, whatever the policy.
            match limits.header_map {
                HeaderMapPolicy::Drop => continue,
                HeaderMapPolicy::Refuse => return Err(HttpError::UnderscoreHeader),
                HeaderMapPolicy::Dangerous => {}
            }
        } else if name.eq_ignore_ascii_case("host") {
            repeat_of_singleton(&mut host_seen)?;
        } else if name.eq_ignore_ascii_case("content-type") {
            repeat_of_singleton(&mut content_type_seen)?;
        } else if name.eq_ignore_ascii_case("content-length") {
            if content_length.replace(value).is_some() && framing_error.is_none() {
                framing_error = Some(HttpError::InvalidContentLength);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if framing_error.is_none() {
                framing_error = parse_transfer_encoding(value, &mut codings).err();
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in list_elements(value) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case("expect") && version == Version::Http11 {
            // RFC 9110 §10.1.1: an HTTP/1.0 server ignores 100-continue, so we do for 1.0 requests.
            if !value.eq_ignore_ascii_case(b"100-continue") {
                return Err(HttpError::ExpectationFailed);
            }
            expect_continue = true;
        }
        headers.push((name.to_owned(), value.to_vec()));
    }

    if let Some(err) = framing_error {
        return Err(err);
    }
    let framing = if codings.present {
        if version == Version::Http10 {
            return Err(HttpError::ChunkedOnHttp10);
        }
        if content_length.is_some() {
            return Err(HttpError::ConflictingFraming);
        }
        if !codings.chunked {
            return Err(HttpError::ChunkedNotLast);
        }
        BodyFraming::Chunked
    } else {
        match content_length {
            Some(value) => BodyFraming::Length(parse_content_length(value)?),
            None => BodyFraming::None,
        }
    };
    let keep_alive = !codings.compressed
        && !line.connect
        && !close
        && match version {
            Version::Http11 => true,
            Version::Http10 => keep_alive_token,
        };

    let mut method = line.method.to_owned();
    if limits.casefold_http_method {
        method.make_ascii_uppercase();
    }
    Ok(Some(RequestHead {
        method,
        uri: line.target.to_owned(),
        path: line.path.to_owned(),
        query: line.query.to_owned(),
        version,
        headers,
        framing,
        expect_continue,
        keep_alive,
        head_len: scan.head_len,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse a complete head after checking that every strict prefix of it is `Ok(None)`.
    pub(crate) fn parse_complete(input: &[u8], limits: &Limits) -> RequestHead {
        for end in 0..input.len() {
            assert_eq!(parse_request_head(&input[..end], limits), Ok(None), "prefix {end} of {input:?}");
        }
        let head = parse_request_head(input, limits).unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
        let head = head.unwrap_or_else(|| panic!("incomplete: {input:?}"));
        assert_eq!(head.head_len, input.len(), "{input:?}");
        head
    }

    /// Every strict prefix is `Ok(None)` or already the same error; the whole input is `err`.
    pub(crate) fn assert_rejected(input: &[u8], limits: &Limits, err: HttpError) {
        for end in 0..input.len() {
            match parse_request_head(&input[..end], limits) {
                Ok(None) => {}
                Err(e) if e == err => {}
                other => panic!("prefix {end} of {input:?}: {other:?}"),
            }
        }
        assert_eq!(parse_request_head(input, limits), Err(err), "{input:?}");
    }

    use BodyFraming::{Chunked, Length};
    use Version::{Http10, Http11};

    #[test]
    fn valid_heads() {
        type Case<'a> = (&'a [u8], &'a str, &'a str, &'a str, Version, BodyFraming, bool, bool);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // input, method, path, query, version, framing, keep_alive, expect_continue
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", "", Http11, BodyFraming::None, true, false),
            (b"GET /a/b?x=1&y HTTP/1.0\r\n\r\n", "GET", "/a/b", "x=1&y", Http10, BodyFraming::None, false, false),
            (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "GET", "/", "", Http10, BodyFraming::None, true, false),
            (b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", "GET", "/", "", Http10, BodyFraming::None, false, false),
            (b"GET / HTTP/1.1\r\nConnection: foo,  CLOSE \r\n\r\n", "GET", "/", "", Http11, BodyFraming::None, false, false),
            (b"GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", "GET", "/", "", Http11, BodyFraming::None, false, false),
            (b"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", "GET", "/", "", Http11, BodyFraming::None, true, false),
            (b"POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\n", "POST", "/p", "", Http11, Length(5), true, false),
            (b"POST /p HTTP/1.1\r\ncontent-length: 0\r\n\r\n", "POST", "/p", "", Http11, Length(0), true, false),
            (b"POST /p HTTP/1.0\r\nContent-Length: 007\r\n\r\n", "POST", "/p", "", Http10, Length(7), false, false),
            (b"POST /p HTTP/1.1\r\nContent-Length:  5\t\r\n\r\n", "POST", "/p", "", Http11, Length(5), true, false),
            (b"POST /p HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n", "POST", "/p", "", Http11, Length(u64::MAX), true, false),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "POST", "/", "", Http11, Chunked, true, false),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", "POST", "/", "", Http11, Chunked, false, false),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: CHUNKED\r\n\r\n", "POST", "/", "", Http11, Chunked, false, false),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: identity, chunked\r\n\r\n", "POST", "/", "", Http11, Chunked, true, false),
            (b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", "POST", "/", "", Http11, Length(3), true, true),
            (b"POST / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n", "POST", "/", "", Http11, BodyFraming::None, true, true),
            (b"POST / HTTP/1.0\r\nExpect: something-else\r\n\r\n", "POST", "/", "", Http10, BodyFraming::None, false, false),
            (b"\r\nGET / HTTP/1.1\r\n\r\n", "GET", "/", "", Http11, BodyFraming::None, true, false),
            (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nX-Host: b\r\n\r\n", "GET", "/", "", Http11, BodyFraming::None, true, false),
            (b"GET http://user:pw@example.com:81/x HTTP/1.1\r\n\r\n", "GET", "/x", "", Http11, BodyFraming::None, true, false),
            (b"GET http://[2001:db8::1]:8080/v6?q HTTP/1.1\r\n\r\n", "GET", "/v6", "q", Http11, BodyFraming::None, true, false),
            // CONNECT reaches the app as under gunicorn 27, and the connection never carries another request.
            (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "CONNECT", "443", "", Http11, BodyFraming::None, false, false),
            (b"CONNECT [::1]:443 HTTP/1.1\r\n\r\n", "CONNECT", "[::1]:443", "", Http11, BodyFraming::None, false, false),
            (b"CONNECT 10.0.0.1:3128 HTTP/1.1\r\nContent-Length: 2\r\n\r\n", "CONNECT", "10.0.0.1:3128", "", Http11, Length(2), false, false),
            (b"OPTIONS * HTTP/1.1\r\n\r\n", "OPTIONS", "*", "", Http11, BodyFraming::None, true, false),
            (b"GET http://example.com/x?y#z HTTP/1.1\r\n\r\n", "GET", "/x", "y", Http11, BodyFraming::None, true, false),
            (b"GET https://example.com HTTP/1.1\r\n\r\n", "GET", "/", "", Http11, BodyFraming::None, true, false),
            (b"GET //a/%20b HTTP/1.1\r\n\r\n", "GET", "//a/%20b", "", Http11, BodyFraming::None, true, false),
            (b"M-SEARCH / HTTP/1.1\r\n\r\n", "M-SEARCH", "/", "", Http11, BodyFraming::None, true, false),
            (b"ABCDEFGHIJKLMNOPQRST / HTTP/1.1\r\n\r\n", "ABCDEFGHIJKLMNOPQRST", "/", "", Http11, BodyFraming::None, true, false),
            (b"POST / HTTP/1.1\r\nContent_Length: 5\r\nTransfer_Encoding: chunked\r\n\r\n", "POST", "/", "", Http11, BodyFraming::None, true, false),
        ];
        for &(input, method, path, query, version, framing, keep_alive, expect_continue) in cases {
            let head = parse_complete(input, &Limits::default());
            let target = std::str::from_utf8(input).expect("ascii").trim_start().split(' ').nth(1).expect("target");
            assert_eq!(
                (head.method.as_str(), head.uri.as_str(), head.path.as_str(), head.query.as_str()),
                (method, target, path, query),
                "{input:?}"
            );
            assert_eq!(
                (head.version, head.framing, head.keep_alive, head.expect_continue),
                (version, framing, keep_alive, expect_continue),
                "{input:?}"
            );
        }
    }

    #[test]
    fn invalid_heads() {
        use HttpError::*;
        #[rustfmt::skip]
        let cases: &[(&[u8], HttpError)] = &[
            (b"GET / HTTP/1.1\nHost: a\r\n\r\n", BareLineFeed),
            (b"GET / HTTP/1.1\r\nHost: a\n\r\n", BareLineFeed),
            (b"GET / HTTP/1.1\r\nHost: a\r\n\n", BareLineFeed),
            (b"\nGET / HTTP/1.1\r\n\r\n", BareLineFeed),
            (b"\r\n\nGET / HTTP/1.1\r\n\r\n", BareLineFeed),
            (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", BareCarriageReturn),
            (b"GET /\r HTTP/1.1\r\n\r\n", BareCarriageReturn),
            (b"\r\r\n", BareCarriageReturn),
            (b"GET / HTTP/1.1\r\n\rX", BareCarriageReturn),
            (b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", ObsoleteFolding),
            (b"GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", ObsoleteFolding),
            (b"GET / HTTP/1.1\r\n X: a\r\n\r\n", InvalidHeaderName),
            (b"GET / HTTP/1.1\r\nX : a\r\n\r\n", InvalidHeaderName),
            (b"GET / HTTP/1.1\r\nX\t: a\r\n\r\n", InvalidHeaderName),
            (b"GET / HTTP/1.1\r\n: a\r\n\r\n", InvalidHeaderName),
            (b"GET / HTTP/1.1\r\nX(y): a\r\n\r\n", InvalidHeaderName),
            (b"GET / HTTP/1.1\r\nX\xe9: a\r\n\r\n", InvalidHeaderName),
            (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", InvalidHeaderName),
            (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", InvalidHeaderValue),
            (b"GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", InvalidHeaderValue),
            (b"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", InvalidHeaderValue),
            (b"GET / HTTP/1.1\r\nX: \x1b[31m\r\n\r\n", InvalidHeaderValue),
            (b"get / HTTP/1.1\r\n\r\n", InvalidMethod),
            (b"Get / HTTP/1.1\r\n\r\n", InvalidMethod),
            (b"GE / HTTP/1.1\r\n\r\n", InvalidMethod),
            (b"ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1\r\n\r\n", InvalidMethod),
            (b"G#T / HTTP/1.1\r\n\r\n", InvalidMethod),
            (b"G(T / HTTP/1.1\r\n\r\n", InvalidMethod),
            (b" / HTTP/1.1\r\n\r\n", InvalidMethod),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", InvalidMethod),
            (b"GET / HTTP/1.2\r\n\r\n", InvalidVersion),
            (b"GET / HTTP/2.0\r\n\r\n", InvalidVersion),
            (b"GET / http/1.1\r\n\r\n", InvalidVersion),
            (b"GET / HTTP/1.10\r\n\r\n", InvalidVersion),
            (b"GET / HTTP/0.9\r\n\r\n", InvalidVersion),
            (b"GET / HTTP/1.1 \r\n\r\n", InvalidVersion),
            (b"GET /\r\n\r\n", InvalidVersion),
            (b"GET\r\n\r\n", InvalidRequestLine),
            (b"GET  HTTP/1.1\r\n\r\n", InvalidRequestLine),
            (b"GET  / HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"GET /a b HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"GET /a\tb HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"GET /a\x01 HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"GET /a\x7f HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"GET /\xff HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"GET * HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"CONNECT * HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"GET http://user@[::1/ HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"GET http://[not:v6]/ HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", RepeatedSingleton),
            (b"GET / HTTP/1.1\r\nHost: a\r\nhOST: a\r\n\r\n", RepeatedSingleton),
            (b"GET / HTTP/1.1\r\nHost:\r\nHost: b\r\n\r\n", RepeatedSingleton),
            (b"POST / HTTP/1.1\r\nContent-Type: a\r\nContent-Type: a\r\n\r\n", RepeatedSingleton),
            // Field rules before framing rules, as gunicorn 27 applies them.
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\nHost: a\r\nHost: b\r\n\r\n", RepeatedSingleton),
            (b"POST / HTTP/1.1\r\nContent-Length: x\r\nExpect: foo\r\n\r\n", ExpectationFailed),
            (b"POST / HTTP/1.1\r\nContent-Length: x\r\nTransfer-Encoding: foo\r\n\r\n", UnsupportedTransferCoding),
            (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\nTransfer-Encoding: ,\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\n\r\n", UnsupportedTransferCoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n", UnsupportedTransferCoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, ,\r\n\r\n", UnsupportedTransferCoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: identity,,chunked\r\n\r\n", UnsupportedTransferCoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: \r\nTransfer-Encoding: chunked\r\n\r\n", UnsupportedTransferCoding),
            (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked,\r\n\r\n", UnsupportedTransferCoding),
            (b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", InvalidRequestLine),
            (b"GET example.com HTTP/1.1\r\n\r\n", InvalidTarget),
            (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", ConflictingFraming),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", ConflictingFraming),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ChunkedNotLast),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", ChunkedNotLast),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", ChunkedNotLast),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", ChunkedNotLast),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", UnsupportedTransferCoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", InvalidTransferEncoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", InvalidTransferEncoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: br, chunked\r\n\r\n", UnsupportedTransferCoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", UnsupportedTransferCoding),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", UnsupportedTransferCoding),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ChunkedOnHttp10),
            (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 5 , 5\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nContent-Length: \xd9\xa3\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.1\r\nExpect: 100-continue, foo\r\n\r\n", ExpectationFailed),
            (b"POST / HTTP/1.1\r\nExpect: foo\r\n\r\n", ExpectationFailed),
            (b"POST / HTTP/1.1\r\nExpect:\r\n\r\n", ExpectationFailed),
            (b"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", InvalidRequestLine),
        ];
        for (input, err) in cases {
            assert_rejected(input, &Limits::default(), err.clone());
        }
    }

    #[test]
    fn header_fields_as_sent() {
        let input =
            b"GET / HTTP/1.1\r\nx-CUSTOM:   a b  \t\r\nEmpty:\r\nLatin: caf\xe9\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n";
        let head = parse_complete(input, &Limits::default());
        let fields: Vec<(&str, &[u8])> = head.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        let expected: &[(&str, &[u8])] =
            &[("x-CUSTOM", b"a b"), ("Empty", b""), ("Latin", b"caf\xe9"), ("X-Dup", b"1"), ("X-Dup", b"2")];
        assert_eq!(fields, expected);
        assert_eq!(head.header("X-CUSTOM"), Some(&b"a b"[..]));
        assert_eq!(head.header("x-dup"), Some(&b"1"[..]));
        assert_eq!(head.header("missing"), None);
    }

    #[test]
    fn pipelined_bytes_are_not_consumed() {
        let input = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
        let head = parse_request_head(input, &Limits::default()).expect("valid").expect("complete");
        assert_eq!(&input[head.head_len..], b"helloGET / HTTP/1.1\r\n\r\n");
        let many = vec![b'X'; 40_000];
        let mut input = b"GET / HTTP/1.1\r\n\r\n".to_vec();
        input.extend_from_slice(&many);
        let head = parse_request_head(&input, &Limits::default()).expect("valid").expect("complete");
        assert_eq!(head.head_len, 18);
    }

    #[test]
    fn header_map_policies() {
        let input = b"POST / HTTP/1.1\r\nX_Forwarded_For: evil\r\nContent_Length: 5\r\nX-Ok: 1\r\n\r\n";
        let with = |header_map| Limits { header_map, ..Limits::default() };
        let head = parse_complete(input, &with(HeaderMapPolicy::Drop));
        assert_eq!(head.headers, vec![("X-Ok".to_owned(), b"1".to_vec())]);
        assert_eq!(head.framing, BodyFraming::None);
        assert_rejected(input, &with(HeaderMapPolicy::Refuse), HttpError::UnderscoreHeader);
        let head = parse_complete(input, &with(HeaderMapPolicy::Dangerous));
        assert_eq!(head.headers.len(), 3);
        assert_eq!(head.header("Content_Length"), Some(&b"5"[..]));
        assert_eq!(head.framing, BodyFraming::None, "Content_Length is never framing");
        // A dropped Transfer_Encoding cannot conflict with a real Content-Length.
        let input = b"POST / HTTP/1.1\r\nTransfer_Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(parse_complete(input, &Limits::default()).framing, Length(3));
    }

    #[test]
    fn obsolete_folding_when_permitted() {
        let limits = Limits { permit_obsolete_folding: true, ..Limits::default() };
        let input = b"GET / HTTP/1.1\r\nX: a  \r\n  b \r\n\tc\r\nY: d\r\nZ:\r\n e\r\n\r\n";
        let head = parse_complete(input, &limits);
        assert_eq!(head.header("X"), Some(&b"a b c"[..]));
        assert_eq!(head.header("Y"), Some(&b"d"[..]));
        assert_eq!(head.header("Z"), Some(&b"e"[..]));
        assert_eq!(head.headers.len(), 3);
        // Still nothing to fold into before the first field, and folded values are still checked.
        assert_rejected(b"GET / HTTP/1.1\r\n X: a\r\n\r\n", &limits, HttpError::InvalidHeaderName);
        assert_rejected(b"GET / HTTP/1.1\r\nX: a\r\n \x0cb\r\n\r\n", &limits, HttpError::InvalidHeaderValue);
    }

    #[test]
    fn strip_header_spaces() {
        let limits = Limits { strip_header_spaces: true, ..Limits::default() };
        let head = parse_complete(b"GET / HTTP/1.1\r\nX \t: a\r\nContent-Length : 2\r\n\r\n", &limits);
        assert_eq!(head.headers[0], ("X".to_owned(), b"a".to_vec()));
        assert_eq!(head.framing, Length(2));
        assert_rejected(b"GET / HTTP/1.1\r\nX Y: a\r\n\r\n", &limits, HttpError::InvalidHeaderName);
        assert_rejected(b"GET / HTTP/1.1\r\nX\x0c: a\r\n\r\n", &limits, HttpError::InvalidHeaderName);
    }

    #[test]
    fn method_leniencies() {
        let casefold = Limits { casefold_http_method: true, ..Limits::default() };
        assert_eq!(parse_complete(b"get / HTTP/1.1\r\n\r\n", &casefold).method, "GET");
        assert_rejected(b"get# / HTTP/1.1\r\n\r\n", &casefold, HttpError::InvalidMethod);
        let permit = Limits { permit_unconventional_http_method: true, ..Limits::default() };
        for method in ["get", "G#T", "GE", "X", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"] {
            let input = format!("{method} / HTTP/1.1\r\n\r\n");
            assert_eq!(parse_complete(input.as_bytes(), &permit).method, method);
        }
        assert_rejected(b"G(T / HTTP/1.1\r\n\r\n", &permit, HttpError::InvalidMethod);
        let both = Limits { casefold_http_method: true, ..permit };
        assert_eq!(parse_complete(b"g#t / HTTP/1.1\r\n\r\n", &both).method, "G#T");
    }

    #[test]
    fn version_leniency() {
        let permit = Limits { permit_unconventional_http_version: true, ..Limits::default() };
        for (version, expected) in
            [("HTTP/1.0", Http10), ("HTTP/1.1", Http11), ("HTTP/1.2", Http11), ("HTTP/1.9", Http11)]
        {
            let input = format!("GET / {version}\r\n\r\n");
            assert_eq!(parse_complete(input.as_bytes(), &permit).version, expected, "{version}");
        }
        for version in ["HTTP/2.0", "HTTP/0.9", "HTTP/1.x", "http/1.1"] {
            let input = format!("GET / {version}\r\n\r\n");
            assert_rejected(input.as_bytes(), &permit, HttpError::InvalidVersion);
        }
    }

    #[test]
    fn version_names() {
        assert_eq!(Http10.as_str(), "HTTP/1.0");
        assert_eq!(Http11.as_str(), "HTTP/1.1");
    }
}
