//! Worker processes: boot (signals, environment, app import), then the accept loop of the chosen
//! worker class. Everything here runs in the forked child.

pub mod conn;
pub mod gevent;
pub mod gthread;
pub mod heartbeat;
pub mod object;
pub mod plugin;
pub mod process;
pub mod signals;
pub mod sync;
pub mod transport;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use crate::app::load_configured;
use crate::config::{Config, WorkerClass};
use crate::errors::{APP_LOAD_ERROR, WORKER_BOOT_ERROR};
use crate::sock::Listener;
use crate::wsgi::environ::{ForwardedAllow, ServerInfo};
use crate::wsgi::ServeOptions;
use conn::ConnContext;
use heartbeat::Heartbeat;

pub use object::{WorkerFlags, WorkerObject};

/// The running state of a worker process.
pub struct WorkerState {
    /// This process.
    pub pid: u32,
    /// The master that forked us; if our parent changes, the master died.
    pub ppid: u32,
    /// Beats read by the master.
    pub heartbeat: Arc<Heartbeat>,
    /// Flags flipped by signals.
    pub flags: Arc<WorkerFlags>,
    /// How to serve a connection.
    pub conn: ConnContext,
    timeout: u64,
    max_requests: u64,
    /// `--graceful-timeout`: how long a TERM'd worker may keep serving what is queued.
    pub graceful_timeout: Duration,
}

impl WorkerState {
    /// Whether the worker should keep accepting.
    pub fn is_alive(&self) -> bool {
        self.flags.alive.load(Ordering::Relaxed)
    }

    /// The master died and we were re-parented.
    pub fn parent_changed(&self) -> bool {
        std::os::unix::process::parent_id() != self.ppid
    }

    /// How long an idle loop may block before beating again: half the timeout, at most a second,
    /// so that TERM, master death and the heartbeat are all noticed promptly.
    pub fn poll_interval_ms(&self) -> u16 {
        if self.timeout == 0 {
            1000
        } else {
            (self.timeout * 500).clamp(50, 1000) as u16
        }
    }

    /// Count served requests; past `--max-requests` the worker retires gracefully.
    pub fn count_requests(&self, n: u64) {
        let total = self.flags.requests.fetch_add(n, Ordering::Relaxed) + n;
        if self.max_requests > 0 && total >= self.max_requests && self.is_alive() {
            crate::info!("Autorestarting worker after current request.");
            self.flags.alive.store(false, Ordering::Relaxed);
        }
    }
}

/// What the master hands to a freshly forked worker.
pub struct WorkerBoot<'a> {
    /// The configuration.
    pub cfg: &'a Config,
    /// Inherited listening sockets.
    pub listeners: &'a [Listener],
    /// This worker's heartbeat page.
    pub heartbeat: Arc<Heartbeat>,
    /// The master's pid.
    pub ppid: u32,
    /// The worker's age (spawn order), as gunicorn's `worker.age`.
    pub age: u64,
    /// The app, when `--preload` imported it in the master.
    pub preloaded: Option<Py<PyAny>>,
    /// The `worker` object hooks and signal handlers see.
    pub object: Py<WorkerObject>,
    /// The config file's hooks.
    pub hooks: &'a crate::config::hooks::Hooks,
    /// The TLS configuration the master built (sync and gthread workers).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The instance of a plug-in worker class the master built before forking.
    pub plugin: Option<Py<PyAny>>,
}

