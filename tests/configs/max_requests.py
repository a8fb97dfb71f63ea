# Recycle workers against slow leaks, with jitter so they do not all restart at once.
workers = 2
max_requests = 1000
max_requests_jitter = 50
timeout = 60
graceful_timeout = 10
