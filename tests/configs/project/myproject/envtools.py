"""django-environ style typed environment helpers."""

import os


class Env:
    def __init__(self, **schema):
        self.schema = schema

    def _raw(self, name, default):
        if name in os.environ:
            return os.environ[name]
        if name in self.schema:
            return self.schema[name][1]
        return default

    def str(self, name, default=""):
        return str(self._raw(name, default))

    def int(self, name, default=0):
        return int(self._raw(name, default))

    def bool(self, name, default=False):
        value = self._raw(name, default)
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")

    def list(self, name, default=None):
        value = self._raw(name, default or [])
        return value if isinstance(value, list) else [v.strip() for v in str(value).split(",") if v.strip()]


env = Env(WEB_TIMEOUT=(int, 30), WEB_PRELOAD=(bool, False))
