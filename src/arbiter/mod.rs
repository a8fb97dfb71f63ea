//! The master: forks workers, reaps them, replaces the dead, kills the hung, and obeys signals.
//! It never touches a client socket.

pub mod signals;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use pyo3::prelude::*;
use signal_hook::consts::signal::*;

use crate::config::Config;
use crate::errors::{APP_LOAD_ERROR, WORKER_BOOT_ERROR};
use crate::sock::Listener;
use crate::worker::heartbeat::Heartbeat;
use crate::worker::{run_worker, WorkerBoot};
use signals::{signal_name, SignalQueue, MASTER_SIGNALS};

/// What the master knows about one worker.
struct WorkerSlot {
    age: u64,
    heartbeat: Arc<Heartbeat>,
    /// How far the timeout kill has gone.
    timeout_kill: Option<(KillStep, Instant)>,
}

/// A hung worker is killed in steps, so that the log shows where it hung before it dies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillStep {
    /// Asked to dump every thread's stack (works even when stuck in C code).
    Dumped,
    /// Sent SIGABRT (runs `worker_abort` and exits, if Python can still run).
    Aborted,
}

/// Pause between the steps of a timeout kill.
const DUMP_GRACE: Duration = Duration::from_millis(300);
const ABORT_GRACE: Duration = Duration::from_secs(1);

/// Why the master stops.
enum Halt {
    /// A requested stop: exit 0.
    Requested,
    /// A worker could not boot or load the app: exit with its code and say why.
    Failed { reason: &'static str, code: i32 },
}

/// The master process.
pub struct Arbiter {
    cfg: Config,
    listeners: Vec<Listener>,
    workers: BTreeMap<i32, WorkerSlot>,
    num_workers: usize,
    worker_age: u64,
    signals: SignalQueue,
    preloaded: Option<Py<PyAny>>,
    pid: u32,
}

impl Arbiter {
    /// A master for `cfg` over bound `listeners`.
    pub fn new(cfg: Config, listeners: Vec<Listener>, preloaded: Option<Py<PyAny>>) -> std::io::Result<Arbiter> {
        let signals = SignalQueue::install(MASTER_SIGNALS)?;
        Ok(Arbiter {
            num_workers: cfg.workers,
            cfg,
            listeners,
            workers: BTreeMap::new(),
            worker_age: 0,
            signals,
            preloaded,
            pid: std::process::id(),
        })
    }

    /// Run until stopped; returns the process exit code.
    pub fn run(mut self, py: Python<'_>) -> i32 {
        crate::info!("Starting rgunicorn {}", env!("CARGO_PKG_VERSION"));
        for l in &self.listeners {
            crate::info!("Listening at: {} ({})", l.local, self.pid);
        }
        crate::info!("Using worker: {}", self.cfg.effective_worker_class().as_str());
        let halt = self.main_loop(py);
        let code = match halt {
            Halt::Requested => {
                self.stop(py, true);
                0
            }
            Halt::Failed { reason, code } => {
                self.stop(py, false);
                crate::info!("Reason: {reason}");
                code
            }
        };
        for l in &self.listeners {
            l.unlink();
        }
        crate::info!("Shutting down: Master");
        code
    }

    fn main_loop(&mut self, py: Python<'_>) -> Halt {
        if let Some(halt) = self.manage_workers(py) {
            return halt;
        }
        loop {
            let tick = self.tick_ms();
            let queued = py.detach(|| self.signals.wait(tick));
            for sig in queued {
                if sig != SIGCHLD {
                    crate::info!("Handling signal: {}", signal_name(sig));
                }
                match sig {
                    SIGCHLD => {}
                    SIGTERM => return Halt::Requested,
                    SIGINT | SIGQUIT => {
                        self.stop(py, false);
                        return Halt::Requested;
                    }
                    SIGTTIN => self.num_workers += 1,
                    SIGTTOU => self.num_workers = self.num_workers.saturating_sub(1).max(1),
                    SIGUSR1 => {
                        crate::logging::reopen_all();
                        self.kill_workers(Signal::SIGUSR1);
                    }
                    SIGHUP => self.reload(py),
                    SIGUSR2 => crate::warning!("USR2 (re-exec) is not supported yet; ignoring"),
                    SIGWINCH => crate::debug!("SIGWINCH ignored: not daemonized"),
                    _ => {}
                }
            }
            if let Some(halt) = self.reap_workers() {
                return halt;
            }
            self.murder_workers();
            if let Some(halt) = self.manage_workers(py) {
                return halt;
            }
        }
    }

