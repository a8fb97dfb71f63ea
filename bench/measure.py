"""What one measurement reads: wrk's figures, and the server's CPU time and memory from /proc.

The server is every process descended from the one the suite started (plus its process group),
so a master, its workers and any helper processes all count. CPU time is utime + stime, and
cutime + cstime for children reaped during the run, read before and after wrk. Memory is sampled
while wrk runs and the largest total is kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
WRK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may hold spaces), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("latin-1")
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def server_pids(root: int) -> set[int]:
    """`root`, every process descended from it, and every process in its process group."""
    parent: dict[int, int] = {}
    group: set[int] = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields is None:
            continue
        pid = int(name)
        # After the name: state(0) ppid(1) pgrp(2) ...
        parent[pid] = int(fields[1])
        if int(fields[2]) == root:
            group.add(pid)
    found = {root} | group
    grew = True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return {pid for pid in found if pid in parent}


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """utime + stime + cutime + cstime of each live process in `pids`, in seconds."""
    out = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        # utime(11) stime(12) cutime(13) cstime(14), counted from state = 0.
        out[pid] = sum(int(x) for x in fields[11:15]) / TICK
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings. A process missing from `after` exited during the
    run: its time up to `before` is lost, but its parent's cutime/cstime picks up the rest."""
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def memory(pids: set[int]) -> tuple[int, int]:
    """(total RSS, total PSS) in bytes. RSS counts pages shared by forked workers once per
    process, as `ps` does; PSS splits them, so it is the fairer figure for prefork servers."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss += int(f.read().split()[1]) * PAGE
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            continue
    return rss, pss


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user
    return total - idle, total


class MemorySampler(threading.Thread):
    """Keeps the largest total RSS (and the PSS read with it) of the server while running."""

    def __init__(self, root: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.max_rss = self.max_pss = 0
        self._done = threading.Event()

    def run(self) -> None:
        while True:
            rss, pss = memory(server_pids(self.root))
            if rss > self.max_rss:
                self.max_rss, self.max_pss = rss, pss
            if self._done.wait(self.every):
                return

    def finish(self) -> None:
        self._done.set()
        self.join()
        rss, pss = memory(server_pids(self.root))
        if rss > self.max_rss:
            self.max_rss, self.max_pss = rss, pss


@dataclass
class WrkRun:
    """One wrk run's figures."""

    requests: int
    duration_s: float
    rps: float
    bytes: int
    errors: int
    error_detail: dict
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    client_cpu_s: float
    output: str


def wrk_command(url: str, duration: int, threads: int, connections: int, timeout: int, script: str,
                headers: tuple[str, ...] = ()) -> list[str]:
    """The wrk command line (as printed in results.md)."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout}s", "--latency"]
    for header in headers:
        cmd += ["-H", header]
    return cmd + ["-s", os.path.join(WRK_DIR, script), url]


def run_wrk(cmd: list[str], limit: float, extra_env: dict[str, str] | None = None) -> WrkRun:
    """Run wrk to completion (killed after `limit` seconds) and read its JSON line. `extra_env`:
    more environment (LD_PRELOAD of wrk/handshake.c for the full-handshake rows)."""
    env = dict(os.environ, BENCH_WRK_DIR=WRK_DIR, **(extra_env or {}))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    timer = threading.Timer(limit, proc.kill)
    timer.start()
    try:
        output = proc.stdout.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        timer.cancel()
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH-JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk exited {proc.returncode}: {output.strip()[-500:]}")
    d = json.loads(line[len("BENCH-JSON ") :])
    duration = d["duration_us"] / 1e6
    detail = {k: d[k] for k in ("connect", "read", "write", "status", "timeout")}
    return WrkRun(
        requests=d["requests"],
        duration_s=duration,
        rps=d["requests"] / duration if duration else 0.0,
        bytes=d["bytes"],
        errors=sum(detail.values()),
        error_detail=detail,
        p50_ms=d["p50_us"] / 1000,
        p90_ms=d["p90_us"] / 1000,
        p99_ms=d["p99_us"] / 1000,
        max_ms=d["max_us"] / 1000,
        client_cpu_s=usage.ru_utime + usage.ru_stime,
        output=output,
    )


def wait_gone(pids: set[int], deadline: float) -> set[int]:
    """Wait until none of `pids` is alive or the deadline passes; returns those still alive."""
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {pid for pid in alive if _alive(pid)}
        if alive:
            time.sleep(0.05)
    return alive


def _alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"
