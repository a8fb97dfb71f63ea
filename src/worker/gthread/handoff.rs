//! What the gthread worker's threads pass to each other: complete request heads ([`Job`]) go from
//! the I/O thread to the pool ([`super::queue::JobQueue`]), connections come back when their
//! response is done ([`BackChannel`]), and the main thread tells both to stop
//! ([`super::shared::Shared`]).
//!
//! A connection is owned by exactly one thread at a time: the I/O thread while it waits for a
//! head, a pool thread from the moment its head is queued until the connection comes back or is
//! closed. That is what keeps pipelined responses in order without any per-request locking.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use socket2::Socket;

use crate::http::RequestHead;
use crate::tls::conn::TlsConn;
use crate::wsgi::environ::Peer;

/// A client connection in flight between threads.
pub struct Conn {
    /// Its slot in the I/O thread's table (also its mio token).
    pub token: usize,
    /// The socket, non-blocking, registered with the I/O thread's poller for its whole life.
    pub sock: Socket,
    /// Its TLS session, when the listener speaks TLS.
    pub tls: Option<Box<TlsConn>>,
    /// The client's address.
    pub peer: Peer,
}

/// A request ready for the app.
pub struct Job {
    /// The connection it came on.
    pub conn: Conn,
    /// The parsed head.
    pub head: RequestHead,
    /// Bytes received after the head (body, or the next pipelined request).
    pub already: Vec<u8>,
}

/// What a pool thread tells the I/O thread when it is done with a connection.
pub enum Back {
    /// Wait for the next request; `leftover` holds bytes of it already received.
    KeepAlive {
        /// The connection.
        conn: Conn,
        /// Received bytes that belong to the next request.
        leftover: Vec<u8>,
    },
    /// The response is sent but the client may still be sending a body nobody read: close
    /// gently (see [`crate::worker::conn::linger_close`]).
    Linger(Conn),
    /// The pool thread closed the socket; free the slot.
    Closed(usize),
}

impl Back {
    /// The connection's token.
    pub fn token(&self) -> usize {
        match self {
            Back::KeepAlive { conn, .. } | Back::Linger(conn) => conn.token,
            Back::Closed(token) => *token,
        }
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind, still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct BackState {
    items: Vec<Back>,
    /// `wanted[token]`: the socket became readable while a pool thread owned it, so the I/O
    /// thread must be woken as soon as it comes back.
    wanted: Vec<bool>,
}

/// Connections handed back to the I/O thread.
///
/// Handing back is lazy: after a response the client needs a while to send its next request,
/// and the readiness event of that request wakes the I/O thread anyway, which then takes the
/// connection back (see [`BackChannel::event_while_busy`]). Waking it right away would cost a
/// system call and a context switch per request for nothing. The I/O thread is woken (through a
/// [`mio::Waker`]) only when it is already waiting for that connection, or when asked to.
pub struct BackChannel {
    state: Mutex<BackState>,
    waker: mio::Waker,
    /// The waker was fired and the I/O thread has not drained since: pushing more needs no
    /// second wake-up system call.
    armed: AtomicBool,
}

impl BackChannel {
    /// A channel for tokens below `max_tokens` that wakes the poller of `waker`.
    pub fn new(waker: mio::Waker, max_tokens: usize) -> Self {
        let state = BackState { items: Vec::with_capacity(64), wanted: vec![false; max_tokens] };
        BackChannel { state: Mutex::new(state), waker, armed: AtomicBool::new(false) }
    }

    /// Hand a connection back; wake the I/O thread if `urgent` or if it is waiting for it.
    pub fn push(&self, back: Back, urgent: bool) {
        let token = back.token();
        let mut state = lock(&self.state);
        state.items.push(back);
        let wanted = state.wanted.get_mut(token).map(std::mem::take).unwrap_or(false);
        drop(state);
        if urgent || wanted {
            self.wake();
        }
    }

    /// Make the I/O thread look at the channel and the shared flags.
    pub fn wake(&self) {
        if !self.armed.swap(true, Ordering::SeqCst) {
            if let Err(e) = self.waker.wake() {
                crate::error!("Cannot wake the I/O thread: {e}");
            }
        }
    }

    /// Move everything handed back into `out` (the I/O thread, on every turn of its loop).
    pub fn drain_into(&self, out: &mut Vec<Back>) {
        // Disarm first: a push after this point fires the waker again, a push before it is
        // already in `items`.
        self.armed.store(false, Ordering::SeqCst);
        let mut state = lock(&self.state);
        out.append(&mut state.items);
    }

    /// The I/O thread saw `token` become readable while a pool thread owned it: take back what
    /// was handed back (the connection may be among it), and if it is not, ask to be woken when
    /// it comes. Under one lock with [`BackChannel::push`], so that no return is missed.
    pub fn event_while_busy(&self, token: usize, out: &mut Vec<Back>) {
        self.armed.store(false, Ordering::SeqCst);
        let mut state = lock(&self.state);
        let returned = state.items.iter().any(|b| b.token() == token);
        out.append(&mut state.items);
        if let Some(w) = state.wanted.get_mut(token) {
            *w = !returned;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn back_channel_wakes_the_poller_once_per_drain() {
        let mut poll = mio::Poll::new().expect("poll");
        let waker = mio::Waker::new(poll.registry(), mio::Token(1)).expect("waker");
        let back = BackChannel::new(waker, 8);
        let mut events = mio::Events::with_capacity(8);
        let short = Some(Duration::from_millis(20));
        // Lazy: nobody is waiting for these.
        back.push(Back::Closed(3), false);
        poll.poll(&mut events, short).expect("poll");
        assert_eq!(events.iter().count(), 0);
        // Urgent ones wake once until drained.
        back.push(Back::Closed(4), true);
        back.push(Back::Closed(5), true);
        poll.poll(&mut events, Some(Duration::from_secs(1))).expect("poll");
        assert_eq!(events.iter().count(), 1);
        let mut out = Vec::new();
        back.drain_into(&mut out);
        assert_eq!(out.iter().map(Back::token).collect::<Vec<_>>(), vec![3, 4, 5]);
        // Waiting for 6: its return wakes the poller.
        out.clear();
        back.event_while_busy(6, &mut out);
        assert!(out.is_empty());
        back.push(Back::Closed(6), false);
        poll.poll(&mut events, Some(Duration::from_secs(1))).expect("poll");
        assert_eq!(events.iter().count(), 1);
        // Already back: taken at once, and nobody waits for it any more.
        back.event_while_busy(6, &mut out);
        assert_eq!(out.len(), 1);
        back.push(Back::Closed(6), false);
        poll.poll(&mut events, short).expect("poll");
        assert_eq!(events.iter().count(), 0);
    }
}
