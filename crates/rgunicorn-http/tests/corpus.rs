//! The request corpus of `tests/requests/` replayed through the parser itself, without a server.
//!
//! Each case is parsed whole, then again split at every byte: every prefix of the head must be
//! "need more" (or already the same error), and the body decoder fed one byte at a time must
//! end where the whole-buffer run ends. `tests/test_corpus.py` replays the same files through a
//! real server; this test pins the parser's part of them in milliseconds and without Python.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use rgunicorn_http::forwarded::claimed_https;
use rgunicorn_http::uri::percent_decode_latin1;
use rgunicorn_http::{parse_request_head, BodyFraming, ChunkedDecoder, HeaderMapPolicy, Limits, RequestHead};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/requests")
}

/// The escape convention of `tests/requests/README.md`, as `tests/corpus.py::decode_http` has it.
fn decode_http(text: &str) -> Result<Vec<u8>, String> {
    let text: String = text.chars().filter(|&c| c != '\r' && c != '\n').collect();
    let text = expand_repeats(&text)?;
    if let Some(c) = text.chars().find(|&c| !(' '..='~').contains(&c)) {
        return Err(format!("raw non-printable or non-ASCII character {c:?}: write it as an escape"));
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let escape = bytes.get(i + 1).copied();
        let (byte, width) = match escape {
            Some(b'r') => (b'\r', 2),
            Some(b'n') => (b'\n', 2),
            Some(b't') => (b'\t', 2),
            Some(b'0') => (0, 2),
            Some(b'\\') => (b'\\', 2),
            Some(b'x') => {
                let hex = bytes.get(i + 2..i + 4).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) if hex.is_some_and(|h| h.bytes().all(|c| c.is_ascii_hexdigit())) => (b, 4),
                    _ => return Err(format!("bad \\x escape at byte {i}")),
                }
            }
            _ => return Err(format!("unknown escape at byte {i}")),
        };
        out.push(byte);
        i += width;
    }
    Ok(out)
}

/// `{{N*TEXT}}` → TEXT repeated N times (non-greedy, as the Python regex).
fn expand_repeats(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let star = after.find('*');
        let digits = star.map(|s| &after[..s]).filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        let count = digits.and_then(|d| d.parse::<usize>().ok());
        let (Some(star), Some(count)) = (star, count) else {
            // Not a repeat here: one brace is literal text; the regex retries at the next one.
            out.push_str(&rest[..start + 1]);
            rest = &rest[start + 1..];
            continue;
        };
        let body = &after[star + 1..];
        let end = body.find("}}").ok_or_else(|| "unterminated {{N*...}}".to_string())?;
        out.push_str(&rest[..start]);
        out.push_str(&body[..end].repeat(count));
        rest = &body[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The limits the case's server flags set, or why the parser alone cannot express them.
fn limits_for(args: &[String]) -> Result<Limits, String> {
    let mut limits = Limits::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            it.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a number"))
        };
        match flag.as_str() {
            "--limit-request-line" => limits.request_line = number(flag)?,
            "--limit-request-fields" => limits.fields = number(flag)?,
            "--limit-request-field_size" => limits.field_size = number(flag)?,
            "--permit-obsolete-folding" => limits.permit_obsolete_folding = true,
            "--strip-header-spaces" => limits.strip_header_spaces = true,
            "--permit-unconventional-http-method" => limits.permit_unconventional_http_method = true,
            "--permit-unconventional-http-version" => limits.permit_unconventional_http_version = true,
            "--casefold-http-method" => limits.casefold_http_method = true,
            "--header-map" => {
                limits.header_map = match it.next().map(String::as_str) {
                    Some("drop") => HeaderMapPolicy::Drop,
                    Some("refuse") => HeaderMapPolicy::Refuse,
                    Some("dangerous") => HeaderMapPolicy::Dangerous,
                    other => return Err(format!("--header-map {other:?}")),
                }
            }
            other => return Err(format!("server-level flag {other} is not a parser limit")),
        }
    }
    Ok(limits)
}

/// gunicorn's default `secure_scheme_headers`. The corpus server trusts its client (127.0.0.1 is
/// the default `forwarded_allow_ips`), so disagreeing scheme fields are the HTTP layer's 400.
fn check_scheme_fields(head: &RequestHead) -> Result<(), u16> {
    let secure: Vec<(String, String)> =
        [("X-FORWARDED-PROTOCOL", "ssl"), ("X-FORWARDED-PROTO", "https"), ("X-FORWARDED-SSL", "on")]
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
    claimed_https(&head.headers, &secure).map(|_| ()).map_err(|err| err.status())
}

