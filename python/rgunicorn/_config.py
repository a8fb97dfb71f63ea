"""Run a gunicorn config file and hand its namespace to the Rust settings table.

Only reading the file happens here; which names are settings, and whether their values are
valid, is decided in Rust from the one settings table.
"""

import importlib
import importlib.machinery
import importlib.util
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
