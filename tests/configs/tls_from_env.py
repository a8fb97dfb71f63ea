# TLS only when the platform provides certificates; plain HTTP otherwise.
import os

certfile = os.environ.get("SSL_CERT_FILE_PATH")
keyfile = os.environ.get("SSL_KEY_FILE_PATH")
ca_certs = os.environ.get("SSL_CA_FILE_PATH")
workers = 2
