"""What systemd does for a socket-activated service, done by a test: read the unit files, hold
the listening socket, and start the service with it as fd 3 (LISTEN_FDS, LISTEN_PID = the
service's own pid, LISTEN_FDNAMES) and a NOTIFY_SOCKET to receive READY=1 on."""

import subprocess
import sys
from pathlib import Path

# Runs in the child that becomes the service: descriptors to 3.., variables, then exec (so the
# pid systemd would put in LISTEN_PID is the server's own).
LAUNCHER = """\
import os, sys
fds = [int(fd) for fd in sys.argv[1].split(",")]
for i, fd in enumerate(fds):
    os.dup2(fd, 3 + i)  # dup2 clears close-on-exec on the copy
os.environ["LISTEN_FDS"] = str(len(fds))
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDNAMES"] = sys.argv[2]
os.execvp(sys.argv[3], sys.argv[3:])
"""


def parse_unit(path):
    """{section: [(key, value), ...]} of a unit file (keys may repeat, as Environment= does)."""
    sections = {}
    current = None
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path}: cannot read {raw!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit, section, key):
    return [v for k, v in unit.get(section, []) if k == key]


def value(unit, section, key):
    found = values(unit, section, key)
    assert found, f"no {key}= in [{section}]"
    return found[-1]


def environment(unit):
    """The service's Environment= assignments as a dict."""
    env = {}
    for assignment in values(unit, "Service", "Environment"):
        for item in assignment.split():
            name, _, val = item.partition("=")
            env[name] = val.strip('"')
    return env


def activate(listeners, argv, env, fd_names, log_path, cwd=None):
    """Start `argv` as systemd would with `listeners` (sockets kept open by the caller)."""
    fds = [s.fileno() for s in listeners]
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, ",".join(map(str, fds)), ":".join(fd_names), *argv],
            pass_fds=fds,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


def notify_messages(sock, deadline):
    """Datagrams received on the notify socket until one says READY=1 (or the deadline)."""
    sock.settimeout(deadline)
    messages = []
    while not any("READY=1" in m.split("\n") for m in messages):
        messages.append(sock.recv(4096).decode())
    return messages
