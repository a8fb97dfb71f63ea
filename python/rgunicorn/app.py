"""The `app` object a plug-in worker gets: gunicorn's `Application` as workers use it.

`wsgi()` returns the loaded callable — WSGI, ASGI (for UvicornWorker) or an aiohttp/Tornado
application, whatever APP_MODULE names — importing it on first use unless `--preload` already did
in the master. An app that cannot be loaded raises `AppImportError` (the worker then exits with
gunicorn's APP_LOAD_ERROR, 4, and the master stops).
"""


class AppImportError(Exception):
    """APP_MODULE cannot be imported or does not name a callable."""


class Application:
    def __init__(self, app_uri, cfg, preloaded=None):
        self.app_uri = app_uri
        self.cfg = cfg
        self.callable = preloaded

    def load(self):
        from rgunicorn._rgunicorn import load_wsgi_app

        return load_wsgi_app(self.app_uri)

    def wsgi(self):
        if self.callable is None:
            self.callable = self.load()
        return self.callable

    def chdir(self):
        """The master already changed to `--chdir` and put it on sys.path."""

    def __repr__(self):
        return "<%s.Application %s>" % (__name__, self.app_uri)
