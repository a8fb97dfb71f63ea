//! `--request-timeout`: the per-request deadline of the gthread worker (off by default).
//!
//! Each pool thread has a slot that holds the request it is serving. The main thread, which
//! runs Python's signal handlers and the heartbeat anyway, looks at the slots a few times a
//! second; for a request past its deadline it hands the response over to itself (see
//! [`super::transport`]: a 504 if the app had sent nothing, else just a closed connection) and
//! logs the Python stack of the thread that is still running the app. The thread itself cannot
//! be stopped; it finishes when the app returns, and its connection is closed then.
//!
//! The slot's mutex is never held while Python runs on the same thread: a pool thread takes it
//! with the GIL held, so the main thread must not wait for the GIL while holding it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::transport::ConnTransport;
use crate::http::RequestHead;

struct InFlight {
    transport: Arc<ConnTransport>,
    started: Instant,
    request: String,
    fired: bool,
}

#[derive(Default)]
struct Slot {
    /// The pool thread's Python thread id (`threading.get_ident()`).
    ident: AtomicU64,
    current: Mutex<Option<InFlight>>,
}

/// The request deadlines of one worker's pool.
pub struct Watchdog {
    timeout: Option<Duration>,
    slots: Box<[Slot]>,
}

/// A request that ran out of time, to be reported with its thread's stack.
struct Fired {
    ident: u64,
    request: String,
    elapsed: Duration,
    answered: bool,
}

fn lock(slot: &Slot) -> MutexGuard<'_, Option<InFlight>> {
    slot.current.lock().unwrap_or_else(|p| p.into_inner())
}

impl Watchdog {
    /// Slots for `threads` pool threads; `timeout` None disables the whole mechanism.
    pub fn new(threads: usize, timeout: Option<Duration>) -> Self {
        Watchdog { timeout, slots: (0..threads).map(|_| Slot::default()).collect() }
    }

    /// How often the main thread should call [`Watchdog::check`].
    pub fn tick(&self) -> Option<Duration> {
        self.timeout.map(|t| (t / 10).clamp(Duration::from_millis(20), Duration::from_millis(200)))
    }

    /// Record the calling pool thread's id (call once, from the pool thread `index`).
    pub fn register_thread(&self, index: usize) {
        if let Some(slot) = self.slots.get(index) {
            // SAFETY: pthread_self has no preconditions. CPython's thread ident is this value.
            let ident = unsafe { libc::pthread_self() } as u64;
            slot.ident.store(ident, Ordering::Relaxed);
        }
    }

    /// Pool thread `index` starts serving `head` over `transport`.
    pub fn begin(&self, index: usize, transport: &Arc<ConnTransport>, head: &RequestHead) {
        if self.timeout.is_none() {
            return;
        }
        if let Some(slot) = self.slots.get(index) {
            *lock(slot) = Some(InFlight {
                transport: transport.clone(),
                started: Instant::now(),
                request: format!("{} {}", head.method, head.uri),
                fired: false,
            });
        }
    }

    /// Pool thread `index` is done with its request (drops the watchdog's hold on it).
    pub fn end(&self, index: usize) {
        if self.timeout.is_none() {
            return;
        }
        if let Some(slot) = self.slots.get(index) {
            lock(slot).take();
        }
    }

    /// Time out every request past the deadline and log where its thread is (main thread).
    pub fn check(&self, py: Python<'_>) {
        let Some(timeout) = self.timeout else { return };
        let now = Instant::now();
        let mut fired = Vec::new();
        for slot in self.slots.iter() {
            let mut current = lock(slot);
            if let Some(req) = current.as_mut().filter(|r| !r.fired && now.duration_since(r.started) >= timeout) {
                req.fired = true;
                let answered = req.transport.time_out();
                fired.push(Fired {
                    ident: slot.ident.load(Ordering::Relaxed),
                    request: std::mem::take(&mut req.request),
                    elapsed: now.duration_since(req.started),
                    answered,
                });
            }
        }
        for f in fired {
            let what = if f.answered { "answered 504" } else { "closed the connection (the response had started)" };
            let stack = thread_stack(py, f.ident).unwrap_or_else(|e| format!("(stack unavailable: {e})\n"));
            crate::error!(
                "Request timeout ({:.1}s): {} on thread {}; {what}. The app is still running it at:\n{}",
                f.elapsed.as_secs_f64(),
                f.request,
                f.ident,
                stack.trim_end()
            );
        }
    }
}

/// The Python stack of thread `ident`, formatted as `traceback.format_stack` does.
fn thread_stack(py: Python<'_>, ident: u64) -> PyResult<String> {
    let frames = py.import("sys")?.call_method0("_current_frames")?;
    let Some(frame) = frames.call_method1("get", (ident,)).ok().filter(|f| !f.is_none()) else {
        return Ok("(the thread is not running Python code)\n".to_string());
    };
    let lines = py.import("traceback")?.call_method1("format_stack", (frame,))?;
    let text = PyString::new(py, "").call_method1("join", (lines,))?;
    text.extract()
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::Socket;
    use std::io::Read;

    #[test]
    fn disabled_watchdog_holds_nothing() {
        let w = Watchdog::new(2, None);
        assert!(w.tick().is_none());
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let t = Arc::new(ConnTransport::new(Socket::from(std::os::fd::OwnedFd::from(a)), None, None, None));
        let head = crate::http::parse_request_head(b"GET /x HTTP/1.1\r\n\r\n", &crate::http::Limits::default())
            .expect("valid")
            .expect("complete");
        w.begin(0, &t, &head);
        assert_eq!(Arc::strong_count(&t), 1);
    }

    #[test]
    fn late_request_gets_504_once() {
        Python::initialize();
        let w = Watchdog::new(1, Some(Duration::from_millis(10)));
        w.register_thread(0);
        let (a, mut b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        a.set_nonblocking(true).expect("nonblocking");
        let t = Arc::new(ConnTransport::new(Socket::from(std::os::fd::OwnedFd::from(a)), None, None, None));
        let head = crate::http::parse_request_head(b"GET /slow HTTP/1.1\r\n\r\n", &crate::http::Limits::default())
            .expect("valid")
            .expect("complete");
        w.begin(0, &t, &head);
        Python::attach(|py| {
            w.check(py);
            assert!(!t.timed_out());
            std::thread::sleep(Duration::from_millis(20));
            w.check(py);
            w.check(py);
        });
        assert!(t.timed_out());
        w.end(0);
        assert_eq!(Arc::strong_count(&t), 1);
        let mut got = Vec::new();
        b.read_to_end(&mut got).expect("read");
        assert_eq!(got.windows(3).filter(|w| w == b"504").count(), 1, "{got:?}");
    }
}
