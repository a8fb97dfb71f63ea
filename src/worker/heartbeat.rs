//! The worker's proof of life, read by the master to find hung workers.
//!
//! gunicorn touches a temporary file (fchmod) and the master reads its ctime: a system call per
//! beat, and a disk write where /tmp is not in memory. Here the master maps one shared page per
//! worker before forking; the worker stores a monotonic timestamp in it, the master loads it.
//! With `--worker-tmp-dir` the page is backed by an unlinked file in that directory.

use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::mman::{mmap, mmap_anonymous, munmap, MapFlags, ProtFlags};

/// A shared, process-crossing timestamp in milliseconds of CLOCK_MONOTONIC.
pub struct Heartbeat {
    ptr: NonNull<AtomicU64>,
}

// SAFETY: the mapping holds only an AtomicU64, which is safe to share between threads.
unsafe impl Send for Heartbeat {}
// SAFETY: as above; all access goes through atomic operations.
unsafe impl Sync for Heartbeat {}

const LEN: usize = 4096;

impl Heartbeat {
    /// Map a new heartbeat page, shared with children forked after this call.
    pub fn new(tmp_dir: Option<&str>) -> std::io::Result<Heartbeat> {
        let len = NonZeroUsize::new(LEN).expect("LEN is not zero");
        let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        let ptr = match tmp_dir {
            None => {
                // SAFETY: a fresh anonymous mapping aliases no Rust memory.
                unsafe { mmap_anonymous(None, len, prot, MapFlags::MAP_SHARED)? }
            }
            Some(dir) => {
                let file = tempfile_in(dir)?;
                file.set_len(LEN as u64)?;
                // SAFETY: a fresh shared mapping of a private, unlinked file aliases no Rust memory.
                unsafe { mmap(None, len, prot, MapFlags::MAP_SHARED, file.as_fd(), 0)? }
            }
        };
        let hb = Heartbeat { ptr: ptr.cast() };
        hb.notify();
        Ok(hb)
    }

    fn cell(&self) -> &AtomicU64 {
        // SAFETY: the page is mapped for the lifetime of self, aligned, and zero-initialised.
        unsafe { self.ptr.as_ref() }
    }

    /// Record that the worker is alive now.
    pub fn notify(&self) {
        self.cell().store(monotonic_ms(), Ordering::Relaxed);
    }

    /// Milliseconds since the last beat.
    pub fn silent_for_ms(&self) -> u64 {
        monotonic_ms().saturating_sub(self.cell().load(Ordering::Relaxed))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        // SAFETY: the mapping was created by us with this length and is not used after drop.
        let _ = unsafe { munmap(self.ptr.cast(), LEN) };
    }
}

fn tempfile_in(dir: &str) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = std::path::Path::new(dir).join(format!("rgunicorn-hb-{}-{}", std::process::id(), monotonic_ms()));
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// CLOCK_MONOTONIC in milliseconds: the same clock in every process of the machine.
pub fn monotonic_ms() -> u64 {
    let ts =
        nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap_or(nix::sys::time::TimeSpec::new(0, 0));
    (ts.tv_sec() as u64) * 1000 + (ts.tv_nsec() as u64) / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beats_are_seen() {
        let hb = Heartbeat::new(None).expect("mmap");
        hb.notify();
        assert!(hb.silent_for_ms() < 1000);
        let dir = std::env::temp_dir();
        let hb = Heartbeat::new(dir.to_str()).expect("file-backed mmap");
        assert!(hb.silent_for_ms() < 1000);
    }
}
