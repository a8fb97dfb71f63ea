"""A ready-to-serve copy of examples/django_project's state: a migrated sqlite database with an
admin user, and collected static files, all in a temporary data directory."""

import sys
from dataclasses import dataclass
from pathlib import Path

from urllib.parse import urlsplit

from deploy.common import DJANGO_PROJECT, csrf_token, run
from server import base_env

ADMIN_USER = "admin"
ADMIN_PASSWORD = "rgunicorn-deploy-test-pw"


@dataclass
class DjangoSite:
    data_dir: Path
    static_root: Path
    config: Path = DJANGO_PROJECT / "gunicorn.conf.py"

    def env(self, **extra):
        """The environment the project's settings read (DJANGO_*), plus `extra`."""
        env = {
            "DJANGO_DATA_DIR": str(self.data_dir),
            "DJANGO_STATIC_ROOT": str(self.static_root),
            "DJANGO_SECRET_KEY": "test-only-secret-key-" + "x" * 40,
            "DJANGO_LOG_LEVEL": "WARNING",
            # "ready" is the Host of the test harness's readiness probe (tests/server.py).
            "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1,[::1],ready",
        }
        env.update(extra)
        return env


def prepare(data_dir):
    """migrate, createsuperuser and collectstatic into `data_dir` (about 3 s)."""
    data_dir = Path(data_dir)
    site = DjangoSite(data_dir=data_dir, static_root=data_dir / "static")
    env = base_env(site.env(DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD))
    manage = [sys.executable, str(DJANGO_PROJECT / "manage.py")]
    run(manage + ["migrate", "--noinput", "-v0"], env=env)
    run(manage + ["createsuperuser", "--noinput", "--username", ADMIN_USER, "--email", "admin@example.com"], env=env)
    run(manage + ["collectstatic", "--noinput", "-v0"], env=env)
    return site


def admin_login(session, base, verify=True):
    """What a browser does: GET the admin (redirected to the login form, which sets the csrftoken
    cookie), POST the credentials with the form's token, follow the redirect. Returns the page
    the redirect leads to."""
    form = session.get(f"{base}/admin/", timeout=10, verify=verify)
    assert form.status_code == 200 and urlsplit(form.url).path == "/admin/login/", form.url
    assert "csrftoken" in session.cookies
    resp = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={
            "csrfmiddlewaretoken": csrf_token(form.text),
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "next": "/admin/",
        },
        # Over https Django's CSRF check also wants a same-origin Referer, as browsers send.
        headers={"Referer": form.url},
        allow_redirects=False,
        timeout=10,
        verify=verify,
    )
    assert resp.status_code == 302, resp.text[:2000]
    assert resp.headers["Location"] == "/admin/"
    assert "sessionid" in session.cookies
    return session.get(f"{base}{resp.headers['Location']}", timeout=10, verify=verify)
