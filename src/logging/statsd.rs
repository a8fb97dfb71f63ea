//! statsd metrics with gunicorn's names: `gunicorn.requests`, `gunicorn.request.duration`,
//! `gunicorn.request.status.<code>`, `gunicorn.workers`, `gunicorn.log.<level>`, over UDP (or a
//! unix datagram socket), optionally with dogstatsd tags. Sending never blocks or fails a request.

use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::sync::OnceLock;
use std::time::Duration;

enum Sock {
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

struct Statsd {
    sock: Sock,
    prefix: String,
    tags: String,
}

static STATSD: OnceLock<Statsd> = OnceLock::new();

/// `host:port` (port 8125 by default), `[v6]:port`, or `unix:PATH`.
fn connect(host: &str) -> std::io::Result<Sock> {
    if let Some(path) = host.strip_prefix("unix://").or_else(|| host.strip_prefix("unix:")) {
        let sock = UnixDatagram::unbound()?;
        sock.connect(path)?;
        sock.set_nonblocking(true)?;
        return Ok(Sock::Unix(sock));
    }
    let with_port =
        if host.rsplit_once(':').is_some_and(|(h, p)| !h.ends_with(':') && p.parse::<u16>().is_ok() && !h.is_empty()) {
            host.to_string()
        } else {
            format!("{host}:8125")
        };
    let target = std::net::ToSocketAddrs::to_socket_addrs(&with_port)?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, host.to_string()))?;
    let local = if target.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" };
    let sock = UdpSocket::bind(local)?;
    sock.connect(target)?;
    sock.set_nonblocking(true)?;
    Ok(Sock::Udp(sock))
}

/// gunicorn's prefix rule: trailing dots trimmed, one dot added, empty stays empty.
fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_end_matches('.');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}.")
    }
}

/// Enable metrics (in the master, before workers fork; the socket is shared).
pub fn configure(host: &str, prefix: &str, tags: &str) -> std::io::Result<()> {
    let sock = connect(host)?;
    let _ = STATSD.set(Statsd { sock, prefix: normalize_prefix(prefix), tags: tags.to_string() });
    Ok(())
}

fn send(metric: std::fmt::Arguments<'_>) {
    let Some(statsd) = STATSD.get() else { return };
    let mut msg = format!("{}{}", statsd.prefix, metric);
    if !statsd.tags.is_empty() {
        msg.push_str("|#");
        msg.push_str(&statsd.tags);
    }
    let _ = match &statsd.sock {
        Sock::Udp(s) => s.send(msg.as_bytes()),
        Sock::Unix(s) => s.send(msg.as_bytes()),
    };
}

/// Whether metrics are on.
pub fn enabled() -> bool {
    STATSD.get().is_some()
}

/// One finished request.
pub fn request(status: u16, duration: Duration) {
    if !enabled() {
        return;
    }
    // Python prints the float as repr does: always with a decimal point.
    send(format_args!("gunicorn.request.duration:{:?}|ms", duration.as_micros() as f64 / 1000.0));
    send(format_args!("gunicorn.requests:1|c|@1.0"));
    send(format_args!("gunicorn.request.status.{status}:1|c|@1.0"));
}

/// The number of workers, as the master sees it.
pub fn workers(count: usize) {
    send(format_args!("gunicorn.workers:{count}|g"));
}

/// A log record at `level` (`warning`, `error`, `critical`, `exception`).
pub fn log_record(level: &str) {
    send(format_args!("gunicorn.log.{level}:1|c|@1.0"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_like_gunicorn() {
        assert_eq!(normalize_prefix(""), "");
        assert_eq!(normalize_prefix("app"), "app.");
        assert_eq!(normalize_prefix("app..."), "app.");
    }

    #[test]
    fn duration_prints_like_python_float() {
        assert_eq!(format!("{:?}", 12_000_f64 / 1000.0), "12.0");
        assert_eq!(format!("{:?}", 12_345_f64 / 1000.0), "12.345");
    }
}
