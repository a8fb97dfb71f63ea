//! Request-target splitting and the latin-1 percent-decoding PEP 3333 wants for `PATH_INFO`.

use super::errors::HttpError;

/// Split the request target into `(path, query)`, both still percent-encoded.
///
/// Accepted forms: origin-form `/a?b`, absolute-form `http://host/a?b` or `https://…` (scheme
/// case-insensitive; path `/` when empty; no userinfo), and the asterisk `*` (path `*`).
/// Authority-form (`host:port`, CONNECT only) is not accepted. A fragment is dropped.
/// Any byte outside visible ASCII (CTL, space, DEL, ≥ 0x80) is [`HttpError::InvalidTarget`].
pub fn split_target(target: &str) -> Result<(&str, &str), HttpError> {
    let bytes = target.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(HttpError::InvalidTarget);
    }
    if target == "*" {
        return Ok(("*", ""));
    }
    let rest = if bytes[0] == b'/' {
        target
    } else {
        let after_scheme = strip_prefix_ignore_case(target, "http://")
            .or_else(|| strip_prefix_ignore_case(target, "https://"))
            .ok_or(HttpError::InvalidTarget)?;
        let authority_end = after_scheme.find(['/', '?', '#']).unwrap_or(after_scheme.len());
        let authority = &after_scheme[..authority_end];
        if authority.is_empty() || authority.contains('@') {
            return Err(HttpError::InvalidTarget);
        }
        &after_scheme[authority_end..]
    };
    // A '?' inside the fragment does not start a query.
    let rest = match memchr::memchr(b'#', rest.as_bytes()) {
        Some(i) => &rest[..i],
        None => rest,
    };
    let (path, query) = match memchr::memchr(b'?', rest.as_bytes()) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    Ok((if path.is_empty() { "/" } else { path }, query))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.as_bytes().get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix.as_bytes()) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decode a path and map each resulting byte to the char with that code point
/// (latin-1), as PEP 3333 requires for `PATH_INFO`. Invalid `%`-escapes are kept literally;
/// characters that are already non-ASCII in `path` are kept as they are.
pub fn percent_decode_latin1(path: &str) -> String {
    let bytes = path.as_bytes();
    let Some(first) = memchr::memchr(b'%', bytes) else {
        return path.to_owned();
    };
    let mut out = String::with_capacity(path.len());
    out.push_str(&path[..first]);
    let mut i = first;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_value);
            let lo = bytes.get(i + 2).copied().and_then(hex_value);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(char::from(hi << 4 | lo));
                i += 3;
            } else {
                out.push('%');
                i += 1;
            }
        } else {
            // Copy up to the next '%' in one go; '%' is ASCII, so these are char boundaries.
            let next = memchr::memchr(b'%', &bytes[i..]).map_or(bytes.len(), |j| i + j);
            out.push_str(&path[i..next]);
            i = next;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_target_table() {
        let ok: &[(&str, &str, &str)] = &[
            ("/", "/", ""),
            ("/a/b", "/a/b", ""),
            ("/a?b=1&c", "/a", "b=1&c"),
            ("/a?", "/a", ""),
            ("/a?b#frag", "/a", "b"),
            ("/a#frag?notquery", "/a", ""),
            ("/a?b?c", "/a", "b?c"),
            ("//double", "//double", ""),
            ("*", "*", ""),
            ("http://example.com/a?b", "/a", "b"),
            ("HTTP://example.com:8080/a", "/a", ""),
            ("https://example.com", "/", ""),
            ("https://example.com?q=1", "/", "q=1"),
            ("http://[::1]:80/x", "/x", ""),
            ("/%7Euser/a%20b", "/%7Euser/a%20b", ""),
        ];
        for (target, path, query) in ok {
            assert_eq!(split_target(target), Ok((*path, *query)), "{target}");
        }
        let bad: &[&str] = &[
            "",
            "a/b",
            "example.com:443",
            "ftp://example.com/",
            "http:///path",
            "http://user@host/",
            "http:/x",
            "/a b",
            "/a\tb",
            "/a\x7f",
            "/a\x00",
            "/caf\u{e9}",
            "**",
        ];
        for target in bad {
            assert_eq!(split_target(target), Err(HttpError::InvalidTarget), "{target:?}");
        }
    }

    #[test]
    fn percent_decode_table() {
        let cases: &[(&str, &str)] = &[
            ("/plain", "/plain"),
            ("/a%20b", "/a b"),
            ("/%7e%7E", "/~~"),
            ("/%E9t%C3%A9", "/\u{e9}t\u{c3}\u{a9}"),
            ("/%FF", "/\u{ff}"),
            ("/%2F", "//"),
            ("/%", "/%"),
            ("/%4", "/%4"),
            ("/%zz%41", "/%zzA"),
            ("%%41", "%A"),
            ("/\u{e9}%41", "/\u{e9}A"),
            ("/%00", "/\u{0}"),
        ];
        for (input, expected) in cases {
            assert_eq!(percent_decode_latin1(input), *expected, "{input}");
        }
    }
}
