//! The master: binds the listeners, forks workers, reaps them, replaces the dead, kills the
//! hung, reloads, re-execs, and obeys signals. It never touches a client socket.

pub mod pidfile;
pub mod reexec;
pub mod server_object;
pub mod signals;
pub mod systemd;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use signal_hook::consts::signal::*;

use crate::config::hooks::Hooks;
use crate::config::Config;
use crate::errors::{APP_LOAD_ERROR, WORKER_BOOT_ERROR};
use crate::sock::{BindAddr, BindOptions, Listener};
use crate::worker::heartbeat::Heartbeat;
use crate::worker::object::WorkerObject;
use crate::worker::{run_worker, WorkerBoot};
use pidfile::Pidfile;
use reexec::StartContext;
use server_object::ServerObject;
use signals::{signal_name, SignalQueue, MASTER_SIGNALS};

/// What the master knows about one worker.
struct WorkerSlot {
    age: u64,
    heartbeat: Arc<Heartbeat>,
    /// What hooks see as `worker`: the worker object, or the plug-in class's instance.
    object: Py<PyAny>,
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
    /// TERM: graceful stop, exit 0.
    Graceful,
    /// INT or QUIT: quick stop, exit 0.
    Quick,
    /// A worker could not boot or load the app: exit with its code and say why.
    Failed { reason: &'static str, code: i32 },
    /// The master could not start (bind, pidfile): exit 1.
    StartFailed(String),
}

/// The master process.
pub struct Arbiter {
    cfg: Config,
    hooks: Hooks,
    argv: Vec<String>,
    start_ctx: Option<StartContext>,
    listeners: Vec<Listener>,
    workers: BTreeMap<i32, WorkerSlot>,
    num_workers: usize,
    worker_age: u64,
    signals: SignalQueue,
    preloaded: Option<Py<PyAny>>,
    /// The TLS configuration workers inherit, rebuilt on HUP from the (maybe renewed) files.
    tls: Option<Arc<rustls::ServerConfig>>,
    pid: u32,
    server: Py<ServerObject>,
    log_object: Py<PyAny>,
    pidfile: Option<Pidfile>,
    /// The old master's pid while we are a re-exec'd master not yet promoted (gunicorn's `master_pid`).
    master_pid: u32,
    /// The new master we re-exec'd, while it runs.
    reexec_pid: i32,
}

impl Arbiter {
    /// A master for `cfg`; `argv` is kept to reload (HUP) and re-exec (USR2).
    pub fn new(
        py: Python<'_>,
        cfg: Config,
        hooks: Hooks,
        argv: Vec<String>,
        preloaded: Option<Py<PyAny>>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> PyResult<Arbiter> {
        let signals = SignalQueue::install(MASTER_SIGNALS)?;
        let pid = std::process::id();
        let log_object = Py::new(py, crate::logging::pylogger::PyLogger)?.into_any();
        let cfg_object = crate::config::view::config_object(py, &cfg, &hooks)?;
        let server = Py::new(py, ServerObject::new(py, pid, cfg_object, log_object.clone_ref(py), proc_name(&cfg)))?;
        let master_pid = std::env::var("GUNICORN_PID").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
        // SAFETY: the master is single-threaded here.
        unsafe { std::env::remove_var("GUNICORN_PID") };
        Ok(Arbiter {
            num_workers: 0,
            start_ctx: StartContext::capture(py, &argv).ok(),
            cfg,
            hooks,
            argv,
            listeners: Vec::new(),
            workers: BTreeMap::new(),
            worker_age: 0,
            signals,
            preloaded,
            tls,
            pid,
            server,
            log_object,
            pidfile: None,
            master_pid,
            reexec_pid: 0,
        })
    }

    /// Run until stopped; returns the process exit code.
    pub fn run(mut self, py: Python<'_>) -> i32 {
        crate::info!("Starting rgunicorn {}", env!("CARGO_PKG_VERSION"));
        let halt = match self.start(py) {
            Ok(()) => self.main_loop(py),
            Err(why) => Halt::StartFailed(why),
        };
        let code = match halt {
            Halt::Graceful => {
                self.stop(py, true);
                0
            }
            Halt::Quick => {
                self.stop(py, false);
                0
            }
            Halt::Failed { reason, code } => {
                self.stop(py, false);
                crate::info!("Reason: {reason}");
                code
            }
            Halt::StartFailed(why) => {
                crate::error!("{why}");
                1
            }
        };
        systemd::notify("STOPPING=1");
        self.call_hook(py, "on_exit", ());
        // A re-exec'd master shares the listeners: only the last one out removes unix sockets.
        if self.reexec_pid == 0 && self.master_pid == 0 {
            for l in &self.listeners {
                l.unlink();
            }
        }
        if let Some(pf) = &self.pidfile {
            pf.unlink();
        }
        crate::info!("Shutting down: Master");
        code
    }

    fn start(&mut self, py: Python<'_>) -> Result<(), String> {
        // gunicorn sets num_workers in Arbiter.setup(), so nworkers_changed fires first of all and
        // on_starting and when_ready already see server.num_workers.
        self.set_num_workers(py, self.cfg.workers);
        self.call_hook(py, "on_starting", ());
        if let Some(path) = self.cfg.get_pidfile() {
            let path = if self.master_pid != 0 { PathBuf::from(format!("{}.2", path.display())) } else { path };
            self.pidfile = Some(Pidfile::create(&path, self.pid).map_err(|e| format!("Cannot write pidfile: {e}"))?);
        }
        self.listeners = bind_listeners(&self.cfg)?;
        self.publish_listeners(py);
        set_proc_title(py, &format!("master [{}]", proc_name(&self.cfg)));
        self.log_listening();
        crate::info!("Using worker: {}", self.cfg.worker_class_str());
        systemd::notify("READY=1\nSTATUS=rgunicorn arbiter booted");
        self.call_hook(py, "when_ready", ());
        Ok(())
    }

    fn publish_listeners(&self, py: Python<'_>) {
        let items: Vec<(i32, String)> = self.listeners.iter().map(|l| (l.fd(), l.local.to_string())).collect();
        if let Err(e) = self.server.get().set_listeners(py, &items) {
            crate::debug!("Cannot publish listeners to hooks: {e}");
        }
    }

    fn call_hook<'py>(&self, py: Python<'py>, name: &str, extra: impl CallExtra<'py>) {
        if !self.hooks.has(name) {
            return;
        }
        let args = extra.with_server(self.server.bind(py).clone().into_any());
        if let Err(err) = self.hooks.call(py, name, args) {
            crate::error!("{name} hook raised SystemExit: {err}");
        }
    }

