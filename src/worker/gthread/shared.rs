//! The state every thread of a gthread worker sees: the queue to the pool, the channel back to
//! the I/O thread, and the stop flags. Kept apart from [`super::handoff`] so that the queue can
//! use the handoff's types without the handoff depending on the queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use pyo3::PyErr;

use super::handoff::{lock, BackChannel};
use super::queue::JobQueue;

/// The state every thread of a gthread worker sees.
pub struct Shared {
    /// Requests for the pool.
    pub jobs: JobQueue,
    /// Connections for the I/O thread.
    pub back: BackChannel,
    stopping: AtomicBool,
    paused: AtomicBool,
    io_done: AtomicBool,
    fatal: Mutex<Option<PyErr>>,
}

impl Shared {
    /// The shared state around a waker of the I/O thread's poller, for at most `max_tokens`
    /// connections and `threads` pool threads.
    pub fn new(waker: mio::Waker, max_tokens: usize, threads: usize) -> Self {
        Shared {
            jobs: JobQueue::new(threads),
            back: BackChannel::new(waker, max_tokens),
            stopping: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            io_done: AtomicBool::new(false),
            fatal: Mutex::new(None),
        }
    }

    /// Begin a graceful stop: no more accepting, no more keep-alive.
    pub fn stop(&self) {
        if !self.stopping.swap(true, Ordering::SeqCst) {
            self.back.wake();
        }
    }

    /// Whether a graceful stop has begun.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// The I/O thread stopped accepting at `--worker-connections` (a closed connection must
    /// be reported at once then).
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    /// Whether a connection that closes must wake the I/O thread: while it waits for free
    /// slots to accept again, or to finish a graceful stop.
    pub fn closing_is_urgent(&self) -> bool {
        self.paused.load(Ordering::Relaxed) || self.stopping.load(Ordering::Relaxed)
    }

    /// The I/O thread has closed every connection and exited.
    pub fn set_io_done(&self) {
        self.io_done.store(true, Ordering::SeqCst);
    }

    /// Whether the I/O thread has exited.
    pub fn io_done(&self) -> bool {
        self.io_done.load(Ordering::SeqCst)
    }

    /// A pool thread caught `SystemExit` or `KeyboardInterrupt` from the app: the main thread
    /// re-raises it and the worker exits, as gunicorn's gthread worker does.
    pub fn set_fatal(&self, err: PyErr) {
        let mut fatal = lock(&self.fatal);
        if fatal.is_none() {
            *fatal = Some(err);
        }
    }

    /// The error that must end the worker, if any.
    pub fn take_fatal(&self) -> Option<PyErr> {
        lock(&self.fatal).take()
    }
}
