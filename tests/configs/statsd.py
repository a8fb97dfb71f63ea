# Metrics to a local statsd agent (datadog-style tags).
statsd_host = "localhost:8125"
statsd_prefix = "myproject.web"
dogstatsd_tags = "env:prod,service:web"
workers = 2