    /// gunicorn's `num_workers` setter: every change fires `nworkers_changed(server, new, old)`.
    fn set_num_workers(&mut self, py: Python<'_>, n: usize) {
        let old = if self.num_workers == 0 { None } else { Some(self.num_workers) };
        self.num_workers = n;
        self.server.get().set_num_workers(n);
        self.call_hook(py, "nworkers_changed", (n, old));
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
                    SIGTERM => return Halt::Graceful,
                    SIGINT | SIGQUIT => return Halt::Quick,
                    SIGTTIN => self.set_num_workers(py, self.num_workers + 1),
                    SIGTTOU if self.num_workers > 1 => self.set_num_workers(py, self.num_workers - 1),
                    SIGTTOU => {}
                    SIGUSR1 => {
                        crate::logging::reopen_all();
                        self.kill_workers(Signal::SIGUSR1);
                    }
                    SIGHUP => self.reload(py),
                    SIGUSR2 => self.reexec(py),
                    SIGWINCH => {
                        if self.cfg.daemon {
                            crate::info!("graceful stop of workers");
                            self.set_num_workers(py, 0);
                            self.kill_workers(Signal::SIGTERM);
                        } else {
                            crate::debug!("SIGWINCH ignored. Not daemonized");
                        }
                    }
                    _ => {}
                }
            }
            if let Some(halt) = self.reap_workers(py) {
                return halt;
            }
            self.maybe_promote();
            self.murder_workers();
            if let Some(halt) = self.manage_workers(py) {
                return halt;
            }
        }
    }

    /// A re-exec'd master takes over once the old master is gone.
    fn maybe_promote(&mut self) {
        if self.master_pid != 0 && std::os::unix::process::parent_id() != self.master_pid {
            crate::info!("Master has been promoted.");
            self.master_pid = 0;
            if let (Some(pf), Some(path)) = (self.pidfile.as_mut(), self.cfg.get_pidfile()) {
                if let Err(e) = pf.rename(&path) {
                    crate::error!("Cannot rename the pidfile to {}: {e}", path.display());
                }
            }
        }
    }

    /// USR2: fork and exec a new master that inherits the listeners.
    fn reexec(&mut self, py: Python<'_>) {
        if self.reexec_pid != 0 {
            crate::warning!("USR2 signal ignored. Child exists.");
            return;
        }
        if self.master_pid != 0 {
            crate::warning!("USR2 signal ignored. Parent exists.");
            return;
        }
        let Some(ctx) = &self.start_ctx else {
            crate::error!("USR2: cannot re-exec, the start context is unknown");
            return;
        };
        let forked: PyResult<i32> = py.import("os").and_then(|os| os.call_method0("fork")?.extract());
        match forked {
            Ok(0) => {
                self.call_hook(py, "pre_exec", ());
                let fds: Vec<i32> = self.listeners.iter().map(|l| l.fd()).collect();
                let err = reexec::exec_new_master(py, ctx, &fds, self.pid);
                crate::error!("Re-exec failed: {err}");
                exit_child(py, 1);
            }
            Ok(pid) => self.reexec_pid = pid,
            Err(e) => crate::error!("USR2: fork failed: {e}"),
        }
    }

    /// HUP: re-read the configuration, start fresh workers, retire the old ones gracefully.
    fn reload(&mut self, py: Python<'_>) {
        match crate::config::sources::resolve(py, &self.argv, crate::config::Environment::current()) {
            Ok(crate::config::sources::Invocation::Serve(cfg, hooks)) => {
                let rebind = cfg.bind != self.cfg.bind;
                self.cfg = *cfg;
                self.hooks = hooks;
                let level = crate::logging::Level::from_name(&self.cfg.loglevel).unwrap_or(crate::logging::Level::Info);
                if let Err(e) = crate::logging::configure(level, &self.cfg.errorlog) {
                    crate::error!("Cannot reopen the error log after reload: {e}");
                }
                self.reload_tls();
                if self.cfg.effective_worker_class() == crate::config::WorkerClass::Plugin {
                    if let Err(why) = crate::worker::plugin::prepare(py, &self.cfg, &self.hooks) {
                        crate::error!("Reload cannot use the worker class: {why}");
                    }
                }
                if let Ok(cfg_object) = crate::config::view::config_object(py, &self.cfg, &self.hooks) {
                    self.server.get().set_cfg(cfg_object);
                }
                if rebind {
                    match bind_listeners(&self.cfg) {
                        Ok(new) => {
                            for old in &self.listeners {
                                old.unlink();
                            }
                            self.listeners = new;
                            self.publish_listeners(py);
                            self.log_listening();
                        }
                        Err(e) => crate::error!("Reload kept the old listeners: {e}"),
                    }
                }
            }
            Ok(_) => {}
            Err(e) => crate::error!("Reload failed, keeping the running configuration: {e}"),
        }
        self.call_hook(py, "on_reload", ());
        let old: Vec<i32> = self.workers.keys().copied().collect();
        if self.cfg.workers != self.num_workers {
            self.set_num_workers(py, self.cfg.workers);
        }
        for _ in 0..self.num_workers {
            if let Err(e) = self.spawn_worker(py) {
                crate::error!("Cannot start a worker: {e}");
                break;
            }
        }
        for pid in old {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }

    fn log_listening(&self) {
        for l in &self.listeners {
            let shown = l.local.to_string();
            // As gunicorn: the scheme says whether the listener speaks TLS.
            let shown = if self.cfg.tls.enabled() { shown.replacen("http://", "https://", 1) } else { shown };
            crate::info!("Listening at: {shown} ({})", self.pid);
        }
    }

    /// Re-read the certificates and keys (a renewed certificate needs only a HUP). If the new
    /// files do not load, the workers keep serving the previous ones and the log says why.
    fn reload_tls(&mut self) {
        match crate::tls::rustls_config(&self.cfg) {
            Ok(tls) => self.tls = tls,
            Err(e) if self.tls.is_some() => crate::error!("Reload kept the previous TLS certificate: {e}"),
            Err(e) => crate::error!("Reload cannot enable TLS: {e}"),
        }
    }

    /// Reap exited children; a worker that could not boot or load the app stops the server.
    fn reap_workers(&mut self, py: Python<'_>) -> Option<Halt> {
        let mut halt = None;
        loop {
            let (pid, status) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid.as_raw(), Ok(code)),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid.as_raw(), Err(sig)),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            };
            if pid == self.reexec_pid {
                self.reexec_pid = 0;
                continue;
            }
            let Some(slot) = self.workers.remove(&pid) else { continue }; // an orphan we adopted as PID 1
            let _ = self.server.get().workers(py).del_item(pid);
            match status {
                Ok(WORKER_BOOT_ERROR) => {
                    halt = Some(Halt::Failed { reason: "Worker failed to boot.", code: WORKER_BOOT_ERROR })
                }
                Ok(APP_LOAD_ERROR) => halt = Some(Halt::Failed { reason: "App failed to load.", code: APP_LOAD_ERROR }),
                Ok(0) => {}
                Ok(code) => crate::error!("Worker (pid:{pid}) exited with code {code}"),
                Err(Signal::SIGKILL) => crate::error!("Worker (pid:{pid}) was sent SIGKILL! Perhaps out of memory?"),
                Err(Signal::SIGTERM | Signal::SIGQUIT | Signal::SIGINT) => {}
                Err(sig) => crate::error!("Worker (pid:{pid}) was sent {}!", sig.as_str()),
            }
            self.call_hook(py, "child_exit", (slot.object.clone_ref(py),));
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
        crate::logging::statsd::workers(self.workers.len());
        while self.workers.len() < self.num_workers {
            if let Err(e) = self.spawn_worker(py) {
                crate::error!("Cannot start a worker: {e}");
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
        let object = Py::new(
            py,
            WorkerObject::new(
                heartbeat.clone(),
                self.worker_age,
                self.pid,
                self.server.get().cfg_object(py),
                self.log_object.clone_ref(py),
                self.hooks.get(py, "worker_int").map(Bound::unbind),
                self.hooks.get(py, "worker_abort").map(Bound::unbind),
            ),
        )?;
        let plugin = if self.cfg.effective_worker_class() == crate::config::WorkerClass::Plugin {
            let built = crate::worker::plugin::construct(
                py,
                &self.cfg,
                heartbeat.clone(),
                self.worker_age,
                self.pid,
                &self.listeners,
                self.preloaded.as_ref(),
            )?;
            Some(built)
        } else {
            None
        };
        let hook_object = plugin.as_ref().map_or_else(|| object.clone_ref(py).into_any(), |p| p.clone_ref(py));
        self.call_hook(py, "pre_fork", (hook_object.clone_ref(py),));
        // os.fork() runs CPython's and libraries' at-fork handlers, which a bare fork(2) would skip.
        let blocked = SignalQueue::block()?;
        let forked = py.import("os").and_then(|os| os.call_method0("fork")).and_then(|pid| pid.extract::<i32>());
        let pid = match forked {
            Ok(pid) => pid,
            Err(e) => {
                blocked.restore();
                return Err(e);
            }
        };
        if pid == 0 {
            self.signals.forget_in_child();
            blocked.restore();
            object.get().set_pid(std::process::id());
            if let Some(instance) = &plugin {
                crate::worker::plugin::set_pid(instance.bind(py), std::process::id());
            }
            set_proc_title(py, &format!("worker [{}]", proc_name(&self.cfg)));
            self.call_hook(py, "post_fork", (hook_object.clone_ref(py),));
            let boot = WorkerBoot {
                cfg: &self.cfg,
                listeners: &self.listeners,
                heartbeat,
                ppid: self.pid,
                age: self.worker_age,
                preloaded: self.preloaded.as_ref().map(|a| a.clone_ref(py)),
                tls: self.tls.clone(),
                object: object.clone_ref(py),
                hooks: &self.hooks,
                plugin: plugin.as_ref().map(|p| p.clone_ref(py)),
            };
            let code = run_worker(py, boot);
            self.call_hook(py, "worker_exit", (hook_object.clone_ref(py),));
            exit_child(py, code);
        }
        blocked.restore();
        object.get().set_pid(pid as u32);
        if let Some(instance) = &plugin {
            crate::worker::plugin::set_pid(instance.bind(py), pid as u32);
        }
        let _ = self.server.get().workers(py).set_item(pid, hook_object.clone_ref(py));
        self.workers
            .insert(pid, WorkerSlot { age: self.worker_age, heartbeat, object: hook_object, timeout_kill: None });
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
            let _ = self.reap_workers(py);
        }
        self.kill_workers(Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.workers.is_empty() && Instant::now() < deadline {
            let _ = py.detach(|| self.signals.wait(100));
            let _ = self.reap_workers(py);
        }
    }
}

