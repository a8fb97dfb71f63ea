//! The `poll` engine: stat every watched file and report the first whose modification time (or
//! inode, for editors that save by renaming a new file over the old) differs from last time.
//! A file seen for the first time is only recorded, as gunicorn's `Reloader`.

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What identifies one version of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp { modified: meta.modified().ok(), inode: meta.ino() })
}

/// The last stamp of every file seen so far.
#[derive(Default)]
pub struct MtimePoller {
    seen: HashMap<PathBuf, Stamp>,
}

impl MtimePoller {
    /// Stat `files`; the first one that changed since the previous call, if any. Files that cannot
    /// be read (deleted, not yet created) are skipped, as gunicorn does.
    pub fn changed(&mut self, files: &BTreeSet<PathBuf>) -> Option<PathBuf> {
        for path in files {
            let Some(now) = stamp(path) else { continue };
            match self.seen.insert(path.clone(), now) {
                Some(before) if before != now => return Some(path.clone()),
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sight_records_then_an_edit_is_reported() {
        let dir = std::env::temp_dir().join(format!("rgunicorn-poll-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("m.py");
        std::fs::write(&file, "a = 1\n").expect("write");
        let files: BTreeSet<PathBuf> = [file.clone(), dir.join("missing.py")].into_iter().collect();
        let mut poller = MtimePoller::default();
        assert_eq!(poller.changed(&files), None);
        assert_eq!(poller.changed(&files), None);
        // A rename over the file changes the inode even if the clock did not move.
        let replacement = dir.join("m.py.new");
        std::fs::write(&replacement, "a = 2\n").expect("write");
        std::fs::rename(&replacement, &file).expect("rename");
        assert_eq!(poller.changed(&files), Some(file.clone()));
        assert_eq!(poller.changed(&files), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
