# Environment for the workers set from the config file.
raw_env = ["APP_ENV=production", "TZ=UTC"]
workers = 1
