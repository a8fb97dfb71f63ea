//! What rgunicorn itself prints to the terminal: help, version and `--print-config` on stdout, and
//! the one line that replaces Rust's panic report.
//!
//! A reader that closes the pipe early (`rgunicorn --help | head -n 1`) is not an error: the output
//! stops quietly. `println!` would panic there instead, and the panic would surface as a Rust
//! backtrace followed by a Python traceback.

use std::io::{self, Write};
use std::sync::Once;

/// Write `text` to stdout and flush it. A closed stdout (EPIPE) counts as done; any other write
/// error is reported in one line. Returns the exit status to use.
pub fn print_stdout(text: &str) -> i32 {
    match write_all_flushed(&mut io::stdout().lock(), text.as_bytes()) {
        Ok(()) => 0,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("rgunicorn: error: cannot write to stdout: {e}");
            1
        }
    }
}

fn write_all_flushed(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

/// Replace Rust's panic report (message, backtrace) with one line naming the failure and where it
/// happened. Installed once per process; forked workers inherit it.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown failure".to_string());
            let message = message.lines().next().unwrap_or_default().to_string();
            let place = info.location().map(|l| format!(" ({}:{})", l.file(), l.line())).unwrap_or_default();
            // eprintln! could itself panic on a closed stderr; a failed write is dropped instead.
            let _ = writeln!(io::stderr().lock(), "rgunicorn: internal error: {message}{place}");
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone away.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_reported_as_broken_pipe_not_a_panic() {
        let err = write_all_flushed(&mut ClosedPipe, b"usage").expect_err("the pipe is closed");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn an_open_writer_gets_every_byte() {
        let mut out = Vec::new();
        write_all_flushed(&mut out, b"usage: rgunicorn\n").expect("a Vec accepts writes");
        assert_eq!(out, b"usage: rgunicorn\n");
    }
}
