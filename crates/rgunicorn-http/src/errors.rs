//! The closed set of HTTP/1.x protocol errors and the one table that maps each to a status.

use std::fmt;

/// Everything that can be wrong with a request head or a chunked body.
///
/// Each variant knows its status code, reason phrase and a one-line detail, so workers answer
/// with [`crate::response::error_response`] and never decide statuses themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The request line is longer than `limit_request_line` (414).
    RequestLineTooLong,
    /// More header fields than `limit_request_fields` (431).
    TooManyHeaders,
    /// One header field line (with its folded continuations) is longer than
    /// `limit_request_field_size`, or the whole header section is over its bound (431).
    HeaderTooLarge,
    /// The request line is not `method SP target SP version` (400).
    InvalidRequestLine,
    /// The method is not a token, or not a conventional one (400).
    InvalidMethod,
    /// The version is not `HTTP/1.0` or `HTTP/1.1` (400).
    InvalidVersion,
    /// The request target has a forbidden byte or form (400).
    InvalidTarget,
    /// A header name is empty, not a token, or followed by whitespace before `:` (400).
    InvalidHeaderName,
    /// A header value holds a control character (400).
    InvalidHeaderValue,
    /// A line ends in LF without CR (400).
    BareLineFeed,
    /// A CR that is not followed by LF (400).
    BareCarriageReturn,
    /// A header line starts with whitespace (obs-fold) and folding is not permitted (400).
    ObsoleteFolding,
    /// Content-Length is not a decimal number, overflows, or is repeated with other values (400).
    InvalidContentLength,
    /// Both Content-Length and Transfer-Encoding are present (400).
    ConflictingFraming,
    /// Transfer-Encoding is present but its last coding is not `chunked` (400).
    ChunkedNotLast,
    /// Transfer-Encoding on an HTTP/1.0 request (400).
    ChunkedOnHttp10,
    /// Transfer-Encoding lists `chunked` twice, or is otherwise malformed (400).
    InvalidTransferEncoding,
    /// Transfer-Encoding names a coding we do not implement (501).
    UnsupportedTransferCoding,
    /// An `Expect` value other than `100-continue` (417).
    ExpectationFailed,
    /// A header name with `_` under `--header-map refuse` (400).
    UnderscoreHeader,
    /// `Host` or `Content-Type` sent twice: RFC 9110 §5.3 singletons that cannot be merged (400).
    RepeatedSingleton,
    /// Secure-scheme headers from a trusted front end that disagree on https (400).
    SchemeHeadersDisagree,
    /// A chunk-size that is empty, not hex, or over 16 hex digits (400).
    InvalidChunkSize,
    /// A malformed chunk extension (400).
    InvalidChunkExtension,
    /// A chunk-size line (size plus extensions) longer than the decoder accepts (400).
    ChunkLineTooLong,
    /// Chunk data not followed by exactly CRLF (400).
    MissingChunkTerminator,
    /// A malformed trailer field (400).
    InvalidTrailer,
    /// A trailer field that may not come after the body (RFC 9110 §6.5.1): `Host`,
    /// `Content-Length`, `Transfer-Encoding`, `Trailer`, `Authorization` or `TE` (400).
    ForbiddenTrailer,
    /// The trailer section is longer than the decoder accepts (431).
    TrailersTooLarge,
}

impl HttpError {
    /// The status code to answer with.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::RequestLineTooLong => 414,
            HttpError::TooManyHeaders | HttpError::HeaderTooLarge | HttpError::TrailersTooLarge => 431,
            HttpError::UnsupportedTransferCoding => 501,
            HttpError::ExpectationFailed => 417,
            _ => 400,
        }
    }

    /// The reason phrase that goes with [`HttpError::status`].
    pub fn reason(&self) -> &'static str {
        match self.status() {
            414 => "URI Too Long",
            431 => "Request Header Fields Too Large",
            501 => "Not Implemented",
            417 => "Expectation Failed",
            _ => "Bad Request",
        }
    }

    /// One short human line, logged at debug level and put in the error body.
    pub fn detail(&self) -> &'static str {
        match self {
            HttpError::RequestLineTooLong => "request line too long",
            HttpError::TooManyHeaders => "too many header fields",
            HttpError::HeaderTooLarge => "header field too large",
            HttpError::InvalidRequestLine => "invalid request line",
            HttpError::InvalidMethod => "invalid request method",
            HttpError::InvalidVersion => "invalid HTTP version",
            HttpError::InvalidTarget => "invalid request target",
            HttpError::InvalidHeaderName => "invalid header name",
            HttpError::InvalidHeaderValue => "invalid header value",
            HttpError::BareLineFeed => "line ending without CR",
            HttpError::BareCarriageReturn => "CR not followed by LF",
            HttpError::ObsoleteFolding => "obsolete line folding in header",
            HttpError::InvalidContentLength => "invalid Content-Length",
            HttpError::ConflictingFraming => "both Content-Length and Transfer-Encoding",
            HttpError::ChunkedNotLast => "Transfer-Encoding does not end in chunked",
            HttpError::ChunkedOnHttp10 => "Transfer-Encoding on HTTP/1.0",
            HttpError::InvalidTransferEncoding => "invalid Transfer-Encoding",
            HttpError::UnsupportedTransferCoding => "unsupported transfer coding",
            HttpError::ExpectationFailed => "unsupported expectation",
            HttpError::UnderscoreHeader => "header name contains underscore",
            HttpError::RepeatedSingleton => "repeated Host or Content-Type field",
            HttpError::SchemeHeadersDisagree => "secure scheme headers disagree",
            HttpError::InvalidChunkSize => "invalid chunk size",
            HttpError::InvalidChunkExtension => "invalid chunk extension",
            HttpError::ChunkLineTooLong => "chunk size line too long",
            HttpError::MissingChunkTerminator => "chunk data not followed by CRLF",
            HttpError::InvalidTrailer => "invalid trailer field",
            HttpError::ForbiddenTrailer => "field not allowed in trailer section",
            HttpError::TrailersTooLarge => "trailer section too large",
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status(), self.reason(), self.detail())
    }
}

impl std::error::Error for HttpError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        let cases: &[(HttpError, u16, &str)] = &[
            (HttpError::RequestLineTooLong, 414, "URI Too Long"),
            (HttpError::TooManyHeaders, 431, "Request Header Fields Too Large"),
            (HttpError::HeaderTooLarge, 431, "Request Header Fields Too Large"),
            (HttpError::TrailersTooLarge, 431, "Request Header Fields Too Large"),
            (HttpError::UnsupportedTransferCoding, 501, "Not Implemented"),
            (HttpError::ExpectationFailed, 417, "Expectation Failed"),
            (HttpError::BareLineFeed, 400, "Bad Request"),
            (HttpError::ConflictingFraming, 400, "Bad Request"),
            (HttpError::UnderscoreHeader, 400, "Bad Request"),
            (HttpError::RepeatedSingleton, 400, "Bad Request"),
            (HttpError::SchemeHeadersDisagree, 400, "Bad Request"),
            (HttpError::ForbiddenTrailer, 400, "Bad Request"),
        ];
        for (err, status, reason) in cases {
            assert_eq!(err.status(), *status, "{err:?}");
            assert_eq!(err.reason(), *reason, "{err:?}");
            assert!(!err.detail().is_empty());
        }
    }

    #[test]
    fn display_has_status_and_detail() {
        assert_eq!(HttpError::InvalidMethod.to_string(), "400 Bad Request: invalid request method");
    }
}
