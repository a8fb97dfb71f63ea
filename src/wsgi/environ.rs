//! The PEP 3333 `environ` dict: built per request from a per-worker template of the constant keys,
//! with interned key strings and header values decoded as latin-1.

use std::net::{IpAddr, SocketAddr};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::http::forwarded::claimed_https;
use crate::http::uri::percent_decode_latin1;
use crate::http::{HttpError, RequestHead};
use crate::sock::ListenAddr;
use crate::tls::facts::TlsFacts;

/// The client end of a connection.
#[derive(Clone, Debug)]
pub enum Peer {
    /// A TCP client.
    Inet(SocketAddr),
    /// A unix-socket client (a local proxy): trusted like a forwarded-allow IP, as gunicorn does.
    Unix,
}

/// Which front ends may set the scheme through headers (gunicorn's `forwarded_allow_ips`):
/// addresses and networks (`10.0.0.0/8`), or `*`.
#[derive(Clone, Debug)]
pub enum ForwardedAllow {
    /// `*`: every peer.
    All,
    /// These networks only (an address is a network of one).
    Networks(Vec<(IpAddr, u8)>),
}

impl ForwardedAllow {
    /// Parse the configured list; entries that are neither addresses nor networks are ignored.
    pub fn from_list(items: &[String]) -> ForwardedAllow {
        if items.iter().any(|i| i == "*") {
            return ForwardedAllow::All;
        }
        ForwardedAllow::Networks(items.iter().filter_map(|i| parse_network(i)).collect())
    }

    fn trusts(&self, peer: &Peer) -> bool {
        match (self, peer) {
            (ForwardedAllow::All, _) | (_, Peer::Unix) => true,
            (ForwardedAllow::Networks(nets), Peer::Inet(sa)) => {
                let ip = canonical(sa.ip());
                nets.iter().any(|(net, bits)| in_network(ip, *net, *bits))
            }
        }
    }
}

fn parse_network(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match text.trim().split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
        None => (text.trim(), None),
    };
    let ip = canonical(addr.parse::<IpAddr>().ok()?);
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

/// IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`) compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits)) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Per-worker facts that every environ shares.
pub struct ServerInfo {
    template: Py<PyDict>,
    listen: ListenAddr,
    script_name: String,
    forwarded_allow: ForwardedAllow,
    /// Headers (upper-case) and the value that means https, from `secure_scheme_headers`.
    secure_scheme_headers: Vec<(String, String)>,
    /// The listeners speak TLS: the scheme is https whatever the headers say.
    tls: bool,
}

impl ServerInfo {
    /// Build the template of constant keys once per worker.
    pub fn new(
        py: Python<'_>,
        listen: ListenAddr,
        multiprocess: bool,
        multithread: bool,
        tls: bool,
        forwarded_allow: ForwardedAllow,
        secure_scheme_headers: Vec<(String, String)>,
    ) -> PyResult<ServerInfo> {
        let script_name = std::env::var("SCRIPT_NAME").unwrap_or_default();
        let template = PyDict::new(py);
        template.set_item(intern!(py, "wsgi.version"), (1, 0))?;
        let scheme = if tls { intern!(py, "https") } else { intern!(py, "http") };
        template.set_item(intern!(py, "wsgi.url_scheme"), scheme)?;
        template.set_item(intern!(py, "wsgi.errors"), Py::new(py, super::error_stream::ErrorStream)?)?;
        template.set_item(intern!(py, "wsgi.multithread"), multithread)?;
        template.set_item(intern!(py, "wsgi.multiprocess"), multiprocess)?;
        template.set_item(intern!(py, "wsgi.run_once"), false)?;
        template.set_item(intern!(py, "wsgi.file_wrapper"), py.get_type::<super::file_wrapper::FileWrapper>())?;
        template.set_item(intern!(py, "wsgi.input_terminated"), true)?;
        template.set_item(intern!(py, "SERVER_SOFTWARE"), concat!("rgunicorn/", env!("CARGO_PKG_VERSION")))?;
        template.set_item(intern!(py, "SCRIPT_NAME"), script_name.as_str())?;
        Ok(ServerInfo { template: template.unbind(), listen, script_name, forwarded_allow, secure_scheme_headers, tls })
    }

