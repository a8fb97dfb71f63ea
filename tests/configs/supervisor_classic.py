# Run under supervisord: stay in the foreground, log to files supervisor rotates.
import os

run_dir = os.environ.get("RUN_DIR", "/var/log/myproject")

bind = "127.0.0.1:8001"
workers = 3
daemon = False
proc_name = "myproject"
errorlog = os.path.join(run_dir, "gunicorn-error.log")
accesslog = os.path.join(run_dir, "gunicorn-access.log")
loglevel = "warning"
capture_output = True
