# Access and error logs in files, with the request id from the proxy in every access line.
import os

run_dir = os.environ.get("RUN_DIR", "/var/log/myproject")
accesslog = os.path.join(run_dir, "access.log")
errorlog = os.path.join(run_dir, "error.log")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)s "%({x-request-id}i)s"'
loglevel = "info"