    /// Whether `wsgi.url_scheme` is https for this request: always over TLS, else when a trusted
    /// peer's secure-scheme headers say so. Headers that contradict each other are the client's
    /// error, answered before the app is called, as gunicorn 27 does (even over TLS).
    pub fn https(&self, head: &RequestHead, peer: &Peer) -> Result<bool, HttpError> {
        if !self.forwarded_allow.trusts(peer) {
            return Ok(self.tls);
        }
        let claim = claimed_https(&head.headers, &self.secure_scheme_headers)?;
        Ok(self.tls || claim == Some(true))
    }

    /// The environ for one request; `https` comes from [`ServerInfo::https`].
    pub fn environ<'py>(
        &self,
        py: Python<'py>,
        head: &RequestHead,
        peer: &Peer,
        https: bool,
        tls: Option<&TlsFacts>,
        input: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let env = self.template.bind(py).copy()?;
        env.set_item(intern!(py, "REQUEST_METHOD"), method_str(py, &head.method))?;
        env.set_item(intern!(py, "SERVER_PROTOCOL"), protocol_str(py, head))?;
        env.set_item(intern!(py, "RAW_URI"), head.uri.as_str())?;
        env.set_item(intern!(py, "QUERY_STRING"), head.query.as_str())?;
        let path = percent_decode_latin1(&head.path);
        let path_info = match path.strip_prefix(self.script_name.as_str()) {
            Some(rest) if !self.script_name.is_empty() && (rest.is_empty() || rest.starts_with('/')) => rest,
            _ => path.as_str(),
        };
        env.set_item(intern!(py, "PATH_INFO"), path_info)?;
        env.set_item(intern!(py, "wsgi.input"), input)?;

        let mut host: Option<String> = None;
        for (name, value) in &head.headers {
            let value = latin1(py, value);
            let key = if name.eq_ignore_ascii_case("content-type") {
                intern!(py, "CONTENT_TYPE").clone()
            } else if name.eq_ignore_ascii_case("content-length") {
                intern!(py, "CONTENT_LENGTH").clone()
            } else {
                if name.eq_ignore_ascii_case("host") {
                    host = Some(value.to_str()?.to_string());
                }
                header_key(py, name)
            };
            match env.get_item(&key)? {
                Some(prev) => {
                    let joined = format!("{},{}", prev.str()?.to_str()?, value.to_str()?);
                    env.set_item(key, joined)?;
                }
                None => env.set_item(key, value)?,
            }
        }
        if https && !self.tls {
            env.set_item(intern!(py, "wsgi.url_scheme"), intern!(py, "https"))?;
        }
        // gunicorn 27: a TCP listener names itself; only a unix socket, which has no name a URL
        // could use, takes SERVER_NAME / SERVER_PORT from Host.
        let (server_name, server_port) = match &self.listen {
            ListenAddr::Inet(sa) => (sa.ip().to_string(), sa.port().to_string()),
            ListenAddr::Unix(path) => {
                host.as_deref().and_then(|h| split_host(h, https)).unwrap_or_else(|| (path.clone(), String::new()))
            }
        };
        env.set_item(intern!(py, "SERVER_NAME"), server_name)?;
        env.set_item(intern!(py, "SERVER_PORT"), server_port)?;
        match peer {
            Peer::Inet(sa) => {
                env.set_item(intern!(py, "REMOTE_ADDR"), sa.ip().to_string())?;
                env.set_item(intern!(py, "REMOTE_PORT"), sa.port().to_string())?;
            }
            // A unix-socket client has no port: gunicorn 27 leaves REMOTE_PORT out.
            Peer::Unix => env.set_item(intern!(py, "REMOTE_ADDR"), "")?,
        }
        if let Some(facts) = tls {
            facts.apply(py, &env)?;
        }
        Ok(env)
    }
}

/// `Host: name[:port]` → (`SERVER_NAME`, `SERVER_PORT`) for a unix-socket listener, as gunicorn
/// 27 splits it: the port defaults by scheme only when there is no `:` at all (`name:` gives an
/// empty port). `None` for an empty Host, which leaves the socket path. Unlike gunicorn, which
/// splits on every `:`, an IPv6 literal `[::1]:8000` gives `::1` and `8000`.
fn split_host(host: &str, https: bool) -> Option<(String, String)> {
    let host = host.trim();
    if host.is_empty() {
        return None;
    }
    let default_port = if https { "443" } else { "80" };
    if let Some((name, after)) = host.strip_prefix('[').and_then(|rest| rest.split_once(']')) {
        let port = after.strip_prefix(':').unwrap_or(default_port);
        return Some((name.to_string(), port.to_string()));
    }
    let mut parts = host.split(':');
    let name = parts.next().unwrap_or_default();
    Some((name.to_string(), parts.next().unwrap_or(default_port).to_string()))
}

