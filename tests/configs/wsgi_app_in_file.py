# The app is named here, so the start command is just `gunicorn -c gunicorn.conf.py`.
wsgi_app = "myproject.wsgi:application"
workers = 2
accesslog = "-"
