//! Parser limits, clamped as gunicorn clamps them, and the line scan that enforces them.
//!
//! The scans walk the head line by line (memchr), reject bare LF and lone CR, find the end of
//! the request line and of the head, and error on incomplete input as soon as a limit is
//! provably exceeded.

use memchr::{memchr, memchr2};

use super::errors::HttpError;
use super::token::is_tchar;

/// What to do with header names containing `_` (gunicorn `--header-map`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderMapPolicy {
    /// Remove the field silently; it plays no part in framing either (default).
    Drop,
    /// Answer 400 ([`HttpError::UnderscoreHeader`]).
    Refuse,
    /// Keep the field; `X_Foo` and `X-Foo` then collide in the WSGI environ.
    Dangerous,
}

/// Parser limits and leniencies, named after gunicorn's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `--limit-request-line`, default 4094; 0 or anything above 8190 means 8190.
    pub request_line: usize,
    /// `--limit-request-fields`, default 100; 0 or anything above 32768 means 32768.
    pub fields: usize,
    /// `--limit-request-field_size`, default 8190, counting the line's CRLF as gunicorn does;
    /// 0 = no per-line limit (the whole header section stays bounded as if it were 8190).
    pub field_size: usize,
    /// `--permit-obsolete-folding`: unfold obs-fold lines instead of answering 400.
    pub permit_obsolete_folding: bool,
    /// `--header-map`.
    pub header_map: HeaderMapPolicy,
    /// `--strip-header-spaces`: drop whitespace between a header name and `:` instead of 400.
    pub strip_header_spaces: bool,
    /// `--permit-unconventional-http-method`: any token method, any length.
    pub permit_unconventional_http_method: bool,
    /// `--permit-unconventional-http-version`: accept `HTTP/1.x` for any digit x, treated as 1.1.
    pub permit_unconventional_http_version: bool,
    /// `--casefold-http-method`: upper-case the method before it is checked.
    pub casefold_http_method: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_line: 4094,
            fields: 100,
            field_size: 8190,
            permit_obsolete_folding: false,
            header_map: HeaderMapPolicy::Drop,
            strip_header_spaces: false,
            permit_unconventional_http_method: false,
            permit_unconventional_http_version: false,
            casefold_http_method: false,
        }
    }
}

const MAX_REQUEST_LINE: usize = 8190;
const MAX_HEADERS: usize = 32768;
const DEFAULT_MAX_FIELD_SIZE: usize = 8190;
/// RFC 9112 §2.2: ignore at least one empty line before the request line. gunicorn 27 ignores
/// exactly one and answers 400 to a second: more would only be a way to pad a request.
const MAX_LEADING_EMPTY_LINES: usize = 1;

/// The limits after gunicorn's clamping.
pub(super) struct Effective {
    line: usize,
    fields: usize,
    /// 0 = no per-line limit.
    field_size: usize,
    /// Bound on the whole header section (fields and the final CRLF).
    section: usize,
}

pub(super) fn effective(limits: &Limits) -> Effective {
    let line = if limits.request_line == 0 { MAX_REQUEST_LINE } else { limits.request_line.min(MAX_REQUEST_LINE) };
    let fields = if limits.fields == 0 { MAX_HEADERS } else { limits.fields.min(MAX_HEADERS) };
    let per_line = if limits.field_size == 0 { DEFAULT_MAX_FIELD_SIZE } else { limits.field_size };
    let section = fields.saturating_mul(per_line.saturating_add(2)).saturating_add(4);
    Effective { line, fields, field_size: limits.field_size, section }
}

/// Upper bound on head size for these limits (line + fields*(field_size+2) + 4, plus the
/// allowed leading empty lines): a buffer this long without a complete head has already been
/// answered with an error by [`super::parse_request_head`], so the worker can stop reading past it.
pub fn max_head_len(limits: &Limits) -> usize {
    let e = effective(limits);
    (2 * MAX_LEADING_EMPTY_LINES + e.line + 2).saturating_add(e.section)
}