    /// HUP: start fresh workers, then retire the old ones gracefully.
    fn reload(&mut self, py: Python<'_>) {
        let old: Vec<i32> = self.workers.keys().copied().collect();
        for _ in 0..self.num_workers {
            if self.spawn_worker(py).is_err() {
                return;
            }
        }
        for pid in old {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }

    /// Reap exited children; a worker that could not boot or load the app stops the server.
    fn reap_workers(&mut self) -> Option<Halt> {
        let mut halt = None;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, status)) => {
                    if self.workers.remove(&pid.as_raw()).is_none() {
                        continue; // an orphan we adopted as PID 1
                    }
                    if status == WORKER_BOOT_ERROR {
                        halt = Some(Halt::Failed { reason: "Worker failed to boot.", code: WORKER_BOOT_ERROR });
                    } else if status == APP_LOAD_ERROR {
                        halt = Some(Halt::Failed { reason: "App failed to load.", code: APP_LOAD_ERROR });
                    } else if status != 0 {
                        crate::error!("Worker (pid:{pid}) exited with code {status}");
                    }
                }
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    if self.workers.remove(&pid.as_raw()).is_none() {
                        continue;
                    }
                    if sig == Signal::SIGKILL {
                        crate::error!("Worker (pid:{pid}) was sent SIGKILL! Perhaps out of memory?");
                    } else if sig != Signal::SIGTERM && sig != Signal::SIGQUIT && sig != Signal::SIGINT {
                        crate::error!("Worker (pid:{pid}) was sent {}!", sig.as_str());
                    }
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {}
            }
        }
        halt
    }

    /// Kill workers whose heartbeat is older than `--timeout`: first the dump signal (every
    /// thread's stack goes to the error log), then SIGABRT, then SIGKILL if it is still there.
    fn murder_workers(&mut self) {
        if self.cfg.timeout == 0 {
            return;
        }
        let limit_ms = self.cfg.timeout * 1000;
        for (&pid, slot) in self.workers.iter_mut() {
            if slot.heartbeat.silent_for_ms() <= limit_ms {
                continue;
            }
            let target = Pid::from_raw(pid);
            match slot.timeout_kill {
                None => {
                    crate::critical!("WORKER TIMEOUT (pid:{pid}): its threads' stacks follow");
                    // SAFETY: kill(2) with a valid signal number has no memory-safety preconditions.
                    unsafe { libc::kill(pid, crate::worker::signals::dump_signal()) };
                    slot.timeout_kill = Some((KillStep::Dumped, Instant::now()));
                }
                Some((KillStep::Dumped, at)) if at.elapsed() >= DUMP_GRACE => {
                    let _ = kill(target, Signal::SIGABRT);
                    slot.timeout_kill = Some((KillStep::Aborted, Instant::now()));
                }
                Some((KillStep::Aborted, at)) if at.elapsed() >= ABORT_GRACE => {
                    let _ = kill(target, Signal::SIGKILL);
                }
                Some(_) => {}
            }
        }
    }

    /// How long the loop may sleep: short while a timeout kill is in progress.
    fn tick_ms(&self) -> u16 {
        if self.workers.values().any(|w| w.timeout_kill.is_some()) {
            100
        } else {
            1000
        }
    }

    /// Keep exactly `num_workers` workers: spawn the missing, retire the oldest extras.
    fn manage_workers(&mut self, py: Python<'_>) -> Option<Halt> {
        while self.workers.len() < self.num_workers {
            if let Err(e) = self.spawn_worker(py) {
                crate::error!("Cannot fork a worker: {e}");
                return Some(Halt::Failed { reason: "Worker failed to boot.", code: WORKER_BOOT_ERROR });
            }
        }
        if self.workers.len() > self.num_workers {
            let mut by_age: Vec<(u64, i32)> = self.workers.iter().map(|(&pid, s)| (s.age, pid)).collect();
            by_age.sort_unstable();
            for (_, pid) in by_age.iter().take(self.workers.len() - self.num_workers) {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGTERM);
            }
        }
        None
    }

    /// Fork one worker. The child never returns from here.
    fn spawn_worker(&mut self, py: Python<'_>) -> PyResult<()> {
        self.worker_age += 1;
        let heartbeat = Arc::new(Heartbeat::new(self.cfg.worker_tmp_dir.as_deref())?);
        // os.fork() runs CPython's and libraries' at-fork handlers, which a bare fork(2) would skip.
        let pid: i32 = py.import("os")?.call_method0("fork")?.extract()?;
        if pid == 0 {
            let boot = WorkerBoot {
                cfg: &self.cfg,
                listeners: &self.listeners,
                heartbeat,
                ppid: self.pid,
                age: self.worker_age,
                preloaded: self.preloaded.as_ref().map(|a| a.clone_ref(py)),
            };
            let code = run_worker(py, boot);
            exit_child(py, code);
        }
        self.workers.insert(pid, WorkerSlot { age: self.worker_age, heartbeat, timeout_kill: None });
        Ok(())
    }

    fn kill_workers(&self, sig: Signal) {
        for &pid in self.workers.keys() {
            let _ = kill(Pid::from_raw(pid), sig);
        }
    }

    /// Stop every worker: TERM and wait up to `--graceful-timeout` (graceful), or QUIT (quick);
    /// whatever is left then gets SIGKILL.
    fn stop(&mut self, py: Python<'_>, graceful: bool) {
        if self.workers.is_empty() {
            return;
        }
        let mut sig = if graceful { Signal::SIGTERM } else { Signal::SIGQUIT };
        self.kill_workers(sig);
        let deadline = Instant::now() + Duration::from_secs(self.cfg.graceful_timeout);
        while !self.workers.is_empty() && Instant::now() < deadline {
            let queued = py.detach(|| self.signals.wait(100));
            if sig == Signal::SIGTERM && queued.iter().any(|&s| s == SIGINT || s == SIGQUIT) {
                sig = Signal::SIGQUIT;
                self.kill_workers(sig);
            }
            let _ = self.reap_workers();
        }
        self.kill_workers(Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.workers.is_empty() && Instant::now() < deadline {
            let _ = py.detach(|| self.signals.wait(100));
            let _ = self.reap_workers();
        }
    }
}

/// Leave a forked worker without unwinding into the master's Python caller.
fn exit_child(py: Python<'_>, code: i32) -> ! {
    if let Ok(sys) = py.import("sys") {
        for stream in ["stdout", "stderr"] {
            if let Ok(s) = sys.getattr(stream) {
                let _ = s.call_method0("flush");
            }
        }
    }
    // SAFETY: _exit ends the process at once; nothing after it runs.
    unsafe { libc::_exit(code) }
}
