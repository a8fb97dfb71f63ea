//! Listening sockets: parse bind addresses, bind them with socket2, and describe them for the log.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::path::PathBuf;

use socket2::{Domain, SockAddr, Socket, Type};

/// A parsed `--bind` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindAddr {
    /// `HOST:PORT` or `[V6]:PORT`; the host is resolved at bind time.
    Tcp(String, u16),
    /// `unix:PATH`.
    Unix(PathBuf),
    /// `fd://N`: an already-bound socket inherited from the parent.
    Fd(RawFd),
}

impl BindAddr {
    /// Parse gunicorn's bind syntax.
    pub fn parse(text: &str) -> Result<BindAddr, String> {
        let bad = |why: &str| format!("Invalid bind address {text:?}: {why}");
        if let Some(path) = text.strip_prefix("unix:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(bad("empty unix socket path"));
            }
            return Ok(BindAddr::Unix(PathBuf::from(path)));
        }
        if let Some(fd) = text.strip_prefix("fd://") {
            return fd.parse::<RawFd>().map(BindAddr::Fd).map_err(|_| bad("fd:// needs a file descriptor number"));
        }
        let text_no_scheme = text.strip_prefix("tcp://").unwrap_or(text);
        let (host, port) = if let Some(rest) = text_no_scheme.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
            let port = after.strip_prefix(':').unwrap_or("8000");
            (host.to_string(), port)
        } else if let Some((host, port)) = text_no_scheme.rsplit_once(':') {
            (host.to_string(), port)
        } else {
            (text_no_scheme.to_string(), "8000")
        };
        let port = port.parse::<u16>().map_err(|_| bad("the port must be a number from 0 to 65535"))?;
        let host = if host.is_empty() { "0.0.0.0".to_string() } else { host };
        Ok(BindAddr::Tcp(host, port))
    }
}

/// A bound, listening socket.
pub struct Listener {
    /// The socket itself (non-blocking, close-on-exec unless inherited on purpose).
    pub socket: Socket,
    /// What was asked for.
    pub addr: BindAddr,
    /// Where it really listens (resolved port for `:0`).
    pub local: ListenAddr,
}

/// The address a listener is bound to, for logs and for `SERVER_NAME` / `SERVER_PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddr {
    /// An IPv4 or IPv6 address.
    Inet(SocketAddr),
    /// A unix socket path.
    Unix(String),
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Inet(SocketAddr::V4(a)) => write!(f, "http://{a}"),
            ListenAddr::Inet(SocketAddr::V6(a)) => write!(f, "http://[{}]:{}", a.ip(), a.port()),
            ListenAddr::Unix(p) => write!(f, "unix:{p}"),
        }
    }
}

/// Options that apply to every listener.
#[derive(Clone, Copy, Debug)]
pub struct BindOptions {
    /// listen(2) backlog.
    pub backlog: i32,
    /// SO_REUSEPORT.
    pub reuse_port: bool,
    /// The umask unix sockets are created under.
    pub umask: u32,
}

impl Listener {
    /// Bind and listen.
    pub fn bind(addr: &BindAddr, opts: BindOptions) -> io::Result<Listener> {
        let socket = match addr {
            BindAddr::Tcp(host, port) => bind_tcp(host, *port, opts)?,
            BindAddr::Unix(path) => bind_unix(path, opts)?,
            BindAddr::Fd(fd) => {
                // SAFETY: the user told us this descriptor is a socket we now own; getsockname below
                // fails cleanly if it is not.
                let socket = unsafe { Socket::from_raw_fd(*fd) };
                socket.local_addr()?;
                socket.listen(opts.backlog)?;
                socket.set_cloexec(true)?;
                socket
            }
        };
        socket.set_nonblocking(true)?;
        let local = describe(&socket)?;
        Ok(Listener { socket, addr: addr.clone(), local })
    }

    /// Remove the unix socket file, if this listener created one.
    pub fn unlink(&self) {
        if let BindAddr::Unix(path) = &self.addr {
            let _ = std::fs::remove_file(path);
        }
    }

