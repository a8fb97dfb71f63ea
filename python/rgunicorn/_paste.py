"""PasteDeploy server runner: `use = egg:rgunicorn#main` in `[server:main]`, as gunicorn's
`egg:gunicorn#main`. `pserve development.ini` loads the app and calls `serve`; the section's
keys (`host`, `port`, `workers`, `config`, any setting) configure the server, in Rust.
"""

import sys


def serve(app, global_conf, **local_conf):
    from rgunicorn._rgunicorn import serve_paste_app

    local = [(key, str(value)) for key, value in local_conf.items() if value is not None]
    sys.exit(serve_paste_app(app, global_conf["__file__"], local))
