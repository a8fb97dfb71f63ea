"""A WSGI app for rgunicorn as PID 1 of a new PID namespace (what a container is), whose
requests leave orphans behind, as apps that shell out or daemonise do.

    GET /orphans?n=N&lifetime=S   double-fork N processes that outlive their parent by S seconds
    GET /ps                       every process of the namespace: [pid, state, ppid, name]
    GET /whoami                   this worker's pid and its parent's (the master's) pid

Orphans append "pid ppid" to $ORPHAN_LOG once they have been re-parented, so a test can see
that they were adopted by PID 1 (the master) and not by anything else.
"""

import json
import os
import time
from urllib.parse import parse_qs


def _orphan(lifetime, parent):
    # The grandchild: drop every inherited descriptor (the client's socket above all), wait to
    # be adopted, then live a little and exit, leaving a zombie for whoever adopted it.
    os.closerange(3, 65536)
    end = time.monotonic() + 5
    while os.getppid() == parent and time.monotonic() < end:
        time.sleep(0.005)
    log = os.environ.get("ORPHAN_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {os.getppid()}\n")
    time.sleep(lifetime)
    os._exit(0)


def spawn_orphan(lifetime):
    """Double fork: the middle process exits at once, so the grandchild is orphaned."""
    r, w = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(r)
            # Taken before the fork: asked in the grandchild, getppid() may already answer 1
            # if this process has exited, and the grandchild would wait for a change that came.
            me = os.getpid()
            grandchild = os.fork()
            if grandchild == 0:
                _orphan(lifetime, me)
            os.write(w, str(grandchild).encode())
        finally:
            os._exit(0)
    os.close(w)
    pid = int(os.read(r, 64) or b"0")
    os.close(r)
    os.waitpid(middle, 0)  # the worker reaps its own child; the grandchild is nobody's now
    return pid


def processes():
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            name = stat[stat.find(b"(") + 1 : stat.rfind(b")")].decode(errors="replace")
            fields = stat[stat.rfind(b")") + 2 :].split()
            found.append([int(entry), fields[0].decode(), int(fields[1]), name])
    return sorted(found)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/orphans":
        result = [spawn_orphan(float(query.get("lifetime", "0.2"))) for _ in range(int(query.get("n", "1")))]
    elif path == "/ps":
        result = processes()
    else:
        result = {"pid": os.getpid(), "ppid": os.getppid()}
    body = json.dumps(result).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
