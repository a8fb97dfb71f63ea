//! Request-target splitting and the latin-1 percent-decoding PEP 3333 wants for `PATH_INFO`.

use super::errors::HttpError;

/// Split the request target into `(path, query)`, both still percent-encoded.
///
/// Accepted forms: origin-form `/a?b`, absolute-form `http://host/a?b` or `https://…` (scheme
/// case-insensitive; path `/` when empty; userinfo allowed and ignored; an IPv6 literal must be a
/// valid address), and the asterisk `*` (path `*`). Authority-form is CONNECT's, see
/// [`split_connect_target`]. A fragment is dropped.
/// Any byte outside visible ASCII (CTL, space, DEL, ≥ 0x80) is [`HttpError::InvalidTarget`].
pub fn split_target(target: &str) -> Result<(&str, &str), HttpError> {
    check_visible(target)?;
    if target == "*" {
        return Ok(("*", ""));
    }
    let rest = if target.starts_with('/') {
        target
    } else {
        let after_scheme = strip_prefix_ignore_case(target, "http://")
            .or_else(|| strip_prefix_ignore_case(target, "https://"))
            .ok_or(HttpError::InvalidTarget)?;
        let authority_end = after_scheme.find(['/', '?', '#']).unwrap_or(after_scheme.len());
        check_authority(&after_scheme[..authority_end])?;
        &after_scheme[authority_end..]
    };
    let (path, query) = split_path_query(rest);
    Ok((if path.is_empty() { "/" } else { path }, query))
}

/// Split a CONNECT request's target. gunicorn 27 lets CONNECT through to the app with any target
/// but `*`: origin- and absolute-form split as for other methods, and authority-form
/// (`host:port`, `[::1]:443`) the way `urllib.parse.urlsplit` reads it, so `PATH_INFO` is the
/// same as under gunicorn: a leading `name:` that looks like a URI scheme is dropped
/// (`example.com:443` → `443`), anything else is the path (`1.2.3.4:80`, `[::1]:443`).
pub fn split_connect_target(target: &str) -> Result<(&str, &str), HttpError> {
    check_visible(target)?;
    if target == "*" {
        return Err(HttpError::InvalidTarget);
    }
    if target.starts_with('/') || target.contains("://") {
        return split_target(target);
    }
    let rest = match target.split_once(':') {
        Some((scheme, rest)) if looks_like_scheme(scheme) => rest,
        _ => target,
    };
    Ok(split_path_query(rest))
}

fn check_visible(target: &str) -> Result<(), HttpError> {
    let bytes = target.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(HttpError::InvalidTarget);
    }
    Ok(())
}

/// RFC 3986 `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn looks_like_scheme(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// `path[?query][#fragment]` → `(path, query)`; a '?' inside the fragment does not start a query.
fn split_path_query(rest: &str) -> (&str, &str) {
    let rest = match memchr::memchr(b'#', rest.as_bytes()) {
        Some(i) => &rest[..i],
        None => rest,
    };
    match memchr::memchr(b'?', rest.as_bytes()) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    }
}

/// `[userinfo@]host[:port]` of an absolute-form target: the host must not be empty, and brackets
/// only enclose a whole IP literal, which must be valid (as `urlsplit` checks it for gunicorn).
/// The port is not checked: gunicorn does not check it either, and the app never sees it.
fn check_authority(authority: &str) -> Result<(), HttpError> {
    let (userinfo, host_port) = authority.rsplit_once('@').unwrap_or(("", authority));
    if userinfo.contains(['[', ']']) || host_port.is_empty() || host_port.starts_with(':') {
        return Err(HttpError::InvalidTarget);
    }
    let Some(literal) = host_port.strip_prefix('[') else {
        return if host_port.contains(['[', ']']) { Err(HttpError::InvalidTarget) } else { Ok(()) };
    };
    let (inside, after) = literal.split_once(']').ok_or(HttpError::InvalidTarget)?;
    if !(after.is_empty() || after.starts_with(':')) || after.contains(['[', ']']) || !is_ip_literal(inside) {
        return Err(HttpError::InvalidTarget);
    }
    Ok(())
}

/// The inside of `[...]`: an IPv6 address (with an optional `%zone`, as Python's `ipaddress`
/// allows) or an RFC 3986 IPvFuture `v<hex>.<anything>`.
fn is_ip_literal(inside: &str) -> bool {
    if let Some(future) = inside.strip_prefix('v') {
        return match future.split_once('.') {
            Some((version, rest)) => {
                !version.is_empty() && version.bytes().all(|b| b.is_ascii_hexdigit()) && !rest.is_empty()
            }
            None => false,
        };
    }
    let address = match inside.split_once('%') {
        Some((address, zone)) if !zone.is_empty() && !zone.contains('%') => address,
        Some(_) => return false,
        None => inside,
    };
    address.parse::<std::net::Ipv6Addr>().is_ok()
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
            ("http://[::1]", "/", ""),
            ("http://[2001:db8::a:1]:8080?q", "/", "q"),
            ("http://[fe80::1%25eth0]/z", "/z", ""),
            ("http://[::ffff:10.0.0.1]/", "/", ""),
            ("http://[v1.fe]/f", "/f", ""),
            ("http://user@example.com/a?b", "/a", "b"),
            ("https://user:pass@example.com:8443/a", "/a", ""),
            ("http://a@b@example.com/c", "/c", ""),
            ("http://user@[::1]:80/x", "/x", ""),
            ("http://example.com:/x", "/x", ""),
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
            "http://user@/x",
            "http://:80/x",
            "http://[::1/x",
            "http://::1]/x",
            "http://[zz]/",
            "http://[1.2.3.4]/",
            "http://[::1]x/",
            "http://[::1]:80]/",
            "http://a[::1]/",
            "http://[]/",
            "http://[::1%]/",
            "http://[v1]/",
            "http://[v.x]/",
            "http://[vg.x]/",
            "http://[u@]h/",
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
    fn split_connect_target_table() {
        // (target, PATH_INFO, QUERY_STRING) as gunicorn 27 gives them.
        let ok: &[(&str, &str, &str)] = &[
            ("example.com:443", "443", ""),
            ("localhost:8080", "8080", ""),
            ("1.2.3.4:80", "1.2.3.4:80", ""),
            ("[::1]:443", "[::1]:443", ""),
            ("example.com", "example.com", ""),
            ("user@example.com:443", "user@example.com:443", ""),
            ("a+b.c-d:1?x#y", "1", "x"),
            ("example.com:", "", ""),
            ("/x?q", "/x", "q"),
            ("http://a/x", "/x", ""),
        ];
        for (target, path, query) in ok {
            assert_eq!(split_connect_target(target), Ok((*path, *query)), "{target}");
        }
        for target in ["*", "", "a b:1", "ftp://a/x", "http://[zz]/", "h\u{e9}:1"] {
            assert_eq!(split_connect_target(target), Err(HttpError::InvalidTarget), "{target:?}");
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
