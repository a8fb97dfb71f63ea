# Behind a TLS-terminating load balancer that sets its own headers.
forwarded_allow_ips = "*"
secure_scheme_headers = {
    "X-FORWARDED-PROTO": "https",
    "X-FORWARDED-SSL": "on",
}
forwarder_headers = "SCRIPT_NAME,PATH_INFO"
workers = 2