/// What the parser makes of a whole request: the head and decoded body, or a status.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Request { head: RequestHead, body: Vec<u8> },
    Rejected(u16),
}

/// Parse the head and, from the bytes after it, the body its framing announces.
fn parse_whole(data: &[u8], limits: &Limits) -> Result<Outcome, String> {
    let head = match parse_request_head(data, limits) {
        Ok(Some(head)) => head,
        Ok(None) => return Err("the head is incomplete".into()),
        Err(err) => return Ok(Outcome::Rejected(err.status())),
    };
    if let Err(status) = check_scheme_fields(&head) {
        return Ok(Outcome::Rejected(status));
    }
    let rest = &data[head.head_len..];
    let body = match head.framing {
        BodyFraming::None => Vec::new(),
        BodyFraming::Length(n) => {
            let n = usize::try_from(n).map_err(|_| "Content-Length beyond usize")?;
            rest.get(..n).ok_or_else(|| format!("{} body bytes sent, {n} announced", rest.len()))?.to_vec()
        }
        BodyFraming::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            let mut body = Vec::new();
            match decoder.decode(rest, &mut body) {
                Ok((_, true)) => body,
                Ok((_, false)) => return Err("the chunked body is incomplete".into()),
                Err(err) => return Ok(Outcome::Rejected(err.status())),
            }
        }
    };
    Ok(Outcome::Request { head, body })
}

/// The same request fed as a client on a slow link sends it: every prefix of the head, then the
/// body one byte at a time, re-offering what the decoder left unconsumed.
fn parse_byte_by_byte(data: &[u8], limits: &Limits, whole: &Outcome) -> Result<(), String> {
    let mut head = None;
    for end in 0..=data.len() {
        match parse_request_head(&data[..end], limits) {
            Ok(None) => continue,
            Ok(Some(h)) => {
                head = Some(h);
                break;
            }
            Err(err) if *whole == Outcome::Rejected(err.status()) => return Ok(()),
            Err(err) => return Err(format!("prefix of {end} bytes: {err:?} ({}), whole: {whole:?}", err.status())),
        }
    }
    let head = head.ok_or("no prefix completed the head")?;
    if let Err(status) = check_scheme_fields(&head) {
        return if *whole == Outcome::Rejected(status) {
            Ok(())
        } else {
            Err(format!("{status} from the scheme fields"))
        };
    }
    if let Outcome::Request { head: whole_head, .. } = whole {
        if head != *whole_head {
            return Err(format!("head from prefixes {head:?} differs from whole {whole_head:?}"));
        }
    }
    let rest = &data[head.head_len..];
    let body = match head.framing {
        BodyFraming::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            let mut body = Vec::new();
            let mut pending = Vec::new();
            let mut done = false;
            for &byte in rest {
                pending.push(byte);
                match decoder.decode(&pending, &mut body) {
                    Ok((used, finished)) => {
                        pending.drain(..used);
                        if finished {
                            done = true;
                            break;
                        }
                    }
                    Err(err) if *whole == Outcome::Rejected(err.status()) => return Ok(()),
                    Err(err) => return Err(format!("chunked byte by byte: {err:?}, whole: {whole:?}")),
                }
            }
            if !done {
                return Err("chunked body byte by byte never finished".into());
            }
            body
        }
        // A Content-Length body has no parser state to split: the whole run already took its bytes.
        _ => match whole {
            Outcome::Request { body, .. } => body.clone(),
            Outcome::Rejected(_) => Vec::new(),
        },
    };
    let split = Outcome::Request { head, body };
    if split != *whole {
        return Err(format!("byte by byte gave {split:?}, whole gave {whole:?}"));
    }
    Ok(())
}

/// The WSGI environ key a field lands in (mirrors `src/wsgi/environ.rs`, which joins repeats with `,`).
fn environ_key(name: &str) -> String {
    if name.eq_ignore_ascii_case("content-type") {
        return "CONTENT_TYPE".into();
    }
    if name.eq_ignore_ascii_case("content-length") {
        return "CONTENT_LENGTH".into();
    }
    let mut key = String::from("HTTP_");
    key.extend(name.chars().map(|c| if c == '-' { '_' } else { c.to_ascii_uppercase() }));
    key
}

