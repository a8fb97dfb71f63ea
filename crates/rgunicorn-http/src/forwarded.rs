//! The scheme a trusted front end claims through `secure_scheme_headers`, read as gunicorn 27 reads it.
//!
//! Whether the peer is trusted (`forwarded_allow_ips`) is the caller's business; this only looks
//! at the fields, so the rule is the same whichever worker or protocol asks.

use super::errors::HttpError;

/// What the secure-scheme fields of a request say: `Some(true)` https, `Some(false)` http,
/// `None` when none of them was sent.
///
/// `secure` is the configured `(NAME, value meaning https)` list. A field whose value is anything
/// else (compared exactly, as gunicorn does: `HTTPS` is not `https`) claims http. Two fields, or
/// two copies of one, that claim different schemes are [`HttpError::SchemeHeadersDisagree`]: a
/// proxy that let a client's own header through next to its own cannot be believed either way.
pub fn claimed_https(headers: &[(String, Vec<u8>)], secure: &[(String, String)]) -> Result<Option<bool>, HttpError> {
    let mut claim = None;
    for (name, value) in headers {
        let Some((_, https_value)) = secure.iter().find(|(secure_name, _)| name.eq_ignore_ascii_case(secure_name))
        else {
            continue;
        };
        // Field values are latin-1: each byte is the char with that code point.
        let https = value.iter().map(|&b| char::from(b)).eq(https_value.chars());
        match claim {
            Some(previous) if previous != https => return Err(HttpError::SchemeHeadersDisagree),
            _ => claim = Some(https),
        }
    }
    Ok(claim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gunicorn_defaults() -> Vec<(String, String)> {
        [("X-FORWARDED-PROTOCOL", "ssl"), ("X-FORWARDED-PROTO", "https"), ("X-FORWARDED-SSL", "on")]
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn fields(list: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
        list.iter().map(|(n, v)| (n.to_string(), v.to_vec())).collect()
    }

    #[test]
    fn claims() {
        let secure = gunicorn_defaults();
        type Case<'a> = (&'a [(&'a str, &'a [u8])], Result<Option<bool>, HttpError>);
        let cases: &[Case] = &[
            (&[], Ok(None)),
            (&[("Host", b"a"), ("X-Forwarded-For", b"1.2.3.4")], Ok(None)),
            (&[("X-Forwarded-Proto", b"https")], Ok(Some(true))),
            (&[("x-forwarded-proto", b"https")], Ok(Some(true))),
            (&[("X-Forwarded-Proto", b"http")], Ok(Some(false))),
            (&[("X-Forwarded-Proto", b"HTTPS")], Ok(Some(false))),
            (&[("X-Forwarded-Proto", b"https, http")], Ok(Some(false))),
            (&[("X-Forwarded-Proto", b"https"), ("X-Forwarded-Ssl", b"on")], Ok(Some(true))),
            (&[("X-Forwarded-Protocol", b"ssl"), ("X-Forwarded-Proto", b"https")], Ok(Some(true))),
            (&[("X-Forwarded-Proto", b"http"), ("X-Forwarded-Ssl", b"off")], Ok(Some(false))),
            (&[("X-Forwarded-Proto", b"https"), ("X-Forwarded-Proto", b"https")], Ok(Some(true))),
            (&[("X-Forwarded-Proto", b"https"), ("X-Forwarded-Ssl", b"off")], Err(HttpError::SchemeHeadersDisagree)),
            (&[("X-Forwarded-Ssl", b"on"), ("X-Forwarded-Proto", b"http")], Err(HttpError::SchemeHeadersDisagree)),
            (&[("X-Forwarded-Proto", b"https"), ("X-Forwarded-Proto", b"http")], Err(HttpError::SchemeHeadersDisagree)),
        ];
        for (list, expected) in cases {
            assert_eq!(claimed_https(&fields(list), &secure), *expected, "{list:?}");
        }
        assert_eq!(claimed_https(&fields(&[("X-Forwarded-Proto", b"https")]), &[]), Ok(None));
    }

    #[test]
    fn values_compare_as_latin1() {
        let secure = vec![("X-SCHEME".to_string(), "s\u{e9}cure".to_string())];
        assert_eq!(claimed_https(&fields(&[("X-Scheme", b"s\xe9cure")]), &secure), Ok(Some(true)));
        assert_eq!(claimed_https(&fields(&[("X-Scheme", "s\u{e9}cure".as_bytes())]), &secure), Ok(Some(false)));
    }
}
