"""Hooks in the corpus record that they ran, one name per line, so both servers can be compared."""

import os


def record(name):
    path = os.environ.get("CONFIG_EVENTS")
    if path:
        with open(path, "a") as f:
            f.write(name + "\n")
