"""Run rgunicorn and gunicorn 27 side by side on the same arguments and compare what they print.

`--print-config` is the comparison: both servers print every setting as `name = value`, so the
same text means the same value was accepted, converted and stored. Cases run in a thread pool
(each is a pair of short-lived processes) so a table of them stays fast.
"""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from server import base_env

PARALLEL = 4


def server_cmd(kind):
    return [sys.executable, "-m", kind]


def run(kind, args, cwd, env=None, timeout=60):
    """(exit status, stdout, stderr) of one server run that is expected to exit by itself.
    An `env` value of None removes that variable."""
    full_env = {k: v for k, v in base_env(env).items() if v is not None}
    proc = subprocess.run(
        server_cmd(kind) + list(args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=str(cwd),
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode, proc.stdout, proc.stderr


def settings_lines(stdout):
    """`--print-config` output as {name: value}."""
    values = {}
    for line in stdout.splitlines():
        name, sep, value = line.partition(" = ")
        if sep:
            values[name.strip()] = value
    return values


def aligned(stdout):
    """`--print-config` lines sorted and realigned the same way on both sides, so that a
    comparison is about names and values, not column widths."""
    values = settings_lines(stdout)
    width = max((len(k) for k in values), default=0)
    return "\n".join(f"{k:{width}} = {v}" for k, v in sorted(values.items()))


def both(args, cwd, env=None):
    """Run the same command under both servers at once: {"rgunicorn": result, "gunicorn": result}."""
    with ThreadPoolExecutor(2) as pool:
        futures = {kind: pool.submit(run, kind, args, cwd, env) for kind in ("rgunicorn", "gunicorn")}
        return {kind: f.result() for kind, f in futures.items()}


def many(cases, cwd, env=None):
    """`both()` for every argument list in `cases`, PARALLEL pairs at a time; results in order."""
    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(lambda args: both(args, cwd, env), cases))


def console_script(name):
    """The installed console script (`rgunicorn`, `gunicorn`) next to this interpreter: unlike
    `python -m`, it does not put the working directory on sys.path by itself."""
    return str(Path(sys.executable).parent / name)
