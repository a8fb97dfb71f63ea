//! A plug-in worker's `tmp`: gunicorn's `WorkerTmp` interface over rgunicorn's heartbeat page.
//!
//! `notify()` stores a timestamp in the page the master reads (no system call), so a worker that
//! calls `self.notify()` as gunicorn's contract asks is watched exactly like a built-in one.
//! `fileno()` opens a real (unlinked) file for workers that beat by touching it themselves
//! (`os.utime`, `fchmod`, as meinheld did): a thread of the worker then turns every change of
//! that file's ctime into a beat. The thread needs no GIL, so a blocked event loop, which touches
//! nothing, still goes silent and gets killed.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;

use crate::worker::heartbeat::{monotonic_ms, Heartbeat};

/// How often the file watcher looks at the file's ctime.
const WATCH_INTERVAL: Duration = Duration::from_millis(200);

/// gunicorn's `worker.tmp`.
#[pyclass(module = "rgunicorn._rgunicorn", name = "WorkerTmp", frozen)]
pub struct WorkerTmp {
    heartbeat: Arc<Heartbeat>,
    dir: Option<String>,
    /// The master's pid: the watcher thread runs only in the forked worker.
    creator: u32,
    file: Mutex<Option<Arc<File>>>,
    watched_in: AtomicU32,
    closed: Arc<AtomicBool>,
}

impl WorkerTmp {
    /// The `tmp` of the worker whose heartbeat page is `heartbeat`; `dir` is `--worker-tmp-dir`.
    pub fn new(heartbeat: Arc<Heartbeat>, dir: Option<String>) -> WorkerTmp {
        WorkerTmp {
            heartbeat,
            dir,
            creator: std::process::id(),
            file: Mutex::new(None),
            watched_in: AtomicU32::new(0),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    fn open_file(&self) -> std::io::Result<Arc<File>> {
        let mut slot = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = slot.as_ref() {
            return Ok(file.clone());
        }
        let dir = self.dir.clone().map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir);
        let file = Arc::new(unlinked_file_in(&dir)?);
        *slot = Some(file.clone());
        Ok(file)
    }

    fn watch(&self, file: Arc<File>) {
        let pid = std::process::id();
        if pid == self.creator || self.watched_in.swap(pid, Ordering::Relaxed) == pid {
            return;
        }
        let heartbeat = self.heartbeat.clone();
        let closed = self.closed.clone();
        let spawned = std::thread::Builder::new().name("rgunicorn-tmp-watch".into()).spawn(move || {
            let mut last = change_time(&file);
            while !closed.load(Ordering::Relaxed) {
                std::thread::sleep(WATCH_INTERVAL);
                let now = change_time(&file);
                if now != last {
                    heartbeat.notify();
                    last = now;
                }
            }
        });
        if let Err(e) = spawned {
            crate::warning!("Cannot watch the worker's tmp file, beats through it are not seen: {e}");
        }
    }
}

fn change_time(file: &File) -> Option<(i64, i64, i64, i64)> {
    file.metadata().ok().map(|m| (m.ctime(), m.ctime_nsec(), m.mtime(), m.mtime_nsec()))
}

fn unlinked_file_in(dir: &std::path::Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!("wrgunicorn-{}-{}", std::process::id(), monotonic_ms()));
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

#[pymethods]
impl WorkerTmp {
    /// Beat: the master sees this worker alive now.
    fn notify(&self) {
        self.heartbeat.notify();
    }

    /// When the worker last beat, in `time.monotonic()` seconds (what gunicorn's master compares).
    fn last_update(&self) -> f64 {
        monotonic_ms().saturating_sub(self.heartbeat.silent_for_ms()) as f64 / 1000.0
    }

    /// A descriptor whose ctime changes count as beats too.
    fn fileno(&self) -> PyResult<i32> {
        let file = self.open_file().map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))?;
        let fd = file.as_raw_fd();
        self.watch(file);
        Ok(fd)
    }

    /// Stop watching and close the file (the page itself belongs to the master).
    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.file.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn __repr__(&self) -> String {
        format!("<WorkerTmp silent for {} ms>", self.heartbeat.silent_for_ms())
    }
}
