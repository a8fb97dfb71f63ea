"""Logs a gunicorn deployment's pipeline relies on: the access log line (default and custom
formats), USR1 reopening under load, statsd metrics, Python logging configs, --capture-output
and syslog."""

import base64
import http.client
import json
import re
import signal
import socket
import sys
import threading
import time

import pytest

from server import APPS_DIR, UNDER_GUNICORN, ServerProcess

pytestmark = pytest.mark.skipif(UNDER_GUNICORN, reason="compares rgunicorn's logs with gunicorn's")

APP = "loading_app:app"
GUNICORN = [sys.executable, "-m", "gunicorn", "--no-control-socket"]
TIMESTAMP = re.compile(r"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]")


def wait_for_text(path, pattern, deadline=5.0):
    end = time.monotonic() + deadline
    while True:
        text = path.read_text() if path.exists() else ""
        if re.search(pattern, text, re.M):
            return text
        assert time.monotonic() < end, f"{pattern!r} not in {path}:\n{text[-2000:]}"
        time.sleep(0.05)


def request(address, path="/", headers=None):
    conn = http.client.HTTPConnection(*address, timeout=10)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


def test_access_log_line_equals_gunicorns(start_server, tmp_path):
    lines = {}
    auth = "Basic " + base64.b64encode(b"alice:secret").decode()
    headers = {"User-Agent": "client/1.0", "Referer": "http://example.com/from", "Authorization": auth}
    for kind in ("rgunicorn", "gunicorn"):
        log = tmp_path / f"{kind}.log"
        command = GUNICORN if kind == "gunicorn" else None
        srv = ServerProcess(APP, ("--access-logfile", str(log)), workdir=tmp_path / kind, chdir=APPS_DIR, command=command)
        try:
            srv.wait_ready()
            assert request(srv.address, "/p/a?q=1&r=%20", headers) == 200
            text = wait_for_text(log, r"GET /p/a")
        finally:
            srv.stop()
        line = [l for l in text.splitlines() if "GET /p/a" in l][0]
        lines[kind] = TIMESTAMP.sub("[TIME]", line)
    assert lines["rgunicorn"] == lines["gunicorn"]
    assert '"GET /p/a?q=1&r=%20 HTTP/1.1" 200 3 "http://example.com/from" "client/1.0"' in lines["rgunicorn"]
    assert lines["rgunicorn"].startswith("127.0.0.1 - alice [TIME]")


def test_custom_access_format(start_server, tmp_path):
    log = tmp_path / "access.log"
    srv = start_server(APP, "--access-logfile", str(log), "--access-logformat", "%({x-request-id}i)s %(D)s %(s)s %(m)s")
    assert request(srv.address, "/", {"X-Request-Id": "req-7"}) == 200
    text = wait_for_text(log, r"^req-7 ")
    match = re.search(r"^req-7 (\d+) 200 GET$", text, re.M)
    assert match and int(match.group(1)) > 0, text


def test_usr1_reopens_logs_under_load_without_losing_lines(start_server, tmp_path):
    log = tmp_path / "access.log"
    srv = start_server(APP, "-w", "2", "--access-logfile", str(log), "--access-logformat", "%(U)s %(s)s")
    ok = []
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                if request(srv.address, "/load") == 200:
                    ok.append(1)
            except OSError:
                pass

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        rotated = tmp_path / "access.log.1"
        log.rename(rotated)
        srv.signal(signal.SIGUSR1)
        time.sleep(1.5)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    time.sleep(0.5)
    old = rotated.read_text().count("/load 200")
    new = wait_for_text(log, r"/load 200").count("/load 200")
    assert new > 0, "new lines go to the new file"
    assert old + new == len(ok), "no line is lost across the reopen"


def test_statsd_request_counter_and_timer(start_server, tmp_path):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(10)
    port = receiver.getsockname()[1]
    try:
        srv = start_server(APP, "--statsd-host", f"127.0.0.1:{port}", "--statsd-prefix", "web")
        assert request(srv.address, "/metrics-please") == 200
        seen = []
        end = time.monotonic() + 10
        while time.monotonic() < end and not {"requests", "duration", "status"} <= {k for k, _ in seen}:
            msg = receiver.recv(4096).decode()
            for kind, pattern in (
                ("requests", r"^web\.gunicorn\.requests:1\|c\|@1\.0$"),
                ("duration", r"^web\.gunicorn\.request\.duration:\d+\.\d+\|ms$"),
                ("status", r"^web\.gunicorn\.request\.status\.200:1\|c\|@1\.0$"),
            ):
                if re.match(pattern, msg):
                    seen.append((kind, msg))
        assert {"requests", "duration", "status"} <= {k for k, _ in seen}, seen
    finally:
        receiver.close()


def test_logconfig_dict_routes_records_through_python_logging(start_server, tmp_path):
    out = tmp_path / "json.log"
    conf = tmp_path / "logging.conf.py"
    conf.write_text(
        "import json, logging\n"
        "class JsonFormatter(logging.Formatter):\n"
        "    def format(self, record):\n"
        "        return json.dumps({'logger': record.name, 'level': record.levelname, 'msg': record.getMessage()})\n"
        "logconfig_dict = {\n"
        "    'version': 1,\n"
        "    'root': {'level': 'WARNING', 'handlers': []},\n"
        "    'formatters': {'json': {'()': JsonFormatter}},\n"
        f"    'handlers': {{'file': {{'class': 'logging.FileHandler', 'filename': {str(out)!r}, 'formatter': 'json'}}}},\n"
        "    'loggers': {\n"
        "        'gunicorn.error': {'level': 'INFO', 'handlers': ['file'], 'propagate': False},\n"
        "        'gunicorn.access': {'level': 'INFO', 'handlers': ['file'], 'propagate': False},\n"
        "    },\n"
        "}\n"
    )
    srv = start_server(APP, "-c", str(conf))
    assert request(srv.address, "/json-me") == 200
    text = wait_for_text(out, r"json-me")
    records = [json.loads(line) for line in text.splitlines()]
    assert any(r["logger"] == "gunicorn.error" and r["msg"].startswith("Booting worker") for r in records)
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert access and '"GET /json-me HTTP/1.1" 200' in access[-1]["msg"]


def test_capture_output_sends_print_to_the_error_log(start_server, tmp_path):
    errlog = tmp_path / "error.log"
    srv = start_server("printing_app:app", "--capture-output", "--error-logfile", str(errlog))
    assert request(srv.address, "/print") == 200
    text = wait_for_text(errlog, r"hello-from-stderr")
    assert "hello-from-print" in text


def test_syslog_receives_the_error_log(start_server, tmp_path):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(10)
    port = receiver.getsockname()[1]
    try:
        start_server(APP, "--log-syslog", "--log-syslog-to", f"udp://127.0.0.1:{port}", "--log-syslog-prefix", "myapp")
        messages = []
        end = time.monotonic() + 10
        while time.monotonic() < end and not any("Booting worker" in m for m in messages):
            messages.append(receiver.recv(4096).decode(errors="replace"))
        booting = [m for m in messages if "Booting worker" in m]
        assert booting and re.match(r"^<\d+>myapp: \[\d+\] \[INFO\] Booting worker with pid: \d+", booting[0]), messages
    finally:
        receiver.close()
