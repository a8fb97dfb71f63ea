"""examples/flask_app under rgunicorn with its own config file, driven by `requests`, under the
sync and gthread workers: the JSON API, a streamed response, and a 10 MiB `send_file` download
through wsgi.file_wrapper (whole, ranged, HEAD) compared by hash."""

import hashlib
import json
import os
import time

import pytest
import requests

from deploy.common import FLASK_APP, WORKER_CLASSES, dump_logs_on_failure, running, start_app  # noqa: F401
from server import UNDER_GUNICORN

CONFIG = FLASK_APP / "gunicorn.conf.py"
BIG = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def files_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("flask-files")
    data = os.urandom(BIG)
    (root / "big.bin").write_bytes(data)
    (root / "sub").mkdir()
    (root / "sub" / "hello.txt").write_text("hello\n")
    return root, hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module", params=WORKER_CLASSES)
def flask_url(request, files_dir, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("flask-server")
    srv = start_app(CONFIG, ("-w", "2", *request.param), env={"FLASK_APP_FILES": str(files_dir[0])}, workdir=workdir)
    with running(srv):
        yield f"http://127.0.0.1:{srv.address[1]}", srv


def test_json_api_round_trip(flask_url):
    url, _ = flask_url
    with requests.Session() as s:  # one kept-alive connection, as API clients do
        created = s.post(f"{url}/api/items", json={"name": "caf\u00e9", "tags": ["a", "b"]}, timeout=10)
        assert created.status_code == 201, created.text
        item = created.json()
        assert item["name"] == "caf\u00e9" and item["tags"] == ["a", "b"]
        assert created.headers["Location"] == f"/api/items/{item['id']}"
        bad = s.post(f"{url}/api/items", data=b"not json", headers={"Content-Type": "application/json"}, timeout=10)
        assert bad.status_code == 400 and "error" in bad.json()
        # Items live in one worker's memory: ask for it on the same connection (same worker).
        assert s.get(f"{url}{created.headers['Location']}", timeout=10).json() == item
        assert s.delete(f"{url}/api/items/{item['id']}", timeout=10).status_code == 204


def test_stream_arrives_while_it_is_produced(flask_url):
    url, _ = flask_url
    started = time.monotonic()
    with requests.get(f"{url}/api/stream", params={"count": 4, "delay": 0.4}, stream=True, timeout=10) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/x-ndjson"
        assert resp.headers.get("Transfer-Encoding") == "chunked"
        lines = resp.iter_lines()
        first = json.loads(next(lines))
        first_after = time.monotonic() - started
        rest = [json.loads(line) for line in lines]
    assert first["seq"] == 0 and [e["seq"] for e in rest] == [1, 2, 3]
    assert first_after < 1.0, f"the first event waited for the whole stream ({first_after:.2f}s)"


def test_send_file_10_mib_through_file_wrapper(flask_url, files_dir):
    url, _ = flask_url
    _, digest = files_dir
    info = requests.get(f"{url}/api/server", timeout=10).json()
    if not UNDER_GUNICORN:
        assert info["file_wrapper"].startswith("rgunicorn"), info  # not werkzeug's fallback
    sha = hashlib.sha256()
    size = 0
    with requests.get(f"{url}/files/big.bin", stream=True, timeout=30) as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Length"] == str(BIG)
        assert resp.headers["Content-Disposition"] == "attachment; filename=big.bin"
        for chunk in resp.iter_content(256 * 1024):
            sha.update(chunk)
            size += len(chunk)
    assert size == BIG and sha.hexdigest() == digest


def test_send_file_range_and_head(flask_url, files_dir):
    url, _ = flask_url
    root, _ = files_dir
    data = (root / "big.bin").read_bytes()
    start, end = 5_000_000, 5_999_999
    part = requests.get(f"{url}/files/big.bin", headers={"Range": f"bytes={start}-{end}"}, timeout=30)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes {start}-{end}/{BIG}"
    assert part.content == data[start : end + 1]
    head = requests.head(f"{url}/files/big.bin", timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(BIG) and head.content == b""
    etag = head.headers["ETag"]
    assert requests.get(f"{url}/files/big.bin", headers={"If-None-Match": etag}, timeout=10).status_code == 304
    assert requests.get(f"{url}/files/sub/hello.txt", timeout=10).content == b"hello\n"
    assert requests.get(f"{url}/files/../gunicorn.conf.py", timeout=10).status_code == 404


def test_config_file_hooks_see_the_configured_workers(files_dir, tmp_path):
    # examples/flask_app/gunicorn.conf.py's when_ready logs server.num_workers. gunicorn sets
    # num_workers from the config before any hook runs (Arbiter.setup), so it says 2 here.
    srv = start_app(CONFIG, ("-w", "2"), env={"FLASK_APP_FILES": str(files_dir[0])}, workdir=tmp_path)
    with running(srv):
        srv.wait_for_log(r"flask_app ready with \d+ workers")
        assert "flask_app ready with 2 workers" in srv.log()
