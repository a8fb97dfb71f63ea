"""The performance suite's driver: start each server on each app, load it with wrk, stop it.

Rounds alternate (for each round, for each app, every server in turn: A B C A B C …) so that a
noisy minute on the machine lands on every server rather than on one. Each measurement starts
the server afresh, waits until it answers, warms it up, then runs wrk against 127.0.0.1 only.
`bench/run` is the entry point; run `bench/run --help` for the options.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
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
SMOKE_SERVERS = ["rgunicorn-sync", "rgunicorn-gthread", "gunicorn-sync"]
SMOKE_APPS = ["hello", "stream"]
NOT_IMPLEMENTED_EXIT = 2  # rgunicorn's usage-error exit, e.g. "worker class gevent is not implemented yet"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="CI check: 1 round of 1 s, 3 servers, 2 apps")
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


def one_request(port: int, app: App, conn: http.client.HTTPConnection | None = None) -> int:
    """Send the app's request (on `conn` if given) and read the whole response; returns the status."""
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=5)
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


def wait_ready(proc: subprocess.Popen, port: int, app: App) -> None:
    """Return once the server answers 200; raise if it exits or does not answer in time."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerExited(proc.returncode)
        try:
            if one_request(port, app) == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no 200 response within {READY_TIMEOUT:.0f} s")


def warm_up(port: int, app: App) -> None:
    """Send app.warmup requests over up to 8 connections (imports, first-request work, all workers)."""
    threads = min(8, app.warmup)

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
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
    cmd = servers.command(server, app, port, tmp)
    url = f"http://127.0.0.1:{port}/"
    wrk_cmd = measure.wrk_command(
        url, args.duration, args.threads, args.connections, args.timeout, app.script, server.client_headers
    )
    rec["command"], rec["wrk"] = cmd, wrk_cmd
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
            wait_ready(proc, port, app)
        except ServerExited as e:
            tail = log_tail(log_path, 2)
            if server.family == "rgunicorn" and e.code == NOT_IMPLEMENTED_EXIT:
                rec.update(status="n/a", reason=f"not available: {tail.splitlines()[-1] if tail else e}")
            else:
                rec.update(status="failed", reason=f"{e}: {tail}")
            return rec
        t_ready = time.monotonic()
        warm_up(port, app)
        rec["ready_s"], rec["warmup_s"] = t_ready - t0, time.monotonic() - t_ready
        pids = measure.server_pids(proc.pid)
        cpu0, (busy0, total0), self0 = measure.cpu_seconds(pids), measure.machine_jiffies(), _own_cpu()
        sampler = measure.MemorySampler(proc.pid)
        sampler.start()
        try:
            run = measure.run_wrk(wrk_cmd, args.duration + 30)
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
    records: list[dict] = []
    raw_path = os.path.join(args.out, "raw.jsonl")
    with open(raw_path, "w") as raw:
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
