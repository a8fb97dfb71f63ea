"""Run a gunicorn config file and hand its namespace to the Rust settings table.

Only reading the file happens here; which names are settings, and whether their values are
valid, is decided in Rust from the one settings table.
"""

import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import sys


def load(location):
    """Execute `PATH`, `file:PATH` or `python:MODULE` and return its top-level names."""
    if location.startswith("python:"):
        return dict(vars(importlib.import_module(location[len("python:"):])))
    if location.startswith("file:"):
        location = location[len("file:"):]
    if not os.path.exists(location):
        raise FileNotFoundError(f"{location!r} doesn't exist")
    name = "__config__"
    if os.path.splitext(location)[1] in (".py", ".pyc"):
        spec = importlib.util.spec_from_file_location(name, location)
    else:
        loader = importlib.machinery.SourceFileLoader(name, location)
        spec = importlib.util.spec_from_file_location(name, location, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return dict(vars(module))


def _import_callable(path):
    try:
        module_name, name = path.rsplit(".", 1)
    except ValueError:
        raise TypeError("Value '%s' is not import string. Format: module[.submodules...].object" % path) from None
    try:
        module = __import__(module_name, fromlist=[name])
        return getattr(module, name)
    except ImportError as e:
        raise TypeError(str(e)) from None
    except AttributeError:
        raise TypeError("Can not load '%s' from '%s'" % (name, module_name)) from None


def _arity(func):
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in inspect.signature(func).parameters.values() if p.kind in positional)


def checked_hook(value, arity, name):
    """gunicorn's validate_callable(arity), and validate_post_request for post_request: a
    callable or a dotted path to one, taking exactly `arity` positional arguments. A 2- or
    3-argument post_request is wrapped to take 4, under the name gunicorn's wrapper has (which
    is what --print-config shows)."""
    if isinstance(value, str):
        value = _import_callable(value)
    if not callable(value):
        raise TypeError("Value is not callable: %s" % value)
    given = _arity(value)
    if name == "post_request":
        hook = value
        if given == 4:
            return hook
        if given == 3:
            def wrapped(worker, req, env, _r):
                return hook(worker, req, env)
        elif given == 2:
            def wrapped(worker, req, _e, _r):
                return hook(worker, req)
        else:
            raise TypeError("Value must have an arity of: 4")
        wrapped.__qualname__ = "validate_post_request.<locals>.<lambda>"
        return wrapped
    if given != arity:
        raise TypeError("Value must have an arity of: %s" % arity)
    return value


def prepare_sys_path(cwd, project_dirs):
    """Before the config file runs: the working directory on sys.path, as gunicorn puts it, and
    in front of it the directories given with --chdir on the command line, so that a config file
    can import the project wherever it is started from."""
    for path in [cwd] + list(project_dirs):
        if path not in sys.path:
            sys.path.insert(0, path)
