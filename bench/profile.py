"""Profile one server on one app under wrk load, the way bench/README.md explains a missed target.

    bench/.venv/bin/python bench/profile.py callgrind rgunicorn-gthread hello
    bench/.venv/bin/python bench/profile.py perf rgunicorn-gthread stream --seconds 10

callgrind: the server runs under valgrind (every process: master and workers, each into its own
callgrind.out.PID); wrk loads it gently for --seconds; the server is stopped with SIGINT so
that valgrind writes its files; `callgrind_annotate` prints the functions by exclusive and
inclusive instruction counts (user space only: what the CPU executes in the server's code,
CPython and libc, without the kernel).

perf: the server runs normally under full wrk load, and `perf record -e cpu-clock -g` samples
its processes (a software clock, because this machine's virtual CPUs expose no hardware
counters); the report splits time between the kernel (socket system calls) and user space.

The reports go to bench/results/profiles/SERVER-APP.TOOL.txt (or --out DIR), with the commands at
the top. TLS rows get certificates made for the run, as in the suite, and the full-handshake rows
run wrk with wrk/handshake.c preloaded.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import measure
import servers
import suite
from servers import APP_BY_KEY, APPS_DIR, BENCH, SERVER_BY_KEY

OUT = os.path.join(BENCH, "results", "profiles")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("tool", choices=["callgrind", "perf", "strace"])
    p.add_argument("server", choices=sorted(SERVER_BY_KEY))
    p.add_argument("app", choices=sorted(APP_BY_KEY))
    p.add_argument("--seconds", type=int, default=10, help="seconds of load (default 10)")
    p.add_argument("--connections", type=int, help="wrk connections (default 8 for callgrind, 64 for perf)")
    p.add_argument("--top", type=int, default=45, help="functions to list (default 45)")
    p.add_argument("--keep", action="store_true", help="keep the raw profiler output (its directory is printed)")
    p.add_argument("--out", default=OUT, help="directory of the report (default bench/results/profiles)")
    args = p.parse_args(argv)
    server, app = SERVER_BY_KEY[args.server], APP_BY_KEY[args.app]
    conns = args.connections or (8 if args.tool == "callgrind" else 64)
    tmp = tempfile.mkdtemp(prefix="bench-profile-")
    port = suite.free_port()
    certs = servers.make_certificates(tmp) if server.tls else None
    preload = {"LD_PRELOAD": servers.build_handshake_preload(tmp)} if server.full_handshakes else {}
    cmd = servers.command(server, app, port, tmp, certs)
    if args.tool == "callgrind":
        cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes", "--instr-atstart=no",
               f"--callgrind-out-file={tmp}/callgrind.out.%p", *cmd]  # fmt: skip
    wrk = measure.wrk_command(f"{servers.scheme(server)}://127.0.0.1:{port}/", args.seconds, 2, conns, 30, app.script,
                              server.client_headers)  # fmt: skip
    env = dict(os.environ, PYTHONPATH=APPS_DIR, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    log = open(os.path.join(tmp, "server.log"), "wb")
    proc = subprocess.Popen(cmd, cwd=APPS_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    perf = None
    try:
        suite.READY_TIMEOUT = 180.0  # a server under valgrind starts slowly
        suite.wait_ready(proc, port, app, server.tls)
        suite.warm_up(port, app, server.tls)
        pids = sorted(measure.server_pids(proc.pid))
        if args.tool == "callgrind":
            # Count the load only, not interpreter start-up, imports and warm-up. (Instrumenting from here on
            # keeps self costs right; zeroing the counters instead leaves them on the functions on the stack.)
            for pid in pids:
                subprocess.run(["callgrind_control", "--instr=on", str(pid)], capture_output=True, timeout=60,
                               check=False)  # fmt: skip
        if args.tool == "perf":
            perf_cmd = ["perf", "record", "-e", "cpu-clock", "-F", "1999", "-g", "-o", f"{tmp}/perf.data", "-p",
                        ",".join(map(str, pids)), "--", "sleep", str(args.seconds)]  # fmt: skip
            perf = subprocess.Popen(perf_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif args.tool == "strace":
            # Every thread of every server process; -c counts calls instead of printing them.
            perf_cmd = ["strace", "-c", "-f", "-o", f"{tmp}/strace.txt"] + [a for pid in pids for a in ("-p", str(pid))]
            perf = subprocess.Popen(perf_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        run = measure.run_wrk(wrk, args.seconds + 60, preload)
        if perf and args.tool == "strace":
            perf.send_signal(2)  # strace prints its table when interrupted
        if perf:
            perf.wait(60)
    finally:
        suite.stop(proc)
        log.close()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{server.key}-{app.key}.{args.tool}.txt")
    header = [
        f"# {args.tool} profile of {server.label} on {app.label}",
        f"# server: {' '.join(cmd)}",
        f"# load:   {''.join(f'{k}={os.path.basename(v)} ' for k, v in preload.items())}{' '.join(wrk)}",
        f"# wrk:    {run.requests} requests, {run.rps:.0f} req/s, {run.errors} errors",
        f"# made by: bench/.venv/bin/python bench/profile.py {' '.join(argv)}",
        "",
    ]
    if args.tool == "callgrind":
        body = annotate_callgrind(tmp, args.top, run.requests)
    elif args.tool == "strace":
        with open(f"{tmp}/strace.txt") as f:
            body = f"# system calls of all server threads during the load; divide 'calls' by {run.requests} requests\n\n"
            body += f.read()
    else:
        body = report_perf(f"{tmp}/perf.data", args.top)
    with open(path, "w") as f:
        f.write("\n".join(header) + body)
    if args.keep:
        print(f"profile: raw output kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"profile: wrote {os.path.relpath(path)}")
    return 0


def annotate_callgrind(tmp: str, top: int, requests: int) -> str:
    """The busiest process's profile (the worker that served most): exclusive, then inclusive."""
    files = glob.glob(f"{tmp}/callgrind.out.*")
    if not files:
        return "no callgrind output (did the server exit cleanly?)\n"

    def total(path: str) -> int:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("totals:") or line.startswith("summary:"):
                    return int(line.split()[1])
        return 0

    busiest = max(files, key=total)
    everything = sum(total(f) for f in files)
    out = [f"# {len(files)} processes profiled: {everything:,} instructions in all, "
           f"{everything / max(requests, 1):,.0f} per request (user space, counted from the start of the load); the busiest "
           f"({os.path.basename(busiest)}) executed {total(busiest):,}\n"]  # fmt: skip
    for inclusive in ("no", "yes"):
        ann = subprocess.run(
            ["callgrind_annotate", f"--inclusive={inclusive}", f"--threshold=99", busiest],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        lines = [ln for ln in ann.stdout.splitlines() if ln.strip()]
        start = next((i for i, ln in enumerate(lines) if "file:function" in ln), 0)
        title = "inclusive (a function and everything it calls)" if inclusive == "yes" else "exclusive (self)"
        out.append(f"\n## {title}\n")
        out += [_shorten(ln) for ln in lines[start : start + (2 * top if inclusive == "yes" else top) + 1]]
    return "\n".join(out) + "\n"


def report_perf(data: str, top: int) -> str:
    out = []
    for title, sort in (("by shared object (kernel vs user space)", "dso"), ("by function", "dso,sym")):
        rep = subprocess.run(
            ["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio", "-g", "none", "--percent-limit",
             "0.5"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        lines = [ln for ln in rep.stdout.splitlines() if ln.strip() and not ln.startswith("#")]
        out.append(f"\n## {title}\n")
        out += lines[:top]
    # Where the hottest symbols are called from: the system call (and user-space caller) that led there.
    rep = subprocess.run(
        ["perf", "report", "-i", data, "--no-children", "--sort", "sym", "--stdio", "-G", "-g", "caller,2,callee,function",
         "--percent-limit", "4", "--max-stack", "14"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = [ln.rstrip()[:200] for ln in rep.stdout.splitlines() if ln.strip() and not ln.startswith("#")]
    out.append("\n## call chains into the symbols above 4% (callers first)\n")
    out += lines[: top * 4]
    return "\n".join(out) + "\n"


def _shorten(line: str) -> str:
    """Drop long source paths so the function names fit."""
    for prefix in (os.path.expanduser("~/.cargo/registry/src/"), "/rustc/", BENCH + "/.src/", BENCH + "/"):
        line = line.replace(prefix, "")
    line = re.sub(r"/tmp/python-build[^ ]*/Python-[0-9.]+/", "cpython/", line)
    line = re.sub(r"\b[0-9a-f]{40}/library/", "rust-std/", line)
    line = re.sub(r" \[[^]]*(libpython|_rgunicorn|libc)[^]]*\]$", r" [\1]", line)
    return line[:220]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
