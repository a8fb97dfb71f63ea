//! systemd integration: socket activation (`LISTEN_FDS`/`LISTEN_PID`), sockets inherited from a
//! re-exec'ing master (`GUNICORN_FD`), and readiness (`READY=1` to `NOTIFY_SOCKET`).

use std::os::fd::RawFd;

/// The first descriptor systemd passes.
const LISTEN_FDS_START: RawFd = 3;

/// Descriptors passed by systemd to this process, if any. The variables are removed so that
/// workers and re-exec'd masters do not take them for their own.
pub fn listen_fds() -> Vec<RawFd> {
    let pid_matches = std::env::var("LISTEN_PID").ok().and_then(|p| p.parse::<u32>().ok()) == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS").ok().and_then(|n| n.parse::<RawFd>().ok()).unwrap_or(0);
    if !pid_matches || count <= 0 {
        return Vec::new();
    }
    // SAFETY: called in the single-threaded master before any thread exists.
    unsafe {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    (LISTEN_FDS_START..LISTEN_FDS_START + count).collect()
}

/// Descriptors a re-exec'ing master handed down in `GUNICORN_FD`.
pub fn inherited_fds() -> Vec<RawFd> {
    let Ok(text) = std::env::var("GUNICORN_FD") else { return Vec::new() };
    // SAFETY: called in the single-threaded master before any thread exists.
    unsafe { std::env::remove_var("GUNICORN_FD") };
    text.split(',').filter_map(|fd| fd.trim().parse().ok()).collect()
}

/// Send `state` (e.g. `READY=1`) to the service manager, if one asked for notifications.
pub fn notify(state: &str) {
    let Ok(path) = std::env::var("NOTIFY_SOCKET") else { return };
    let addr = if let Some(abstract_name) = path.strip_prefix('@') {
        socket2::SockAddr::unix(format!("\0{abstract_name}"))
    } else {
        socket2::SockAddr::unix(&path)
    };
    let sent = addr.and_then(|addr| {
        let sock = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::DGRAM.cloexec(), None)?;
        sock.send_to(state.as_bytes(), &addr)
    });
    if let Err(e) = sent {
        crate::debug!("Cannot notify systemd at {path}: {e}");
    }
}
