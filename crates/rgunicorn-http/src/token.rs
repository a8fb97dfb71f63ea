//! RFC 9110 token characters, which the request line, header names and chunk extensions share.

/// RFC 9110 `tchar`: the bytes of a token (method, header name, chunk extension name).
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}
