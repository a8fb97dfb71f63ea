"""rgunicorn (or gunicorn) settings for the example Django project. From the repository root:

    python examples/django_project/manage.py migrate
    rgunicorn -c examples/django_project/gunicorn.conf.py

Every name here is a gunicorn setting, so the file works unchanged under gunicorn. The
environment overrides the defaults (BIND, WEB_CONCURRENCY, WORKER_CLASS, THREADS, ...), and
command-line flags override this file, as with gunicorn.
"""

import os

chdir = os.path.dirname(os.path.abspath(__file__))
wsgi_app = "mysite.wsgi:application"
raw_env = ["DJANGO_SETTINGS_MODULE=mysite.settings"]

# Without BIND: gunicorn's default, 127.0.0.1:8000, or 0.0.0.0:$PORT when PORT is set (containers).
# Behind nginx on the same host, prefer a unix socket: BIND=unix:/run/mysite/rgunicorn.sock
if "BIND" in os.environ:
    bind = os.environ["BIND"].split(",")

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# sync: one request per process, the safest choice for Django behind a buffering proxy
# (nginx absorbs slow clients). gthread: set WORKER_CLASS=gthread and THREADS=N.
worker_class = os.environ.get("WORKER_CLASS", "sync")
threads = int(os.environ.get("THREADS", "1"))

timeout = 30
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "25"))
keepalive = 2
max_requests = 2000
max_requests_jitter = 200

# The peers that may set the scheme through X-Forwarded-Proto (secure_scheme_headers).
# Peers on a unix socket are always trusted. Django's request.is_secure() follows.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
proc_name = "mysite"


def post_fork(server, worker):
    # With --preload the master imported Django; a connection opened there must not be shared
    # by the forked workers. (Without --preload nothing is open yet and this does nothing.)
    import sys

    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


def worker_abort(worker):
    worker.log.warning("worker %s hit the %ss timeout; its traceback is above", worker.pid, worker.cfg.timeout)
