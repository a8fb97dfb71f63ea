//! Which files `--reload` watches: every imported module's source (as gunicorn, from
//! `sys.modules`, `.pyc` read as `.py`), the literal `reload_extra_files`, the files a failed
//! app load involved, and whatever the glob patterns match now (re-expanded on every check, so
//! files created after start are watched too).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::config::is_glob_pattern;

/// What to watch besides the imported modules.
#[derive(Clone, Debug, Default)]
pub struct ExtraFiles {
    /// Literal paths, absolute.
    pub literal: Vec<PathBuf>,
    /// Glob patterns (`*`, `?`, `[`), absolute, expanded with Python's `glob` (`**` recurses).
    pub patterns: Vec<String>,
}

impl ExtraFiles {
    /// Split `reload_extra_files` into literal paths and patterns, both made absolute against
    /// `start_dir` (gunicorn documents them as relative to where it was started, not `--chdir`).
    pub fn from_setting(entries: &[String], start_dir: &Path) -> ExtraFiles {
        let mut extra = ExtraFiles::default();
        for entry in entries {
            let absolute = start_dir.join(entry);
            if is_glob_pattern(entry) {
                extra.patterns.push(absolute.display().to_string());
            } else {
                extra.literal.push(absolute);
            }
        }
        extra
    }
}

/// The files to watch now. Needs the GIL for `sys.modules` and `glob`; a module whose
/// `__file__` cannot be read is skipped, as gunicorn's `getattr(module, '__file__', None)`.
pub fn watched_files(py: Python<'_>, extra: &ExtraFiles) -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::new();
    if let Ok(modules) = imported_module_files(py) {
        files.extend(modules);
    }
    files.extend(extra.literal.iter().cloned());
    if !extra.patterns.is_empty() {
        files.extend(glob_all(py, &extra.patterns));
    }
    files
}

/// The `reload_extra_files` patterns that match nothing now (gunicorn warns about each at start:
/// legitimate, since they are re-expanded, but often a typo).
pub fn unmatched_patterns(py: Python<'_>, entries: &[String], start_dir: &Path) -> Vec<String> {
    entries
        .iter()
        .filter(|entry| is_glob_pattern(entry))
        .filter(|entry| {
            let extra = ExtraFiles::from_setting(std::slice::from_ref(entry), start_dir);
            glob_all(py, &extra.patterns).is_empty()
        })
        .cloned()
        .collect()
}

fn glob_all(py: Python<'_>, patterns: &[String]) -> Vec<PathBuf> {
    let Ok(glob) = py.import("glob") else { return Vec::new() };
    let kwargs = pyo3::types::PyDict::new(py);
    let _ = kwargs.set_item("recursive", true);
    let mut files = Vec::new();
    for pattern in patterns {
        let Ok(found) = glob.call_method("glob", (pattern,), Some(&kwargs)) else { continue };
        let Ok(found) = found.extract::<Vec<String>>() else { continue };
        files.extend(found.into_iter().map(PathBuf::from));
    }
    files
}

fn imported_module_files(py: Python<'_>) -> PyResult<Vec<PathBuf>> {
    // A snapshot first (tuple(...)), as gunicorn: another thread may import while we iterate.
    let modules = py.import("sys")?.getattr("modules")?.call_method0("values")?;
    let modules = PyList::new(py, modules.try_iter()?.flatten().collect::<Vec<_>>())?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut files = Vec::with_capacity(modules.len());
    for module in modules.iter() {
        let Ok(file) = module.getattr("__file__") else { continue };
        let Ok(file) = file.extract::<String>() else { continue };
        files.push(cwd.join(source_of(&file)));
    }
    Ok(files)
}

/// `x.pyc` / `x.pyo` → `x.py` (gunicorn's `COMPILED_EXT_RE`).
fn source_of(file: &str) -> &str {
    match file.strip_suffix(".pyc").or_else(|| file.strip_suffix(".pyo")) {
        Some(stem) => &file[..stem.len() + 3],
        None => file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_files_map_to_sources() {
        assert_eq!(source_of("/a/b.pyc"), "/a/b.py");
        assert_eq!(source_of("/a/b.pyo"), "/a/b.py");
        assert_eq!(source_of("/a/b.py"), "/a/b.py");
        assert_eq!(source_of("/a/b.so"), "/a/b.so");
    }

    #[test]
    fn patterns_and_literals_are_split_and_made_absolute() {
        let entries = ["templates/**/*.html".to_string(), "conf.ini".to_string(), "/etc/x[12]".to_string()];
        let extra = ExtraFiles::from_setting(&entries, Path::new("/srv/app"));
        assert_eq!(extra.literal, vec![PathBuf::from("/srv/app/conf.ini")]);
        assert_eq!(extra.patterns, vec!["/srv/app/templates/**/*.html".to_string(), "/etc/x[12]".to_string()]);
    }
}
