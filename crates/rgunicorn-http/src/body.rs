//! Request body framing and an incremental, sans-I/O decoder for `Transfer-Encoding: chunked`.

use super::errors::HttpError;
use super::token::is_tchar;

/// How the request body is delimited, decided from Content-Length / Transfer-Encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body: neither header was sent. Requests are never read until close.
    None,
    /// Exactly this many bytes follow the head (`Length(0)` when `Content-Length: 0`).
    Length(u64),
    /// `Transfer-Encoding: ... chunked`; use [`ChunkedDecoder`].
    Chunked,
}

/// Longest chunk-size line (size, extensions, not the CRLF) we accept.
const MAX_SIZE_LINE: usize = 1024;
/// Longest trailer section (all trailer lines and their CRLFs) we accept.
const MAX_TRAILER_BYTES: usize = 64 * 1024;
/// A u64 holds 16 hex digits.
const MAX_SIZE_DIGITS: u8 = 16;
/// RFC 9110 §6.5.1: fields that would change routing, framing or authentication once the body
/// has been read; gunicorn 27 answers 400 to each (lower-case, compared case-insensitively).
const FORBIDDEN_TRAILERS: [&[u8]; 6] =
    [b"host", b"content-length", b"transfer-encoding", b"trailer", b"authorization", b"te"];
/// Room for the longest name the trailer rules look at (`transfer-encoding`); a longer name is
/// none of them, so it is only counted.
const TRAILER_NAME_ROOM: usize = 17;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a chunk-size line, or inside its hex digits.
    Size,
    /// After the digits, inside BWS that must be followed by `;`.
    SizeBws,
    /// After `;`: BWS, then a token name.
    ExtPreName,
    /// Inside an extension name.
    ExtName,
    /// After an extension name, inside BWS that must be followed by `=` or `;`.
    ExtAfterName,
    /// After `=`: BWS, then a token or a quoted string.
    ExtPreValue,
    /// Inside a token value.
    ExtValue,
    /// Inside a quoted-string value.
    ExtQuoted,
    /// Just after a backslash inside a quoted string.
    ExtQuotedEscape,
    /// Just after a quoted-string value's closing quote.
    ExtAfterQuoted,
    /// After a value, inside BWS that must be followed by `;`.
    ExtValueBws,
    /// Saw the CR ending the size line.
    SizeLf,
    /// Inside chunk data.
    Data,
    /// After chunk data, expecting CR.
    DataCr,
    /// After chunk data and CR, expecting LF.
    DataLf,
    /// At the start of a trailer line (or of the final CRLF).
    TrailerStart,
    /// Inside a trailer field name.
    TrailerName,
    /// Inside a trailer field value.
    TrailerValue,
    /// Saw the CR ending a trailer line.
    TrailerLf,
    /// Saw the CR of the final empty line.
    FinalLf,
    /// The whole chunked message has been consumed.
    Done,
}

