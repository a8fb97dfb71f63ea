# Development switches that only apply when DEBUG is set in the environment.
import os

from myproject.settings import DEBUG

workers = 1 if DEBUG else 2
loglevel = "debug" if DEBUG else "info"
if DEBUG:
    reload = True
    accesslog = "-"
timeout = 0 if os.environ.get("DEBUGGER") else 30
