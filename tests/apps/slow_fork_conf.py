"""A config whose at-fork step in the child is slow once armed: the test's window for a signal that
reaches a worker before the worker has taken its signals over from the master."""

import os
import time

_MARKER = os.environ["FORK_MARKER"]


def _slow_after_fork():
    if os.path.exists(_MARKER + ".arm"):
        with open(_MARKER, "w"):
            pass
        time.sleep(1.5)


os.register_at_fork(after_in_child=_slow_after_fork)
