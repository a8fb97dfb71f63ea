//! Load the WSGI application named by `APP_MODULE`: `module`, `module:name`, `module:obj.attr`,
//! or `module:factory(literal, args)`, as gunicorn's `import_app` accepts.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::errors::{exception_line, format_traceback};

/// Why the app could not be loaded: one line for the user, and the traceback when there is one.
#[derive(Debug)]
pub struct AppLoadError {
    /// One line naming what is missing or wrong.
    pub message: String,
    /// The Python traceback of the underlying exception, if any.
    pub traceback: Option<String>,
    /// The import was interrupted by `SystemExit` (a quick-stop signal during boot): not an app
    /// error, the worker just exits with this code.
    pub exit_code: Option<i32>,
}

impl AppLoadError {
    fn plain(message: String) -> AppLoadError {
        AppLoadError { message, traceback: None, exit_code: None }
    }

    fn from_python(py: Python<'_>, message: String, err: &PyErr) -> AppLoadError {
        let exit_code = err
            .is_instance_of::<pyo3::exceptions::PySystemExit>(py)
            .then(|| err.value(py).getattr("code").ok().and_then(|c| c.extract::<i32>().ok()).unwrap_or(0));
        AppLoadError { message, traceback: Some(format_traceback(py, err)), exit_code }
    }
}

/// Import `spec` and return the WSGI callable.
pub fn load_app(py: Python<'_>, spec: &str) -> Result<Py<PyAny>, AppLoadError> {
    let (module_name, expr) = match spec.split_once(':') {
        Some((m, e)) => (m.trim(), e.trim()),
        None => (spec.trim(), "application"),
    };
    if module_name.is_empty() || expr.is_empty() {
        return Err(AppLoadError::plain(format!("Invalid APP_MODULE {spec:?}: expected MODULE or MODULE:CALLABLE")));
    }
    // Through importlib (as gunicorn) rather than the C API, so the error has a traceback to log.
    let module =
        py.import("importlib").and_then(|il| il.call_method1("import_module", (module_name,))).map_err(|err| {
            let missing_itself = err.is_instance_of::<pyo3::exceptions::PyModuleNotFoundError>(py)
                && err.value(py).getattr("name").ok().and_then(|n| n.extract::<String>().ok()).as_deref()
                    == Some(module_name);
            let message = if missing_itself {
                format!("Failed to find module '{module_name}'")
            } else {
                format!("Failed to import module '{module_name}': {}", exception_line(py, &err))
            };
            AppLoadError::from_python(py, message, &err)
        })?;

    let (path, call) = parse_expression(py, expr).map_err(|why| {
        AppLoadError::plain(format!("Failed to parse {expr:?} as an attribute name or function call{why}"))
    })?;

    let mut obj = module;
    for name in path.split('.') {
        obj = match obj.getattr(name) {
            Ok(next) => next,
            Err(_) => {
                return Err(AppLoadError::plain(format!("Failed to find attribute '{path}' in '{module_name}'.")))
            }
        };
    }
    if let Some((args, kwargs)) = call {
        obj = obj.call(args.bind(py), Some(kwargs.bind(py))).map_err(|err| {
            let message =
                format!("Error while calling factory '{path}' in '{module_name}': {}", exception_line(py, &err));
            AppLoadError::from_python(py, message, &err)
        })?;
    }
    if obj.is_none() {
        return Err(AppLoadError::plain(format!("Application object '{expr}' in '{module_name}' is None.")));
    }
    if !obj.is_callable() {
        return Err(AppLoadError::plain(format!("Application object '{expr}' in '{module_name}' is not callable.")));
    }
    Ok(obj.unbind())
}

type FactoryCall = (Py<PyTuple>, Py<PyDict>);

/// Split `name.attr` or `factory("x", n=1)` with Python's own `ast`, accepting only literal arguments.
fn parse_expression<'py>(py: Python<'py>, expr: &str) -> Result<(String, Option<FactoryCall>), String> {
    let ast = py.import("ast").map_err(|e| e.to_string())?;
    let tree = ast.call_method1("parse", (expr, "<APP_MODULE>", "eval")).map_err(|_| String::new())?;
    let body = tree.getattr("body").map_err(|e| e.to_string())?;
    let is = |node: &Bound<'_, PyAny>, class: &str| -> bool {
        ast.getattr(class).map(|cls| node.is_instance(&cls).unwrap_or(false)).unwrap_or(false)
    };
    let dotted = |node: &Bound<'_, PyAny>| -> Option<String> {
        let mut parts = Vec::new();
        let mut cur = node.clone();
        loop {
            if is(&cur, "Name") {
                parts.push(cur.getattr("id").ok()?.extract::<String>().ok()?);
                break;
            } else if is(&cur, "Attribute") {
                parts.push(cur.getattr("attr").ok()?.extract::<String>().ok()?);
                cur = cur.getattr("value").ok()?;
            } else {
                return None;
            }
        }
        parts.reverse();
        Some(parts.join("."))
    };
    if let Some(path) = dotted(&body) {
        return Ok((path, None));
    }
    if !is(&body, "Call") {
        return Err(String::new());
    }
    let func = body.getattr("func").map_err(|e| e.to_string())?;
    let path = dotted(&func).ok_or_else(String::new)?;
    let literal = |node: Bound<'py, PyAny>| -> Result<Bound<'py, PyAny>, String> {
        ast.call_method1("literal_eval", (node,)).map_err(|_| ": factory arguments must be Python literals".to_string())
    };
    let mut args = Vec::new();
    let arg_nodes = body.getattr("args").map_err(|e| e.to_string())?;
    for node in arg_nodes.cast_into::<PyList>().map_err(|e| e.to_string())?.iter() {
        args.push(literal(node)?);
    }
    let kwargs = PyDict::new(py);
    let kw_nodes = body.getattr("keywords").map_err(|e| e.to_string())?;
    for kw in kw_nodes.cast_into::<PyList>().map_err(|e| e.to_string())?.iter() {
        let name = kw.getattr("arg").map_err(|e| e.to_string())?;
        if name.is_none() {
            return Err(": **kwargs are not supported".to_string());
        }
        kwargs.set_item(name, literal(kw.getattr("value").map_err(|e| e.to_string())?)?).map_err(|e| e.to_string())?;
    }
    let args = PyTuple::new(py, args).map_err(|e| e.to_string())?;
    Ok((path, Some((args.unbind(), kwargs.unbind()))))
}