fn environ_value(head: &RequestHead, key: &str) -> Option<String> {
    let values: Vec<String> = head
        .headers
        .iter()
        .filter(|(name, _)| environ_key(name) == key)
        .map(|(_, value)| value.iter().map(|&b| char::from(b)).collect())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The `.json`'s `expect` keys that the parser decides, checked against the parsed request.
fn check_expectations(head: &RequestHead, body: &[u8], expect: &Value) -> Result<(), String> {
    let Some(expect) = expect.as_object() else { return Ok(()) };
    let mut problems = String::new();
    let same = |problems: &mut String, what: &str, got: &str, want: &Value| {
        if want.as_str() != Some(got) {
            let _ = write!(problems, "{what}: got {got:?}, want {want}; ");
        }
    };
    for (key, want) in expect {
        match key.as_str() {
            "method" => same(&mut problems, key, &head.method, want),
            // No SCRIPT_NAME is set for the corpus: PATH_INFO is the decoded path.
            "path" => same(&mut problems, key, &percent_decode_latin1(&head.path), want),
            "script_name" => same(&mut problems, key, "", want),
            "query" => same(&mut problems, key, &head.query, want),
            "raw_uri" => same(&mut problems, key, &head.uri, want),
            "protocol" => same(&mut problems, key, head.version.as_str(), want),
            "body" => same(&mut problems, key, &latin1(body), want),
            "headers" => {
                for (env_key, value) in want.as_object().into_iter().flatten() {
                    same(&mut problems, env_key, environ_value(head, env_key).as_deref().unwrap_or("<absent>"), value);
                }
            }
            "absent" => {
                for env_key in want.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    if let Some(value) = environ_value(head, env_key) {
                        let _ = write!(problems, "{env_key} should be absent, is {value:?}; ");
                    }
                }
            }
            other => {
                let _ = write!(problems, "unknown expect key {other}; ");
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// One case end to end; `Ok` carries nothing, `Err` says what went wrong.
fn replay(kind: &str, data: &[u8], spec: &Value) -> Result<(), String> {
    let args: Vec<String> =
        spec["args"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(String::from)).collect();
    let limits = limits_for(&args)?;
    let whole = parse_whole(data, &limits)?;
    let want_status = spec["status"].as_u64();
    match (kind, &whole) {
        ("valid", Outcome::Request { head, body }) => check_expectations(head, body, &spec["expect"])?,
        ("valid", Outcome::Rejected(status)) => return Err(format!("valid case rejected with {status}")),
        ("invalid", Outcome::Rejected(status)) if want_status == Some(u64::from(*status)) => {}
        ("invalid", other) => return Err(format!("want status {want_status:?}, parser gave {other:?}")),
        _ => unreachable!("kinds are valid and invalid"),
    }
    parse_byte_by_byte(data, &limits, &whole)
}

#[test]
fn corpus_replays_through_the_parser() {
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut cases = 0;
    for kind in ["valid", "invalid"] {
        let dir = corpus_dir().join(kind);
        let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "http"))
            .collect();
        paths.sort();
        assert!(!paths.is_empty(), "no cases in {}", dir.display());
        for path in paths {
            let name = format!("{kind}/{}", path.file_stem().and_then(|s| s.to_str()).unwrap_or("?"));
            let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let spec_text =
                fs::read_to_string(path.with_extension("json")).unwrap_or_else(|e| panic!("{name}.json: {e}"));
            let spec: Value = serde_json::from_str(&spec_text).unwrap_or_else(|e| panic!("{name}.json: {e}"));
            let data = decode_http(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            cases += 1;
            if let Err(why) = replay(kind, &data, &spec) {
                failures.push(format!("{name}: {why}"));
            }
        }
    }
    println!("{cases} cases, whole and split at every byte, in {:?}", started.elapsed());
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn escape_convention() {
    assert_eq!(
        decode_http("GET / HTTP/1.1\\r\\n\nHost: x\\r\\n\\r\\n").as_deref(),
        Ok(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..])
    );
    assert_eq!(decode_http("a{{3*bc}}d\\x00\\xff\\\\\\t\\0").as_deref(), Ok(&b"abcbcbcd\x00\xff\\\t\x00"[..]));
    assert_eq!(decode_http("{{2*x}}{{2*y}}").as_deref(), Ok(&b"xxyy"[..]));
    assert_eq!(decode_http("{{{2*x}}{{+2*y}}").as_deref(), Ok(&b"{xx{{+2*y}}"[..]));
    assert!(decode_http("bad \\q").is_err());
    assert!(decode_http("bad \\xZZ").is_err());
    assert!(decode_http("raw\ttab").is_err());
    assert!(decode_http("caf\u{e9}").is_err());
}
