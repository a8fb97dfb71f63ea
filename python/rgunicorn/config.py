"""The `cfg` object a plug-in worker class gets: gunicorn's `Config` interface over rgunicorn's settings.

Every setting is an attribute (`cfg.workers`), `cfg.settings[name].value` / `.get()` work, hooks
are always callable (gunicorn's no-op defaults when the config file sets none), and the derived
properties real workers read (`is_ssl`, `ssl_options`, `worker_class_str`, `env`, `sendfile`,
`address`, `forwarded_allow_networks()`, ...) behave as gunicorn 27's.

The values come from the Rust settings table, which is the only place that validates them. A
setting rgunicorn does not have (gunicorn grows new ones) falls back to gunicorn's own default
when gunicorn is importable, so a gunicorn-derived worker never fails on a name it expects;
without gunicorn such a name raises AttributeError, as gunicorn does for unknown names.
"""

import ipaddress
import os


class Setting:
    """One setting, with the attributes gunicorn's `Setting` objects have that workers read."""

    def __init__(self, name, section, value, default=None):
        self.name = name
        self.section = section
        self.value = value
        self.default = default

    def get(self):
        return self.value

    def set(self, value):
        self.value = value

    def __repr__(self):
        return "<%s.%s object with value %r>" % (__name__, type(self).__name__, self.value)


def _no_op(qualname, arity):
    """A hook default with gunicorn's qualname, so `print(cfg.on_starting)` reads the same."""

    def hook(*args):
        return None

    cls, _, name = qualname.partition(".")
    hook.__name__ = name
    hook.__qualname__ = qualname
    hook.arity = arity
    return hook


# gunicorn's hook defaults: setting name -> (qualname of its no-op, number of arguments).
HOOK_DEFAULTS = {
    "on_starting": ("OnStarting.on_starting", 1),
    "on_reload": ("OnReload.on_reload", 1),
    "when_ready": ("WhenReady.when_ready", 1),
    "pre_fork": ("Prefork.pre_fork", 2),
    "post_fork": ("Postfork.post_fork", 2),
    "post_worker_init": ("PostWorkerInit.post_worker_init", 1),
    "worker_int": ("WorkerInt.worker_int", 1),
    "worker_abort": ("WorkerAbort.worker_abort", 1),
    "pre_exec": ("PreExec.pre_exec", 1),
    "pre_request": ("PreRequest.pre_request", 2),
    "post_request": ("PostRequest.post_request", 4),
    "child_exit": ("ChildExit.child_exit", 2),
    "worker_exit": ("WorkerExit.worker_exit", 2),
    "nworkers_changed": ("NumWorkersChanged.nworkers_changed", 3),
    "on_exit": ("OnExit.on_exit", 1),
}


def _gunicorn_defaults():
    """gunicorn's own settings at their defaults, when gunicorn is importable; else {}."""
    try:
        from gunicorn.config import make_settings
    except Exception:
        return {}
    try:
        return make_settings()
    except Exception:
        return {}


