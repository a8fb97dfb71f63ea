"""Start and stop the server under test as a real process in its own process group.

The listening socket is bound here first (127.0.0.1, port 0) and handed to the server as
`fd://N`, so no test guesses a free port and readiness is "an HTTP request got an answer".
`RGUNICORN_TEST_SERVER=gunicorn` runs the same tests against gunicorn as the reference.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import rawhttp

TESTS_DIR = Path(__file__).resolve().parent
APPS_DIR = TESTS_DIR / "apps"

SERVER_KIND = os.environ.get("RGUNICORN_TEST_SERVER", "rgunicorn")
if SERVER_KIND not in ("rgunicorn", "gunicorn"):
    raise RuntimeError(f"RGUNICORN_TEST_SERVER must be 'rgunicorn' or 'gunicorn', not {SERVER_KIND!r}")
UNDER_GUNICORN = SERVER_KIND == "gunicorn"
# The value of the Server header the server sends by default.
SERVER_HEADER = "gunicorn" if UNDER_GUNICORN else "rgunicorn"

READY_DEADLINE = 15.0
STOP_DEADLINE = 5.0

# Variables that change a server's defaults: never inherited from whoever runs the tests.
_SCRUBBED_ENV = (
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_CMD_ARGS",
    "SCRIPT_NAME",
    "LISTEN_FDS",
    "LISTEN_PID",
    "GUNICORN_FD",
)


# RGUNICORN_TEST_WORKER=gthread|gevent replays tests written for the default worker under another
# worker class (tests that choose their own -k keep it).
WORKER_UNDER_TEST = os.environ.get("RGUNICORN_TEST_WORKER", "sync")
# Keep-alive off: these replays read each response until the connection closes; keep-alive and
# pipelining have their own tests in test_gthread.py and test_gevent.py.
WORKER_ARGS = {
    "sync": [],
    "gthread": ["-k", "gthread", "--threads", "4", "--keep-alive", "0"],
    "gevent": ["-k", "gevent", "--keep-alive", "0"],
}[WORKER_UNDER_TEST]


def server_command():
    if UNDER_GUNICORN:
        return [sys.executable, "-m", "gunicorn", "--no-control-socket"]
    return [sys.executable, "-m", "rgunicorn"]


def server_version():
    """The version string the server package reports (for checking `--version`)."""
    module = "gunicorn" if UNDER_GUNICORN else "rgunicorn"
    out = subprocess.run(
        [sys.executable, "-c", f"import {module}; print({module}.__version__)"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout.strip()


def base_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_to_exit(args, cwd, deadline=20.0):
    """Run the server command with `args` and expect it to exit by itself (flags, --version).

    Returns (returncode, stdout, stderr). Whatever happens, its process group is killed
    afterwards, so a server that started serving instead of exiting leaves nothing behind.
    """
    return run_command(server_command() + list(args), cwd, deadline)


def run_command(cmd, cwd, deadline=20.0):
    """`run_to_exit` for any command line (a shell pipeline around the server, say)."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=base_env(),
        cwd=str(cwd),
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=deadline)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{cmd} still running after {deadline}s") from None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=STOP_DEADLINE)


