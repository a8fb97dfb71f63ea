"""The config corpus (tests/configs/): gunicorn.conf.py files written from the patterns real
projects keep. Each one, started from the project directory as a deployment would, must under
rgunicorn and gunicorn 27 alike: print the same `--print-config` (control socket included), boot,
answer a request with the same status and body, run the same hooks, and stop on TERM with the
same exit status. All runs happen up front in a thread pool, a few servers at a time."""

import collections
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import rawhttp
from config_parity import aligned, base_env, console_script
from server import UNDER_GUNICORN, listening_socket

pytestmark = pytest.mark.skipif(UNDER_GUNICORN, reason="runs rgunicorn and gunicorn side by side itself")

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"
PROJECT_DIR = CONFIGS_DIR / "project"
APP = "myproject.wsgi:application"
SERVERS = ("rgunicorn", "gunicorn")
READY_DEADLINE = 20.0
STOP_DEADLINE = 15.0
PARALLEL = 4

# Every config file in the corpus, with what its deployment would give it. `app` None: the file
# names the app itself (wsgi_app). `location` overrides the -c argument.
CORPUS = {
    "twelve_factor.py": {"env": {"WEB_CONCURRENCY": "2", "LOG_LEVEL": "warning"}},
    "heroku_preload.py": {},
    "prometheus_multiproc.py": {"multiproc": True},
    "json_logconfig_dict.py": {},
    "django_environ.py": {"env": {"GUNICORN_WORKERS": "2", "TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2"}},
    "supervisor_classic.py": {},
    "systemd_classic.py": {},
    "example_config.py": {},
    "wsgi_app_in_file.py": {"app": None},
    "gunicorn.conf": {},
    "settings_module.py": {"env": {"GREETING": "from-settings"}},
    "gthread_threads.py": {},
    "max_requests.py": {},
    "security_limits.py": {},
    "proxy_headers.py": {},
    "raw_env.py": {},
    "dotted_hooks.py": {},
    "all_hooks.py": {},
    "statsd.py": {},
    "access_log_files.py": {},
    "cpu_count.py": {},
    "logconfig_ini.py": {},
    "pythonpath.py": {},
    "tmp_dirs.py": {},
    "gunicorn27_defaults.py": {},
    "conditional_debug.py": {},
    "tls_from_env.py": {},
    "gevent_workers.py": {},
    "pre_request_logging.py": {},
    "python:myproject.gunicorn_settings": {"location": "python:myproject.gunicorn_settings"},
}

# Hooks that run once per request: the readiness probes make their counts vary, so only whether
# they ran is compared.
PER_REQUEST_EVENTS = {"pre_request", "post_request"}


def _cmd(kind, name, spec, extra):
    """The start command a deployment has: the console script, the config, the app."""
    location = spec.get("location") or str(CONFIGS_DIR / name)
    app = spec.get("app", APP)
    return [console_script(kind), "-c", location, *extra] + ([app] if app else [])


def _env(spec, run_dir):
    env = {"RUN_DIR": str(run_dir), **spec.get("env", {})}
    if spec.get("multiproc"):
        env["PROMETHEUS_MULTIPROC_DIR"] = str(run_dir)
    return env


def print_config(kind, name, spec, shared_dir):
    proc = subprocess.run(
        # Without --no-control-socket: the default control socket must print the same too.
        _cmd(kind, name, spec, ["--print-config"]),
        capture_output=True, text=True, timeout=60, env=base_env(_env(spec, shared_dir)), cwd=str(PROJECT_DIR),
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode, proc.stdout, proc.stderr


def serve(kind, name, spec, run_dir):
    """Boot, one request, TERM: what an operator would see, as a dict."""
    run_dir.mkdir(parents=True, exist_ok=True)
    events = run_dir / "events"
    env = base_env({**_env(spec, run_dir), "CONFIG_EVENTS": str(events)})
    sock = listening_socket()
    address = sock.getsockname()
    stderr_path = run_dir / "stderr.log"
    with open(stderr_path, "wb") as err, open(run_dir / "stdout.log", "wb") as out:
        proc = subprocess.Popen(
            # gunicorn would open its control socket in $HOME; parallel runs must not share one.
            _cmd(kind, name, spec, ["--no-control-socket", "-b", f"fd://{sock.fileno()}"]),
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, pass_fds=(sock.fileno(),),
            start_new_session=True, env=env, cwd=str(PROJECT_DIR),
        )
    sock.close()
    result = {"log": stderr_path}
    try:
        result["response"] = _first_response(proc, address)
        result["workers"] = _wait_for_workers(proc.pid, spec)
        os.killpg(proc.pid, signal.SIGTERM)
        result["exit"] = proc.wait(timeout=STOP_DEADLINE)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)
    names = events.read_text().split() if events.exists() else []
    result["events"] = collections.Counter(n for n in names if n not in PER_REQUEST_EVENTS)
    result["request_events"] = sorted(set(names) & PER_REQUEST_EVENTS)
    if spec.get("multiproc"):
        result["leftover_metric_files"] = sorted(p.name for p in run_dir.glob("counter_*.db"))
    return result