/// The header section's shape, found by [`scan_fields`].
pub(super) struct Fields {
    /// Header field lines, not counting obs-fold continuations.
    pub(super) count: usize,
    /// Any obs-fold continuation line seen (only possible when permitted).
    pub(super) folded: bool,
    /// Bytes of the head, through the final CRLF CRLF.
    pub(super) head_len: usize,
}

enum Eol {
    /// Index of the CR of a CRLF.
    Line(usize),
    /// No line end yet; this many bytes of line content so far.
    Partial(usize),
}

fn find_eol(buf: &[u8], from: usize) -> Result<Eol, HttpError> {
    let rest = buf.get(from..).unwrap_or_default();
    match memchr2(b'\r', b'\n', rest) {
        None => Ok(Eol::Partial(rest.len())),
        Some(i) if rest[i] == b'\n' => Err(HttpError::BareLineFeed),
        Some(i) => match rest.get(i + 1) {
            None => Ok(Eol::Partial(i)),
            Some(b'\n') => Ok(Eol::Line(from + i)),
            Some(_) => Err(HttpError::BareCarriageReturn),
        },
    }
}

/// Find the request line, after at most one empty line: `(start, index of its CR)`.
pub(super) fn scan_request_line(buf: &[u8], lim: &Effective) -> Result<Option<(usize, usize)>, HttpError> {
    let mut start = 0;
    loop {
        match buf.get(start) {
            None => return Ok(None),
            // One empty line too many: no request line can start with CR.
            Some(b'\r') if start >= 2 * MAX_LEADING_EMPTY_LINES => return Err(HttpError::InvalidRequestLine),
            Some(b'\r') => match buf.get(start + 1) {
                None => return Ok(None),
                Some(b'\n') => start += 2,
                Some(_) => return Err(HttpError::BareCarriageReturn),
            },
            Some(b'\n') => return Err(HttpError::BareLineFeed),
            Some(_) => break,
        }
    }
    let line_end = match find_eol(buf, start)? {
        Eol::Line(end) if end - start > lim.line => return Err(HttpError::RequestLineTooLong),
        Eol::Line(end) => end,
        Eol::Partial(len) if len > lim.line => return Err(HttpError::RequestLineTooLong),
        Eol::Partial(len) => {
            // Reject garbage (a TLS hello, say) as soon as the method cannot be a token.
            let partial = &buf[start..start + len];
            let method = &partial[..memchr(b' ', partial).unwrap_or(partial.len())];
            if !method.iter().all(|&b| is_tchar(b)) {
                return Err(HttpError::InvalidMethod);
            }
            return Ok(None);
        }
    };
    Ok(Some((start, line_end)))
}

