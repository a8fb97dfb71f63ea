//! `--pid FILE`: the master's pid, written at start and removed at exit if it is still ours.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A pidfile owned by this master.
pub struct Pidfile {
    path: PathBuf,
    pid: u32,
}

impl Pidfile {
    /// Write `pid` to `path`, refusing if another live process's pid is there.
    pub fn create(path: &Path, pid: u32) -> std::io::Result<Pidfile> {
        if let Some(other) = read_pid(path) {
            if other != pid && process_exists(other) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("already running on PID {other} (or pid file '{}' is stale)", path.display()),
                ));
            }
        }
        let tmp = path.with_extension(format!("tmp{pid}"));
        let mut file = std::fs::File::create(&tmp)?;
        writeln!(file, "{pid}")?;
        std::fs::rename(&tmp, path)?;
        Ok(Pidfile { path: path.to_path_buf(), pid })
    }

    /// Move the pidfile to `path` (a promoted re-exec'd master takes the original name).
    pub fn rename(&mut self, path: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, path)?;
        self.path = path.to_path_buf();
        Ok(())
    }

    /// Remove the file if it still holds our pid.
    pub fn unlink(&self) {
        if read_pid(&self.path) == Some(self.pid) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn process_exists(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else { return false };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_rename_unlink() {
        let dir = std::env::temp_dir().join(format!("rgunicorn-pidfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let first = dir.join("a.pid");
        let mut pf = Pidfile::create(&first, std::process::id()).expect("create");
        assert_eq!(read_pid(&first), Some(std::process::id()));
        let second = dir.join("b.pid");
        pf.rename(&second).expect("rename");
        assert!(!first.exists());
        // Another live process's pid blocks a second master.
        assert!(Pidfile::create(&second, 1).is_err() || std::process::id() == 1);
        pf.unlink();
        assert!(!second.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
