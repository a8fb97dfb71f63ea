//! `pre_request(worker, req)` and `post_request(worker, req, environ, resp)`: called around the
//! app only when the config file defines them, with `req` and `resp` objects carrying the
//! attributes gunicorn's hooks read.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::http::{RequestHead, Version};

/// The hooks and the worker object they receive.
pub struct RequestHooks {
    /// The `worker` object.
    pub worker: Py<PyAny>,
    /// `pre_request`, if defined.
    pub pre: Option<Py<PyAny>>,
    /// `post_request`, if defined.
    pub post: Option<Py<PyAny>>,
}

/// gunicorn's `req` as hooks see it.
#[pyclass(module = "rgunicorn._rgunicorn", name = "Request", frozen)]
pub struct HookRequest {
    #[pyo3(get)]
    method: String,
    #[pyo3(get)]
    uri: String,
    #[pyo3(get)]
    path: String,
    #[pyo3(get)]
    query: String,
    #[pyo3(get)]
    version: (u8, u8),
    #[pyo3(get)]
    headers: Py<PyList>,
}

/// gunicorn's `resp` as `post_request` sees it.
#[pyclass(module = "rgunicorn._rgunicorn", name = "Response", frozen)]
pub struct HookResponse {
    #[pyo3(get)]
    status: String,
    #[pyo3(get)]
    status_code: u16,
    #[pyo3(get)]
    headers: Py<PyList>,
    #[pyo3(get)]
    sent: u64,
}

impl RequestHooks {
    /// Build `req` for `head`.
    pub fn request_object<'py>(&self, py: Python<'py>, head: &RequestHead) -> PyResult<Bound<'py, HookRequest>> {
        let headers = PyList::empty(py);
        for (name, value) in &head.headers {
            let value: String = value.iter().map(|&b| b as char).collect();
            headers.append(PyTuple::new(py, [name.to_ascii_uppercase(), value])?)?;
        }
        let version = match head.version {
            Version::Http10 => (1, 0),
            Version::Http11 => (1, 1),
        };
        Bound::new(
            py,
            HookRequest {
                method: head.method.clone(),
                uri: head.uri.clone(),
                path: head.path.clone(),
                query: head.query.clone(),
                version,
                headers: headers.unbind(),
            },
        )
    }

    /// Call `pre_request(worker, req)`; a failure is logged.
    pub fn pre_request(&self, py: Python<'_>, req: &Bound<'_, HookRequest>) {
        if let Some(hook) = &self.pre {
            log_failure(py, "pre_request", hook.bind(py).call1((self.worker.bind(py), req)));
        }
    }

    /// Call `post_request(worker, req, environ, resp)`; a failure is logged.
    #[allow(clippy::too_many_arguments)]
    pub fn post_request(
        &self,
        py: Python<'_>,
        req: &Bound<'_, HookRequest>,
        environ: Option<&Bound<'_, PyDict>>,
        code: u16,
        headers: &[(String, String)],
        sent: u64,
    ) {
        let Some(hook) = &self.post else { return };
        let resp = (|| -> PyResult<Bound<'_, HookResponse>> {
            let list = PyList::empty(py);
            for (name, value) in headers {
                list.append(PyTuple::new(py, [name.as_str(), value.as_str()])?)?;
            }
            let status = format!("{code} {}", reason(code));
            Bound::new(py, HookResponse { status, status_code: code, headers: list.unbind(), sent })
        })();
        let environ = environ.map(|e| e.clone().into_any()).unwrap_or_else(|| PyDict::new(py).into_any());
        match resp {
            Ok(resp) => {
                log_failure(py, "post_request", hook.bind(py).call1((self.worker.bind(py), req, environ, resp)))
            }
            Err(e) => log_failure(py, "post_request", Err(e)),
        }
    }
}

fn log_failure(py: Python<'_>, name: &str, result: PyResult<Bound<'_, PyAny>>) {
    if let Err(err) = result {
        crate::error!("Exception in {name} hook\n{}", crate::errors::format_traceback(py, &err).trim_end());
    }
}

/// The standard reason phrase, for `resp.status` (the app's own text is not kept past sending).
fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "",
    }
}
