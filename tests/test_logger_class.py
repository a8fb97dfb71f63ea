"""`logger_class` (issue 12): a subclass of gunicorn's glogging.Logger named by dotted path writes
the error and access logs, under a built-in worker and under a plug-in worker class, on
rgunicorn and gunicorn 27 side by side (the `kind` parameter), with the same result: every
error-log line JSON from its formatter, one JSON access line per request from its `access()`.
"""

import json
import signal

import pytest

from side_by_side import COMMANDS, serve  # noqa: F401 (serve is a fixture)


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("kind", list(COMMANDS))
@pytest.mark.parametrize("worker", ["sync", "gthread", "plugin_workers.MarkedSyncWorker"])
def test_json_logger_class_writes_error_and_access_logs(serve, kind, worker):
    args = ["-k", worker, "--logger-class", "json_logger.JsonLogger", "--access-logfile", "-"]
    if worker == "gthread":
        args += ["--threads", "2"]
    srv = serve(kind, "plugin_workers:app", *args)
    resp = srv.get("/logged?x=1", headers=[("User-Agent", "logger-test/1")])
    assert resp.status == 200
    [pid] = srv.workers()
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit(15) == 0

    access = [line for line in json_lines(srv.stdout()) if line.get("access")]
    mine = [line for line in access if line["path"] == "/logged"]
    assert mine == [{"access": True, "status": "200", "method": "GET", "path": "/logged", "agent": "logger-test/1",
                     "user": "alice"}]

    errors = json_lines(srv.log())  # every line must parse as JSON: nothing bypassed the class
    messages = [(e["level"], e["message"]) for e in errors]
    assert ("INFO", f"Booting worker with pid: {pid}") in messages
    assert any(level == "INFO" and message.startswith("Listening at: http://127.0.0.1:") for level, message in messages)


@pytest.mark.parametrize("kind", list(COMMANDS))
def test_plugin_worker_log_with_syslog_writes_each_record_once(serve, kind):
    """The default Logger a plug-in gets, with --log-syslog: records reach the error log once
    (rgunicorn forwards its own records to syslog; they must not come back into its file)."""
    import socket

    syslog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    syslog.bind(("127.0.0.1", 0))
    try:
        port = syslog.getsockname()[1]
        srv = serve(kind, "plugin_workers:app", "-k", "plugin_workers.MarkedSyncWorker", "--log-syslog",
                    "--log-syslog-to", f"udp://127.0.0.1:{port}", "--access-logfile", "-")
        assert srv.get("/once").status == 200
        [pid] = srv.workers()
        srv.signal(signal.SIGTERM)
        assert srv.wait_exit(15) == 0
        assert srv.log().count(f"Booting worker with pid: {pid}") == 1, srv.log()
        assert srv.stdout().count('"GET /once HTTP/1.1" 200') == 1, srv.stdout()
        syslog.settimeout(2)
        received = syslog.recv(65536)
        assert received.startswith(b"<"), received
    finally:
        syslog.close()
