"""Resolve a class setting (`worker_class`, `logger_class`) the way gunicorn's `util.load_class` does.

A class object is used as it is; `egg:DIST#NAME` is the entry point NAME of distribution DIST in
`section`; a single word is a name from `supported` (or an entry point of gunicorn's own
distribution, as gunicorn looks it up); anything else is `module.Class`. Failures raise
`ClassLoadError` with one line naming the class and why.
"""

import importlib
import importlib.metadata
import inspect


class ClassLoadError(RuntimeError):
    """A class setting names something that cannot be imported."""


def _why(exc):
    text = str(exc).strip().splitlines()
    return "%s: %s" % (type(exc).__name__, text[-1]) if text else type(exc).__name__


def _entry_point(dist, section, name):
    matches = importlib.metadata.distribution(dist).entry_points.select(group=section, name=name)
    for entry in matches:
        return entry.load()
    raise ImportError("Entry point %r not found" % ((section, name),))


def load_class(uri, default, section, supported=None):
    if inspect.isclass(uri):
        return uri
    if not isinstance(uri, str):
        raise ClassLoadError("class uri %r invalid: not a string or a class" % (uri,))
    if uri.startswith("egg:"):
        dist, _, name = uri[len("egg:"):].rpartition("#")
        if not dist:
            dist, name = name, default
        try:
            return _entry_point(dist, section, name)
        except Exception as exc:
            raise ClassLoadError("class uri %r invalid or not found: %s" % (uri, _why(exc))) from None
    components = uri.split(".")
    if len(components) == 1:
        name = uri.lstrip("#")
        if supported and name in supported:
            components = supported[name].split(".")
        else:
            try:
                return _entry_point("gunicorn", section, name)
            except Exception as exc:
                raise ClassLoadError("class uri %r invalid or not found: %s" % (uri, _why(exc))) from None
    module_name, klass = ".".join(components[:-1]), components[-1]
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ClassLoadError("class uri %r invalid or not found: %s" % (uri, _why(exc))) from None
    try:
        return getattr(module, klass)
    except AttributeError:
        raise ClassLoadError("class uri %r invalid or not found: module %r has no attribute %r" % (uri, module_name, klass)) from None
