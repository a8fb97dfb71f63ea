"""The performance suite's driver: start each server on each app, load it with wrk, stop it.

Rounds alternate (for each round, for each app, every server in turn: A B C A B C …) so that a
noisy minute on the machine lands on every server rather than on one. Each measurement starts
the server afresh, waits until it answers, warms it up, then runs wrk against 127.0.0.1 only.
TLS rows get one certificate set made for the run (servers.make_certificates) and HTTPS URLs.
`bench/run` is the entry point; run `bench/run --help` for the options.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import measure
import report
import servers
from servers import APP_BY_KEY, APPS, APPS_DIR, BENCH, SERVER_BY_KEY, SERVERS, App, Server

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# rgunicorn-gthread-tls runs on hello only (about 2 s); the sync TLS row would add the build and
# check of wrk/handshake.c as well (another 2.5 s), so the smoke run leaves it out.
SMOKE_SERVERS = ["rgunicorn-sync", "rgunicorn-gthread", "gunicorn-sync", "rgunicorn-gthread-tls"]
SMOKE_APPS = ["hello", "stream"]
NOT_IMPLEMENTED_EXIT = 2  # rgunicorn's usage-error exit, e.g. "worker class gevent is not implemented yet"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="CI check: 1 round of 1 s, 4 servers, 2 apps")
    p.add_argument("-d", "--duration", type=int, default=4, help="seconds per wrk run (default 4)")
    p.add_argument("-r", "--rounds", type=int, default=3, help="alternating rounds (default 3)")
    p.add_argument("-c", "--connections", type=int, default=64, help="wrk connections (default 64)")
    p.add_argument("-t", "--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--timeout", type=int, default=5, help="wrk's per-request timeout in seconds (default 5)")
    p.add_argument("--servers", help="comma-separated keys: " + ",".join(s.key for s in SERVERS))
    p.add_argument("--apps", help="comma-separated keys: " + ",".join(a.key for a in APPS))
    p.add_argument("--out", help="output directory (default bench/results, or bench/.smoke with --smoke)")
    p.add_argument("--report-only", action="store_true", help="rewrite results.md and the charts from OUT/raw.jsonl")
    args = p.parse_args(argv)
    if args.smoke:
        args.duration, args.rounds = 1, 1
        args.servers = args.servers or ",".join(SMOKE_SERVERS)
        args.apps = args.apps or ",".join(SMOKE_APPS)
    args.out = args.out or os.path.join(BENCH, ".smoke" if args.smoke else "results")
    args.server_list = _pick(args.servers, SERVER_BY_KEY, SERVERS, "server")
    args.app_list = _pick(args.apps, APP_BY_KEY, APPS, "app")
    return args


def _pick(spec, table, default, what):
    if not spec:
        return list(default)
    keys = [k.strip() for k in spec.split(",") if k.strip()]
    unknown = [k for k in keys if k not in table]
    if unknown:
        sys.exit(f"bench: unknown {what}(s): {', '.join(unknown)}")
    return [table[k] for k in keys]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UnframedResponse(Exception):
    """A body with neither Content-Length nor chunked framing on a connection left open: no
    client can tell where it ends, so wrk would wait for it until its timeout."""


def client_tls_context() -> ssl.SSLContext:
    """The suite's own client: TLS without verification, as wrk does (the CA is throwaway)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connection(port: int, tls: bool = False) -> http.client.HTTPConnection:
    if tls:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=client_tls_context())
    return http.client.HTTPConnection("127.0.0.1", port, timeout=5)


def one_request(port: int, app: App, conn: http.client.HTTPConnection | None = None, tls: bool = False) -> int:
    """Send the app's request (on `conn` if given) and read the whole response; returns the status."""
    conn = conn or connection(port, tls)
    headers = {"Content-Type": "application/octet-stream"} if app.body else {}
    conn.request(app.method, "/", body=app.body or None, headers=headers)
    resp = conn.getresponse()
    closes = "close" in (resp.getheader("Connection") or "").lower() or resp.version == 10
    if resp.length is None and not resp.chunked and not closes:
        conn.close()
        raise UnframedResponse(
            "the response body has no Content-Length and is not chunked, and the connection stays open: "
            "clients cannot find its end"
        )
    resp.read()
    return resp.status


