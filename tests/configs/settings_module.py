# Values shared with the application: imported from the project's settings module.
from myproject.settings import ALLOWED_PROXIES, LOG_LEVEL, TIMEOUT, WORKERS

workers = WORKERS
timeout = TIMEOUT
loglevel = LOG_LEVEL
forwarded_allow_ips = ALLOWED_PROXIES
