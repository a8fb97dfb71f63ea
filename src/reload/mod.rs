//! `--reload`: a thread in each worker watches the imported modules and `reload_extra_files`;
//! on a change it logs which file, runs `worker_int` (as gunicorn) and stops the worker
//! gracefully, so the master forks a fresh one that imports the new code. While the app cannot
//! be imported the worker serves the traceback ([`fail_app`]) and watches the failing files too.

pub mod fail_app;
pub mod files;
pub mod inotify;
pub mod poll;

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::{kill, pthread_sigmask, SigSet, SigmaskHow, Signal};
use nix::unistd::Pid;
use pyo3::prelude::*;

use crate::app::AppLoadError;
use crate::config::Config;
use files::{watched_files, ExtraFiles};
use inotify::DirWatcher;
use poll::MtimePoller;

/// How often the poll engine stats the files, and how often the inotify engine re-reads
/// `sys.modules` for modules imported since (gunicorn: 1 s for both). Shorter than gunicorn's
/// poll so that an edit is served within 2 s including the new worker's import.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// How changes are detected (`reload_engine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Stat every file twice a second.
    Poll,
    /// The kernel's inotify on the files' directories (`auto` too: it falls back to polling when
    /// inotify is unavailable). gunicorn needs the `inotify` package for this; rgunicorn does not.
    Inotify,
}

impl Engine {
    fn from_setting(name: &str) -> Engine {
        if name == "poll" {
            Engine::Poll
        } else {
            Engine::Inotify
        }
    }
}

/// The reloader of one worker, before it starts.
pub struct Reloader {
    engine: Engine,
    extra: ExtraFiles,
}

/// What the thread calls when a file changed.
struct OnChange {
    worker: Py<PyAny>,
    worker_int: Option<Py<PyAny>>,
}

impl Reloader {
    /// The reloader `cfg` asks for, if `--reload` is on.
    pub fn from_config(cfg: &Config) -> Option<Reloader> {
        if !cfg.reload {
            return None;
        }
        let mut extra = ExtraFiles::from_setting(&cfg.reload_extra_files, std::path::Path::new(cfg.start_dir()));
        // The --paste ini is code too (pipelines, app settings); gunicorn does not watch it.
        if let Some(ini) = cfg.paste_file() {
            extra.literal.push(PathBuf::from(ini));
        }
        Some(Reloader { engine: Engine::from_setting(&cfg.reload_engine), extra })
    }

    /// As gunicorn under `--reload` (for a `SyntaxError`; here for any exception from the app's
    /// code): the app that serves `err`'s traceback until the fix, with the files the failure
    /// involved watched too, since a module that failed to import is not in `sys.modules`.
    /// None when the failure is not the app's code (a module or name that does not exist).
    pub fn serve_failure(&mut self, py: Python<'_>, err: AppLoadError) -> Option<Py<PyAny>> {
        if !err.in_app_code {
            return None;
        }
        self.extra.literal.extend(err.files);
        let text = err.traceback.unwrap_or(err.message);
        Py::new(py, fail_app::FailApp::new(&text)).ok().map(Py::into_any)
    }

    /// Take the first look now (so an edit made once the worker serves is never missed), then
    /// watch on a thread of its own.
    pub fn start(self, py: Python<'_>, worker: Py<PyAny>, worker_int: Option<Py<PyAny>>) {
        let files = watched_files(py, &self.extra);
        let mut detector = match self.engine {
            Engine::Inotify => match DirWatcher::new() {
                Ok(watcher) => Detector::Inotify(watcher),
                Err(e) => {
                    crate::warning!("inotify is unavailable ({e}): the reloader polls instead");
                    Detector::Poll(MtimePoller::default())
                }
            },
            Engine::Poll => Detector::Poll(MtimePoller::default()),
        };
        detector.look(&files);
        let on_change = OnChange { worker, worker_int };
        let extra = self.extra;
        let spawned = std::thread::Builder::new().name("reloader".into()).spawn(move || {
            // Signals are for the worker's main thread, which runs their Python handlers.
            let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), None);
            loop {
                let files = Python::attach(|py| watched_files(py, &extra));
                if let Some(path) = detector.changed(&files) {
                    on_change.fire(&path);
                    return;
                }
            }
        });
        if let Err(e) = spawned {
            crate::error!("Cannot start the reloader: {e}");
        }
    }
}

enum Detector {
    Poll(MtimePoller),
    Inotify(DirWatcher),
}

impl Detector {
    /// Record the current state of `files` without reporting anything.
    fn look(&mut self, files: &std::collections::BTreeSet<PathBuf>) {
        match self {
            Detector::Poll(poller) => {
                let _ = poller.changed(files);
            }
            Detector::Inotify(watcher) => watcher.refresh(files),
        }
    }

    /// Block for about one interval; the changed file, if any.
    fn changed(&mut self, files: &std::collections::BTreeSet<PathBuf>) -> Option<PathBuf> {
        match self {
            Detector::Poll(poller) => {
                let changed = poller.changed(files);
                if changed.is_none() {
                    std::thread::sleep(POLL_INTERVAL);
                }
                changed
            }
            Detector::Inotify(watcher) => {
                watcher.refresh(files);
                watcher.wait(REFRESH_INTERVAL)
            }
        }
    }
}

impl OnChange {
    fn fire(&self, path: &std::path::Path) {
        Python::attach(|py| {
            crate::info!("Worker reloading: {} modified", path.display());
            if let Some(hook) = &self.worker_int {
                if let Err(err) = hook.call1(py, (self.worker.clone_ref(py),)) {
                    crate::error!("worker_int hook failed: {err}");
                }
            }
        });
        // A graceful stop, as the master's TERM: requests in progress finish, then the master
        // forks a worker that imports the new code.
        if let Err(e) = kill(Pid::this(), Signal::SIGTERM) {
            crate::error!("The reloader cannot stop its worker: {e}");
        }
    }
}
