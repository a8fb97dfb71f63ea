//! gunicorn config files (`gunicorn.conf.py`): Python runs the file; each top-level name that is
//! a setting is converted to a [`Value`] and validated like any other source. Hooks keep their
//! Python callables in [`super::hooks::Hooks`].

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString, PyTuple};

use super::hooks::Hooks;
use super::settings::{Type, SETTINGS};
use super::value::Value;
use super::{Config, ConfigError};

/// Run the config file at `location` and apply its settings to `cfg`.
pub fn apply_config_file(
    py: Python<'_>,
    location: &str,
    cfg: &mut Config,
    hooks: &mut Hooks,
) -> Result<(), ConfigError> {
    let namespace =
        py.import("rgunicorn._config").and_then(|m| m.call_method1("load", (location,))).map_err(|err| {
            if err.is_instance_of::<pyo3::exceptions::PyFileNotFoundError>(py) {
                let msg = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
                ConfigError::ConfigFile(msg)
            } else {
                eprintln!("Failed to read config file: {location}");
                eprint!("{}", crate::errors::format_traceback(py, &err));
                ConfigError::ConfigFile(format!("Failed to read config file: {location}"))
            }
        })?;
    let namespace =
        namespace.cast_into::<PyDict>().map_err(|_| ConfigError::ConfigFile(format!("{location}: not a namespace")))?;
    for setting in SETTINGS {
        let Ok(Some(obj)) = namespace.get_item(setting.name) else {
            continue;
        };
        let given = obj.repr().map(|r| r.to_string()).unwrap_or_default();
        let bad =
            |expected: String| ConfigError::BadValue { name: setting.name.to_string(), value: given.clone(), expected };
        let obj = match setting.ty {
            Type::Hook(arity) => checked_hook(py, &obj, arity, setting.name).map_err(bad)?,
            Type::Class => class_or_value(obj),
            _ => obj,
        };
        let value = to_value(&obj).map_err(|expected| bad(expected.to_string()))?;
        if matches!(setting.ty, Type::Hook(_) | Type::Dict) || matches!(value, Value::Hook(_)) {
            // Keep the Python object itself: hooks are called, dicts (logconfig_dict) may hold
            // values whose repr does not evaluate back, a class may be a worker or logger class.
            hooks.insert(setting.name, obj.clone().unbind());
        }
        cfg.set_value(setting.name, value)?;
    }
    Ok(())
}

/// gunicorn's `validate_callable(arity)` (`validate_post_request` for post_request): imports a
/// dotted path, checks the arity, and returns what is to be called. `Err` is gunicorn's reason.
fn checked_hook<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    arity: u8,
    name: &str,
) -> Result<Bound<'py, PyAny>, String> {
    py.import("rgunicorn._config")
        .and_then(|m| m.call_method1("checked_hook", (obj, arity, name)))
        .map_err(|err| err.value(py).str().map(|s| s.to_string()).unwrap_or_else(|_| "a callable".to_string()))
}

/// gunicorn's `validate_class`: a function or method set for a class setting is called for the class.
fn class_or_value(obj: Bound<'_, PyAny>) -> Bound<'_, PyAny> {
    let py = obj.py();
    let is =
        |check: &str| py.import("inspect").and_then(|m| m.call_method1(check, (&obj,))?.is_truthy()).unwrap_or(false);
    if is("isfunction") || is("ismethod") {
        if let Ok(made) = obj.call0() {
            return made;
        }
    }
    obj
}

/// A Python object as a Python-shaped setting value (the validator decides what fits); `Err`
/// says what would have been understood.
fn to_value(obj: &Bound<'_, PyAny>) -> Result<Value, &'static str> {
    if obj.is_callable() && !obj.is_instance_of::<PyString>() {
        let qualname = obj
            .getattr("__qualname__")
            .and_then(|q| q.extract::<String>())
            .unwrap_or_else(|_| obj.get_type().name().map(|n| n.to_string()).unwrap_or_default());
        return Ok(Value::Hook(qualname));
    }
    if obj.is_none() {
        return Ok(Value::None);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return obj.extract::<i64>().map(Value::Int).map_err(|_| "an integer that fits in 64 bits");
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s.to_str().map(|s| Value::Str(s.to_string())).map_err(|_| "valid text");
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for item in obj.try_iter().map_err(|_| "a list of strings")? {
            let item = item.map_err(|_| "a list of strings")?;
            items.push(item.extract::<String>().map_err(|_| "a list of strings")?);
        }
        return Ok(Value::List(items));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut pairs = Vec::new();
        for (k, v) in dict.iter() {
            let repr = |o: &Bound<'_, PyAny>| o.repr().map(|r| r.to_string()).map_err(|_| "a dict");
            pairs.push((repr(&k)?, repr(&v)?));
        }
        return Ok(Value::Dict(pairs));
    }
    Err("a string, number, boolean, list or dict")
}
