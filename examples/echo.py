"""Echo the request body back: `rgunicorn --chdir examples echo:app`, then `curl -d hi localhost:8000`."""


def app(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))])
    return [body]
