//! The `inotify` engine: watch the directories of the watched files (and of a symlink's target,
//! whose edits are not seen in the link's directory), and report an event that names a watched
//! file. Unlike gunicorn's, an editor's swap file or a new `.pyc` in a watched directory does not
//! restart the workers, and a burst of events (truncate, then write) is waited out first, so the
//! new worker does not import a half-written file.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

/// How long events must stop before a change is reported, and the longest it is deferred.
const SETTLE: Duration = Duration::from_millis(100);
const SETTLE_MAX: Duration = Duration::from_secs(1);

/// gunicorn's `InotifyReloader.event_mask`.
fn event_mask() -> AddWatchFlags {
    AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO
}

/// One inotify instance and the directories it watches.
pub struct DirWatcher {
    inotify: Inotify,
    dirs: HashMap<WatchDescriptor, PathBuf>,
    watched_dirs: HashSet<PathBuf>,
    /// The watched files, plus the targets of those that are symlinks.
    names: HashSet<PathBuf>,
}

impl DirWatcher {
    /// A new inotify instance (fails where inotify is unavailable or its limits are reached).
    pub fn new() -> nix::Result<DirWatcher> {
        Ok(DirWatcher {
            inotify: Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?,
            dirs: HashMap::new(),
            watched_dirs: HashSet::new(),
            names: HashSet::new(),
        })
    }

    /// Watch the directories of `files` not watched yet.
    pub fn refresh(&mut self, files: &BTreeSet<PathBuf>) {
        self.names.clear();
        for file in files {
            self.names.insert(file.clone());
            let mut dirs = vec![parent_of(file)];
            if std::fs::symlink_metadata(file).is_ok_and(|m| m.file_type().is_symlink()) {
                if let Ok(target) = std::fs::canonicalize(file) {
                    dirs.push(parent_of(&target));
                    self.names.insert(target);
                }
            }
            for dir in dirs {
                if self.watched_dirs.contains(&dir) || !dir.is_dir() {
                    continue;
                }
                match self.inotify.add_watch(&dir, event_mask()) {
                    Ok(wd) => {
                        self.dirs.insert(wd, dir.clone());
                        self.watched_dirs.insert(dir);
                    }
                    Err(e) => {
                        crate::debug!("Reloader cannot watch {}: {e}", dir.display());
                        // Not retried every second: the limit (max_user_watches) will not go away.
                        self.watched_dirs.insert(dir);
                    }
                }
            }
        }
    }

    /// Wait up to `timeout` for an event naming a watched file; that file, once events settle.
    pub fn wait(&mut self, timeout: Duration) -> Option<PathBuf> {
        let changed = self.next_change(timeout)?;
        let started = Instant::now();
        while started.elapsed() < SETTLE_MAX && self.readable(SETTLE) {
            let _ = self.inotify.read_events();
        }
        Some(changed)
    }

    fn next_change(&mut self, timeout: Duration) -> Option<PathBuf> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.readable(left) {
                return None;
            }
            let events = self.inotify.read_events().unwrap_or_default();
            for event in events {
                let Some(dir) = self.dirs.get(&event.wd) else { continue };
                let path = match &event.name {
                    Some(name) => dir.join(name),
                    None => dir.clone(),
                };
                if self.names.contains(&path) {
                    return Some(path);
                }
            }
        }
    }

    fn readable(&self, timeout: Duration) -> bool {
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.inotify.as_fd(), PollFlags::POLLIN)];
        matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0)
    }
}

fn parent_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_of_a_watched_file_is_reported_and_a_sibling_is_not() {
        let dir = std::env::temp_dir().join(format!("rgunicorn-inotify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("m.py");
        std::fs::write(&file, "a = 1\n").expect("write");
        let mut watcher = DirWatcher::new().expect("inotify");
        watcher.refresh(&[file.clone()].into_iter().collect());
        std::fs::write(dir.join(".m.py.swp"), "x").expect("write");
        assert_eq!(watcher.wait(Duration::from_millis(200)), None);
        std::fs::write(&file, "a = 2\n").expect("write");
        assert_eq!(watcher.wait(Duration::from_secs(2)), Some(file.clone()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
