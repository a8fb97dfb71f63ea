//! The gthread worker's I/O thread: one mio poll loop that never takes the GIL.
//!
//! It accepts connections, reads and parses request heads, answers malformed ones, closes
//! connections that are too slow to send a head (`--header-timeout`) or idle too long between
//! requests (`--keep-alive`), and stops accepting at `--worker-connections` so that other workers
//! take the load. A complete head goes to the pool ([`super::queue::JobQueue`]); the
//! connection comes back when its response is done.
//!
//! Readiness is edge-triggered and every socket is registered once, at accept: while a pool
//! thread owns a connection its events only set a flag, and the socket is read when it comes
//! back. A read shorter than the buffer means the socket was drained (as nginx assumes), so a
//! returning connection costs no system call unless data arrived meanwhile.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use socket2::Socket;

use super::handoff::{Back, Conn, Job};
use super::queue::FRESH;
use super::shared::Shared;
use super::table::{ConnTable, Entry, Reading};
use crate::http::response::error_response;
use crate::http::{parse_request_head, HttpError, Limits, RequestHead};
use crate::sock::Listener;
use crate::tls::conn::TlsConn;
use crate::wsgi::environ::Peer;

/// The token of the waker the other threads use.
pub const WAKER: Token = Token(usize::MAX);
/// Listener `i` has token `LISTENER_BASE + i`; connections use small tokens (slab indices).
const LISTENER_BASE: usize = usize::MAX / 2;
/// How much one read takes; heads are limited to about 8 KiB by default.
const READ_SIZE: usize = 16 * 1024;
/// How long a connection closed after an error response keeps draining the client's bytes.
const LINGER: Duration = Duration::from_millis(500);
/// How much a lingering connection may read before it is closed anyway.
const LINGER_BUDGET: usize = 64 * 1024;
/// Once stopping, a connection that has sent nothing yet gets this long to start.
const STOP_GRACE: Duration = Duration::from_secs(1);
/// While pool threads own connections, how often the loop takes back those handed back lazily
/// (so that idle keep-alive connections get their deadline within this much).
const RECLAIM_TICK: Duration = Duration::from_millis(200);
/// After accept(2) failed for lack of descriptors or memory, when to try again: the listener is
/// edge-triggered and would not report the waiting connections a second time.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The I/O thread's settings.
pub struct IoSettings {
    /// Parser limits.
    pub limits: Limits,
    /// A request head must be complete this long after its first byte (or the accept).
    pub head_timeout: Duration,
    /// How long an idle keep-alive connection is kept.
    pub keepalive: Duration,
    /// `--worker-connections`.
    pub max_connections: usize,
    /// Connections speak TLS with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// `--suppress-ragged-eofs`.
    pub suppress_ragged_eofs: bool,
}

struct ListenSock {
    /// Our own duplicate of the worker's listener.
    listener: Listener,
    registered: bool,
}

/// The state of the I/O thread.
pub struct IoLoop {
    poll: Poll,
    listeners: Vec<ListenSock>,
    table: ConnTable,
    shared: Arc<Shared>,
    settings: IoSettings,
    scratch: Vec<u8>,
    back: Vec<Back>,
    stopping: bool,
    accept_retry: Option<Instant>,
    /// A queued request was left for a running pool thread (see [`super::queue`]).
    wake_pending: bool,
}

impl IoLoop {
    /// Set up the loop over `poll` (whose waker is in `shared`) and the worker's listeners (our
    /// own duplicates of them).
    pub fn new(poll: Poll, listeners: Vec<Listener>, shared: Arc<Shared>, settings: IoSettings) -> io::Result<IoLoop> {
        let mut io = IoLoop {
            poll,
            listeners: listeners.into_iter().map(|listener| ListenSock { listener, registered: false }).collect(),
            table: ConnTable::with_capacity(settings.max_connections.min(4096)),
            shared,
            settings,
            scratch: vec![0; READ_SIZE],
            back: Vec::with_capacity(64),
            stopping: false,
            accept_retry: None,
            wake_pending: false,
        };
        io.listen(true)?;
        Ok(io)
    }