def listening_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def wait_for_file(path, deadline):
    """Poll until `path` exists (a marker an app writes); False if it has not by the deadline."""
    end = time.monotonic() + deadline
    while not os.path.exists(path):
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def child_pids(pid):
    """Pids whose parent is `pid` (the workers of a master), from /proc."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid and fields[0] != b"Z":
            children.append(int(entry))
    return sorted(children)


class ServerProcess:
    """One server process. Construct through the `server` fixtures, which guarantee `stop()`."""

    def __init__(self, app, args=(), env=None, workdir=None, bind=True, chdir=APPS_DIR, command=None):
        self.app = app
        self.workdir = Path(workdir)
        self.log_path = self.workdir / "server-stderr.log"
        self.out_path = self.workdir / "server-stdout.log"
        self.sock = None
        self.address = None
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = list(command) if command else server_command()
        pass_fds = ()
        if bind:
            self.sock = listening_socket()
            self.address = self.sock.getsockname()
            cmd += ["-b", f"fd://{self.sock.fileno()}"]
            pass_fds = (self.sock.fileno(),)
        if chdir is not None:
            cmd += ["--chdir", str(chdir)]
        if command is None and not {"-k", "--worker-class", "--threads"} & set(args):
            cmd += WORKER_ARGS
        cmd += list(args)
        if app is not None:
            cmd.append(app)
        self.cmd = cmd
        with open(self.log_path, "wb") as err, open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                pass_fds=pass_fds,
                start_new_session=True,
                env=base_env(env),
                cwd=str(self.workdir),
            )
        if self.sock is not None:
            # The server holds its own copy; ours would keep accepting into the backlog after it died.
            self.sock.close()

    @property
    def pid(self):
        return self.proc.pid

    # -- logs -----------------------------------------------------------------------------------

    def log(self):
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stdout(self):
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, pattern, deadline=10.0, count=1):
        """Poll the error log until `pattern` (regex) matches `count` times; return the matches."""
        regex = re.compile(pattern)
        end = time.monotonic() + deadline
        while True:
            found = regex.findall(self.log())
            if len(found) >= count:
                return found
            if time.monotonic() > end:
                raise AssertionError(f"{pattern!r} not seen {count}x within {deadline}s in log:\n{self.log()[-4000:]}")
            time.sleep(0.05)

    # -- lifecycle ------------------------------------------------------------------------------

    def wait_ready(self, deadline=READY_DEADLINE, probe=None):
        """Poll until a GET gets an HTTP answer; fail early, with the log, if the server exits."""
        end = time.monotonic() + deadline
        last_error = None
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode} before ready:\n{self.log()[-4000:]}")
            try:
                remaining = max(0.1, end - time.monotonic())
                raw = rawhttp.exchange(
                    probe or self.address,
                    b"GET /__ready__ HTTP/1.1\r\nHost: ready\r\nConnection: close\r\n\r\n",
                    deadline=remaining,
                )
                if rawhttp.status_of(raw) is not None:
                    return self
                last_error = f"no status line in {raw[:200]!r}"
            except (OSError, TimeoutError) as exc:
                last_error = repr(exc)
            time.sleep(0.05)
        raise AssertionError(f"server not ready within {deadline}s ({last_error}):\n{self.log()[-4000:]}")

    def wait_exit(self, deadline):
        try:
            return self.proc.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"server still running after {deadline}s:\n{self.log()[-4000:]}") from None

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def workers(self):
        return child_pids(self.proc.pid)

    def wait_workers(self, count, deadline=10.0, exclude=()):
        """Poll until the master has exactly `count` workers (none of them in `exclude`)."""
        end = time.monotonic() + deadline
        while True:
            pids = self.workers()
            if len(pids) == count and not set(pids) & set(exclude):
                return pids
            if time.monotonic() > end:
                raise AssertionError(f"workers {pids}, wanted {count} excluding {list(exclude)}:\n{self.log()[-3000:]}")
            time.sleep(0.02)

    def stop(self):
        """TERM the whole process group, wait up to STOP_DEADLINE, then KILL it. Always safe to call."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            pass
        try:
            # Also reaches workers a dead master left behind in its group.
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            pass
        if self.sock is not None:
            self.sock.close()

    # -- requests -------------------------------------------------------------------------------

    def raw(self, data, split=False, deadline=rawhttp.DEFAULT_DEADLINE):
        return rawhttp.exchange(self.address, data, split=split, deadline=deadline)

    def request(self, method, target, headers=(), body=b"", version="HTTP/1.1", deadline=rawhttp.DEFAULT_DEADLINE):
        """Send one request (Host and Content-Length added when missing) and parse the answer."""
        head = f"{method} {target} {version}\r\n"
        names = {name.lower() for name, _ in headers}
        if "host" not in names:
            head += "Host: test\r\n"
        if body and "content-length" not in names and "transfer-encoding" not in names:
            head += f"Content-Length: {len(body)}\r\n"
        if "connection" not in names and version == "HTTP/1.1":
            head += "Connection: close\r\n"
        for name, value in headers:
            head += f"{name}: {value}\r\n"
        raw = self.raw(head.encode("latin-1") + b"\r\n" + body, deadline=deadline)
        return rawhttp.parse_response(raw, head_request=(method == "HEAD"))

    def get(self, target, **kwargs):
        return self.request("GET", target, **kwargs)
