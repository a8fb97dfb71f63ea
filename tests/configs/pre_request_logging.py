# Per-request hooks: log the request line before it runs and the status after.
from myproject.events import record


def pre_request(worker, req):
    worker.log.debug("%s %s", req.method, req.path)
    record("pre_request")


def post_request(worker, req, environ, resp):
    record("post_request")


workers = 1
