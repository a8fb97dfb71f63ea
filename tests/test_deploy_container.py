"""Containers and orchestration, tested as far as this machine allows (no container engine):

- deploy/Dockerfile: every file it copies exists and survives its .dockerignore, the stages fit
  together, the runtime runs rgunicorn itself as PID 1 as a non-root user; the image's command,
  environment, HEALTHCHECK and the Kubernetes probes work against the real example app;
- deploy/kubernetes: terminationGracePeriodSeconds covers preStop + --graceful-timeout;
- rgunicorn as PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`, what a
  container runtime does): orphans are adopted and reaped, TERM exits 0 promptly;
- deploy/systemd: the units are consistent (and pass `systemd-analyze verify` when present),
  and socket activation as the .socket unit describes it: READY=1, the unix peer trusted for
  X-Forwarded-Proto, the socket surviving a restart with a request waiting in its backlog.
"""

import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import rawhttp
from deploy import systemd
from deploy.common import (  # noqa: F401
    DEPLOY,
    DEPLOY_APPS,
    DJANGO_PROJECT,
    FLASK_APP,
    REPO,
    children,
    dump_logs_on_failure,
    have,
    running,
    short_tempdir,
    start_app,
    wait_until,
)
from server import UNDER_GUNICORN, base_env, server_command

DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
K8S = DEPLOY / "kubernetes" / "deployment.yaml"
SERVICE = DEPLOY / "systemd" / "mysite.service"
SOCKET_UNIT = DEPLOY / "systemd" / "mysite.socket"

rgunicorn_only = pytest.mark.skipif(UNDER_GUNICORN, reason="rgunicorn's own deployment files and PID 1 duties")


# -- Dockerfile ---------------------------------------------------------------------------------