    /// Run until a graceful stop has closed every connection.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            let mut timeout = self.table.next_deadline().map(|d| d.saturating_duration_since(Instant::now()));
            if self.table.busy() > 0 {
                timeout = Some(timeout.map_or(RECLAIM_TICK, |t| t.min(RECLAIM_TICK)));
            }
            if self.accept_retry.is_some() {
                timeout = Some(timeout.map_or(ACCEPT_BACKOFF, |t| t.min(ACCEPT_BACKOFF)));
            }
            if self.wake_pending {
                timeout = Some(timeout.map_or(FRESH, |t| t.min(FRESH)));
            }
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    crate::error!("The I/O thread's poll failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            let now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    Token(t) if t >= LISTENER_BASE => self.accept(t - LISTENER_BASE, now, usize::MAX),
                    Token(t) => self.on_event(t, event.is_readable() || event.is_read_closed(), now),
                }
            }
            self.take_back(now);
            if self.wake_pending {
                self.wake_pending = self.shared.jobs.wake_if_stalled();
            }
            if self.shared.is_stopping() && !self.stopping {
                self.begin_stop(now);
            }
            if self.accept_retry.is_some_and(|at| at <= now) {
                self.accept_retry = None;
                for index in 0..self.listeners.len() {
                    if self.listeners[index].registered {
                        self.accept(index, now, usize::MAX);
                    }
                }
            }
            self.table.expire(now, |_, entry| {
                if let Entry::Reading(r) = entry {
                    if !r.buf.is_empty() {
                        crate::debug!("Closing a connection that did not send a complete request head in time");
                    }
                    goodbye(r);
                }
            });
            if self.stopping {
                if self.table.is_empty() {
                    break;
                }
            } else if self.table.len() < self.settings.max_connections && self.listeners.iter().any(|l| !l.registered) {
                let _ = self.listen(true);
            }
        }
        self.shared.set_io_done();
    }

    /// Register (`on`) or deregister every listener.
    fn listen(&mut self, on: bool) -> io::Result<()> {
        for (i, l) in self.listeners.iter_mut().enumerate() {
            if l.registered == on {
                continue;
            }
            let fd = l.listener.socket.as_raw_fd();
            let registry = self.poll.registry();
            if on {
                // Adding a ready socket reports it at once, so pending connections are not missed.
                registry.register(&mut SourceFd(&fd), Token(LISTENER_BASE + i), Interest::READABLE)?;
            } else {
                registry.deregister(&mut SourceFd(&fd))?;
            }
            l.registered = on;
        }
        self.shared.set_paused(!on);
        Ok(())
    }

    /// Accept until the queue is empty, at most `limit` connections.
    fn accept(&mut self, index: usize, now: Instant, limit: usize) {
        for _ in 0..limit {
            if self.stopping {
                return;
            }
            if self.table.len() >= self.settings.max_connections {
                // At the cap: let the other workers take the load until a connection closes.
                let _ = self.listen(false);
                return;
            }
            let Some(listener) = self.listeners.get(index) else { return };
            match listener.listener.socket.accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) {
                Ok((sock, addr)) => {
                    let peer = addr.as_socket().map(Peer::Inet).unwrap_or(Peer::Unix);
                    if matches!(peer, Peer::Inet(_)) {
                        let _ = sock.set_tcp_nodelay(true);
                    }
                    let fd = sock.as_raw_fd();
                    let deadline = now + self.settings.head_timeout;
                    let tls = match &self.settings.tls {
                        Some(config) => match TlsConn::new(config, self.settings.suppress_ragged_eofs) {
                            Ok(tls) => Some(Box::new(tls)),
                            Err(e) => {
                                crate::error!("Cannot start a TLS session: {e}");
                                continue;
                            }
                        },
                        None => None,
                    };
                    // A TLS handshake flight may not fit the socket at once: such connections
                    // also hear when it drains (only Reading entries act on that).
                    let interest =
                        if tls.is_some() { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
                    let reading = Reading { sock, tls, peer, buf: Vec::new(), deadline, started: true };
                    let token = self.table.insert(Entry::Reading(reading));
                    if let Err(e) = self.poll.registry().register(&mut SourceFd(&fd), Token(token), interest) {
                        crate::error!("Cannot watch a new connection: {e}");
                        self.table.remove(token);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNABORTED | libc::EPROTO | libc::EPERM)) => {
                    crate::debug!("accept() failed: {e}");
                }
                Err(e) => {
                    // EMFILE, ENOBUFS…: the connection stays in the backlog; try again shortly.
                    crate::error!("accept() failed: {e}");
                    self.accept_retry = Some(now + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    fn on_event(&mut self, token: usize, readable: bool, now: Instant) {
        match self.table.get_mut(token) {
            Some(Entry::Reading(_)) => self.read_head(token, now),
            // Writability only matters to a TLS handshake the I/O thread is doing.
            Some(_) if !readable => {}
            Some(Entry::Busy { pending }) => {
                *pending = true;
                // The client sent more: likely its next request, after a response that a pool
                // thread has finished and handed back without waking us. Take it back now.
                self.shared.back.event_while_busy(token, &mut self.back);
                self.process_back(now);
            }
            Some(Entry::Lingering { .. }) => self.drain_lingering(token),
            Some(Entry::Free(_)) | None => {}
        }
    }

    /// Read what the client sent; hand a complete head to the pool, answer a malformed one.
    fn read_head(&mut self, token: usize, now: Instant) {
        loop {
            let Some(Entry::Reading(r)) = self.table.get_mut(token) else { return };
            let got = match r.tls.as_mut() {
                Some(tls) => tls.read(&r.sock, &mut self.scratch, None),
                None => (&r.sock).read(&mut self.scratch),
            };
            let n = match got {
                Ok(0) => {
                    if let Some(Entry::Reading(r)) = self.table.remove(token) {
                        goodbye(r);
                    }
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    crate::debug!("Closing connection while reading a request head: {e}");
                    self.table.remove(token);
                    return;
                }
            };
            // A short plain read drained the socket; a TLS read says nothing about the socket.
            let drained = r.tls.is_none() && n < self.scratch.len();
            let mut new_deadline = None;
            if !r.started {
                // The first byte of a request after a keep-alive pause: the head deadline starts.
                r.started = true;
                r.deadline = now + self.settings.head_timeout;
                new_deadline = Some(r.deadline);
            }
            let parsed = if r.buf.is_empty() {
                parse_request_head(&self.scratch[..n], &self.settings.limits)
            } else {
                r.buf.extend_from_slice(&self.scratch[..n]);
                parse_request_head(&r.buf, &self.settings.limits)
            };
            match parsed {
                Ok(Some(head)) => {
                    let already = if r.buf.is_empty() {
                        self.scratch[head.head_len..n].to_vec()
                    } else {
                        r.buf.split_off(head.head_len)
                    };
                    self.dispatch(token, head, already, !drained);
                    return;
                }
                Ok(None) => {
                    if r.buf.is_empty() {
                        r.buf.extend_from_slice(&self.scratch[..n]);
                    }
                    self.table.note(new_deadline);
                    if drained {
                        return;
                    }
                }
                Err(err) => {
                    self.reject(token, &err, now);
                    return;
                }
            }
        }
    }

    /// Give the connection and its head to the pool.
    fn dispatch(&mut self, token: usize, head: RequestHead, already: Vec<u8>, pending: bool) {
        let Some(Entry::Reading(r)) = self.table.set(token, Entry::Busy { pending }) else { return };
        let conn = Conn { token, sock: r.sock, tls: r.tls, peer: r.peer };
        if self.shared.jobs.push(Job { conn, head, already }) {
            self.wake_pending = true;
        }
    }

    /// Answer a malformed head with its status, then close gently. The app never sees it.
    fn reject(&mut self, token: usize, err: &HttpError, now: Instant) {
        crate::debug!("Invalid request: {} {}", err.status(), err.detail());
        let Some(Entry::Reading(r)) = self.table.set(token, Entry::Busy { pending: false }) else { return };
        // The response is small and nothing else was written: the send buffer has room.
        match r.tls {
            Some(mut tls) => tls.send_nowait(&r.sock, &error_response(err)),
            None => {
                let _ = r.sock.send_with_flags(&error_response(err), libc::MSG_NOSIGNAL);
            }
        }
        self.linger(token, r.sock, None, now);
    }

    /// Stop writing and drop what the client still sends for a moment before closing: closing
    /// with unread bytes makes the kernel reset the connection, which can destroy the response.
    /// `token` must be a live slot, whose state this replaces.
    fn linger(&mut self, token: usize, sock: Socket, tls: Option<Box<TlsConn>>, now: Instant) {
        if let Some(mut tls) = tls {
            tls.close_notify(&sock);
        }
        if sock.shutdown(std::net::Shutdown::Write).is_err() {
            self.table.remove(token);
            return;
        }
        self.table.set(token, Entry::Lingering { sock, deadline: now + LINGER, budget: LINGER_BUDGET });
        self.drain_lingering(token);
    }

    fn drain_lingering(&mut self, token: usize) {
        loop {
            let Some(Entry::Lingering { sock, budget, .. }) = self.table.get_mut(token) else { return };
            match (&*sock).read(&mut self.scratch) {
                Ok(0) => break,
                Ok(n) if n >= *budget => break,
                Ok(n) => *budget -= n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.table.remove(token);
    }

    /// Take back the connections the pool is done with.
    fn take_back(&mut self, now: Instant) {
        self.shared.back.drain_into(&mut self.back);
        self.process_back(now);
    }

    fn process_back(&mut self, now: Instant) {
        let mut back = std::mem::take(&mut self.back);
        for item in back.drain(..) {
            match item {
                Back::Closed(token) => {
                    self.table.remove(token);
                }
                Back::Linger(conn) => {
                    if self.table.get_mut(conn.token).is_some() {
                        self.linger(conn.token, conn.sock, conn.tls, now);
                    }
                }
                Back::KeepAlive { conn, leftover } => self.keep_alive(conn, leftover, now),
            }
        }
        self.back = back;
    }

    fn keep_alive(&mut self, conn: Conn, leftover: Vec<u8>, now: Instant) {
        let token = conn.token;
        let pending = match self.table.get_mut(token) {
            // A TLS session may hold received bytes no readiness event will announce.
            Some(Entry::Busy { pending }) => *pending || conn.tls.is_some(),
            _ => {
                crate::error!("A connection came back to a slot that is not waiting for it; closing it");
                return;
            }
        };
        if self.stopping && leftover.is_empty() {
            self.table.remove(token);
            return;
        }
        let started = !leftover.is_empty();
        let deadline = now + if started { self.settings.head_timeout } else { self.settings.keepalive };
        let reading = Reading { sock: conn.sock, tls: conn.tls, peer: conn.peer, buf: leftover, deadline, started };
        self.table.set(token, Entry::Reading(reading));
        if started {
            // A pipelined request, already (partly) received.
            let Some(Entry::Reading(r)) = self.table.get_mut(token) else { return };
            match parse_request_head(&r.buf, &self.settings.limits) {
                Ok(Some(head)) => {
                    let already = r.buf.split_off(head.head_len);
                    self.dispatch(token, head, already, pending);
                    return;
                }
                Ok(None) => {}
                Err(err) => {
                    self.reject(token, &err, now);
                    return;
                }
            }
        }
        if pending {
            self.read_head(token, now);
        }
    }

    /// Graceful stop: no more accepting; idle keep-alive connections close now, connections that
    /// have sent nothing yet get a moment, and the rest finish (their responses say
    /// `Connection: close`).
    fn begin_stop(&mut self, now: Instant) {
        // Clients already waiting in the listen queue connected before the stop: serve them
        // rather than leave them to be reset when the last copy of the socket closes. Only
        // those (as many as the kernel says are queued now; a unix listener does not say, so
        // until it is empty), so that a worker retired by HUP does not go on with old code.
        for index in 0..self.listeners.len() {
            if self.listeners[index].registered {
                let queued = self.listeners[index].listener.queued().unwrap_or(usize::MAX);
                self.accept(index, now, queued);
            }
        }
        self.stopping = true;
        let _ = self.listen(false);
        self.table.remove_where(|e| matches!(e, Entry::Reading(r) if !r.started), |_, _| {});
        let grace = now + STOP_GRACE;
        for token in 0..self.table.slots() {
            if let Some(Entry::Reading(r)) = self.table.get_mut(token) {
                if r.buf.is_empty() && r.deadline > grace {
                    r.deadline = grace;
                }
            }
        }
        self.table.note(Some(grace));
    }
}

/// Close a connection the I/O thread is done with (the client closed, or idled past its
/// deadline); a TLS one says `close_notify` first, as a TLS client that closes expects.
fn goodbye(mut r: Reading) {
    if let Some(tls) = r.tls.as_mut() {
        tls.close_notify(&r.sock);
    }
}
