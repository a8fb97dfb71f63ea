# Written against gunicorn 27's settings reference, restating its defaults explicitly.
control_socket_disable = True
http_protocols = "h1"
http2_cleartext = "off"
proxy_protocol = "off"
protocol = "http"
dirty_workers = 0
dirty_apps = []
root_path = ""
asgi_loop = "auto"
http_parser = "auto"
workers = 1
