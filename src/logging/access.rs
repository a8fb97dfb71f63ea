//! The access log: gunicorn's `--access-logformat` atoms, parsed once and formatted in Rust.
//!
//! The worker gathers a request's facts while it holds the GIL (they are already Rust values),
//! then formats and writes the line with the GIL released. One write(2) per line, to stdout
//! (`-`) or a file opened for append, which USR1 reopens.

use std::fmt::Write as _;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::{Mutex, OnceLock};

use super::record::Record;

/// One piece of a parsed format.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Atom(Atom),
}

/// gunicorn's access-log atoms.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Atom {
    RemoteAddr,
    Dash,
    User,
    Time,
    RequestLine,
    Status,
    Method,
    PathInfo,
    Query,
    Protocol,
    BytesOrDash,
    Bytes,
    Referer,
    UserAgent,
    Seconds,
    Millis,
    Micros,
    Decimal,
    Pid,
    RequestHeader(String),
    ResponseHeader(String),
    Environ(String),
    /// Anything else prints `-`, as gunicorn's safe atoms do.
    Unknown,
}

impl Atom {
    fn parse(key: &str) -> Atom {
        if let Some(inner) = key.strip_prefix('{') {
            if let Some((name, kind)) = inner.rsplit_once('}') {
                let name = name.to_ascii_lowercase();
                return match kind {
                    "i" => Atom::RequestHeader(name),
                    "o" => Atom::ResponseHeader(name),
                    "e" => Atom::Environ(name),
                    _ => Atom::Unknown,
                };
            }
        }
        match key {
            "h" => Atom::RemoteAddr,
            "l" => Atom::Dash,
            "u" => Atom::User,
            "t" => Atom::Time,
            "r" => Atom::RequestLine,
            "s" => Atom::Status,
            "m" => Atom::Method,
            "U" => Atom::PathInfo,
            "q" => Atom::Query,
            "H" => Atom::Protocol,
            "b" => Atom::BytesOrDash,
            "B" => Atom::Bytes,
            "f" => Atom::Referer,
            "a" => Atom::UserAgent,
            "T" => Atom::Seconds,
            "M" => Atom::Millis,
            "D" => Atom::Micros,
            "L" => Atom::Decimal,
            "p" => Atom::Pid,
            _ => Atom::Unknown,
        }
    }
}

/// A parsed `--access-logformat`.
#[derive(Clone, Debug)]
pub struct Format {
    pieces: Vec<Piece>,
}

impl Format {
    /// Parse Python `%`-mapping syntax: `%(h)s`, `%({x-request-id}i)s`, `%%`.
    pub fn parse(format: &str) -> Format {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = format;
        while let Some(i) = rest.find('%') {
            text.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            if let Some(after) = rest.strip_prefix('%') {
                text.push('%');
                rest = after;
            } else if let Some(after) = rest.strip_prefix('(') {
                let Some(close) = after.find(')') else {
                    text.push('%');
                    continue;
                };
                let key = &after[..close];
                // The conversion character after ')' (s, d, …): every atom prints as text.
                let mut conv = after[close + 1..].chars();
                let skip = conv.next().map_or(0, char::len_utf8);
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Atom(Atom::parse(key)));
                rest = &after[close + 1 + skip..];
            } else {
                text.push('%');
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Format { pieces }
    }

    /// The environ keys (lower-case) that `{var}e` atoms need.
    pub fn environ_keys(&self) -> Vec<String> {
        self.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Atom(Atom::Environ(k)) => Some(k.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Render one line (without the newline).
pub fn render(format: &Format, rec: &Record<'_>) -> String {
    let mut out = String::with_capacity(160);
    for piece in &format.pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Atom(atom) => render_atom(&mut out, atom, rec),
        }
    }
    out
}

fn render_atom(out: &mut String, atom: &Atom, rec: &Record<'_>) {
    let or_dash = |out: &mut String, v: Option<String>| out.push_str(v.as_deref().unwrap_or("-"));
    let d = rec.duration;
    match atom {
        Atom::RemoteAddr => out.push_str(if rec.remote_addr.is_empty() { "-" } else { rec.remote_addr }),
        Atom::Dash | Atom::Unknown => out.push('-'),
        Atom::User => or_dash(out, rec.request_header("authorization").and_then(|a| basic_auth_user(&a))),
        Atom::Time => out.push_str(&crate::logging::strftime_now(b"[%d/%b/%Y:%H:%M:%S %z]\0")),
        Atom::RequestLine => {
            let _ = write!(out, "{} {} {}", rec.method, rec.raw_uri, rec.protocol);
        }
        Atom::Status => {
            let _ = write!(out, "{}", rec.status);
        }
        Atom::Method => out.push_str(rec.method),
        Atom::PathInfo => out.push_str(rec.path_info),
        Atom::Query => out.push_str(rec.query),
        Atom::Protocol => out.push_str(rec.protocol),
        Atom::BytesOrDash | Atom::Bytes => {
            let _ = write!(out, "{}", rec.sent);
        }
        Atom::Referer => or_dash(out, rec.request_header("referer")),
        Atom::UserAgent => or_dash(out, rec.request_header("user-agent")),
        Atom::Seconds => {
            let _ = write!(out, "{}", d.as_secs());
        }
        Atom::Millis => {
            let _ = write!(out, "{}", d.as_millis());
        }
        Atom::Micros => {
            let _ = write!(out, "{}", d.as_micros());
        }
        Atom::Decimal => {
            let _ = write!(out, "{}.{:06}", d.as_secs(), d.subsec_micros());
        }
        Atom::Pid => {
            let _ = write!(out, "<{}>", std::process::id());
        }
        Atom::RequestHeader(name) => or_dash(out, rec.request_header(name)),
        Atom::ResponseHeader(name) => or_dash(
            out,
            rec.response_headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()),
        ),
        Atom::Environ(name) => or_dash(out, rec.environ.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())),
    }
}

