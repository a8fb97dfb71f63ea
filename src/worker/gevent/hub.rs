//! The handful of gevent calls the Rust side makes, looked up once per worker: wait on an io
//! watcher (this is where a greenlet yields), cancel such a wait, make watchers and timers.

use std::os::fd::RawFd;
use std::time::Duration;

use pyo3::prelude::*;

/// libev's event bits, as gevent's `loop.io(fd, events)` takes them.
pub const EV_READ: u8 = 1;
/// See [`EV_READ`].
pub const EV_WRITE: u8 = 2;

/// gevent's entry points on the worker's only hub (the main thread's).
pub struct Hub {
    wait: Py<PyAny>,
    cancel_wait: Py<PyAny>,
    io: Py<PyAny>,
    timer: Py<PyAny>,
    getcurrent: Py<PyAny>,
}

impl Hub {
    /// Look everything up on the current thread's hub.
    pub fn current(py: Python<'_>) -> PyResult<Hub> {
        let socket = py.import("gevent.socket")?;
        let event_loop = py.import("gevent")?.call_method0("get_hub")?.getattr("loop")?;
        Ok(Hub {
            wait: socket.getattr("wait")?.unbind(),
            cancel_wait: socket.getattr("cancel_wait")?.unbind(),
            io: event_loop.getattr("io")?.unbind(),
            timer: event_loop.getattr("timer")?.unbind(),
            getcurrent: py.import("gevent")?.getattr("getcurrent")?.unbind(),
        })
    }

    /// A new, unstarted io watcher for `fd` (`EV_READ` or `EV_WRITE`).
    pub fn watcher(&self, py: Python<'_>, fd: RawFd, events: u8) -> PyResult<Py<PyAny>> {
        Ok(self.io.bind(py).call1((fd, events))?.unbind())
    }

    /// Park this greenlet until `watcher` fires, at most `timeout` (then `socket.timeout`).
    /// The hub runs other greenlets meanwhile.
    pub fn wait(&self, py: Python<'_>, watcher: &Py<PyAny>, timeout: Option<Duration>) -> PyResult<()> {
        let wait = self.wait.bind(py);
        match timeout {
            Some(t) => wait.call1((watcher, t.as_secs_f64()))?,
            None => wait.call1((watcher,))?,
        };
        Ok(())
    }

    /// Make the greenlet waiting on `watcher` (if any) fail with `OSError(EBADF)`.
    pub fn cancel_wait(&self, py: Python<'_>, watcher: &Py<PyAny>) -> PyResult<()> {
        self.cancel_wait.bind(py).call1((watcher,))?;
        Ok(())
    }

    /// Call `callback()` from the hub after `after`, unless the returned timer is closed first.
    pub fn call_later(&self, py: Python<'_>, after: Duration, callback: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let timer = self.timer.bind(py).call1((after.as_secs_f64(),))?;
        timer.call_method1("start", (callback,))?;
        Ok(timer.unbind())
    }

    /// The running greenlet.
    pub fn current_greenlet(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.getcurrent.bind(py).call0()?.unbind())
    }
}
