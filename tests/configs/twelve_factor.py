# 12-factor: everything from the environment, with defaults for a laptop.
import os

bind = "0.0.0.0:" + os.environ.get("PORT", "8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2))
threads = int(os.environ.get("PYTHON_MAX_THREADS", 1))
timeout = int(os.environ.get("WEB_TIMEOUT", 30))
loglevel = os.environ.get("LOG_LEVEL", "info")
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
