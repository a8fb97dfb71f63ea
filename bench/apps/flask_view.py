"""flask_view: one Flask route returning the same 13 bytes as hello."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!"