def dockerfile_instructions(path=DOCKERFILE):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        name, _, args = full.partition(" ")
        out.append((name.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def stages(instructions):
    """[(stage name, base image, [(INSTRUCTION, args)])] in order."""
    result = []
    for name, args in instructions:
        if name == "FROM":
            words = args.split()
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append((alias, words[0], []))
        elif result:
            result[-1][2].append((name, args))
    return result


def flags_and_words(args):
    words = shlex.split(args)
    flags = [w for w in words if w.startswith("--")]
    return flags, [w for w in words if not w.startswith("--")]


def ignored(rel_path, patterns):
    """Docker's .dockerignore semantics for the patterns used here: a path is excluded when it
    or one of its parent directories matches a pattern (`**/` matches at any depth)."""
    parts = Path(rel_path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for candidate in candidates:
            if fnmatch.fnmatchcase(candidate, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(candidate.split("/")[-1], pattern[3:]):
                return True
    return False


def dockerignore_patterns():
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions (!) are not understood by this check"
    return patterns


def dockerfile_env(instructions_of_stage):
    env = {}
    for name, args in instructions_of_stage:
        if name == "ENV":
            for item in shlex.split(args):
                key, _, val = item.partition("=")
                env[key] = val
    return env


def test_dockerfile_copies_files_that_exist_and_are_not_ignored():
    patterns = dockerignore_patterns()
    defined = set()
    copied = 0
    for alias, _base, body in stages(dockerfile_instructions()):
        for name, args in body:
            if name not in ("COPY", "ADD"):
                continue
            assert name == "COPY", "ADD fetches and unpacks: use COPY"
            flags, words = flags_and_words(args)
            from_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            if from_stage:
                assert from_stage in defined, f"COPY --from={from_stage} before that stage exists"
                continue
            for src in words[:-1]:
                path = REPO / src
                assert path.exists(), f"COPY {src}: not in the build context (the repository root)"
                assert not ignored(src.rstrip("/"), patterns), f"COPY {src}: excluded by {DOCKERIGNORE.name}"
                files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
                kept = [p for p in files if not ignored(str(p.relative_to(REPO)), patterns)]
                assert kept, f"COPY {src}: every file is excluded"
                copied += 1
        if alias:
            defined.add(alias)
    assert copied >= 5
    # What the wheel build needs must reach the build stage (maturin reads these).
    for needed in (
        "Cargo.toml",
        "Cargo.lock",
        "pyproject.toml",
        "README.md",
        "src/lib.rs",
        "python/rgunicorn/__init__.py",
    ):
        assert not ignored(needed, patterns), needed


def test_dockerfile_builds_a_wheel_and_runs_rgunicorn_as_pid_1_unprivileged():
    all_stages = stages(dockerfile_instructions())
    names = [alias for alias, _, _ in all_stages]
    build = next(body for alias, _, body in all_stages if alias == "build")
    assert any(n == "RUN" and "maturin build" in a and "--release" in a and "--locked" in a for n, a in build)
    runtime_alias, runtime_base, runtime = all_stages[-1]
    assert runtime_alias == "runtime" and "slim" in runtime_base
    mounts = [a for n, a in runtime if n == "RUN" and "from=build" in a]
    assert mounts and "pip install" in mounts[0] and "rgunicorn-" in mounts[0], "the wheel of the build stage"
    assert not any("maturin" in a or "cargo" in a or "gcc" in a for n, a in runtime if n == "RUN")
    # USER before the command, and not root.
    kinds = [n for n, _ in runtime]
    user = [a for n, a in runtime if n == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert kinds.index("USER") < kinds.index("ENTRYPOINT")
    # Exec form, so rgunicorn (not /bin/sh) is PID 1 and receives SIGTERM.
    entrypoint = json.loads(next(a for n, a in runtime if n == "ENTRYPOINT"))
    assert entrypoint == ["rgunicorn"]
    json.loads(next(a for n, a in runtime if n == "CMD"))
    stopsignal = [a for n, a in runtime if n == "STOPSIGNAL"]
    assert stopsignal in ([], ["SIGTERM"])
    assert len(set(names)) == len(names)


def image_command_and_env():
    """The runtime stage's ENTRYPOINT + CMD, with /app meaning examples/flask_app, and its ENV."""
    runtime = stages(dockerfile_instructions())[-1][2]
    cmd = json.loads(next(a for n, a in runtime if n == "CMD"))
    env = dockerfile_env(runtime)
    workdir = next(a for n, a in runtime if n == "WORKDIR")
    assert workdir == "/app"
    return [arg.replace("/app/", f"{FLASK_APP}/") for arg in cmd], env


def test_image_environment_resolves_to_the_container_settings(tmp_path):
    # With the image's ENV (PORT=8000, no BIND) the config binds 0.0.0.0:8000, as gunicorn would.
    args, env = image_command_and_env()
    out = subprocess.run(
        server_command() + args + ["--print-config"],
        env=base_env({k: v for k, v in env.items() if k not in ("PATH", "VIRTUAL_ENV")}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    settings = {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in out.stdout.splitlines())}
    assert settings["bind"] == "['0.0.0.0:8000']", settings["bind"]
    assert settings["workers"] == env["WEB_CONCURRENCY"]
    assert settings["graceful_timeout"] == env["GRACEFUL_TIMEOUT"]


def k8s_manifest():
    text = K8S.read_text()

    def number(pattern):
        match = re.search(pattern, text)
        assert match, f"{pattern!r} not in {K8S}"
        return int(match.group(1))

    env = dict(re.findall(r"- name: (\w+)\s+value: \"([^\"]*)\"", text))
    args = json.loads(re.search(r"^\s+args: (\[.*\])$", text, re.M).group(1))
    return {
        "grace": number(r"terminationGracePeriodSeconds: (\d+)"),
        "prestop_sleep": number(r'preStop:\s+exec:\s+command: \["sleep", "(\d+)"\]'),
        "probe_paths": re.findall(r"path: (/\S*)", text),
        "container_port": number(r"containerPort: (\d+)"),
        "env": env,
        "args": args,
    }


def test_kubernetes_grace_period_covers_prestop_and_graceful_timeout():
    m = k8s_manifest()
    graceful = int(m["args"][m["args"].index("--graceful-timeout") + 1])
    assert int(m["env"]["GRACEFUL_TIMEOUT"]) == graceful, "the flag and the variable disagree"
    # The grace period counts from the start of preStop: the server must be done before SIGKILL.
    assert m["grace"] >= m["prestop_sleep"] + graceful + 3, m
    assert m["container_port"] == int(m["env"]["PORT"])
    args, _ = image_command_and_env()
    assert m["args"][:2] == ["-c", "/app/gunicorn.conf.py"] and args[:1] == ["-c"]


def test_image_command_serves_the_healthcheck_and_probe_paths(tmp_path):
    args, env = image_command_and_env()
    env = {k: v for k, v in env.items() if k not in ("PATH", "VIRTUAL_ENV", "PORT")}
    healthcheck = next(a for n, a in stages(dockerfile_instructions())[-1][2] if n == "HEALTHCHECK")
    paths = set(re.findall(r"http://127\.0\.0\.1:\d+(/\S*?)'", healthcheck)) | set(k8s_manifest()["probe_paths"])
    assert paths == {"/healthz"}, paths
    srv = start_app(Path(args[1]), args[2:], env=env, workdir=tmp_path)
    with running(srv):
        for path in paths:
            resp = requests.get(f"http://127.0.0.1:{srv.address[1]}{path}", timeout=5)
            assert resp.status_code == 200 and resp.json()["status"] == "ok"


# -- rgunicorn as PID 1 -------------------------------------------------------------------------


def unshare_works():
    if not have("unshare"):
        return False
    try:
        return (
            subprocess.run(
                ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, timeout=10
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def nspid(pid):
    """The pids of a process in each nested PID namespace, outermost first (NSpid in status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return [int(p) for p in line.split()[1:]]
    return [pid]


@rgunicorn_only
@pytest.mark.skipif(not unshare_works(), reason="unshare --pid --fork --mount-proc needs root or user namespaces")
def test_pid_1_in_a_new_pid_namespace_reaps_orphans_and_exits_0_on_term(tmp_path):
    listener = loopback_listener()
    address = listener.getsockname()
    orphan_log = tmp_path / "orphans.log"
    log_path = tmp_path / "server.log"
    cmd = ["unshare", "--pid", "--fork", "--mount-proc"] + server_command()
    cmd += ["-b", f"fd://{listener.fileno()}", "-w", "2", "--chdir", str(DEPLOY_APPS), "--graceful-timeout", "5"]
    cmd += ["pid1_app:app"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            pass_fds=(listener.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=base_env({"ORPHAN_LOG": str(orphan_log)}),
            start_new_session=True,
        )
    listener.close()

    def get(path):
        return json.loads(rawhttp.parse_response(rawhttp.exchange(address, request_bytes(path))).body)

    try:
        wait_until(lambda: ready(address) or proc.poll() is not None, 15, "the server in the namespace")
        assert proc.poll() is None, log_path.read_text()[-3000:]
        init = wait_until(lambda: list(children(proc.pid)), 5, "unshare's child")[0]
        assert nspid(init)[-1] == 1, "rgunicorn is not PID 1 of the namespace"
        workers = set(wait_until(lambda: len(children(init)) == 2 and children(init), 10, "2 workers"))
        assert get("/whoami")["ppid"] == 1  # the worker's parent: the master, PID 1

        orphans = get("/orphans?n=5&lifetime=0.3")
        assert len(orphans) == 5
        wait_until(
            lambda: len(orphan_log.read_text().splitlines()) == 5 if orphan_log.exists() else False, 5, "orphans"
        )
        adopted = dict(line.split() for line in orphan_log.read_text().splitlines())
        assert set(adopted) == {str(p) for p in orphans} and set(adopted.values()) == {"1"}, adopted

        # Once they exit, PID 1 must wait() for them: no zombie left, from outside or inside.
        def settled():
            kids = children(init)
            return set(kids) == workers and "Z" not in kids.values()

        wait_until(settled, 5, f"the orphans reaped (children of PID 1: {children(init)})")
        inside = get("/ps")
        assert [p for p in inside if p[1] == "Z"] == []
        assert not {p[0] for p in inside} & set(orphans)

        # A long-lived orphan must not hold up a stop: TERM to PID 1 (what `docker stop` and the
        # kubelet send) stops the workers gracefully and exits 0 right away.
        get("/orphans?n=1&lifetime=60")
        started = time.monotonic()
        os.kill(init, signal.SIGTERM)
        code = proc.wait(timeout=15)
        took = time.monotonic() - started
    finally:
        stop_group(proc)
    log = log_path.read_text()
    assert code == 0, log[-3000:]
    assert took < 5, f"TERM took {took:.1f}s"
    assert "Shutting down: Master" in log


def loopback_listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def request_bytes(path, headers=""):
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n".encode()


def ready(address):
    try:
        return rawhttp.status_of(rawhttp.exchange(address, request_bytes("/__ready__"), deadline=2)) == 200
    except OSError:
        return False


def stop_group(proc):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=5)
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=5)


# -- systemd ------------------------------------------------------------------------------------


def test_systemd_units_are_consistent():
    service, sock = systemd.parse_unit(SERVICE), systemd.parse_unit(SOCKET_UNIT)
    assert SERVICE.stem == SOCKET_UNIT.stem, "socket activation pairs units by name"
    assert f"{SOCKET_UNIT.name}" in systemd.values(service, "Unit", "Requires")
    assert systemd.value(service, "Service", "Type") == "notify"  # rgunicorn sends READY=1
    assert systemd.value(service, "Service", "ExecReload") == "/bin/kill -s HUP $MAINPID"
    assert systemd.value(service, "Service", "KillMode") == "mixed"
    graceful = int(systemd.environment(service)["GRACEFUL_TIMEOUT"])
    assert int(systemd.value(service, "Service", "TimeoutStopSec")) > graceful
    exec_start = shlex.split(systemd.value(service, "Service", "ExecStart"))
    assert exec_start[0].endswith("/rgunicorn") and exec_start[1] == "-c"
    assert systemd.value(sock, "Socket", "ListenStream").startswith("/")


@pytest.mark.skipif(not have("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    # verify checks that ExecStart's program exists: point it at this environment's rgunicorn.
    rgunicorn = shutil.which("rgunicorn", path=str(Path(sys.executable).parent)) or shutil.which("rgunicorn")
    if rgunicorn is None:
        pytest.skip("no rgunicorn script on PATH")
    service = SERVICE.read_text().replace("/srv/mysite/venv/bin/rgunicorn", rgunicorn)
    (tmp_path / SERVICE.name).write_text(service)
    shutil.copy(SOCKET_UNIT, tmp_path / SOCKET_UNIT.name)
    out = subprocess.run(
        ["systemd-analyze", "verify", SERVICE.name, SOCKET_UNIT.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert out.returncode == 0 and not problems, "\n".join(problems)


def service_command(service):
    """ExecStart with the production paths mapped onto this checkout and this Python."""
    argv = shlex.split(systemd.value(service, "Service", "ExecStart"))
    assert argv[0] == "/srv/mysite/venv/bin/rgunicorn"
    return server_command() + [a.replace("/srv/mysite/app/", f"{DJANGO_PROJECT}/") for a in argv[1:]]


@rgunicorn_only
def test_socket_activation_as_the_units_describe_it(tmp_path):
    service, sock_unit = systemd.parse_unit(SERVICE), systemd.parse_unit(SOCKET_UNIT)
    with short_tempdir() as rundir:
        path = str(rundir / Path(systemd.value(sock_unit, "Socket", "ListenStream")).name)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        os.chmod(path, int(systemd.value(sock_unit, "Socket", "SocketMode"), 8))
        listener.listen(int(systemd.value(sock_unit, "Socket", "Backlog")))
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(rundir / "notify"))
        env = systemd.environment(service)
        env.update(DJANGO_DATA_DIR=str(tmp_path / "data"), DJANGO_STATIC_ROOT=str(tmp_path / "static"))
        env.pop("DJANGO_SECURE_COOKIES")
        env = base_env(dict(env, NOTIFY_SOCKET=str(rundir / "notify")))
        argv = service_command(service)
        log_path = tmp_path / "service.log"

        def start():
            return systemd.activate([listener], argv, env, [SOCKET_UNIT.name], log_path, cwd=tmp_path)

        def whoami(headers=""):
            raw = rawhttp.exchange(path, request_bytes("/whoami", headers))
            return json.loads(rawhttp.parse_response(raw).body)

        first = start()
        try:
            messages = systemd.notify_messages(notify, 15)
            assert any("READY=1" in m for m in messages)
            wait_until(lambda: ready_unix(path), 15, "the activated service")
            # The config file's bind (127.0.0.1:8000 by default) is ignored under activation.
            log = log_path.read_text()
            assert "Listening at: unix:" in log and "8000" not in log, log
            # nginx on the socket says https: a unix-socket peer is trusted, Django agrees.
            assert whoami("X-Forwarded-Proto: https\r\n")["is_secure"] is True
            assert whoami()["is_secure"] is False
            first.send_signal(signal.SIGTERM)
            assert first.wait(timeout=15) == 0, log_path.read_text()[-3000:]
        finally:
            stop_group(first)
        # systemd still holds the socket: the file stays, and a client that connects while the
        # service is down waits in the backlog until the restarted service answers it.
        assert os.path.exists(path), "the server removed the socket file systemd owns"
        waiting = rawhttp.connect(path, timeout=20)
        waiting.sendall(request_bytes("/healthz"))
        second = start()
        try:
            raw, _ = rawhttp.read_until_close(waiting, deadline=20)
            assert rawhttp.parse_response(raw).status == 200, raw[:500]
        finally:
            waiting.close()
            second.send_signal(signal.SIGTERM)
            try:
                assert second.wait(timeout=15) == 0, log_path.read_text()[-3000:]
            finally:
                stop_group(second)
                listener.close()
                notify.close()


def ready_unix(path):
    try:
        return rawhttp.status_of(rawhttp.exchange(path, request_bytes("/healthz"), deadline=2)) == 200
    except OSError:
        return False