def _first_response(proc, address):
    end = time.monotonic() + READY_DEADLINE
    request = b"GET /status HTTP/1.1\r\nHost: corpus\r\nX-Request-Id: r-1\r\nConnection: close\r\n\r\n"
    while time.monotonic() < end:
        if proc.poll() is not None:
            return ("exited", proc.returncode)
        try:
            raw = rawhttp.exchange(address, request, deadline=2.0)
            if rawhttp.status_of(raw) is not None:
                resp = rawhttp.parse_response(raw)
                return (resp.status, resp.body)
        except (OSError, TimeoutError):
            pass
        time.sleep(0.05)
    return ("not ready", None)


def _wait_for_workers(master, spec, deadline=10.0):
    """The number of worker processes once it stops changing (hooks per worker are compared)."""
    from server import child_pids

    end = time.monotonic() + deadline
    last, stable_since = None, time.monotonic()
    while time.monotonic() < end:
        now = len(child_pids(master))
        if now != last:
            last, stable_since = now, time.monotonic()
        elif now and time.monotonic() - stable_since > 0.3:
            break
        time.sleep(0.05)
    return last


@pytest.fixture(scope="module")
def corpus_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    shared = root / "print-config"
    shared.mkdir()
    jobs = {}
    with ThreadPoolExecutor(PARALLEL) as pool:
        for name, spec in CORPUS.items():
            slug = name.replace(":", "_").replace("/", "_")
            for kind in SERVERS:
                jobs[(name, kind, "print")] = pool.submit(print_config, kind, name, spec, shared)
                jobs[(name, kind, "serve")] = pool.submit(serve, kind, name, spec, root / slug / kind)
        return {key: job.result() for key, job in jobs.items()}


def test_corpus_is_large_enough():
    files = [p for p in CONFIGS_DIR.iterdir() if p.is_file() and p.suffix in (".py", ".conf")]
    assert len(files) >= 25
    assert {p.name for p in files} <= set(CORPUS), "every config file in tests/configs/ is in CORPUS"


@pytest.mark.parametrize("name", list(CORPUS))
def test_config_prints_the_same_settings(corpus_runs, name):
    ours, theirs = (corpus_runs[(name, kind, "print")] for kind in SERVERS)
    assert theirs[0] == 0, f"gunicorn refused {name}:\n{theirs[2][-2000:]}"
    assert ours[0] == 0, f"rgunicorn refused {name}:\n{ours[2][-2000:]}"
    assert aligned(ours[1]) == aligned(theirs[1])


@pytest.mark.parametrize("name", list(CORPUS))
def test_config_boots_serves_and_stops_the_same(corpus_runs, name):
    ours, theirs = (corpus_runs[(name, kind, "serve")] for kind in SERVERS)
    logs = f"\n--- rgunicorn ---\n{ours['log'].read_text()[-2500:]}\n--- gunicorn ---\n{theirs['log'].read_text()[-2500:]}"
    assert theirs["response"][0] == 200, f"gunicorn: {theirs['response']}{logs}"
    assert ours["response"] == theirs["response"], logs
    assert ours["workers"] == theirs["workers"], logs
    assert ours["exit"] == theirs["exit"] == 0, logs
    assert ours["events"] == theirs["events"], logs
    assert ours["request_events"] == theirs["request_events"], logs
    if "leftover_metric_files" in theirs:
        assert ours["leftover_metric_files"] == theirs["leftover_metric_files"] == [], logs
