# Hooks kept in the project, named by dotted path (gunicorn imports them).
on_starting = "myproject.hooks.on_starting"
post_fork = "myproject.hooks.post_fork"
worker_exit = "myproject.hooks.worker_exit"
workers = 2