def wait_ready(proc: subprocess.Popen, port: int, app: App, tls: bool = False) -> None:
    """Return once the server answers 200; raise if it exits or does not answer in time."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerExited(proc.returncode)
        try:
            if one_request(port, app, tls=tls) == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no 200 response within {READY_TIMEOUT:.0f} s")


def warm_up(port: int, app: App, tls: bool = False) -> None:
    """Send app.warmup requests over up to 8 connections (imports, first-request work, all workers)."""
    threads = min(8, app.warmup)

    def worker(n: int) -> None:
        conn = connection(port, tls)
        try:
            for _ in range(n):
                status = one_request(port, app, conn)
                if status != 200:
                    raise RuntimeError(f"warm-up request answered {status}")
        finally:
            conn.close()

    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(worker, app.warmup // threads) for _ in range(threads)]:
            f.result()


def tls_facts(port: int) -> str:
    """What the suite's client negotiated with a TLS server: version, cipher suite, ALPN."""
    ctx = client_tls_context()
    ctx.set_alpn_protocols(["http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            facts = f"{s.version()} {s.cipher()[0]}, ALPN {s.selected_alpn_protocol() or 'none'}"
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            try:
                while s.recv(65536):
                    pass
            except (ssl.SSLError, OSError):
                pass
    return facts


def prepare_tls(args: argparse.Namespace, d: str) -> dict[str, str]:
    """For the TLS rows selected: the run's certificates in `d` (args.certs), and wrk/handshake.c
    built there and checked (args.handshake_preload, args.handshake_check). Returns {server key: why it
    cannot run} for the TLS rows that cannot."""
    args.certs = args.handshake_preload = args.handshake_check = None
    tls_rows = [s for s in args.server_list if s.tls and not servers.unavailable(s)]
    if not tls_rows:
        return {}
    try:
        args.certs = servers.make_certificates(d)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
        return {s.key: f"no certificates: {e}" for s in tls_rows}
    if not any(s.full_handshakes for s in tls_rows):
        return {}
    try:
        args.handshake_preload = servers.build_handshake_preload(d)
        args.handshake_check = check_handshake_preload(args.handshake_preload, args.certs)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
        args.handshake_preload = None
        return {s.key: str(e) for s in tls_rows if s.full_handshakes}
    return {}


def check_handshake_preload(lib: str, certs: servers.Certificates) -> str:
    """Make sure wrk with `lib` preloaded makes a full handshake on every connection: load
    `openssl s_server -www` (which can resume) for a second, then read its session cache hits.
    Returns what was seen; raises RuntimeError if wrk resumed a session."""
    port = free_port()
    cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", certs.certfile, "-key", certs.keyfile,
           "-www", "-quiet"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("openssl s_server did not start for the handshake preload check") from None
                time.sleep(0.05)
        env = dict(os.environ, LD_PRELOAD=lib)
        subprocess.run(["wrk", "-t1", "-c4", "-d1s", f"https://127.0.0.1:{port}/"], env=env, capture_output=True,
                       timeout=30, check=False)  # fmt: skip
        ctx = client_tls_context()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, ctx.wrap_socket(raw) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            page = b""
            try:
                while chunk := s.recv(65536):
                    page += chunk
            except (ssl.SSLError, OSError):
                pass
    finally:
        stop(proc)
    text = page.decode(errors="replace")
    hits = re.search(r"(\d+) session cache hits", text)
    done = re.search(r"(\d+) server accepts that finished", text)
    if not hits or not done:
        raise RuntimeError("handshake preload check: openssl s_server -www printed no session statistics")
    hits_n, done_n = int(hits.group(1)), int(done.group(1))
    if done_n < 10 or hits_n:
        raise RuntimeError(
            f"handshake preload check: wrk resumed {hits_n} of {done_n} TLS sessions with wrk/handshake.c preloaded"
        )
    return f"wrk with handshake.c against openssl s_server: {done_n} handshakes, {hits_n} resumed"


class ServerExited(Exception):
    """The server process exited before it answered."""

    def __init__(self, code: int):
        super().__init__(f"server exited with code {code} before answering")
        self.code = code


def stop(proc: subprocess.Popen) -> None:
    """Stop the server by its process group and descendants: TERM, then KILL after STOP_TIMEOUT.
    (TERM, not INT: granian takes 5 s to stop on SIGINT and 0.1 s on SIGTERM.)"""
    pids = measure.server_pids(proc.pid) if proc.poll() is None else set()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        for pid in pids - {proc.pid}:  # descendants that left the group
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            continue
        if not measure.wait_gone(pids, time.monotonic() + STOP_TIMEOUT):
            return
    proc.wait()


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def log_tail(path: str, lines: int = 5) -> str:
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def log_problems(path: str) -> int:
    """Lines in the server's own log that report an error (tracebacks, ERROR, CRITICAL)."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return 0
    return sum(1 for ln in text.splitlines() if "Traceback" in ln or "[ERROR]" in ln or "[CRITICAL]" in ln)


def measure_cell(server: Server, app: App, rnd: int, args: argparse.Namespace) -> dict:
    """Start `server` on `app`, measure it once, stop it. Never raises: failures are records."""
    rec = {"server": server.key, "app": app.key, "round": rnd, "status": "ok", "reason": ""}
    tmp = tempfile.mkdtemp(prefix=f"bench-{server.key}-")
    port = free_port()
    cmd = servers.command(server, app, port, tmp, args.certs)
    url = f"{servers.scheme(server)}://127.0.0.1:{port}/"
    wrk_cmd = measure.wrk_command(
        url, args.duration, args.threads, args.connections, args.timeout, app.script, server.client_headers
    )
    wrk_env = {"LD_PRELOAD": args.handshake_preload} if server.full_handshakes else {}
    rec["command"], rec["wrk"] = cmd, wrk_cmd
    if wrk_env:
        rec["wrk_env"] = wrk_env
    env = dict(os.environ, PYTHONPATH=APPS_DIR, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    log_path = os.path.join(tmp, "server.log")
    proc = None
    t0 = time.monotonic()
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd, cwd=APPS_DIR, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            wait_ready(proc, port, app, server.tls)
        except ServerExited as e:
            tail = log_tail(log_path, 2)
            if server.family == "rgunicorn" and e.code == NOT_IMPLEMENTED_EXIT:
                rec.update(status="n/a", reason=f"not available: {tail.splitlines()[-1] if tail else e}")
            else:
                rec.update(status="failed", reason=f"{e}: {tail}")
            return rec
        t_ready = time.monotonic()
        if server.tls:
            rec["tls"] = tls_facts(port)
        warm_up(port, app, server.tls)
        rec["ready_s"], rec["warmup_s"] = t_ready - t0, time.monotonic() - t_ready
        pids = measure.server_pids(proc.pid)
        cpu0, (busy0, total0), self0 = measure.cpu_seconds(pids), measure.machine_jiffies(), _own_cpu()
        sampler = measure.MemorySampler(proc.pid)
        sampler.start()
        try:
            run = measure.run_wrk(wrk_cmd, args.duration + 30, wrk_env)
        finally:
            sampler.finish()
        cpu1 = measure.cpu_seconds(measure.server_pids(proc.pid) | pids)
        busy1, total1 = measure.machine_jiffies()
        own = _own_cpu() - self0  # this driver's sampling, also not the server's
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} during the run")
        server_cpu = measure.cpu_delta(cpu0, cpu1)
        ticks = measure.TICK
        other = ((busy1 - busy0) / ticks - server_cpu - run.client_cpu_s - own) / max((total1 - total0) / ticks, 1e-9)
        rec.update(
            rps=run.rps,
            requests=run.requests,
            errors=run.errors,
            error_detail=run.error_detail,
            p50_ms=run.p50_ms,
            p90_ms=run.p90_ms,
            p99_ms=run.p99_ms,
            max_ms=run.max_ms,
            mbytes_per_s=run.bytes / run.duration_s / 1e6 if run.duration_s else 0.0,
            rss_mib=sampler.max_rss / 2**20,
            pss_mib=sampler.max_pss / 2**20,
            processes=len(pids),
            cpu_s=server_cpu,
            cpu_us_per_req=server_cpu / run.requests * 1e6 if run.requests else None,
            client_cpu_s=run.client_cpu_s,
            other_cpu_pct=max(0.0, other * 100),
            log_problems=log_problems(log_path),
        )
        if run.requests == 0:
            rec.update(status="failed", reason="wrk completed no request")
    except UnframedResponse as e:
        rec.update(status="failed", reason=str(e))
    except Exception as e:  # noqa: BLE001 - one broken cell must not lose the others' figures
        rec.update(status="failed", reason=f"{type(e).__name__}: {e}: {log_tail(log_path)}")
    finally:
        if proc is not None:
            t_stop = time.monotonic()
            stop(proc)
            rec["stop_s"] = time.monotonic() - t_stop
        rec["cell_s"] = time.monotonic() - t0
        shutil.rmtree(tmp, ignore_errors=True)
    return rec


def describe(rec: dict) -> str:
    if rec["status"] != "ok":
        return f"{rec['status'].upper()}: {rec['reason']}"
    return (
        f"{rec['rps']:9.0f} req/s  p50 {rec['p50_ms']:7.2f} ms  p99 {rec['p99_ms']:8.2f} ms  err {rec['errors']:<5d}"
        f" RSS {rec['rss_mib']:6.1f} MiB  {rec['cpu_us_per_req']:7.1f} us/req  others {rec['other_cpu_pct']:4.0f}%"
    )


def failures(records: list[dict], smoke: bool) -> list[str]:
    """What makes the run fail: any rgunicorn row that broke (not "not available"), and in
    smoke mode any selected row that broke or an rgunicorn row with client-visible errors."""
    bad = []
    for rec in records:
        ours = rec["server"].startswith("rgunicorn")
        if rec["status"] == "failed" and (ours or smoke):
            bad.append(f"{rec['server']} / {rec['app']} (round {rec['round']}): {rec['reason']}")
        elif smoke and ours and rec["status"] == "ok" and (rec["errors"] or rec["log_problems"]):
            bad.append(f"{rec['server']} / {rec['app']}: {rec['errors']} wrk errors, {rec['log_problems']} log errors")
    return bad


def rewrite_report(args: argparse.Namespace) -> int:
    with open(os.path.join(args.out, "raw.jsonl")) as f:
        records = [json.loads(line) for line in f]
    with open(os.path.join(args.out, "meta.json")) as f:
        meta = json.load(f)
    ran_servers = {r["server"] for r in records}
    ran_apps = {r["app"] for r in records}
    report.write(records, meta, [s for s in SERVERS if s.key in ran_servers], [a for a in APPS if a.key in ran_apps],
                 args.out)  # fmt: skip
    print(f"bench: rewrote {os.path.relpath(os.path.join(args.out, 'results.md'))}")
    return 0


def run_cells(args: argparse.Namespace, cells: list[tuple[Server, App]], missing: dict[str, str | None]) -> list[dict]:
    """Every round of every cell, written to OUT/raw.jsonl as it goes."""
    records: list[dict] = []
    with open(os.path.join(args.out, "raw.jsonl"), "w") as raw:
        for rnd in range(1, args.rounds + 1):
            for server, app in cells:
                if missing[server.key]:
                    rec = {"server": server.key, "app": app.key, "round": rnd, "status": "n/a",
                           "reason": f"not available: {missing[server.key]}"}  # fmt: skip
                else:
                    rec = measure_cell(server, app, rnd, args)
                    if rec["status"] == "n/a":  # the server said so: do not ask again
                        missing[server.key] = rec["reason"].removeprefix("not available: ")
                records.append(rec)
                raw.write(json.dumps(rec) + "\n")
                raw.flush()
                print(f"[round {rnd} {app.key:8s}] {server.label:24s} {describe(rec)}", flush=True)
    return records


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    # TERM as Ctrl-C: unwinding runs each cell's `finally`, which stops its server.
    signal.signal(signal.SIGTERM, _interrupt)
    args = parse_args(argv)
    if args.report_only:
        return rewrite_report(args)
    os.makedirs(args.out, exist_ok=True)
    started = datetime.now(timezone.utc)
    machine = report.machine_info()
    cells = [(s, a) for a in args.app_list for s in args.server_list if servers.serves(s, a)]
    print(
        f"bench: {len(cells)} cells x {args.rounds} rounds, {args.duration} s each, wrk -t{args.threads} "
        f"-c{args.connections}; results in {os.path.relpath(args.out)}",
        flush=True,
    )
    missing = {s.key: servers.unavailable(s) for s in args.server_list}
    tls_dir = tempfile.mkdtemp(prefix="bench-tls-")  # the run's certificates and wrk/handshake.c; removed at the end
    try:
        missing.update(prepare_tls(args, tls_dir))
        records = run_cells(args, cells, missing)
    finally:
        shutil.rmtree(tls_dir, ignore_errors=True)
    finished = datetime.now(timezone.utc)
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "args": {k: getattr(args, k) for k in ("duration", "rounds", "connections", "threads", "timeout", "smoke")},
        "machine": machine,
        "load_after": os.getloadavg(),
        "versions": report.versions(),
        "argv": ["bench/run", *argv],
    }
    if args.certs:
        meta["tls"] = {
            "certificates": [shlex.join(c) for c in servers.certificate_commands("DIR")],
            "certificate_extensions": servers.CERT_EXTENSIONS.strip().splitlines(),
            "handshake_preload_check": args.handshake_check,
        }
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    report.write(records, meta, args.server_list, args.app_list, args.out)
    print(f"bench: wrote {os.path.relpath(os.path.join(args.out, 'results.md'))} in {finished - started}")
    bad = failures(records, args.smoke)
    for line in bad:
        print(f"bench: FAILED {line}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
