//! Server hooks (`on_starting`, `pre_fork`, `post_request`, …) from the config file, called
//! with gunicorn's arguments. A hook that raises is logged with its traceback and the server
//! goes on, as gunicorn does.

use std::collections::BTreeMap;

use pyo3::prelude::*;

/// Server hooks from the config file, by gunicorn's hook name.
#[derive(Default)]
pub struct Hooks {
    callables: BTreeMap<&'static str, Py<PyAny>>,
}

impl Hooks {
    /// Record the callable for a hook.
    pub fn insert(&mut self, name: &'static str, callable: Py<PyAny>) {
        self.callables.insert(name, callable);
    }

    /// The callable for `name`, if the config file defined one.
    pub fn get<'py>(&self, py: Python<'py>, name: &str) -> Option<Bound<'py, PyAny>> {
        self.callables.get(name).map(|c| c.bind(py).clone())
    }

    /// Whether the config file defined `name`.
    pub fn has(&self, name: &str) -> bool {
        self.callables.contains_key(name)
    }

    /// Call hook `name` with `args` if it is set. Exceptions are logged, never raised, except
    /// `SystemExit`, which the caller gets back (a hook may end a worker on purpose).
    pub fn call<'py>(&self, py: Python<'py>, name: &str, args: impl pyo3::call::PyCallArgs<'py>) -> PyResult<()> {
        let Some(hook) = self.get(py, name) else { return Ok(()) };
        match hook.call1(args) {
            Ok(_) => Ok(()),
            Err(err) if err.is_instance_of::<pyo3::exceptions::PySystemExit>(py) => Err(err),
            Err(err) => {
                crate::error!("Exception in {name} hook\n{}", crate::errors::format_traceback(py, &err).trim_end());
                Ok(())
            }
        }
    }

    /// A copy sharing the same callables (for a reloaded configuration or a forked worker).
    pub fn clone_ref(&self, py: Python<'_>) -> Hooks {
        Hooks { callables: self.callables.iter().map(|(k, v)| (*k, v.clone_ref(py))).collect() }
    }
}