fn method_str<'py>(py: Python<'py>, method: &str) -> Bound<'py, PyString> {
    match method {
        "GET" => intern!(py, "GET").clone(),
        "POST" => intern!(py, "POST").clone(),
        "HEAD" => intern!(py, "HEAD").clone(),
        "PUT" => intern!(py, "PUT").clone(),
        "DELETE" => intern!(py, "DELETE").clone(),
        "PATCH" => intern!(py, "PATCH").clone(),
        "OPTIONS" => intern!(py, "OPTIONS").clone(),
        other => PyString::new(py, other),
    }
}

fn protocol_str<'py>(py: Python<'py>, head: &RequestHead) -> Bound<'py, PyString> {
    match head.version {
        crate::http::Version::Http11 => intern!(py, "HTTP/1.1").clone(),
        crate::http::Version::Http10 => intern!(py, "HTTP/1.0").clone(),
    }
}

/// Header bytes as a str whose code points are the bytes (latin-1), as PEP 3333 requires.
fn latin1<'py>(py: Python<'py>, value: &[u8]) -> Bound<'py, PyString> {
    match std::str::from_utf8(value) {
        Ok(s) if value.is_ascii() => PyString::new(py, s),
        _ => PyString::new(py, &value.iter().map(|&b| b as char).collect::<String>()),
    }
}

/// `HTTP_` + the name upper-cased with `-` as `_`; the common names are interned.
fn header_key<'py>(py: Python<'py>, name: &str) -> Bound<'py, PyString> {
    macro_rules! common {
        ($($lower:literal => $key:literal),* $(,)?) => {
            $(if name.eq_ignore_ascii_case($lower) { return intern!(py, $key).clone(); })*
        };
    }
    common!(
        "host" => "HTTP_HOST",
        "user-agent" => "HTTP_USER_AGENT",
        "accept" => "HTTP_ACCEPT",
        "accept-encoding" => "HTTP_ACCEPT_ENCODING",
        "accept-language" => "HTTP_ACCEPT_LANGUAGE",
        "connection" => "HTTP_CONNECTION",
        "cookie" => "HTTP_COOKIE",
        "referer" => "HTTP_REFERER",
        "x-forwarded-for" => "HTTP_X_FORWARDED_FOR",
        "x-forwarded-proto" => "HTTP_X_FORWARDED_PROTO",
        "x-request-id" => "HTTP_X_REQUEST_ID",
        "authorization" => "HTTP_AUTHORIZATION",
        "cache-control" => "HTTP_CACHE_CONTROL",
        "origin" => "HTTP_ORIGIN",
    );
    let mut key = String::with_capacity(5 + name.len());
    key.push_str("HTTP_");
    key.extend(name.chars().map(|c| if c == '-' { '_' } else { c.to_ascii_uppercase() }));
    PyString::new(py, &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_allow_networks() {
        let allow = ForwardedAllow::from_list(&["10.0.0.0/8".into(), "192.168.1.7".into(), "fd00::/8".into()]);
        let peer = |ip: &str| Peer::Inet(SocketAddr::new(ip.parse().expect("ip"), 1));
        for (ip, trusted) in [
            ("10.1.2.3", true),
            ("11.0.0.1", false),
            ("192.168.1.7", true),
            ("192.168.1.8", false),
            ("::ffff:10.9.9.9", true),
            ("fd12::1", true),
            ("fe80::1", false),
        ] {
            assert_eq!(allow.trusts(&peer(ip)), trusted, "{ip}");
        }
        assert!(allow.trusts(&Peer::Unix));
    }

    #[test]
    fn host_header_split() {
        let cases = [
            ("example.com", false, ("example.com", "80")),
            ("example.com:8080", false, ("example.com", "8080")),
            ("example.com", true, ("example.com", "443")),
            ("example.com:", false, ("example.com", "")),
            ("a:1:2", false, ("a", "1")),
            ("[::1]:9000", false, ("::1", "9000")),
            ("[::1]", true, ("::1", "443")),
        ];
        for (host, https, (name, port)) in cases {
            assert_eq!(split_host(host, https), Some((name.to_string(), port.to_string())), "{host}");
        }
        assert_eq!(split_host("  ", false), None);
    }
}