/// The user name of a `Basic` Authorization header.
fn basic_auth_user(header: &str) -> Option<String> {
    let (scheme, token) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64_decode(token.trim())?;
    let user = decoded.split(|&b| b == b':').next()?;
    String::from_utf8(user.to_vec()).ok()
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().take_while(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Where access lines go.
struct Sink {
    path: Option<String>,
    file: Option<File>,
}

struct AccessLog {
    format: Format,
    sink: Mutex<Sink>,
}

static ACCESS_LOG: OnceLock<AccessLog> = OnceLock::new();

/// Enable the access log (`-` = stdout). Called once, in the master, before workers fork.
pub fn configure(target: &str, format: &str) -> std::io::Result<()> {
    let sink = if target == "-" {
        Sink { path: None, file: None }
    } else {
        Sink { path: Some(target.to_string()), file: Some(super::open_append(target)?) }
    };
    let _ = ACCESS_LOG.set(AccessLog { format: Format::parse(format), sink: Mutex::new(sink) });
    Ok(())
}

/// The configured format, if the access log is on.
pub fn format() -> Option<&'static Format> {
    ACCESS_LOG.get().map(|log| &log.format)
}

/// Write one line for `rec`.
pub fn write(rec: &Record<'_>) {
    let Some(log) = ACCESS_LOG.get() else { return };
    if super::logger_class::active() {
        super::logger_class::forward_access(rec);
        return;
    }
    let line = render(&log.format, rec);
    if super::python::active() {
        super::python::forward_access(&line);
        if super::python::replaces_writers() {
            return;
        }
    }
    write_line(&line);
}

/// Write a line already formatted (by a plug-in worker's `log.access_log`) to the access log.
pub fn write_line(line: &str) {
    let Some(log) = ACCESS_LOG.get() else { return };
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    let sink = log.sink.lock().unwrap_or_else(|p| p.into_inner());
    let fd = sink.file.as_ref().map_or(libc::STDOUT_FILENO, |f| f.as_raw_fd());
    super::write_all_fd(fd, &bytes);
}

/// Reopen the access log file under its name (USR1, after logrotate moved it).
pub fn reopen() -> std::io::Result<()> {
    let Some(log) = ACCESS_LOG.get() else { return Ok(()) };
    let mut sink = log.sink.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = sink.path.clone() {
        sink.file = Some(super::open_append(&path)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn record<'a>(req: &'a [(String, Vec<u8>)], resp: &'a [(String, String)]) -> Record<'a> {
        Record {
            remote_addr: "127.0.0.1",
            method: "GET",
            raw_uri: "/a?b=1",
            protocol: "HTTP/1.1",
            path_info: "/a",
            query: "b=1",
            status: 200,
            sent: 13,
            request_headers: req,
            response_headers: resp,
            environ: vec![("wsgi.url_scheme".into(), "http".into())],
            duration: Duration::from_micros(1_234_567),
        }
    }

    #[test]
    fn default_format_minus_time() {
        let req = vec![
            ("User-Agent".to_string(), b"curl/8".to_vec()),
            ("Authorization".into(), b"Basic dXNlcjpwdw==".to_vec()),
        ];
        let fmt = Format::parse(r#"%(h)s %(l)s %(u)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s""#);
        assert_eq!(render(&fmt, &record(&req, &[])), r#"127.0.0.1 - user "GET /a?b=1 HTTP/1.1" 200 13 "-" "curl/8""#);
    }

    #[test]
    fn headers_environ_timings_and_escapes() {
        let req = vec![("X-Request-Id".to_string(), b"abc".to_vec())];
        let resp = vec![("Content-Type".to_string(), "text/plain".to_string())];
        let fmt = Format::parse(
            "%({x-request-id}i)s %({content-type}o)s %({wsgi.url_scheme}e)s %(D)s %(M)s %(T)s %(L)s 100%% %(zz)s",
        );
        assert_eq!(render(&fmt, &record(&req, &resp)), "abc text/plain http 1234567 1234 1 1.234567 100% -");
        assert_eq!(fmt.environ_keys(), vec!["wsgi.url_scheme"]);
    }
}