class Config:
    """gunicorn's `Config` as plug-in workers use it."""

    def __init__(self, settings):
        object.__setattr__(self, "settings", settings)
        object.__setattr__(self, "_forwarded_allow_networks", None)
        object.__setattr__(self, "_proxy_allow_networks", None)
        object.__setattr__(self, "env_orig", os.environ.copy())

    @classmethod
    def from_rgunicorn(cls, namespace, table):
        """Build from the namespace the Rust master gives hooks and `(name, section)` rows."""
        settings = dict(_gunicorn_defaults())
        for name, section in table:
            value = getattr(namespace, name, None)
            if name == "sendfile":
                # The namespace holds the effective switch; the setting itself is None unless
                # --no-sendfile stored False, as in gunicorn.
                value = None if value else False
            if value is None and name in HOOK_DEFAULTS:
                value = _no_op(*HOOK_DEFAULTS[name])
            settings[name] = Setting(name, section, value)
        return cls(settings)

    def __getattr__(self, name):
        if name == "settings":
            raise AttributeError()
        if name not in self.settings:
            raise AttributeError("No configuration setting for: %s" % name)
        return self.settings[name].get()

    def __setattr__(self, name, value):
        if name != "settings" and name in self.settings:
            raise AttributeError("Invalid access!")
        object.__setattr__(self, name, value)

    def set(self, name, value):
        if name not in self.settings:
            raise AttributeError("No configuration setting for: %s" % name)
        self.settings[name].set(value)

    def __str__(self):
        width = max(len(k) for k in self.settings)
        lines = []
        for name in sorted(self.settings):
            value = self.settings[name].value
            if callable(value):
                value = "<{}()>".format(value.__qualname__)
            lines.append("{k:{w}} = {v}".format(k=name, v=value, w=width))
        return "\n".join(lines)

    # -- gunicorn's derived properties -------------------------------------------------------

    def _sync_made_threaded(self):
        uri = self.settings["worker_class"].get()
        return isinstance(uri, str) and (uri == "sync" or uri.endswith("SyncWorker")) and self.threads > 1

    @property
    def worker_class_str(self):
        uri = self.settings["worker_class"].get()
        if isinstance(uri, str):
            return "gthread" if self._sync_made_threaded() else uri
        return uri.__name__

    @property
    def worker_class(self):
        from rgunicorn.workers import load_class

        uri = "gthread" if self._sync_made_threaded() else self.settings["worker_class"].get()
        worker_class = load_class(uri)
        if hasattr(worker_class, "setup"):
            worker_class.setup()
        return worker_class

    @property
    def logger_class(self):
        from rgunicorn.glogging import load_logger_class

        return load_logger_class(self.settings["logger_class"].get())

    @property
    def address(self):
        return [_parse_address(bind) for bind in self.settings["bind"].get()]

    @property
    def uid(self):
        return self.settings["user"].get()

    @property
    def gid(self):
        return self.settings["group"].get()

    @property
    def proc_name(self):
        name = self.settings["proc_name"].get()
        return name if name is not None else self.settings["default_proc_name"].get()

    @property
    def is_ssl(self):
        return bool(self.certfile or self.keyfile)

    @property
    def ssl_options(self):
        return {name: s.get() for name, s in self.settings.items() if s.section == "SSL"}

    @property
    def env(self):
        env = {}
        for pair in self.settings["raw_env"].get() or []:
            key, sep, value = pair.partition("=")
            if not sep:
                raise RuntimeError("environment setting %r invalid" % pair)
            env[key] = value
        return env

    @property
    def sendfile(self):
        if self.settings["sendfile"].get() is not None:
            return False
        if "SENDFILE" in os.environ:
            return os.environ["SENDFILE"].lower() in ("y", "1", "yes", "true")
        return True

    @property
    def reuse_port(self):
        return self.settings["reuse_port"].get()

    def forwarded_allow_networks(self):
        if self._forwarded_allow_networks is None:
            networks = [ipaddress.ip_network(a) for a in self.forwarded_allow_ips if a != "*"]
            object.__setattr__(self, "_forwarded_allow_networks", networks)
        return self._forwarded_allow_networks

    def proxy_allow_networks(self):
        if self._proxy_allow_networks is None:
            networks = [ipaddress.ip_network(a) for a in self.proxy_allow_ips if a != "*"]
            object.__setattr__(self, "_proxy_allow_networks", networks)
        return self._proxy_allow_networks


def _parse_address(bind):
    """gunicorn's `util.parse_address` for the forms rgunicorn binds: unix:PATH, fd://N, HOST:PORT."""
    if bind.startswith("unix:"):
        path = bind[len("unix:"):]
        return path[2:] if path.startswith("//") else path
    if bind.startswith("fd://"):
        return int(bind[len("fd://"):])
    text = bind[len("tcp://"):] if bind.startswith("tcp://") else bind
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else "8000"
    elif ":" in text:
        host, port = text.rsplit(":", 1)
    else:
        host, port = text, "8000"
    return (host or "0.0.0.0", int(port))