/// Incremental decoder for a chunked request body (RFC 9112 §7.1).
///
/// Feed it whatever bytes arrived; it works on any split, down to one byte at a time, keeps no
/// copy of framing bytes, validates chunk extensions and trailers (then discards them), and
/// never consumes bytes past the end of the message.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// Chunk size being parsed, then bytes of chunk data still to come.
    size: u64,
    digits: u8,
    line_len: usize,
    trailer_len: usize,
    /// The current trailer name, lower-cased, as far as it fits; `trailer_name_len` counts it all.
    trailer_name: [u8; TRAILER_NAME_ROOM],
    trailer_name_len: usize,
    /// A `Content-Type` trailer was seen: a second one is as ambiguous as in the head.
    content_type_trailer: bool,
    failed: Option<HttpError>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl ChunkedDecoder {
    /// A decoder positioned at the first chunk-size line.
    pub fn new() -> Self {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            digits: 0,
            line_len: 0,
            trailer_len: 0,
            trailer_name: [0; TRAILER_NAME_ROOM],
            trailer_name_len: 0,
            content_type_trailer: false,
            failed: None,
        }
    }

    /// True once the last chunk, the trailers and the final CRLF have been consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decode as much of `input` as possible, appending body bytes to `out`.
    ///
    /// Returns (bytes of input consumed, done). `done` is true once the last chunk and
    /// trailers are consumed; pipelined bytes after the message stay in `input[consumed..]`.
    /// After an error the decoder is poisoned and returns the same error again.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(usize, bool), HttpError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match self.run(input, out) {
            Ok(used) => Ok((used, self.state == State::Done)),
            Err(err) => {
                self.failed = Some(err.clone());
                Err(err)
            }
        }
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, HttpError> {
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Done {
                return Ok(i);
            }
            if self.state == State::Data {
                let avail = input.len() - i;
                let take = usize::try_from(self.size).map_or(avail, |s| s.min(avail));
                out.extend_from_slice(&input[i..i + take]);
                i += take;
                self.size -= take as u64;
                if self.size == 0 {
                    self.state = State::DataCr;
                }
                continue;
            }
            let b = input[i];
            i += 1;
            self.step(b)?;
        }
        Ok(i)
    }

    /// Advance over one framing byte (everything but chunk data).
    fn step(&mut self, b: u8) -> Result<(), HttpError> {
        if matches!(
            self.state,
            State::Size
                | State::SizeBws
                | State::ExtPreName
                | State::ExtName
                | State::ExtAfterName
                | State::ExtPreValue
                | State::ExtValue
                | State::ExtQuoted
                | State::ExtQuotedEscape
                | State::ExtAfterQuoted
                | State::ExtValueBws
        ) {
            if b == b'\n' {
                return Err(HttpError::BareLineFeed);
            }
            if b != b'\r' {
                self.line_len += 1;
                if self.line_len > MAX_SIZE_LINE {
                    return Err(HttpError::ChunkLineTooLong);
                }
            }
        }
        self.state = match self.state {
            State::Size => match b {
                b'\r' if self.digits > 0 => State::SizeLf,
                b';' if self.digits > 0 => State::ExtPreName,
                b' ' | b'\t' if self.digits > 0 => State::SizeBws,
                _ => {
                    let d = hex_digit(b).ok_or(HttpError::InvalidChunkSize)?;
                    if self.digits == MAX_SIZE_DIGITS {
                        return Err(HttpError::InvalidChunkSize);
                    }
                    self.digits += 1;
                    self.size = self.size << 4 | u64::from(d);
                    State::Size
                }
            },
            State::SizeBws => match b {
                b' ' | b'\t' => State::SizeBws,
                b';' => State::ExtPreName,
                _ => return Err(HttpError::InvalidChunkSize),
            },
            State::ExtPreName => match b {
                b' ' | b'\t' => State::ExtPreName,
                _ if is_tchar(b) => State::ExtName,
                _ => return Err(HttpError::InvalidChunkExtension),
            },
            State::ExtName => match b {
                b'\r' => State::SizeLf,
                b';' => State::ExtPreName,
                b'=' => State::ExtPreValue,
                b' ' | b'\t' => State::ExtAfterName,
                _ if is_tchar(b) => State::ExtName,
                _ => return Err(HttpError::InvalidChunkExtension),
            },
            State::ExtAfterName => match b {
                b' ' | b'\t' => State::ExtAfterName,
                b';' => State::ExtPreName,
                b'=' => State::ExtPreValue,
                _ => return Err(HttpError::InvalidChunkExtension),
            },
            State::ExtPreValue => match b {
                b' ' | b'\t' => State::ExtPreValue,
                b'"' => State::ExtQuoted,
                _ if is_tchar(b) => State::ExtValue,
                _ => return Err(HttpError::InvalidChunkExtension),
            },
            State::ExtValue => match b {
                b'\r' => State::SizeLf,
                b';' => State::ExtPreName,
                b' ' | b'\t' => State::ExtValueBws,
                _ if is_tchar(b) => State::ExtValue,
                _ => return Err(HttpError::InvalidChunkExtension),
            },
            State::ExtQuoted => match b {
                b'"' => State::ExtAfterQuoted,
                b'\\' => State::ExtQuotedEscape,
                // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
                b'\t' | b' '..=b'~' | 0x80..=0xff => State::ExtQuoted,
                _ => return Err(HttpError::InvalidChunkExtension),
            },
            State::ExtQuotedEscape => match b {
                b'\t' | b' '..=b'~' | 0x80..=0xff => State::ExtQuoted,
                _ => return Err(HttpError::InvalidChunkExtension),
            },
            State::ExtAfterQuoted => match b {
                b'\r' => State::SizeLf,
                b' ' | b'\t' => State::ExtValueBws,
                b';' => State::ExtPreName,
                _ => return Err(HttpError::InvalidChunkExtension),
            },
            State::ExtValueBws => match b {
                b' ' | b'\t' => State::ExtValueBws,
                b';' => State::ExtPreName,
                _ => return Err(HttpError::InvalidChunkExtension),
            },
            State::SizeLf => {
                if b != b'\n' {
                    return Err(HttpError::BareCarriageReturn);
                }
                self.line_len = 0;
                self.digits = 0;
                if self.size == 0 {
                    State::TrailerStart
                } else {
                    State::Data
                }
            }
            State::DataCr if b == b'\r' => State::DataLf,
            State::DataLf if b == b'\n' => {
                self.size = 0;
                State::Size
            }
            State::DataCr | State::DataLf => return Err(HttpError::MissingChunkTerminator),
            State::TrailerStart => match b {
                b'\r' => State::FinalLf,
                b'\n' => return Err(HttpError::BareLineFeed),
                _ if is_tchar(b) => {
                    self.trailer_name_len = 0;
                    self.trailer_name_byte(b);
                    self.trailer_byte(State::TrailerName)?
                }
                _ => return Err(HttpError::InvalidTrailer),
            },
            State::TrailerName => match b {
                b':' => {
                    self.check_trailer_name()?;
                    self.trailer_byte(State::TrailerValue)?
                }
                _ if is_tchar(b) => {
                    self.trailer_name_byte(b);
                    self.trailer_byte(State::TrailerName)?
                }
                _ => return Err(HttpError::InvalidTrailer),
            },
            State::TrailerValue => match b {
                b'\r' => State::TrailerLf,
                b'\n' => return Err(HttpError::BareLineFeed),
                b'\t' | b' '..=b'~' | 0x80..=0xff => self.trailer_byte(State::TrailerValue)?,
                _ => return Err(HttpError::InvalidTrailer),
            },
            State::TrailerLf => match b {
                b'\n' => self.trailer_byte(State::TrailerStart)?,
                _ => return Err(HttpError::BareCarriageReturn),
            },
            State::FinalLf => match b {
                b'\n' => State::Done,
                _ => return Err(HttpError::BareCarriageReturn),
            },
            // `run` copies data and stops at Done before calling `step`.
            State::Data | State::Done => self.state,
        };
        Ok(())
    }

    fn trailer_name_byte(&mut self, b: u8) {
        if let Some(slot) = self.trailer_name.get_mut(self.trailer_name_len) {
            *slot = b.to_ascii_lowercase();
        }
        self.trailer_name_len += 1;
    }

    /// The trailer name is complete: refuse the fields a trailer may not carry, and a second
    /// `Content-Type` (gunicorn 27 applies the head's singleton rule within the trailers too).
    fn check_trailer_name(&mut self) -> Result<(), HttpError> {
        let Some(name) = self.trailer_name.get(..self.trailer_name_len) else { return Ok(()) };
        if FORBIDDEN_TRAILERS.contains(&name) {
            return Err(HttpError::ForbiddenTrailer);
        }
        if name == b"content-type" && std::mem::replace(&mut self.content_type_trailer, true) {
            return Err(HttpError::RepeatedSingleton);
        }
        Ok(())
    }

    /// Count one trailer byte against the trailer budget and move to `next`.
    fn trailer_byte(&mut self, next: State) -> Result<State, HttpError> {
        // The CR of each line was not counted, so count it with the LF.
        self.trailer_len += if next == State::TrailerStart { 2 } else { 1 };
        if self.trailer_len > MAX_TRAILER_BYTES {
            return Err(HttpError::TrailersTooLarge);
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode `input` in one call, in every two-way split, and one byte at a time; all must agree.
    fn decode_all_ways(input: &[u8]) -> Result<(Vec<u8>, usize), HttpError> {
        let whole = {
            let mut d = ChunkedDecoder::new();
            let mut out = Vec::new();
            let (used, done) = d.decode(input, &mut out)?;
            assert!(done, "complete message expected: {input:?}");
            (out, used)
        };
        for split in 0..=input.len() {
            let mut d = ChunkedDecoder::new();
            let mut out = Vec::new();
            let (a, done_a) = d.decode(&input[..split], &mut out).expect("prefix of a valid message");
            assert_eq!(a, split.min(whole.1), "a prefix is consumed up to the end of the message");
            assert_eq!(done_a, split >= whole.1);
            let (b, _) = d.decode(&input[split..], &mut out).expect("rest of a valid message");
            assert_eq!((out.as_slice(), a + b), (whole.0.as_slice(), whole.1), "split at {split}");
        }
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut used = 0;
        for (n, byte) in input.iter().enumerate() {
            let (u, done) = d.decode(std::slice::from_ref(byte), &mut out).expect("byte of a valid message");
            used += u;
            if done {
                assert_eq!(n + 1, used);
                break;
            }
        }
        assert_eq!((out.as_slice(), used), (whole.0.as_slice(), whole.1));
        assert!(d.is_done());
        Ok(whole)
    }

    #[test]
    fn valid_messages() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"0\r\n\r\n", b""),
            (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
            (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world"),
            (b"a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", b"01234567890123456789"),
            (b"000005\r\nhello\r\n000\r\n\r\n", b"hello"),
            (b"5;foo\r\nhello\r\n0\r\n\r\n", b"hello"),
            (b"5;foo=bar\r\nhello\r\n0\r\n\r\n", b"hello"),
            (b"5 ;foo=bar\r\nhello\r\n0\r\n\r\n", b"hello"),
            (b"5\t; foo = bar ; baz\r\nhello\r\n0\r\n\r\n", b"hello"),
            (b"5;foo=\"a \\\"q\\\" ;=b\"\r\nhello\r\n0;last\r\n\r\n", b"hello"),
            (b"5;a=\"\"\r\nhello\r\n0\r\n\r\n", b"hello"),
            (b"5;a=\"x\" ;b=\"y\";c\r\nhello\r\n0\r\n\r\n", b"hello"),
            (b"5\r\nhello\r\n0\r\nX-Sum: abc\r\n\r\n", b"hello"),
            (b"5\r\nhello\r\n0\r\nA: 1\r\nB:\r\nC: \xe9\t\r\n\r\n", b"hello"),
            // Names that only start or end like a forbidden one, and one Content-Type, are fine.
            (b"0\r\nHosts: a\r\nX-Host: b\r\nTE-X: c\r\nTransfer-Encodings: d\r\n\r\n", b""),
            (b"0\r\nContent-Type: a\r\nServer-Timing: b\r\nX-Forwarded-Proto: https\r\n\r\n", b""),
            (b"3\r\n\r\n\r\r\n0\r\n\r\n", b"\r\n\r"),
            (b"10\r\n0123456789abcdef\r\n0\r\n\r\n", b"0123456789abcdef"),
        ];
        for (input, body) in cases {
            let (out, used) = decode_all_ways(input).unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
            assert_eq!(out, *body, "{input:?}");
            assert_eq!(used, input.len(), "{input:?}");
        }
    }

    #[test]
    fn stops_at_end_of_message() {
        let input = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        let (out, used) = decode_all_ways(input).expect("valid");
        assert_eq!(out, b"abc");
        assert_eq!(&input[used..], b"GET / HTTP/1.1\r\n\r\n");
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        assert_eq!(d.decode(input, &mut out), Ok((13, true)));
        assert_eq!(d.decode(b"more", &mut out), Ok((0, true)));
    }

    #[test]
    fn incomplete_is_not_an_error() {
        let input = b"5;ext=\"v\"\r\nhello\r\n0\r\nT: v\r\n\r\n";
        for end in 0..input.len() {
            let mut d = ChunkedDecoder::new();
            let mut out = Vec::new();
            assert_eq!(d.decode(&input[..end], &mut out), Ok((end, false)), "prefix {end}");
        }
    }

    #[test]
    fn invalid_messages() {
        let cases: &[(&[u8], HttpError)] = &[
            (b"\r\n", HttpError::InvalidChunkSize),
            (b"x\r\n", HttpError::InvalidChunkSize),
            (b"0x5\r\nhello\r\n0\r\n\r\n", HttpError::InvalidChunkSize),
            (b"+5\r\nhello\r\n0\r\n\r\n", HttpError::InvalidChunkSize),
            (b"-5\r\n", HttpError::InvalidChunkSize),
            (b" 5\r\nhello\r\n0\r\n\r\n", HttpError::InvalidChunkSize),
            (b"5 \r\nhello\r\n0\r\n\r\n", HttpError::InvalidChunkSize),
            (b"5 5\r\n", HttpError::InvalidChunkSize),
            (b";a\r\n", HttpError::InvalidChunkSize),
            (b"11111111111111111\r\n", HttpError::InvalidChunkSize),
            (b"00000000000000001\r\n", HttpError::InvalidChunkSize),
            (b"5\nhello\r\n0\r\n\r\n", HttpError::BareLineFeed),
            (b"5;a\nhello\r\n", HttpError::BareLineFeed),
            (b"5\rhello\r\n", HttpError::BareCarriageReturn),
            (b"5;\r\nhello\r\n", HttpError::InvalidChunkExtension),
            (b"5;=a\r\nhello\r\n", HttpError::InvalidChunkExtension),
            (b"5;a=\r\nhello\r\n", HttpError::InvalidChunkExtension),
            (b"5;a \r\nhello\r\n", HttpError::InvalidChunkExtension),
            (b"5;a=b \r\nhello\r\n", HttpError::InvalidChunkExtension),
            (b"5;a=b c\r\nhello\r\n", HttpError::InvalidChunkExtension),
            (b"5;a=\"b\r\nhello\r\n", HttpError::InvalidChunkExtension),
            (b"5;a=\"b\"c\r\nhello\r\n", HttpError::InvalidChunkExtension),
            (b"5;a=\"b\" \r\nhello\r\n", HttpError::InvalidChunkExtension),
            (b"5;a@b\r\nhello\r\n", HttpError::InvalidChunkExtension),
            (b"5;a=b\x00\r\nhello\r\n", HttpError::InvalidChunkExtension),
            (b"5;a=\"\x7f\"\r\n", HttpError::InvalidChunkExtension),
            (b"5\r\nhelloXX0\r\n\r\n", HttpError::MissingChunkTerminator),
            (b"5\r\nhello\n0\r\n\r\n", HttpError::MissingChunkTerminator),
            (b"5\r\nhello\rX", HttpError::MissingChunkTerminator),
            (b"5\r\nhellox\r\n0\r\n\r\n", HttpError::MissingChunkTerminator),
            (b"0\r\n\n", HttpError::BareLineFeed),
            (b"0\r\n\rX", HttpError::BareCarriageReturn),
            (b"0\r\nX: a\n\r\n", HttpError::BareLineFeed),
            (b"0\r\nX: a\rb\r\n\r\n", HttpError::BareCarriageReturn),
            (b"0\r\nX : a\r\n\r\n", HttpError::InvalidTrailer),
            (b"0\r\n: a\r\n\r\n", HttpError::InvalidTrailer),
            (b"0\r\n a: b\r\n\r\n", HttpError::InvalidTrailer),
            (b"0\r\nX: a\x00\r\n\r\n", HttpError::InvalidTrailer),
            (b"0\r\nX: a\x7f\r\n\r\n", HttpError::InvalidTrailer),
            (b"0\r\nNoColon\r\n\r\n", HttpError::InvalidTrailer),
            (b"0\r\nHost: x\r\n\r\n", HttpError::ForbiddenTrailer),
            (b"0\r\ncontent-length: 5\r\n\r\n", HttpError::ForbiddenTrailer),
            (b"0\r\nTransfer-Encoding: chunked\r\n\r\n", HttpError::ForbiddenTrailer),
            (b"0\r\nX: 1\r\nTRAILER: X\r\n\r\n", HttpError::ForbiddenTrailer),
            (b"0\r\nAuthorization: Basic eA==\r\n\r\n", HttpError::ForbiddenTrailer),
            (b"0\r\nTe: trailers\r\n\r\n", HttpError::ForbiddenTrailer),
            (b"0\r\nContent-Type: a\r\nX: 1\r\ncontent-type: a\r\n\r\n", HttpError::RepeatedSingleton),
        ];
        for (input, err) in cases {
            let mut d = ChunkedDecoder::new();
            let mut out = Vec::new();
            assert_eq!(d.decode(input, &mut out), Err(err.clone()), "{input:?}");
            assert_eq!(d.decode(b"0\r\n\r\n", &mut out), Err(err.clone()), "poisoned: {input:?}");
            // Byte at a time gives the same error.
            let mut d = ChunkedDecoder::new();
            let got = input.iter().map(|b| d.decode(std::slice::from_ref(b), &mut out)).find(|r| r.is_err());
            assert_eq!(got, Some(Err(err.clone())), "bytewise {input:?}");
        }
    }

    #[test]
    fn size_line_and_trailers_are_bounded() {
        let mut long_ext = b"5".to_vec();
        long_ext.extend(b";a".repeat(MAX_SIZE_LINE));
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.decode(&long_ext, &mut Vec::new()), Err(HttpError::ChunkLineTooLong));

        let mut trailers = b"0\r\n".to_vec();
        for _ in 0..MAX_TRAILER_BYTES / 10 + 1 {
            trailers.extend_from_slice(b"X: 12345\r\n");
        }
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.decode(&trailers, &mut Vec::new()), Err(HttpError::TrailersTooLarge));
    }

    #[test]
    fn largest_size_is_accepted() {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        assert_eq!(d.decode(b"ffffffffffffffff\r\nabc", &mut out), Ok((21, false)));
        assert_eq!(out, b"abc");
        assert_eq!(d.size, u64::MAX - 3);
    }
}
