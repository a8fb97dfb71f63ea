//! The master's signal queue: handlers only write the signal number to a self-pipe; the loop
//! reads it back and dispatches. Nothing else happens in signal context.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
use signal_hook::consts::signal::*;
use signal_hook::SigId;

/// The signals the master handles, as gunicorn's `Arbiter.SIGNALS` plus CHLD.
pub const MASTER_SIGNALS: &[i32] =
    &[SIGHUP, SIGQUIT, SIGINT, SIGTERM, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD];

/// A self-pipe fed by signal handlers.
pub struct SignalQueue {
    read: OwnedFd,
    write: OwnedFd,
    ids: Vec<SigId>,
}

impl SignalQueue {
    /// Install handlers for `signals`. Python's own SIGINT handler must have been reset first,
    /// or it would also run and raise `KeyboardInterrupt` later.
    pub fn install(signals: &[i32]) -> io::Result<SignalQueue> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        let write_fd: RawFd = write.as_raw_fd();
        let mut ids = Vec::with_capacity(signals.len());
        for &sig in signals {
            let byte = sig as u8;
            // SAFETY: the action only calls write(2), which is async-signal-safe, on a descriptor
            // that outlives the registration (unregistered in Drop before the pipe closes).
            let id = unsafe {
                signal_hook::low_level::register(sig, move || {
                    let _ = libc::write(write_fd, (&byte as *const u8).cast(), 1);
                })
            }?;
            ids.push(id);
        }
        Ok(SignalQueue { read, write, ids })
    }

    /// Wait up to `timeout_ms` for signals and return those queued, oldest first.
    pub fn wait(&self, timeout_ms: u16) -> Vec<i32> {
        let mut fds = [PollFd::new(self.read.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::from(timeout_ms));
        self.drain()
    }

    /// Return the queued signals without waiting.
    pub fn drain(&self) -> Vec<i32> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match nix::unistd::read(&self.read, &mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend(buf[..n].iter().map(|&b| i32::from(b))),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        out
    }

    /// In a freshly forked worker: stop feeding the master's queue. The inherited handlers would
    /// write into the master's pipe, so an INT sent to a booting worker would stop the master.
    /// Until the worker installs its own handlers, stop signals act by default (a booting worker
    /// has no request to finish) and the master's other signals are ignored.
    pub fn forget_in_child(&self) {
        for &sig in MASTER_SIGNALS {
            let action = match sig {
                SIGTERM | SIGINT | SIGQUIT | SIGHUP | SIGCHLD => libc::SIG_DFL,
                _ => libc::SIG_IGN,
            };
            // SAFETY: resetting a disposition to SIG_DFL/SIG_IGN installs no Rust code.
            unsafe { libc::signal(sig, action) };
        }
        // SAFETY: these descriptors belong to this (child) process's copy of the queue, which is
        // never used again here: the child leaves through _exit without dropping it.
        unsafe {
            libc::close(self.read.as_raw_fd());
            libc::close(self.write.as_raw_fd());
        }
    }

    /// Hold the master's signals back until [`BlockedSignals::restore`]: across a fork, so that a
    /// signal meant for the new worker cannot reach it while it still runs the master's handlers
    /// (which would write it into the master's queue and lose it for the worker). The child
    /// restores the mask after [`Self::forget_in_child`], so a TERM sent during the fork is then
    /// delivered to it with the default action.
    pub fn block() -> io::Result<BlockedSignals> {
        let mut set = SigSet::empty();
        for &sig in MASTER_SIGNALS {
            set.add(Signal::try_from(sig).map_err(io::Error::from)?);
        }
        let mut previous = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut previous)).map_err(io::Error::from)?;
        Ok(BlockedSignals { previous })
    }

    /// Wake the loop as if a signal had arrived (used by the master itself).
    pub fn wake(&self, sig: i32) {
        let _ = nix::unistd::write(&self.write, &[sig as u8]);
    }
}

/// The signal mask from before [`SignalQueue::block`]; pending signals arrive once it is restored.
#[must_use = "signals stay blocked until restore() is called"]
pub struct BlockedSignals {
    previous: SigSet,
}

impl BlockedSignals {
    /// Put the previous mask back; a signal that arrived meanwhile is delivered now.
    pub fn restore(self) {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.previous), None);
    }
}

impl Drop for SignalQueue {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// gunicorn's lower-case signal names for "Handling signal: term".
pub fn signal_name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().trim_start_matches("SIG").to_ascii_lowercase(),
        Err(_) => sig.to_string(),
    }
}
