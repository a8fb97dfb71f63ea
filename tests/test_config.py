"""Configuration as a gunicorn deployment has it: gunicorn.conf.py files run unchanged,
--print-config agrees with gunicorn's for the same arguments, and bad input is one clear line."""

import os
import re
import subprocess
import sys
import time

import pytest

import rawhttp
from server import APPS_DIR, UNDER_GUNICORN, ServerProcess, base_env, run_to_exit, wait_for_file

pytestmark = pytest.mark.skipif(UNDER_GUNICORN, reason="compares rgunicorn with gunicorn itself")

APP = "loading_app:app"

# Settings whose printed value differs by design (each with why).
EXPECTED_DIFFERENCES = {
    "control_socket_disable",  # gunicorn is run with --no-control-socket; rgunicorn has no control socket
    "default_proc_name",  # "rgunicorn" vs "gunicorn" when no app is named
}

COMBOS = [
    [],
    ["-w", "4"],
    ["--workers", "3", "--threads", "8", "-k", "gthread"],
    ["-b", "0.0.0.0:9000"],
    ["-b", "127.0.0.1:9001", "-b", "[::1]:9002", "-b", "unix:/tmp/rg-x.sock"],
    ["-t", "60", "--graceful-timeout", "5", "--keep-alive", "10"],
    ["--limit-request-line", "0", "--limit-request-fields", "50", "--limit-request-field_size", "1000"],
    ["--max-requests", "1000", "--max-requests-jitter", "50"],
    ["--preload"],
    ["--no-sendfile"],
    ["--reuse-port", "--backlog", "100"],
    ["-e", "A=1", "-e", "B=two"],
    ["-p", "/tmp/rg-test.pid"],
    ["--worker-tmp-dir", "/dev/shm"],
    ["-m", "0o22"],
    ["--umask", "18"],
    ["--access-logfile", "-", "--access-logformat", "%(h)s %(r)s %(s)s"],
    ["--error-logfile", "/tmp/rg-err.log", "--log-level", "debug"],
    ["--log-file", "/tmp/rg-err2.log", "--capture-output"],
    ["-n", "myname"],
    ["--forwarded-allow-ips", "*"],
    ["--forwarded-allow-ips", "10.0.0.1,10.0.0.2"],
    ["--proxy-allow-from", "10.0.0.1"],
    ["--permit-obsolete-folding", "--strip-header-spaces", "--casefold-http-method"],
    ["--permit-unconventional-http-method", "--permit-unconventional-http-version"],
    ["--header-map", "refuse"],
    ["--header-map", "dangerous"],
    ["--worker-connections", "500"],
    ["--pythonpath", "/tmp/a,/tmp/b"],
    ["--statsd-prefix", "app", "--dogstatsd-tags", "env:test"],
    ["--log-syslog", "--log-syslog-prefix", "web", "--log-syslog-facility", "local0"],
    ["--reload-engine", "poll", "--spew"],
    ["--cert-reqs", "2", "--ciphers", "ECDHE+AESGCM", "--do-handshake-on-connect"],
    ["-D", "-R"],
    ["--chdir", "/tmp", "--chdir", "APPS_DIR"],
]


def print_config(module, args, env=None):
    cmd = [sys.executable, "-m", module, "--print-config", "--chdir", str(APPS_DIR)]
    if module == "gunicorn":
        cmd.append("--no-control-socket")
    args = [str(APPS_DIR) if a == "APPS_DIR" else a for a in args]
    proc = subprocess.run(cmd + args + [APP], capture_output=True, text=True, timeout=60, env=base_env(env), cwd="/tmp")
    assert proc.returncode == 0, f"{module} {args}: {proc.stderr[-2000:]}"
    values = {}
    for line in proc.stdout.splitlines():
        name, sep, value = line.partition(" = ")
        if sep:
            values[name.strip()] = value
    return values


@pytest.mark.parametrize("args", COMBOS, ids=[" ".join(a) or "defaults" for a in COMBOS])
def test_print_config_matches_gunicorn(args):
    ours = print_config("rgunicorn", args)
    theirs = print_config("gunicorn", args)
    shared = (set(ours) & set(theirs)) - EXPECTED_DIFFERENCES
    assert len(shared) > 60, sorted(shared)
    different = {k: (ours[k], theirs[k]) for k in shared if ours[k] != theirs[k]}
    assert different == {}


