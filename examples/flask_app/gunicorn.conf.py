"""rgunicorn (or gunicorn) settings for the Flask example. Run from the repository root:

    rgunicorn -c examples/flask_app/gunicorn.conf.py

Every name here is a gunicorn setting; the file works unchanged under gunicorn.
Environment variables override the defaults so one file serves development, containers and systemd.
"""

import os

chdir = os.path.dirname(os.path.abspath(__file__))
wsgi_app = "app:app"

# Without BIND: gunicorn's default, 127.0.0.1:8000, or 0.0.0.0:$PORT when PORT is set (containers).
if "BIND" in os.environ:
    bind = os.environ["BIND"].split(",")

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("WORKER_CLASS", "gthread")
threads = int(os.environ.get("THREADS", "4"))

# Kubernetes/systemd stop us with TERM: in-flight requests get this long to finish.
# Keep the orchestrator's grace period (terminationGracePeriodSeconds, TimeoutStopSec) above it.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "25"))
timeout = 30
keepalive = 5

# Only the proxy in front of us may say the request came in over https.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)sus'
proc_name = "flask_app"


def when_ready(server):
    server.log.info("flask_app ready with %s workers", server.num_workers)


def worker_exit(server, worker):
    server.log.info("flask_app worker %s exited", worker.pid)
