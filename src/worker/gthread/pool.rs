//! The gthread worker's pool: `--threads` OS threads that call the app.
//!
//! Each thread attaches to the interpreter once and keeps its thread state for its whole life.
//! It waits for work with the GIL released, and between requests it first looks for queued work
//! while still holding the GIL, so that a busy worker runs request after request without
//! handing the GIL around. The request body is read, the app called and the response written on
//! the thread (see [`super::transport`] for when the GIL is released), then the connection goes
//! back to the I/O thread, or straight on to the next pipelined request when its head is
//! already here.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use pyo3::prelude::*;

use super::handoff::{Back, Conn, Job};
use super::shared::Shared;
use super::transport::ConnTransport;
use super::watchdog::Watchdog;
use crate::http::{parse_request_head, Limits};
use crate::worker::WorkerState;
use crate::wsgi::{serve, ServeOptions};

/// Pipelined requests served in a row before the connection goes back to the queue, so that one
/// client cannot keep a thread to itself while others wait.
const MAX_PIPELINED_IN_A_ROW: u32 = 16;
/// Python threads get the C stack of a default pthread (8 MiB on Linux), not Rust's 2 MiB:
/// deep template rendering and recursion must not crash here when they work under gunicorn.
const STACK_SIZE: usize = 8 << 20;

/// What every pool thread needs.
pub struct PoolContext {
    /// The worker: app, environ template, request counting.
    pub state: Arc<WorkerState>,
    /// Queues and flags shared with the I/O and main threads.
    pub shared: Arc<Shared>,
    /// The request deadlines.
    pub watchdog: Arc<Watchdog>,
    /// How to serve while running.
    pub opts: ServeOptions,
    /// How to serve once stopping: `Connection: close` on every response.
    pub closing: ServeOptions,
    /// Parser limits, for pipelined heads.
    pub limits: Limits,
    /// No-progress limit on reading a request body.
    pub recv_timeout: Option<Duration>,
    /// No-progress limit on sending a response.
    pub send_timeout: Option<Duration>,
}

/// Start `threads` pool threads. They run until the job queue is closed.
pub fn spawn(ctx: &Arc<PoolContext>, threads: usize) -> std::io::Result<Vec<JoinHandle<()>>> {
    (0..threads)
        .map(|index| {
            let ctx = ctx.clone();
            std::thread::Builder::new()
                .name(format!("rgunicorn-pool-{index}"))
                .stack_size(STACK_SIZE)
                .spawn(move || thread_main(&ctx, index))
        })
        .collect()
}

fn thread_main(ctx: &PoolContext, index: usize) {
    Python::attach(|py| {
        ctx.watchdog.register_thread(index);
        loop {
            let job = match ctx.shared.jobs.try_pop() {
                Some(job) => job,
                None => match py.detach(|| ctx.shared.jobs.wait_pop(index)) {
                    Some(job) => job,
                    None => break,
                },
            };
            serve_connection(py, ctx, index, job);
        }
    });
}

/// Serve the request of `job`, and the pipelined ones after it, then hand the connection back.
fn serve_connection(py: Python<'_>, ctx: &PoolContext, index: usize, job: Job) {
    let Job { conn, mut head, mut already } = job;
    let Conn { token, mut sock, mut tls, peer } = conn;
    let app = ctx.state.conn.app.bind(py);
    let mut in_a_row = 0;
    loop {
        ctx.shared.jobs.started(index);
        let closing = ctx.shared.is_stopping();
        let opts = if closing { &ctx.closing } else { &ctx.opts };
        let transport =
            Arc::new(ConnTransport::new(sock, tls, ctx.recv_timeout, ctx.send_timeout).watching(ctx.shared.clone()));
        ctx.watchdog.begin(index, &transport, &head);
        let result = serve(py, app, &ctx.state.conn.info, opts, &head, already, transport.clone(), &peer);
        ctx.watchdog.end(index);
        ctx.state.count_requests(1);
        if !ctx.state.is_alive() {
            // Past --max-requests: stop accepting now, not at the main thread's next tick.
            ctx.shared.stop();
        }
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(err) => {
                // SystemExit or KeyboardInterrupt from the app: the worker must exit.
                ctx.shared.set_fatal(err);
                drop(transport);
                return close(ctx, token);
            }
        };
        let transport = match Arc::try_unwrap(transport) {
            Ok(t) => t,
            Err(t) => {
                // The app kept `wsgi.input` or `start_response` alive: the socket cannot be
                // reused while something may still write to it.
                crate::debug!("The app kept a reference to a finished request; closing its connection");
                let _ = t.socket().shutdown(std::net::Shutdown::Both);
                drop(t);
                return close(ctx, token);
            }
        };
        if transport.timed_out() {
            drop(transport);
            return close(ctx, token);
        }
        (sock, tls) = transport.into_parts();
        if !outcome.keep_alive {
            if outcome.body_complete {
                say_goodbye(sock, tls);
                return close(ctx, token);
            }
            return ctx.shared.back.push(Back::Linger(Conn { token, sock, tls, peer }), true);
        }
        if closing || ctx.shared.is_stopping() {
            say_goodbye(sock, tls);
            return close(ctx, token);
        }
        let mut leftover = outcome.leftover;
        if !leftover.is_empty() && in_a_row < MAX_PIPELINED_IN_A_ROW {
            if let Ok(Some(next)) = parse_request_head(&leftover, &ctx.limits) {
                already = leftover.split_off(next.head_len);
                head = next;
                in_a_row += 1;
                continue;
            }
        }
        // The next request may already sit decrypted in the TLS session, where no readiness
        // event will announce it: then the I/O thread must look at once.
        let urgent = ctx.shared.is_stopping() || tls.as_mut().is_some_and(|t| t.has_buffered_plaintext());
        let back = Back::KeepAlive { conn: Conn { token, sock, tls, peer }, leftover };
        return ctx.shared.back.push(back, urgent);
    }
}

/// Close the socket; a TLS connection says `close_notify` first.
fn say_goodbye(sock: socket2::Socket, tls: Option<Box<crate::tls::conn::TlsConn>>) {
    if let Some(mut tls) = tls {
        tls.close_notify(&sock);
    }
    drop(sock);
}

/// The socket is closed (dropped): free its slot in the I/O thread's table.
fn close(ctx: &PoolContext, token: usize) {
    ctx.shared.back.push(Back::Closed(token), ctx.shared.closing_is_urgent());
}
