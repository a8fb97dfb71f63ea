"""A small project for the config corpus: what real gunicorn.conf.py files import."""