/// Find the end of the header section starting at `hdr_start` and enforce the field limits.
pub(super) fn scan_fields(
    buf: &[u8],
    hdr_start: usize,
    lim: &Effective,
    permit_fold: bool,
) -> Result<Option<Fields>, HttpError> {
    let mut pos = hdr_start;
    let mut fields = 0;
    let mut field_len = 0;
    let mut folded = false;
    loop {
        let Some(&first) = buf.get(pos) else { return Ok(None) };
        let is_fold = first == b' ' || first == b'\t';
        if is_fold {
            // Whitespace before the first field has nothing to fold into (RFC 9112 §2.2).
            if fields == 0 {
                return Err(HttpError::InvalidHeaderName);
            }
            if !permit_fold {
                return Err(HttpError::ObsoleteFolding);
            }
        }
        let (len, complete) = match find_eol(buf, pos)? {
            Eol::Line(end) => (end - pos, true),
            Eol::Partial(len) => (len, false),
        };
        // The section so far, final CRLF included; a partial line can only make it longer.
        let section_len = if complete { pos + len + 2 } else { buf.len() } - hdr_start;
        if section_len > lim.section {
            return Err(HttpError::HeaderTooLarge);
        }
        if len == 0 {
            // `first` is the CR of the empty line that ends the head (or will).
            if complete {
                return Ok(Some(Fields { count: fields, folded, head_len: pos + 2 }));
            }
            return Ok(None);
        }
        // Field lengths count the CRLF, which a partial line is sure to get (or fail).
        if is_fold {
            folded = true;
            field_len += len + 2;
        } else {
            fields += 1;
            if fields > lim.fields {
                return Err(HttpError::TooManyHeaders);
            }
            field_len = len + 2;
        }
        if lim.field_size > 0 && field_len > lim.field_size {
            return Err(HttpError::HeaderTooLarge);
        }
        if !complete {
            return Ok(None);
        }
        pos += len + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // Through the crate's public parser: limits are enforced on the way to a parsed head.
    use crate::parse_request_head;

    fn line_of(len: usize) -> Vec<u8> {
        // "GET /aaa… HTTP/1.1" with exactly `len` bytes.
        let mut line = b"GET /".to_vec();
        line.resize(len - 9, b'a');
        line.extend_from_slice(b" HTTP/1.1");
        line
    }

    fn head(line: &[u8], fields: &[Vec<u8>]) -> Vec<u8> {
        let mut out = line.to_vec();
        out.extend_from_slice(b"\r\n");
        for field in fields {
            out.extend_from_slice(field);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// A field line of exactly `len` bytes, CRLF not counted.
    fn field_of(len: usize) -> Vec<u8> {
        let mut field = b"X-Long: ".to_vec();
        field.resize(len, b'v');
        field
    }

    fn parse(buf: &[u8], limits: &Limits) -> Result<bool, HttpError> {
        parse_request_head(buf, limits).map(|h| h.is_some())
    }

    #[test]
    fn request_line_limit() {
        let cases: &[(usize, usize, usize)] = &[
            // limit setting, longest accepted line, effective limit
            (4094, 4094, 4094),
            (100, 100, 100),
            (0, 8190, 8190),
            (100_000, 8190, 8190),
        ];
        for &(setting, longest, _) in cases {
            let limits = Limits { request_line: setting, ..Limits::default() };
            let ok = head(&line_of(longest), &[]);
            assert_eq!(parse(&ok, &limits), Ok(true), "{setting}");
            let too_long = head(&line_of(longest + 1), &[]);
            assert_eq!(parse(&too_long, &limits), Err(HttpError::RequestLineTooLong), "{setting}");
            // Incomplete: no CR yet. Exactly the limit (or the limit then CR) waits; one more fails.
            assert_eq!(parse(&ok[..longest], &limits), Ok(false));
            assert_eq!(parse(&ok[..longest + 1], &limits), Ok(false));
            assert_eq!(parse(&too_long[..longest + 1], &limits), Err(HttpError::RequestLineTooLong));
        }
    }

    #[test]
    fn field_size_limit() {
        let limits = Limits::default();
        let line = line_of(20);
        // gunicorn counts the CRLF: a field line of 8188 bytes + CRLF is the largest.
        assert_eq!(parse(&head(&line, &[field_of(8188)]), &limits), Ok(true));
        let too_big = head(&line, &[field_of(8189)]);
        assert_eq!(parse(&too_big, &limits), Err(HttpError::HeaderTooLarge));
        let partial = &too_big[..too_big.len() - 4];
        assert_eq!(parse(partial, &limits), Err(HttpError::HeaderTooLarge), "known before the CRLF");
        let fits_partially = head(&line, &[field_of(8188)]);
        assert_eq!(parse(&fits_partially[..fits_partially.len() - 3], &limits), Ok(false));

        // Folded continuations count towards the same field.
        let folding = Limits { permit_obsolete_folding: true, ..Limits::default() };
        let mut cont = vec![b' '];
        cont.resize(4000, b'c');
        let folded = head(&line, &[field_of(4186), cont.clone()]);
        assert_eq!(parse(&folded, &folding), Ok(true));
        let folded = head(&line, &[field_of(4187), cont]);
        assert_eq!(parse(&folded, &folding), Err(HttpError::HeaderTooLarge));

        // 0: no per-line limit, but the section stays bounded as if it were 8190 per field.
        let unlimited = Limits { field_size: 0, fields: 1, ..Limits::default() };
        assert_eq!(parse(&head(&line, &[field_of(8190)]), &unlimited), Ok(true));
        let over = head(&line, &[field_of(8193)]);
        assert_eq!(parse(&over, &unlimited), Err(HttpError::HeaderTooLarge));
    }

    #[test]
    fn field_count_limit() {
        let line = line_of(20);
        let fields: Vec<Vec<u8>> = (0..100).map(|i| format!("X-{i}: v").into_bytes()).collect();
        let ok = head(&line, &fields);
        assert_eq!(parse(&ok, &Limits::default()), Ok(true));
        let mut more = fields.clone();
        more.push(b"X-100: v".to_vec());
        let too_many = head(&line, &more);
        assert_eq!(parse(&too_many, &Limits::default()), Err(HttpError::TooManyHeaders));
        // Known as soon as the 101st field starts.
        let start = ok.len() - 2 + 1;
        assert_eq!(parse(&too_many[..start], &Limits::default()), Err(HttpError::TooManyHeaders));
        assert_eq!(parse(&too_many[..start - 1], &Limits::default()), Ok(false));
        let few = Limits { fields: 3, ..Limits::default() };
        assert_eq!(parse(&head(&line, &fields[..3]), &few), Ok(true));
        assert_eq!(parse(&head(&line, &fields[..4]), &few), Err(HttpError::TooManyHeaders));
        let clamped = Limits { fields: 0, ..Limits::default() };
        assert_eq!(effective(&clamped).fields, 32768);
    }

    #[test]
    fn big_valid_head_byte_at_a_time() {
        let fields: Vec<Vec<u8>> = (0..100).map(|i| format!("X-Field-{i}: value {i}").into_bytes()).collect();
        let input = head(&line_of(4094), &fields);
        let limits = Limits::default();
        for end in 0..input.len() {
            assert_eq!(parse(&input[..end], &limits), Ok(false), "prefix {end}");
        }
        assert_eq!(parse(&input, &limits), Ok(true));
    }

    #[test]
    fn incomplete_never_exceeds_max_head_len() {
        let settings = [
            Limits::default(),
            Limits { request_line: 10, fields: 2, field_size: 20, ..Limits::default() },
            Limits { request_line: 0, fields: 1, field_size: 0, ..Limits::default() },
            Limits { fields: 2, field_size: 30, permit_obsolete_folding: true, ..Limits::default() },
        ];
        for limits in &settings {
            let max = max_head_len(limits);
            let mut inputs = vec![vec![b'A'; max + 10]];
            let mut grow = b"\r\n\r\nGET / HTTP/1.1\r\n".to_vec();
            grow.resize(max + 10, b'a');
            inputs.push(grow);
            let mut folds = b"GET / HTTP/1.1\r\nX: 1\r\n".to_vec();
            while folds.len() < max + 10 {
                folds.extend_from_slice(b" fold\r\n");
            }
            inputs.push(folds);
            let mut lines = b"GET / HTTP/1.1\r\n".to_vec();
            while lines.len() < max + 10 {
                lines.extend_from_slice(b"X: 0123456789\r\n");
            }
            inputs.push(lines);
            for input in &inputs {
                for end in 0..input.len() {
                    match parse_request_head(&input[..end], limits) {
                        Ok(None) => assert!(end <= max, "{limits:?}: waiting at {end} > {max}"),
                        Ok(Some(h)) => assert!(h.head_len <= max),
                        Err(_) => break,
                    }
                }
            }
        }
    }

    #[test]
    fn leading_empty_lines() {
        let input = b"\r\nGET / HTTP/1.1\r\n\r\n";
        let head = parse_request_head(input, &Limits::default()).expect("valid").expect("complete");
        assert_eq!(head.head_len, input.len());
        assert_eq!(parse(b"\r", &Limits::default()), Ok(false));
        assert_eq!(parse(b"\r\n", &Limits::default()), Ok(false));
        // A second empty line is refused as soon as its CR arrives, as gunicorn 27 refuses it.
        for input in [&b"\r\n\r"[..], b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", b"\r\n\r\n\r\n"] {
            assert_eq!(parse(input, &Limits::default()), Err(HttpError::InvalidRequestLine), "{input:?}");
        }
        assert_eq!(parse(b"\r\n\n", &Limits::default()), Err(HttpError::BareLineFeed));
    }
}
