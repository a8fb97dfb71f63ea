//! The error log, in gunicorn's line format: `[2026-01-01 12:00:00 +0000] [pid] [INFO] message`.
//! The access log is in [`access`].
//!
//! One global sink (stderr or a file opened for append) and one level. Each record is written with
//! a single write(2) so lines from different workers never interleave; USR1 reopens the file.

pub mod access;
pub mod logger_class;
pub mod pylogger;
pub mod python;
pub mod record;
pub mod statsd;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

/// Severity, ordered as Python's logging levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Details for debugging, e.g. client disconnects.
    Debug = 10,
    /// Normal lifecycle events.
    Info = 20,
    /// Something unexpected that the server handled.
    Warning = 30,
    /// A request or a worker failed.
    Error = 40,
    /// The server cannot go on.
    Critical = 50,
}

impl Level {
    /// The level of a Python logging level number (rounded down to a known level).
    pub fn from_python(levelno: i32) -> Level {
        match levelno {
            n if n >= 50 => Level::Critical,
            n if n >= 40 => Level::Error,
            n if n >= 30 => Level::Warning,
            n if n >= 20 => Level::Info,
            _ => Level::Debug,
        }
    }

    /// The name of gunicorn's Logger method for this level.
    pub fn method(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Critical => "critical",
        }
    }

    /// Parse gunicorn's level names.
    pub fn from_name(name: &str) -> Option<Level> {
        Some(match name.to_ascii_lowercase().as_str() {
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warning" | "warn" => Level::Warning,
            "error" => Level::Error,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    fn label(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Where records go: `None` means stderr.
struct Sink {
    path: Option<String>,
    file: Option<File>,
}

static SINK: Mutex<Sink> = Mutex::new(Sink { path: None, file: None });

/// Configure the level and destination (`-` or empty = stderr).
pub fn configure(level: Level, errorlog: &str) -> std::io::Result<()> {
    LEVEL.store(level as u8, Ordering::Relaxed);
    let mut sink = SINK.lock().unwrap_or_else(|p| p.into_inner());
    if errorlog.is_empty() || errorlog == "-" {
        *sink = Sink { path: None, file: None };
    } else {
        let file = open_append(errorlog)?;
        *sink = Sink { path: Some(errorlog.to_string()), file: Some(file) };
    }
    Ok(())
}

/// Reopen the log file under its configured name (after logrotate moved it).
pub fn reopen() -> std::io::Result<()> {
    let mut sink = SINK.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = sink.path.clone() {
        sink.file = Some(open_append(&path)?);
    }
    Ok(())
}

static CAPTURE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--capture-output`: point stdout and stderr at the error log file (when it is a file), so
/// `print()` in apps lands there; USR1 redoes it after a reopen.
pub fn capture_output() {
    CAPTURE.store(true, Ordering::Relaxed);
    redirect_stdio();
}

fn redirect_stdio() {
    if !CAPTURE.load(Ordering::Relaxed) {
        return;
    }
    let sink = SINK.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(file) = &sink.file {
        for fd in [libc::STDOUT_FILENO, libc::STDERR_FILENO] {
            // SAFETY: dup2 onto the standard descriptors of this process; `file` stays open.
            unsafe { libc::dup2(file.as_raw_fd(), fd) };
        }
    }
}

/// USR1: reopen the error log and the access log, reporting failures in the (old) error log.
pub fn reopen_all() {
    reopen_own_files();
    logger_class::reopen_files();
}

/// Reopen the files rgunicorn itself writes (not a `logger_class`'s).
pub fn reopen_own_files() {
    if let Err(e) = reopen() {
        crate::error!("Cannot reopen the error log: {e}");
    }
    redirect_stdio();
    if let Err(e) = access::reopen() {
        crate::error!("Cannot reopen the access log: {e}");
    }
}

pub(crate) fn open_append(path: &str) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Whether a record at `level` would be written.
pub fn enabled(level: Level) -> bool {
    level as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// Write one record. Multi-line messages (tracebacks) are kept in one write.
pub fn emit(level: Level, args: fmt::Arguments<'_>) {
    count_record(level);
    if !enabled(level) {
        return;
    }
    if logger_class::active() {
        // The configured logger_class writes the error log, as gunicorn's Logger does.
        logger_class::forward_error(level, &args.to_string());
        return;
    }
    if python::active() {
        python::forward_error(level, &args.to_string());
        if python::replaces_writers() {
            return;
        }
    }
    let mut line = Vec::with_capacity(128);
    line.push(b'[');
    line.extend_from_slice(local_timestamp().as_bytes());
    let _ = write!(line, "] [{}] [{}] ", std::process::id(), level.label());
    let _ = line.write_fmt(args);
    if line.last() != Some(&b'\n') {
        line.push(b'\n');
    }
    write_raw(&line);
}

fn count_record(level: Level) {
    match level {
        Level::Warning => statsd::log_record("warning"),
        Level::Error => statsd::log_record("error"),
        Level::Critical => statsd::log_record("critical"),
        Level::Debug | Level::Info => {}
    }
}

/// A record Python's logging already formatted (a plug-in worker's `log.error_log`): counted
/// for statsd and written to the error log as it is, without going back through Python.
pub fn write_formatted(level: Level, line: &str) {
    count_record(level);
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    if bytes.last() != Some(&b'\n') {
        bytes.push(b'\n');
    }
    write_raw(&bytes);
}

/// The descriptor records go to, for C-level writers such as `faulthandler`.
pub fn raw_fd() -> i32 {
    let sink = SINK.lock().unwrap_or_else(|p| p.into_inner());
    sink.file.as_ref().map_or(libc::STDERR_FILENO, |f| f.as_raw_fd())
}

/// Write bytes to the sink as they are (used for `wsgi.errors` and captured output).
pub fn write_raw(bytes: &[u8]) {
    let sink = SINK.lock().unwrap_or_else(|p| p.into_inner());
    let fd = match &sink.file {
        Some(f) => f.as_raw_fd(),
        None => libc::STDERR_FILENO,
    };
    write_all_fd(fd, bytes);
}

pub(crate) fn write_all_fd(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a valid readable slice for its length; fd is owned by the sink or is stderr.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// `2026-01-01 12:00:00 +0000` in local time, as gunicorn's `%Y-%m-%d %H:%M:%S %z`.
pub fn local_timestamp() -> String {
    strftime_now(b"%Y-%m-%d %H:%M:%S %z\0")
}

/// Format the current local time with a NUL-terminated strftime pattern.
pub fn strftime_now(pattern: &[u8]) -> String {
    // SAFETY: time(NULL) has no preconditions.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    // SAFETY: a zeroed tm is a valid value to be overwritten by localtime_r.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call.
    unsafe { libc::localtime_r(&now, &mut tm) };
    let mut buf = [0u8; 64];
    // SAFETY: buf is writable for its length, pattern is NUL-terminated, tm was filled above.
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), pattern.as_ptr().cast(), &tm) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Log at DEBUG.
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { $crate::logging::emit($crate::logging::Level::Debug, format_args!($($t)*)) } }
/// Log at INFO.
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::logging::emit($crate::logging::Level::Info, format_args!($($t)*)) } }
/// Log at WARNING.
#[macro_export]
macro_rules! warning { ($($t:tt)*) => { $crate::logging::emit($crate::logging::Level::Warning, format_args!($($t)*)) } }
/// Log at ERROR.
#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::logging::emit($crate::logging::Level::Error, format_args!($($t)*)) } }
/// Log at CRITICAL.
#[macro_export]
macro_rules! critical { ($($t:tt)*) => { $crate::logging::emit($crate::logging::Level::Critical, format_args!($($t)*)) } }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_has_gunicorn_shape() {
        let ts = local_timestamp();
        // 2026-01-01 12:00:00 +0000
        assert_eq!(ts.len(), 25, "{ts}");
        assert_eq!(&ts[4..5], "-");
        assert_eq!(ts.as_bytes()[19], b' ');
        assert!(matches!(ts.as_bytes()[20], b'+' | b'-'), "{ts}");
    }

    #[test]
    fn levels_parse() {
        assert_eq!(Level::from_name("WARNING"), Some(Level::Warning));
        assert_eq!(Level::from_name("loud"), None);
        assert!(Level::Error > Level::Info);
    }
}