@pytest.mark.parametrize(
    "env",
    [{"PORT": "9999"}, {"WEB_CONCURRENCY": "3"}, {"FORWARDED_ALLOW_IPS": "10.1.1.1"}, {"GUNICORN_CMD_ARGS": "-w 5 --timeout 7"}],
    ids=lambda e: ",".join(e),
)
def test_print_config_environment_matches_gunicorn(env):
    ours = print_config("rgunicorn", ["-w", "2"] if "GUNICORN_CMD_ARGS" in env else [], env)
    theirs = print_config("gunicorn", ["-w", "2"] if "GUNICORN_CMD_ARGS" in env else [], env)
    for name in ("bind", "workers", "forwarded_allow_ips", "timeout"):
        assert ours[name] == theirs[name], name


def test_config_file_precedence_matches_gunicorn(tmp_path):
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("workers = 6\ntimeout = 11\nkeepalive = 4\nraw_env = ['X=1']\n")
    env = {"GUNICORN_CMD_ARGS": "--timeout 12"}
    args = ["-c", str(conf), "--keep-alive", "9"]
    ours, theirs = print_config("rgunicorn", args, env), print_config("gunicorn", args, env)
    for name, want in (("workers", "6"), ("timeout", "12"), ("keepalive", "9"), ("raw_env", "['X=1']")):
        assert ours[name] == theirs[name] == want, name


def test_gunicorn_conf_py_runs_unchanged(tmp_path):
    workdir = tmp_path / "deploy"
    workdir.mkdir()
    sock_path = str(workdir / "app.sock")
    access = workdir / "access.log"
    marker = workdir / "hooks"
    (workdir / "gunicorn.conf.py").write_text(
        f"bind = 'unix:{sock_path}'\n"
        "workers = 2\n"
        "worker_class = 'sync'\n"
        f"accesslog = {str(access)!r}\n"
        "access_log_format = '%(m)s %(U)s %(s)s %({x-request-id}i)s'\n"
        f"wsgi_app = {APP!r}\n"
        f"chdir = {str(APPS_DIR)!r}\n"
        "def on_starting(server):\n"
        f"    open({str(marker)!r}, 'a').write('on_starting\\n')\n"
        "def post_fork(server, worker):\n"
        f"    open({str(marker)!r}, 'a').write('post_fork\\n')\n"
    )
    # No flags and no app: everything comes from ./gunicorn.conf.py, found as gunicorn finds it.
    srv = ServerProcess(None, (), workdir=workdir, bind=False, chdir=None)
    try:
        assert wait_for_file(sock_path, 15), srv.log()
        srv.wait_ready(probe=sock_path)
        raw = rawhttp.exchange(sock_path, b"GET /x HTTP/1.1\r\nHost: h\r\nX-Request-Id: r-42\r\nConnection: close\r\n\r\n")
        assert rawhttp.parse_response(raw).status == 200
        assert len(srv.wait_workers(2)) == 2
        line = re.compile(r"^GET /x 200 r-42$", re.M)
        end = time.monotonic() + 5
        while not (access.exists() and line.search(access.read_text())):
            assert time.monotonic() < end, access.read_text() if access.exists() else "no access log"
            time.sleep(0.05)
        calls = marker.read_text().split()
        assert calls.count("on_starting") == 1 and calls.count("post_fork") == 2
    finally:
        srv.stop()
    assert not os.path.exists(sock_path), "the unix socket is removed on exit"


@pytest.mark.parametrize(
    "args, expect",
    [
        (["--no-such-flag", APP], r"--no-such-flag"),
        (["-w", "many", APP], r"workers"),
        (["--umask", "09", APP], r"umask"),
        (["-c", "/nonexistent/gunicorn.conf.py", APP], r"/nonexistent/gunicorn.conf.py"),
        (["--chdir", "/nonexistent/dir", APP], r"chdir"),
        (["-b", "host:notaport", APP], r"host:notaport"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, args, expect):
    code, out, err = run_to_exit(args, cwd=tmp_path, deadline=20)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert re.search(expect, lines[0]), lines[0]


def test_check_config(tmp_path):
    code, _, err = run_to_exit(["--check-config", "--chdir", str(APPS_DIR), APP], cwd=tmp_path, deadline=20)
    assert code == 0, err
    code, _, err = run_to_exit(["--check-config", "--chdir", str(APPS_DIR), "loading_app:nope"], cwd=tmp_path, deadline=20)
    assert code != 0 and "nope" in err
