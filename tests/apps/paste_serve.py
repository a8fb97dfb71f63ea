"""What `pserve INI bind=ADDR` does, without Pyramid: load the ini's app and its `[server:main]`
runner with PasteDeploy, then hand the app to the runner (`egg:gunicorn#main` or
`egg:rgunicorn#main`). Usage: `python paste_serve.py INI -b ADDR` (ADDR fills `%(bind)s`).
"""

import sys

from paste.deploy import loadapp, loadserver


def main(argv):
    ini = argv[1]
    bind = argv[argv.index("-b") + 1]
    uri = f"config:{ini}"
    server = loadserver(uri, global_conf={"bind": bind})
    app = loadapp(uri, global_conf={"bind": bind})
    server(app)


if __name__ == "__main__":
    main(sys.argv)
