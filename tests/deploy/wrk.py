"""wrk as the load generator, with an optional fixed request count, and its summary parsed."""

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

# wrk has no request-count option: each thread stops after its share and leaves a marker file;
# wrk's main thread sleeps for the whole -d, so the caller interrupts it (SIGINT) once every
# thread is done, and wrk prints its summary as usual.
COUNT_SCRIPT = """\
local limit = tonumber(os.getenv("WRK_REQUESTS_PER_THREAD"))
local marker_dir = os.getenv("WRK_MARKER_DIR")
local counter = 0
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
end

function response(status, headers, body)
    counter = counter + 1
    if counter == limit then
        local f = io.open(marker_dir .. "/done-" .. id, "w")
        f:close()
        wrk.thread:stop()
    end
end
"""


@dataclass
class WrkResult:
    requests: int
    non_2xx_3xx: int
    socket_errors: dict = field(default_factory=dict)
    output: str = ""

    @property
    def errors(self):
        return self.non_2xx_3xx + sum(self.socket_errors.values())


def parse(output):
    match = re.search(r"(\d+) requests in", output)
    if not match:
        raise AssertionError(f"cannot read wrk's summary:\n{output}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()))) if sock else {}
    return WrkResult(int(match.group(1)), int(non2xx.group(1)) if non2xx else 0, socket_errors, output)


def command(url, threads=2, connections=32, duration=5.0, script=None, timeout=5):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", f"{timeout}s"]
    if script:
        cmd += ["-s", str(script)]
    return cmd + [url]


def run(url, workdir, requests=None, threads=2, connections=32, duration=5.0):
    """Run wrk to completion. With `requests`, stop once that many got answers (`duration` is then
    only a ceiling)."""
    if not requests:
        out = subprocess.run(
            command(url, threads, connections, duration), capture_output=True, text=True, timeout=duration + 30
        )
        assert out.returncode == 0, f"wrk exited {out.returncode}:\n{out.stdout}\n{out.stderr}"
        return parse(out.stdout)
    workdir = Path(workdir)
    markers = workdir / "wrk-done"
    markers.mkdir(exist_ok=True)
    script = workdir / "count.lua"
    script.write_text(COUNT_SCRIPT)
    env = dict(os.environ, WRK_REQUESTS_PER_THREAD=str(-(-requests // threads)), WRK_MARKER_DIR=str(markers))
    log = open(workdir / "wrk.out", "w+")
    proc = subprocess.Popen(
        command(url, threads, connections, duration, script), stdout=log, stderr=subprocess.STDOUT, env=env
    )
    proc.log = log
    end = time.monotonic() + duration
    while proc.poll() is None and time.monotonic() < end and len(list(markers.iterdir())) < threads:
        time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    return finish(proc)


def start(url, workdir, threads=2, connections=32, duration=5.0):
    """Start wrk in the background (for signals sent during the load); finish with `finish(proc)`."""
    log = open(Path(workdir) / "wrk.out", "w+")
    proc = subprocess.Popen(command(url, threads, connections, duration), stdout=log, stderr=subprocess.STDOUT)
    proc.log = log
    return proc


def finish(proc, deadline=30):
    try:
        proc.wait(timeout=deadline)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    proc.log.seek(0)
    output = proc.log.read()
    proc.log.close()
    assert proc.returncode == 0, f"wrk exited {proc.returncode}:\n{output}"
    return parse(output)
