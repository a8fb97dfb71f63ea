# A threaded deployment: gthread with a keep-alive long enough for a proxy's pool.
worker_class = "gthread"
workers = 2
threads = 4
worker_connections = 200
keepalive = 5
