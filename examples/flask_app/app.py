"""A Flask app that exercises what a real API server does under rgunicorn.

    pip install flask
    rgunicorn -c examples/flask_app/gunicorn.conf.py          # from the repository root

- `GET/POST /api/items`, `GET/DELETE /api/items/<id>`: a small JSON API (in-memory store per worker).
- `GET /api/stream?count=N`: newline-delimited JSON produced as it goes (chunked on HTTP/1.1).
- `GET /files/<name>`: `send_file` from `$FLASK_APP_FILES` (default `./files`), which Flask
  hands to the server's `wsgi.file_wrapper`, and rgunicorn sends with sendfile(2).
- `GET /healthz`: liveness/readiness for load balancers and Kubernetes probes.
"""

import itertools
import json
import os
import threading
import time
from pathlib import Path

from flask import Flask, Response, abort, jsonify, request, send_file, stream_with_context

app = Flask(__name__)
app.config["FILES_DIR"] = Path(os.environ.get("FLASK_APP_FILES", Path(__file__).resolve().parent / "files"))

# Workers are separate processes: each has its own store. A real app would use a database.
_items = {}
_ids = itertools.count(1)
_lock = threading.Lock()  # gthread runs requests of one worker in several threads


@app.get("/healthz")
def healthz():
    return jsonify(status="ok", pid=os.getpid())


@app.get("/api/items")
def list_items():
    with _lock:
        return jsonify(items=list(_items.values()))


@app.post("/api/items")
def create_item():
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return jsonify(error="expected a JSON object with a string 'name'"), 400
    with _lock:
        item = {"id": next(_ids), "name": data["name"], "tags": list(data.get("tags", []))}
        _items[item["id"]] = item
    return jsonify(item), 201, {"Location": f"/api/items/{item['id']}"}


@app.get("/api/items/<int:item_id>")
def get_item(item_id):
    with _lock:
        item = _items.get(item_id)
    if item is None:
        abort(404)
    return jsonify(item)


@app.delete("/api/items/<int:item_id>")
def delete_item(item_id):
    with _lock:
        if _items.pop(item_id, None) is None:
            abort(404)
    return "", 204


@app.get("/api/stream")
def stream():
    """One JSON line per event, sent as produced: a client sees the first before the last exists."""
    count = min(int(request.args.get("count", "10")), 100_000)
    delay = min(float(request.args.get("delay", "0")), 1.0)

    def events():
        for i in range(count):
            yield json.dumps({"seq": i, "at": time.time()}) + "\n"
            if delay:
                time.sleep(delay)

    return Response(stream_with_context(events()), mimetype="application/x-ndjson")


@app.get("/files/<path:name>")
def download(name):
    root = app.config["FILES_DIR"].resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file():
        abort(404)
    # max_age=0: no caching headers; conditional=True: ETag, Range and 304 as Flask does them.
    return send_file(path, as_attachment=True, max_age=0, conditional=True)


@app.get("/api/server")
def server_info():
    """What the WSGI server gave us: handy to check a deployment (scheme behind a proxy, workers)."""
    env = request.environ
    return jsonify(
        url_scheme=env["wsgi.url_scheme"],
        is_secure=request.is_secure,
        remote_addr=env.get("REMOTE_ADDR"),
        forwarded_for=env.get("HTTP_X_FORWARDED_FOR"),
        multithread=env["wsgi.multithread"],
        multiprocess=env["wsgi.multiprocess"],
        file_wrapper=f"{env['wsgi.file_wrapper'].__module__}.{env['wsgi.file_wrapper'].__qualname__}",
        pid=os.getpid(),
    )