/// Run a worker to completion and return its exit code. Never returns into master code paths:
/// the caller `_exit`s with the result.
pub fn run_worker(py: Python<'_>, boot: WorkerBoot<'_>) -> i32 {
    let worker = boot.object.bind(py).clone();
    let flags = worker.get().flags.clone();
    let pid = std::process::id();
    crate::info!("Booting worker with pid: {pid}");
    if let Some(instance) = &boot.plugin {
        let code = plugin::run(py, boot.cfg, instance.bind(py));
        crate::info!("Worker exiting (pid: {pid})");
        return code;
    }
    // gevent must patch the standard library before the app, or anything else, imports it; and
    // before -u/-g, as gunicorn, since patching imports modules the new user may not read.
    if boot.cfg.effective_worker_class() == WorkerClass::Gevent {
        if let Err(err) = gevent::patch(py) {
            crate::error!("Exception in worker process:\n{}", crate::errors::format_traceback(py, &err));
            return WORKER_BOOT_ERROR;
        }
    }
    if let Err(err) = process::become_worker(boot.cfg) {
        crate::error!("Cannot set up the worker process: {err}");
        return WORKER_BOOT_ERROR;
    }
    if let Err(err) = signals::install(py, &worker) {
        crate::error!("Exception in worker process:\n{}", crate::errors::format_traceback(py, &err));
        return WORKER_BOOT_ERROR;
    }
    for pair in &boot.cfg.raw_env {
        if let Some((key, value)) = pair.split_once('=') {
            let set = py.import("os").and_then(|os| os.getattr("environ")?.set_item(key, value));
            if let Err(err) = set {
                crate::error!("Cannot set environment variable {key}: {err}");
            }
        }
    }
    let mut reloader = crate::reload::Reloader::from_config(boot.cfg);
    if reloader.is_some() {
        crate::warning!("Reloader is on. Use in development only!");
    }
    let app = match boot.preloaded.as_ref().map(|a| a.clone_ref(py)) {
        Some(app) => app,
        None => match load_configured(py, boot.cfg) {
            Ok(app) => app,
            Err(err) if err.exit_code.is_some() => return err.exit_code.unwrap_or(0),
            Err(err) => {
                if let Some(tb) = &err.traceback {
                    crate::error!("Exception in worker process:\n{}", tb.trim_end());
                }
                crate::error!("{}", err.message);
                match reloader.as_mut().and_then(|r| r.serve_failure(py, err)) {
                    Some(fail_app) => fail_app,
                    None => return APP_LOAD_ERROR,
                }
            }
        },
    };
    if let Some(reloader) = reloader {
        reloader.start(py, worker.clone().into_any().unbind(), boot.hooks.get(py, "worker_int").map(Bound::unbind));
    }
    if let Err(err) = boot.hooks.call(py, "post_worker_init", (worker.clone(),)) {
        crate::info!("post_worker_init ended the worker: {err}");
        return 0;
    }
    let state = match build_state(py, &boot, app, flags, pid) {
        Ok(state) => Arc::new(state),
        Err(err) => {
            crate::error!("Exception in worker process:\n{}", crate::errors::format_traceback(py, &err));
            return WORKER_BOOT_ERROR;
        }
    };
    let result = match boot.cfg.effective_worker_class() {
        WorkerClass::Sync => sync::run(py, &state, boot.listeners),
        WorkerClass::Gthread => gthread::run(py, &state, boot.listeners, boot.cfg),
        WorkerClass::Gevent => gevent::run(py, &state, boot.listeners, boot.cfg, worker.as_any()),
        WorkerClass::Plugin => Err(pyo3::exceptions::PyRuntimeError::new_err("the worker class was not loaded")),
    };
    let code = match result {
        Ok(()) => 0,
        Err(err) if err.is_instance_of::<pyo3::exceptions::PySystemExit>(py) => {
            err.value(py).getattr("code").ok().and_then(|c| c.extract::<i32>().ok()).unwrap_or(0)
        }
        Err(err) => {
            crate::error!("Exception in worker process:\n{}", crate::errors::format_traceback(py, &err));
            1
        }
    };
    crate::info!("Worker exiting (pid: {pid})");
    code
}

fn build_state(
    py: Python<'_>,
    boot: &WorkerBoot<'_>,
    app: Py<PyAny>,
    flags: Arc<WorkerFlags>,
    pid: u32,
) -> PyResult<WorkerState> {
    let cfg = boot.cfg;
    let listen = boot
        .listeners
        .first()
        .map(|l| l.local.clone())
        .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no listeners"))?;
    let info = ServerInfo::new(
        py,
        listen,
        cfg.multiprocess(),
        cfg.effective_worker_class() != WorkerClass::Sync,
        cfg.tls.enabled(),
        ForwardedAllow::from_list(&cfg.forwarded_allow_ips),
        cfg.secure_scheme_headers.clone(),
    )?;
    let keep_alive = cfg.effective_worker_class() != WorkerClass::Sync && cfg.keepalive > 0;
    // A sync worker killed by the master at `timeout` cannot wait that long for a slow client.
    let head_secs = if cfg.timeout > 0 { (cfg.timeout / 2).clamp(1, cfg.header_timeout) } else { cfg.header_timeout };
    let conn = ConnContext {
        app,
        info,
        opts: ServeOptions { keep_alive, sendfile: cfg.sendfile, hooks: request_hooks(py, boot) },
        limits: cfg.limits.clone(),
        head_timeout: Duration::from_secs(head_secs),
        send_timeout: (cfg.timeout > 0).then(|| Duration::from_secs(cfg.timeout)),
        keepalive_timeout: Duration::from_secs(cfg.keepalive.max(1)),
        tls: boot.tls.clone(),
        suppress_ragged_eofs: cfg.tls.suppress_ragged_eofs,
    };
    let max_requests = if cfg.max_requests > 0 { cfg.max_requests + jitter(cfg.max_requests_jitter) } else { 0 };
    Ok(WorkerState {
        pid,
        ppid: boot.ppid,
        heartbeat: boot.heartbeat.clone(),
        flags,
        conn,
        timeout: cfg.timeout,
        graceful_timeout: Duration::from_secs(cfg.graceful_timeout),
        max_requests,
    })
}

/// `pre_request` / `post_request` with this worker's object, if the config file defines either.
fn request_hooks(py: Python<'_>, boot: &WorkerBoot<'_>) -> Option<Arc<crate::wsgi::request_hooks::RequestHooks>> {
    let pre = boot.hooks.get(py, "pre_request").map(Bound::unbind);
    let post = boot.hooks.get(py, "post_request").map(Bound::unbind);
    (pre.is_some() || post.is_some()).then(|| {
        Arc::new(crate::wsgi::request_hooks::RequestHooks { worker: boot.object.clone_ref(py).into_any(), pre, post })
    })
}

/// A random number in `0..=max`, so that workers do not all restart together.
fn jitter(max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let seed = heartbeat::monotonic_ms() ^ (u64::from(std::process::id()) << 32);
    // One round of splitmix64 is plenty for spreading restarts.
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % (max + 1)
}
