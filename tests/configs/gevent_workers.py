# I/O-bound service: gevent with many connections per worker.
worker_class = "gevent"
workers = 2
worker_connections = 500
keepalive = 2
