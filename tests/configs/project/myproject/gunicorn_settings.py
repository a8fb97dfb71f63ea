"""A config kept as a module inside the project (loaded with -c python:myproject.gunicorn_settings)."""

from myproject.settings import TIMEOUT

workers = 2
timeout = TIMEOUT
accesslog = "-"
