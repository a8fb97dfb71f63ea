//! The `cfg` object of plug-in workers and `logger_class`: `rgunicorn.config.Config`, gunicorn's
//! Config interface over the values of rgunicorn's settings table.

use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::config::hooks::Hooks;
use crate::config::settings::SETTINGS;
use crate::config::Config;

/// Build the gunicorn-shaped `cfg` for `cfg` (and the config file's callables in `hooks`).
pub fn python_config<'py>(py: Python<'py>, cfg: &Config, hooks: &Hooks) -> PyResult<Bound<'py, PyAny>> {
    let namespace = crate::config::view::config_object(py, cfg, hooks)?;
    let table = PyList::empty(py);
    for setting in SETTINGS {
        table.append((setting.name, setting.section))?;
    }
    py.import("rgunicorn.config")?.getattr("Config")?.call_method1("from_rgunicorn", (namespace, table))
}

/// The `worker_class` / `logger_class` value as gunicorn's loaders take it: the class object a
/// config file set, or the text.
pub fn class_setting<'py>(py: Python<'py>, cfg: &Config, hooks: &Hooks, name: &str) -> Bound<'py, PyAny> {
    if let Some(class) = hooks.get(py, name) {
        return class;
    }
    let text = cfg.get(name).map(ToString::to_string).unwrap_or_default();
    pyo3::types::PyString::new(py, &text).into_any()
}
