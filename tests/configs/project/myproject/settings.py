"""Project settings read from the environment, 12-factor style (the config imports these)."""

import os

DEBUG = os.environ.get("DEBUG", "0") == "1"
WORKERS = int(os.environ.get("APP_WORKERS", "2"))
TIMEOUT = 25
GREETING = os.environ.get("GREETING", "hello")
LOG_LEVEL = "debug" if DEBUG else "info"
ALLOWED_PROXIES = "127.0.0.1,10.0.0.0/8"
