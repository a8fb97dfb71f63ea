"""Targets for every APP_MODULE form: each app answers with a body naming how it was found."""


def _make(name):
    body = name.encode()

    def wsgi(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


application = _make("application")
app = _make("app")


def create_app():
    return _make("factory")


def create_app_with(name, count):
    return _make(f"factory-{name}-{count}")


class _Holder:
    pass


holder = _Holder()
holder.wsgi = _make("dotted")

not_callable = 42
