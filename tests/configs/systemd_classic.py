# Behind nginx on a unix socket, started by systemd (which owns the pid file and restarts).
bind = "unix:/run/myproject/gunicorn.sock"
workers = 2
umask = 0o007
pidfile = None
errorlog = "-"
accesslog = None
forwarded_allow_ips = "127.0.0.1"
timeout = 60
graceful_timeout = 20
