//! The queue of requests waiting for a pool thread, and when to wake one.
//!
//! Waking a sleeping thread for every queued request is what a thread pool usually does, but
//! here every pool thread needs the GIL: a thread woken while another one runs Python only
//! queues for the GIL, and the two then trade it (and the CPU) back and forth, two context
//! switches a request. So a request is left for the thread that is already running when that
//! thread started its current request less than [`FRESH`] ago: it will be back for the next
//! one in moments, still holding the GIL. When a running thread stays longer (the app waits
//! for a database, a sleep, a slow client), it is probably not running Python, and the I/O
//! thread, which calls [`JobQueue::wake_if_stalled`] on every turn of its loop while such a
//! decision is pending, then wakes sleepers for everything that waits. A waiting request is
//! thus delayed by at most about a millisecond (the I/O thread's timer resolution), and only
//! when all running threads are busy with something else.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::handoff::{lock, Job};

/// A running thread that started its request this recently is expected back soon.
pub const FRESH: Duration = Duration::from_micros(200);

struct QueueState {
    jobs: VecDeque<Job>,
    /// Threads waiting in `wait_pop`.
    sleeping: usize,
    /// Of those, how many were already woken for a job and not yet running.
    woken: usize,
    closed: bool,
}

/// Requests waiting for a pool thread.
pub struct JobQueue {
    state: Mutex<QueueState>,
    ready: Condvar,
    /// Per pool thread: when its current request started (µs since `epoch`, never 0), or 0
    /// while it sleeps.
    busy_since: Box<[AtomicU64]>,
    epoch: Instant,
}

impl JobQueue {
    /// An empty queue for `threads` pool threads.
    pub fn new(threads: usize) -> Self {
        let state = QueueState { jobs: VecDeque::with_capacity(64), sleeping: 0, woken: 0, closed: false };
        JobQueue {
            state: Mutex::new(state),
            ready: Condvar::new(),
            busy_since: (0..threads).map(|_| AtomicU64::new(0)).collect(),
            epoch: Instant::now(),
        }
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX).saturating_add(1)
    }

    /// Whether some running thread started its request within [`FRESH`].
    fn someone_fresh(&self, now: u64) -> bool {
        let fresh = FRESH.as_micros() as u64;
        self.busy_since.iter().any(|s| {
            let since = s.load(Ordering::Relaxed);
            since != 0 && now.saturating_sub(since) < fresh
        })
    }

    /// Queue a request. Returns true when no thread was woken although one sleeps, because a
    /// running thread should take it: the caller must then call
    /// [`JobQueue::wake_if_stalled`] soon (and again while that returns true).
    pub fn push(&self, job: Job) -> bool {
        let now = self.now_us();
        let mut state = lock(&self.state);
        state.jobs.push_back(job);
        if state.sleeping <= state.woken {
            return false;
        }
        if self.someone_fresh(now) {
            return true;
        }
        state.woken += 1;
        drop(state);
        self.ready.notify_one();
        false
    }

    /// Wake sleepers for the waiting requests unless a running thread is still expected back
    /// soon. Returns true while that is the case (call again later).
    pub fn wake_if_stalled(&self) -> bool {
        let now = self.now_us();
        let mut state = lock(&self.state);
        let idle = state.sleeping.saturating_sub(state.woken);
        if state.jobs.is_empty() || idle == 0 {
            return false;
        }
        if self.someone_fresh(now) {
            return true;
        }
        let wake = idle.min(state.jobs.len());
        state.woken += wake;
        drop(state);
        for _ in 0..wake {
            self.ready.notify_one();
        }
        false
    }

    /// Pool thread `index` starts a request.
    pub fn started(&self, index: usize) {
        if let Some(s) = self.busy_since.get(index) {
            s.store(self.now_us(), Ordering::Relaxed);
        }
    }

    /// Take a request without waiting (a thread that just finished one tries this while it still
    /// holds the GIL, so that a busy worker does not pass the GIL around between requests).
    pub fn try_pop(&self) -> Option<Job> {
        lock(&self.state).jobs.pop_front()
    }

    /// Wait for a request as pool thread `index` (call with the GIL released). `None` once the
    /// queue is closed.
    pub fn wait_pop(&self, index: usize) -> Option<Job> {
        if let Some(s) = self.busy_since.get(index) {
            s.store(0, Ordering::Relaxed);
        }
        let mut state = lock(&self.state);
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state.sleeping += 1;
            state = self.ready.wait(state).unwrap_or_else(|p| p.into_inner());
            state.sleeping -= 1;
            state.woken = state.woken.saturating_sub(1);
        }
    }

    /// Requests waiting.
    pub fn len(&self) -> usize {
        lock(&self.state).jobs.len()
    }

    /// Whether no request is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wake every waiting thread and let them return `None` once the queue is empty.
    pub fn close(&self) {
        lock(&self.state).closed = true;
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::gthread::handoff::Conn;
    use crate::wsgi::environ::Peer;
    use socket2::Socket;
    use std::sync::Arc;

    fn job(token: usize) -> Job {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let head =
            crate::http::parse_request_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &crate::http::Limits::default())
                .expect("valid")
                .expect("complete");
        Job {
            conn: Conn { token, sock: Socket::from(std::os::fd::OwnedFd::from(a)), tls: None, peer: Peer::Unix },
            head,
            already: Vec::new(),
        }
    }

    fn wait_for_sleepers(q: &JobQueue, n: usize) {
        while lock(&q.state).sleeping < n {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn queue_is_fifo_and_wakes_sleepers() {
        let q = Arc::new(JobQueue::new(2));
        let q2 = q.clone();
        let waiter = std::thread::spawn(move || q2.wait_pop(1).map(|j| j.conn.token));
        wait_for_sleepers(&q, 1);
        assert!(!q.push(job(7)), "nobody runs: the sleeper is woken at once");
        assert_eq!(waiter.join().expect("join"), Some(7));
        assert!(!q.push(job(1)));
        assert!(!q.push(job(2)));
        assert_eq!(q.len(), 2);
        assert_eq!(q.try_pop().map(|j| j.conn.token), Some(1));
        assert_eq!(q.wait_pop(0).map(|j| j.conn.token), Some(2));
        assert!(q.try_pop().is_none());
    }

    #[test]
    fn a_fresh_runner_gets_the_job_and_a_stalled_one_does_not() {
        let q = Arc::new(JobQueue::new(2));
        let q2 = q.clone();
        let sleeper = std::thread::spawn(move || q2.wait_pop(1).map(|j| j.conn.token));
        wait_for_sleepers(&q, 1);
        q.started(0);
        assert!(q.push(job(3)), "thread 0 just started: leave the job for it");
        assert!(q.wake_if_stalled());
        std::thread::sleep(FRESH * 2);
        assert!(!q.wake_if_stalled(), "thread 0 is taking long: wake the sleeper");
        assert_eq!(sleeper.join().expect("join"), Some(3));
        assert!(!q.wake_if_stalled(), "nothing waits");
    }

    #[test]
    fn closing_releases_waiters() {
        let q = Arc::new(JobQueue::new(3));
        let waiters: Vec<_> = (0..3)
            .map(|i| {
                let q = q.clone();
                std::thread::spawn(move || q.wait_pop(i).is_none())
            })
            .collect();
        wait_for_sleepers(&q, 3);
        q.close();
        for w in waiters {
            assert!(w.join().expect("join"));
        }
    }
}
