//! The `cfg` object hooks see (`server.cfg.workers`, `worker.cfg.bind`): every setting as a
//! Python attribute, plus the derived properties gunicorn configs use.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::hooks::Hooks;
use super::settings::SETTINGS;
use super::value::Value;
use super::Config;

/// Build a `types.SimpleNamespace` with one attribute per setting.
pub fn config_object(py: Python<'_>, cfg: &Config, hooks: &Hooks) -> PyResult<Py<PyAny>> {
    let attrs = PyDict::new(py);
    for setting in SETTINGS {
        let value = match cfg.get(setting.name) {
            // The config file's own objects: callables, and dicts whose repr may not evaluate back.
            Some(Value::Hook(_) | Value::Dict(_)) if hooks.has(setting.name) => {
                hooks.get(py, setting.name).map_or_else(|| py.None(), Bound::unbind)
            }
            Some(v) => to_python(py, v).unwrap_or_else(|_| py.None()),
            None => py.None(),
        };
        attrs.set_item(setting.name, value)?;
    }
    attrs.set_item("worker_class_str", cfg.worker_class_str())?;
    attrs.set_item("address", PyList::new(py, &cfg.bind)?)?;
    attrs.set_item("is_ssl", cfg.tls.enabled())?;
    attrs.set_item("sendfile", cfg.sendfile)?;
    attrs.set_item("uid", nix::unistd::geteuid().as_raw())?;
    attrs.set_item("gid", nix::unistd::getegid().as_raw())?;
    let env = PyDict::new(py);
    for pair in &cfg.raw_env {
        if let Some((k, v)) = pair.split_once('=') {
            env.set_item(k, v)?;
        }
    }
    attrs.set_item("env", env)?;
    let proc_name = cfg.proc_name.clone().or_else(|| cfg.wsgi_app()).unwrap_or_else(|| "rgunicorn".to_string());
    attrs.set_item("proc_name", proc_name)?;
    let namespace = py.import("types")?.getattr("SimpleNamespace")?;
    Ok(namespace.call((), Some(&attrs))?.unbind())
}

fn to_python(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::None | Value::Hook(_) => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Int(n) => n.into_pyobject(py)?.into_any().unbind(),
        Value::Str(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::List(items) => PyList::new(py, items)?.into_any().unbind(),
        // Dict entries are kept as Python literals, so the dict's text form evaluates back to it.
        Value::Dict(_) | Value::Tuple(_) => {
            py.import("ast")?.call_method1("literal_eval", (value.to_string(),))?.unbind()
        }
    })
}
