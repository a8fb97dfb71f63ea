# django-environ style: typed helpers with a schema of defaults.
from myproject.envtools import env

bind = env.str("GUNICORN_BIND", "0.0.0.0:8000")
workers = env.int("GUNICORN_WORKERS", 2)
timeout = env.int("WEB_TIMEOUT")
preload_app = env.bool("WEB_PRELOAD")
forwarded_allow_ips = ",".join(env.list("TRUSTED_PROXIES", ["127.0.0.1", "::1"]))
keepalive = env.int("GUNICORN_KEEPALIVE", 5)
