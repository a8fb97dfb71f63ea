//! The I/O thread's table of open connections: a slab indexed by mio token, with the deadline of
//! every connection the I/O thread is waiting on.
//!
//! Deadlines are swept rather than kept sorted: re-arming a keep-alive connection, the hot path,
//! is then one store, and a sweep (a walk over at most `--worker-connections` slots) runs only
//! when the earliest known deadline has passed.

use std::time::Instant;

use socket2::Socket;

use crate::wsgi::environ::Peer;

/// A connection waiting for (the rest of) a request head.
pub struct Reading {
    /// The socket.
    pub sock: Socket,
    /// Its TLS session, when the listener speaks TLS.
    pub tls: Option<Box<crate::tls::conn::TlsConn>>,
    /// The client's address.
    pub peer: Peer,
    /// Bytes of the head received so far (empty while idle between requests).
    pub buf: Vec<u8>,
    /// When the connection is closed if no complete head has arrived.
    pub deadline: Instant,
    /// Some bytes of a request arrived: the head deadline runs, not the keep-alive one.
    pub started: bool,
}

/// One slot.
pub enum Entry {
    /// Unused; the next free slot.
    Free(usize),
    /// The I/O thread waits for a request head.
    Reading(Reading),
    /// A pool thread owns the connection. `pending`: the socket became readable meanwhile, so
    /// it must be read when it comes back (edge-triggered readiness is not reported twice).
    Busy {
        /// Readable since it was handed out.
        pending: bool,
    },
    /// An error response was sent: read and drop what the client still sends, then close.
    Lingering {
        /// The socket, shut down for writing.
        sock: Socket,
        /// When to stop waiting for the client's EOF.
        deadline: Instant,
        /// Bytes still allowed to be read and dropped.
        budget: usize,
    },
}

impl Entry {
    fn is_busy(&self) -> bool {
        matches!(self, Entry::Busy { .. })
    }

    fn deadline(&self) -> Option<Instant> {
        match self {
            Entry::Reading(r) => Some(r.deadline),
            Entry::Lingering { deadline, .. } => Some(*deadline),
            Entry::Free(_) | Entry::Busy { .. } => None,
        }
    }
}

const NONE: usize = usize::MAX;

/// The open connections of one worker.
pub struct ConnTable {
    entries: Vec<Entry>,
    free: usize,
    live: usize,
    busy: usize,
    earliest: Option<Instant>,
}

impl ConnTable {
    /// An empty table with room for `capacity` connections before it grows.
    pub fn with_capacity(capacity: usize) -> Self {
        ConnTable { entries: Vec::with_capacity(capacity), free: NONE, live: 0, busy: 0, earliest: None }
    }

    /// Open connections (including those a pool thread owns).
    pub fn len(&self) -> usize {
        self.live
    }

    /// Connections a pool thread owns.
    pub fn busy(&self) -> usize {
        self.busy
    }

    /// Slots in use or free: tokens are below this.
    pub fn slots(&self) -> usize {
        self.entries.len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Store a new connection's entry; returns its token.
    pub fn insert(&mut self, entry: Entry) -> usize {
        self.note(entry.deadline());
        self.live += 1;
        self.busy += usize::from(entry.is_busy());
        if self.free != NONE {
            let token = self.free;
            if let Entry::Free(next) = std::mem::replace(&mut self.entries[token], entry) {
                self.free = next;
            }
            return token;
        }
        self.entries.push(entry);
        self.entries.len() - 1
    }

    /// The entry of `token`, unless it is free.
    pub fn get_mut(&mut self, token: usize) -> Option<&mut Entry> {
        match self.entries.get_mut(token) {
            Some(Entry::Free(_)) | None => None,
            Some(entry) => Some(entry),
        }
    }

    /// Replace a live entry (e.g. `Reading` → `Busy`); returns the old one.
    pub fn set(&mut self, token: usize, entry: Entry) -> Option<Entry> {
        let deadline = entry.deadline();
        let slot = self.entries.get_mut(token)?;
        if matches!(slot, Entry::Free(_)) {
            return None;
        }
        self.busy += usize::from(entry.is_busy());
        let old = std::mem::replace(slot, entry);
        self.busy -= usize::from(old.is_busy());
        self.note(deadline);
        Some(old)
    }

    /// Free a slot; returns what it held (dropping a socket closes it).
    pub fn remove(&mut self, token: usize) -> Option<Entry> {
        let slot = self.entries.get_mut(token)?;
        if matches!(slot, Entry::Free(_)) {
            return None;
        }
        let old = std::mem::replace(slot, Entry::Free(self.free));
        self.free = token;
        self.live -= 1;
        self.busy -= usize::from(old.is_busy());
        Some(old)
    }

    /// A deadline was set or moved earlier.
    pub fn note(&mut self, deadline: Option<Instant>) {
        if let Some(d) = deadline {
            if self.earliest.is_none_or(|e| d < e) {
                self.earliest = Some(d);
            }
        }
    }

    /// The earliest deadline that may be pending (possibly already moved later).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.earliest
    }