/// Hook arguments after the leading `server`.
trait CallExtra<'py> {
    /// `(server, *self)`.
    fn with_server(self, server: Bound<'py, PyAny>) -> Bound<'py, pyo3::types::PyTuple>;
}

impl<'py> CallExtra<'py> for () {
    fn with_server(self, server: Bound<'py, PyAny>) -> Bound<'py, pyo3::types::PyTuple> {
        pyo3::types::PyTuple::new(server.py(), [server]).expect("a one-element tuple")
    }
}

impl<'py, A: IntoPyObject<'py>> CallExtra<'py> for (A,) {
    fn with_server(self, server: Bound<'py, PyAny>) -> Bound<'py, pyo3::types::PyTuple> {
        let py = server.py();
        let a = self.0.into_bound_py_any(py).unwrap_or_else(|_| py.None().into_bound(py));
        pyo3::types::PyTuple::new(py, [server, a]).expect("a two-element tuple")
    }
}

impl<'py, A: IntoPyObject<'py>, B: IntoPyObject<'py>> CallExtra<'py> for (A, B) {
    fn with_server(self, server: Bound<'py, PyAny>) -> Bound<'py, pyo3::types::PyTuple> {
        let py = server.py();
        let a = self.0.into_bound_py_any(py).unwrap_or_else(|_| py.None().into_bound(py));
        let b = self.1.into_bound_py_any(py).unwrap_or_else(|_| py.None().into_bound(py));
        pyo3::types::PyTuple::new(py, [server, a, b]).expect("a three-element tuple")
    }
}

/// The listeners: sockets from systemd, from a re-exec'ing master, or bound from `--bind`.
fn bind_listeners(cfg: &Config) -> Result<Vec<Listener>, String> {
    let opts = BindOptions { backlog: cfg.backlog, reuse_port: cfg.reuse_port, umask: cfg.umask };
    let mut fds = systemd::listen_fds();
    if fds.is_empty() {
        fds = systemd::inherited_fds();
    }
    if !fds.is_empty() {
        return fds
            .into_iter()
            .map(|fd| Listener::bind(&BindAddr::Fd(fd), opts).map_err(|e| format!("Cannot use inherited fd {fd}: {e}")))
            .collect();
    }
    let mut listeners = Vec::new();
    for text in &cfg.bind {
        let addr = BindAddr::parse(text)?;
        listeners.push(Listener::bind(&addr, opts).map_err(|e| format!("Cannot bind {text}: {e}"))?);
    }
    Ok(listeners)
}

/// The name in process titles: `proc_name`, else the app (gunicorn's `default_proc_name`).
fn proc_name(cfg: &Config) -> String {
    cfg.proc_name.clone().or_else(|| cfg.wsgi_app()).unwrap_or_else(|| "rgunicorn".to_string())
}

/// `rgunicorn: master [name]` in `ps`, through the setproctitle package gunicorn also uses.
fn set_proc_title(py: Python<'_>, what: &str) {
    let title = format!("rgunicorn: {what}");
    if let Err(e) = py.import("setproctitle").and_then(|m| m.call_method1("setproctitle", (&title,))) {
        crate::debug!("Cannot set the process title: {e}");
    }
}

/// Leave a forked child without unwinding into the master's Python caller.
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
