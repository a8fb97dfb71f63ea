//! Load the WSGI application named by `APP_MODULE`: `module`, `module:name`, `module:obj.attr`,
//! or `module:factory(literal, args)`, as gunicorn's `import_app` accepts; or, with `--paste`,
//! through PasteDeploy's `loadapp` as gunicorn's `pasterapp.get_wsgi_app` does.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::config::Config;
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
    /// The exception came from the app's own code (a syntax error, an exception while importing
    /// it or calling its factory), not from a name that does not resolve: `--reload` serves the
    /// traceback and waits for the fix instead of stopping the server.
    pub in_app_code: bool,
    /// The source files the exception involved (the file with the syntax error, the traceback's
    /// frames): `--reload` watches them, since a module that failed to import is not in `sys.modules`.
    pub files: Vec<PathBuf>,
}

impl AppLoadError {
    fn plain(message: String) -> AppLoadError {
        AppLoadError { message, traceback: None, exit_code: None, in_app_code: false, files: Vec::new() }
    }

    fn from_python(py: Python<'_>, message: String, err: &PyErr) -> AppLoadError {
        let exit_code = err
            .is_instance_of::<pyo3::exceptions::PySystemExit>(py)
            .then(|| err.value(py).getattr("code").ok().and_then(|c| c.extract::<i32>().ok()).unwrap_or(0));
        AppLoadError {
            message,
            traceback: Some(format_traceback(py, err)),
            exit_code,
            in_app_code: exit_code.is_none(),
            files: files_involved(py, err),
        }
    }
}

/// The SyntaxError's file and every traceback frame's file that exists on disk.
fn files_involved(py: Python<'_>, err: &PyErr) -> Vec<PathBuf> {
    let mut names: Vec<String> = Vec::new();
    if err.is_instance_of::<pyo3::exceptions::PySyntaxError>(py) {
        if let Ok(name) = err.value(py).getattr("filename").and_then(|f| f.extract::<String>()) {
            names.push(name);
        }
    }
    let mut tb = err.traceback(py).map(Bound::into_any);
    while let Some(frame) = tb {
        if let Ok(name) =
            frame.getattr("tb_frame").and_then(|f| f.getattr("f_code")?.getattr("co_filename")?.extract::<String>())
        {
            names.push(name);
        }
        tb = frame.getattr("tb_next").ok().filter(|next| !next.is_none());
    }
    let mut files: Vec<PathBuf> = names.into_iter().map(PathBuf::from).filter(|p| p.is_file()).collect();
    files.dedup();
    files
}

/// Load the app `cfg` names: the PasteDeploy file of `--paste`, else APP_MODULE / `wsgi_app`.
pub fn load_configured(py: Python<'_>, cfg: &Config) -> Result<Py<PyAny>, AppLoadError> {
    match cfg.paste_uri() {
        Some(uri) => load_paste(py, &uri, &cfg.raw_paste_global_conf),
        None => load_app(py, &cfg.wsgi_app().unwrap_or_default()),
    }
}

/// gunicorn's `get_wsgi_app`: `loadapp("config:" + uri, relative_to=cwd, global_conf=...)`.
fn load_paste(py: Python<'_>, uri: &str, raw_global_conf: &[String]) -> Result<Py<PyAny>, AppLoadError> {
    let global_conf = PyDict::new(py);
    for entry in raw_global_conf {
        let (key, value) = split_global_conf(entry)
            .ok_or_else(|| AppLoadError::plain(format!("environment setting {entry:?} invalid")))?;
        global_conf.set_item(key, value).map_err(|e| AppLoadError::from_python(py, e.to_string(), &e))?;
    }
    let deploy = py.import("paste.deploy").map_err(|err| {
        let message = format!("--paste needs PasteDeploy ({}); pip install PasteDeploy", exception_line(py, &err));
        AppLoadError { in_app_code: false, ..AppLoadError::from_python(py, message, &err) }
    })?;
    let config_uri = if uri.contains(':') { uri.to_string() } else { format!("config:{uri}") };
    let loaded = (|| {
        let kwargs = PyDict::new(py);
        kwargs.set_item("relative_to", std::env::current_dir()?.display().to_string())?;
        kwargs.set_item("global_conf", &global_conf)?;
        deploy.call_method("loadapp", (&config_uri,), Some(&kwargs))
    })();
    let app = loaded.map_err(|err| {
        let message = format!("Failed to load the PasteDeploy app {config_uri}: {}", exception_line(py, &err));
        AppLoadError::from_python(py, message, &err)
    })?;
    if !app.is_callable() {
        return Err(AppLoadError::plain(format!("The PasteDeploy app of {config_uri} is not callable.")));
    }
    Ok(app.unbind())
}

/// gunicorn's `paste_global_conf`: split at the first `=` not preceded by `\`, then `\=` → `=`.
fn split_global_conf(entry: &str) -> Option<(String, String)> {
    let bytes = entry.as_bytes();
    let at = (0..bytes.len()).find(|&i| bytes[i] == b'=' && (i == 0 || bytes[i - 1] != b'\\'))?;
    Some((entry[..at].replace("\\=", "="), entry[at + 1..].replace("\\=", "=")))
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
            let loaded = AppLoadError::from_python(py, message, &err);
            AppLoadError { in_app_code: loaded.in_app_code && !missing_itself, ..loaded }
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

#[cfg(test)]
mod tests {
    use super::split_global_conf;

    #[test]
    fn global_conf_entries_split_as_gunicorn() {
        assert_eq!(split_global_conf("FOO=1"), Some(("FOO".into(), "1".into())));
        assert_eq!(split_global_conf("a\\=b=c=d"), Some(("a=b".into(), "c=d".into())));
        assert_eq!(split_global_conf("novalue"), None);
    }
}