    /// The raw descriptor.
    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// How many connections wait in the accept queue right now, where the kernel says (Linux
    /// reports it for TCP listeners in `TCP_INFO.tcpi_unacked`); `None` for unix sockets.
    pub fn queued(&self) -> Option<usize> {
        if self.is_unix() {
            return None;
        }
        // SAFETY: a zeroed tcp_info is a valid value for getsockopt to overwrite.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: info and len point to valid memory of the sizes passed.
        let rc = unsafe {
            libc::getsockopt(
                self.fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&mut info as *mut libc::tcp_info).cast(),
                &mut len,
            )
        };
        (rc == 0).then_some(info.tcpi_unacked as usize)
    }

    /// Whether this is a unix-domain listener.
    pub fn is_unix(&self) -> bool {
        matches!(self.local, ListenAddr::Unix(_))
    }
}

fn bind_tcp(host: &str, port: u16, opts: BindOptions) -> io::Result<Socket> {
    let mut last_err = io::Error::new(io::ErrorKind::AddrNotAvailable, format!("cannot resolve {host}"));
    for sa in (host, port).to_socket_addrs()? {
        let socket = Socket::new(Domain::for_address(sa), Type::STREAM.cloexec(), None)?;
        socket.set_reuse_address(true)?;
        if opts.reuse_port {
            socket.set_reuse_port(true)?;
        }
        if sa.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        match socket.bind(&sa.into()) {
            Ok(()) => {
                socket.listen(opts.backlog)?;
                return Ok(socket);
            }
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

fn bind_unix(path: &std::path::Path, opts: BindOptions) -> io::Result<Socket> {
    // A stale socket left by a crashed server would make bind fail; remove only sockets.
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        }
    }
    let socket = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None)?;
    // The socket file's mode comes from the umask at bind time, as gunicorn creates it.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(opts.umask as libc::mode_t));
    let bound = SockAddr::unix(path).and_then(|addr| socket.bind(&addr));
    nix::sys::stat::umask(old);
    bound?;
    socket.listen(opts.backlog)?;
    Ok(socket)
}

fn describe(socket: &Socket) -> io::Result<ListenAddr> {
    let local = socket.local_addr()?;
    if let Some(sa) = local.as_socket() {
        return Ok(ListenAddr::Inet(sa));
    }
    let path = local.as_pathname().map(|p| p.display().to_string()).unwrap_or_default();
    Ok(ListenAddr::Unix(path))
}

/// Errors from accept(2) that concern one connection or a passing shortage (descriptors,
/// memory), not the listener: log at debug and go on.
pub fn is_transient_accept_error(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::EPROTO
                | libc::EPERM
                | libc::EMFILE
                | libc::ENFILE
                | libc::ENOBUFS
                | libc::ENOMEM
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gunicorn_bind_syntax() {
        let cases = [
            ("127.0.0.1:8000", BindAddr::Tcp("127.0.0.1".into(), 8000)),
            ("[::1]:9000", BindAddr::Tcp("::1".into(), 9000)),
            ("localhost", BindAddr::Tcp("localhost".into(), 8000)),
            (":5000", BindAddr::Tcp("0.0.0.0".into(), 5000)),
            ("unix:/tmp/x.sock", BindAddr::Unix("/tmp/x.sock".into())),
            ("fd://3", BindAddr::Fd(3)),
        ];
        for (text, want) in cases {
            assert_eq!(BindAddr::parse(text).as_ref(), Ok(&want), "{text}");
        }
        for bad in ["host:http", "[::1", "fd://x", "unix:", "1.2.3.4:70000"] {
            assert!(BindAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn binds_ephemeral_port() {
        let opts = BindOptions { backlog: 16, reuse_port: false, umask: 0 };
        let l = Listener::bind(&BindAddr::Tcp("127.0.0.1".into(), 0), opts).expect("bind");
        match l.local {
            ListenAddr::Inet(sa) => assert_ne!(sa.port(), 0),
            ListenAddr::Unix(_) => panic!("expected inet"),
        }
        assert!(l.to_string_for_test().starts_with("http://127.0.0.1:"));
        assert_eq!(l.queued(), Some(0));
        let clients: Vec<_> = (0..3)
            .map(|_| {
                std::net::TcpStream::connect(match l.local {
                    ListenAddr::Inet(sa) => sa,
                    ListenAddr::Unix(_) => unreachable!(),
                })
                .expect("connect")
            })
            .collect();
        assert_eq!(l.queued(), Some(clients.len()));
    }

    impl Listener {
        fn to_string_for_test(&self) -> String {
            self.local.to_string()
        }
    }
}
