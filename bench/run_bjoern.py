"""Serve MODULE:NAME with bjoern on HOST PORT: bjoern has no command line of its own.

One process, as bjoern is meant to run (it has no workers); it imports the app from bench/apps.
"""

import importlib
import os
import sys

import bjoern


def main() -> None:
    target, host, port = sys.argv[1:4]
    module, _, name = target.partition(":")
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps"))
    app = getattr(importlib.import_module(module), name or "application")
    bjoern.run(app, host, int(port))


if __name__ == "__main__":
    main()
