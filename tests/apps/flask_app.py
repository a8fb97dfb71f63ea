"""A small Flask app: JSON, form posts, streamed responses."""

import time

from flask import Flask, Response, jsonify, request, stream_with_context

app = Flask(__name__)


@app.get("/__ready__")
def ready():
    return "ready"


@app.get("/json")
def get_json():
    return jsonify(message="hello", items=[1, 2, 3], args=request.args.to_dict())


@app.post("/json")
def post_json():
    return jsonify(received=request.get_json(), length=request.content_length)


@app.post("/form")
def post_form():
    return jsonify(
        form=request.form.to_dict(flat=False), files={k: f.read().decode() for k, f in request.files.items()}
    )


@app.get("/stream")
def stream():
    count = int(request.args.get("lines", "100"))

    def generate():
        for i in range(count):
            yield f"line {i}\n"

    return Response(stream_with_context(generate()), mimetype="text/plain")


@app.get("/slow-stream")
def slow_stream():
    def generate():
        yield "first\n"
        time.sleep(2)
        yield "second\n"

    return Response(generate(), mimetype="text/plain")


@app.get("/big")
def big():
    return jsonify(data="x" * 1_000_000)