    /// Remove every entry whose deadline is at or before `now`, passing each to `expired`.
    pub fn expire(&mut self, now: Instant, mut expired: impl FnMut(usize, Entry)) {
        if self.earliest.is_none_or(|e| e > now) {
            return;
        }
        let mut earliest = None::<Instant>;
        for token in 0..self.entries.len() {
            match self.entries[token].deadline() {
                Some(d) if d <= now => {
                    if let Some(entry) = self.remove(token) {
                        expired(token, entry);
                    }
                }
                Some(d) if earliest.is_none_or(|e| d < e) => earliest = Some(d),
                Some(_) | None => {}
            }
        }
        self.earliest = earliest;
    }

    /// Remove every entry for which `pred` holds, passing each to `removed`.
    pub fn remove_where(&mut self, mut pred: impl FnMut(&Entry) -> bool, mut removed: impl FnMut(usize, Entry)) {
        for token in 0..self.entries.len() {
            if !matches!(self.entries[token], Entry::Free(_)) && pred(&self.entries[token]) {
                if let Some(entry) = self.remove(token) {
                    removed(token, entry);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn reading(deadline: Instant) -> Entry {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        Entry::Reading(Reading {
            sock: Socket::from(std::os::fd::OwnedFd::from(a)),
            tls: None,
            peer: Peer::Unix,
            buf: Vec::new(),
            deadline,
            started: false,
        })
    }

    #[test]
    fn slots_are_reused() {
        let now = Instant::now();
        let mut t = ConnTable::with_capacity(4);
        let a = t.insert(reading(now));
        let b = t.insert(Entry::Busy { pending: false });
        assert_eq!((a, b, t.len(), t.busy()), (0, 1, 2, 1));
        assert!(t.remove(a).is_some());
        assert!(t.remove(a).is_none());
        assert!(t.get_mut(a).is_none());
        assert_eq!(t.insert(Entry::Busy { pending: true }), a);
        assert_eq!((t.len(), t.busy()), (2, 2));
        assert!(t.set(b, reading(now)).is_some());
        assert_eq!(t.busy(), 1);
    }

    #[test]
    fn expiry_sweeps_only_past_deadlines() {
        let now = Instant::now();
        let mut t = ConnTable::with_capacity(4);
        let early = t.insert(reading(now + Duration::from_secs(1)));
        let late = t.insert(reading(now + Duration::from_secs(5)));
        let busy = t.insert(Entry::Busy { pending: false });
        assert_eq!(t.next_deadline(), Some(now + Duration::from_secs(1)));
        let mut gone = Vec::new();
        t.expire(now, |tok, _| gone.push(tok));
        assert!(gone.is_empty());
        t.expire(now + Duration::from_secs(2), |tok, _| gone.push(tok));
        assert_eq!(gone, vec![early]);
        assert_eq!(t.next_deadline(), Some(now + Duration::from_secs(5)));
        t.remove_where(|e| matches!(e, Entry::Busy { .. }), |tok, _| gone.push(tok));
        assert_eq!(gone, vec![early, busy]);
        assert_eq!(t.len(), 1);
        assert!(t.get_mut(late).is_some());
    }
}
