"""examples/django_project under rgunicorn with its own config file, driven by `requests` as a
browser would, under the sync and gthread workers: log into the admin (form, CSRF cookie,
redirect), upload a 5 MiB file through a CSRF-protected form and read it back, and the
scheme decided by --forwarded-allow-ips and X-Forwarded-Proto as Django sees it."""

import hashlib
import os
import re
import pytest
import requests

import rawhttp
from deploy import django_site
from deploy.common import WORKER_CLASSES, csrf_token, dump_logs_on_failure, running, start_app  # noqa: F401
from server import UNDER_GUNICORN

UPLOAD_SIZE = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return django_site.prepare(tmp_path_factory.mktemp("django-data"))


@pytest.fixture(scope="module", params=WORKER_CLASSES)
def django_url(request, site, tmp_path_factory):
    srv = start_app(site.config, ("-w", "2", *request.param), env=site.env(), workdir=tmp_path_factory.mktemp("dj"))
    with running(srv):
        yield f"http://127.0.0.1:{srv.address[1]}"


def test_admin_login_and_logout(django_url):
    with requests.Session() as s:
        home = django_site.admin_login(s, django_url)
        assert home.status_code == 200
        assert "Site administration" in home.text
        assert re.search(r"Welcome,\s*<strong>admin</strong>", home.text), home.text[:3000]
        changelist = s.get(f"{django_url}/admin/notes/note/", timeout=10)
        assert changelist.status_code == 200 and "Select note to change" in changelist.text
        # Django 5 logs out with a POST that carries the CSRF token.
        out = s.post(
            f"{django_url}/admin/logout/",
            data={"csrfmiddlewaretoken": csrf_token(home.text)},
            headers={"Referer": f"{django_url}/admin/"},
            timeout=10,
        )
        assert out.status_code == 200 and "Logged out" in out.text
        assert s.get(f"{django_url}/admin/", allow_redirects=False, timeout=10).status_code == 302


def test_admin_login_with_a_wrong_password_stays_on_the_form(django_url):
    with requests.Session() as s:
        form = s.get(f"{django_url}/admin/login/", timeout=10)
        resp = s.post(
            f"{django_url}/admin/login/",
            data={"csrfmiddlewaretoken": csrf_token(form.text), "username": "admin", "password": "wrong"},
            headers={"Referer": form.url},
            allow_redirects=False,
            timeout=10,
        )
        assert resp.status_code == 200 and "Please enter the correct username and password" in resp.text


def test_post_without_csrf_token_is_forbidden(django_url):
    resp = requests.post(f"{django_url}/", data={"title": "no token"}, timeout=10)
    assert resp.status_code == 403 and "CSRF" in resp.text


def test_upload_5_mib_and_read_it_back(django_url):
    data = os.urandom(UPLOAD_SIZE)
    digest = hashlib.sha256(data).hexdigest()
    with requests.Session() as s:
        page = s.get(f"{django_url}/", timeout=10)
        resp = s.post(
            f"{django_url}/",
            data={"csrfmiddlewaretoken": csrf_token(page.text), "title": "five mebibytes", "text": "random bytes"},
            files={"attachment": ("blob.bin", data, "application/octet-stream")},
            headers={"Referer": f"{django_url}/"},
            allow_redirects=False,
            timeout=30,
        )
        assert resp.status_code == 302, resp.text[:2000]
        note_path = resp.headers["Location"]
        note_id = int(re.fullmatch(r"/notes/(\d+)/", note_path).group(1))
        detail = s.get(f"{django_url}{note_path}", timeout=10)
        assert detail.status_code == 200 and digest in detail.text
        meta = s.get(f"{django_url}/notes/{note_id}.json", timeout=10).json()
        assert meta["attachment_size"] == UPLOAD_SIZE and meta["attachment_sha256"] == digest
        # FileResponse: Django hands the open file to wsgi.file_wrapper.
        back = s.get(f"{django_url}/notes/{note_id}/attachment", timeout=30)
        assert back.status_code == 200
        assert back.headers["Content-Length"] == str(UPLOAD_SIZE)
        assert back.headers["Content-Disposition"].startswith("attachment; filename=")
        assert hashlib.sha256(back.content).hexdigest() == digest


def test_static_files_are_not_the_app_servers_job(django_url):
    # DEBUG is off: Django serves no /static/; the proxy does (tests/test_deploy_nginx.py).
    assert requests.get(f"{django_url}/static/notes/site.css", timeout=10).status_code == 404
    assert requests.get(f"{django_url}/healthz", timeout=10).json()["status"] == "ok"


@pytest.mark.parametrize(
    "allow, trusted",
    [
        ("127.0.0.1", True),
        ("10.1.2.3", False),
        ("*", True),
        # gunicorn 27 accepts networks in forwarded_allow_ips (ipaddress.ip_network); Kubernetes
        # deployments trust their ingress controllers' pod network this way.
        ("127.0.0.0/8", True),
    ],
)
def test_forwarded_proto_is_trusted_only_from_allowed_ips(site, tmp_path, allow, trusted):
    srv = start_app(site.config, ("-w", "1", "--forwarded-allow-ips", allow), env=site.env(), workdir=tmp_path)
    with running(srv):
        base = f"http://127.0.0.1:{srv.address[1]}"
        plain = requests.get(f"{base}/whoami", timeout=10).json()
        assert plain["is_secure"] is False and plain["scheme"] == "http"
        proxied = requests.get(f"{base}/whoami", headers={"X-Forwarded-Proto": "https"}, timeout=10).json()
        assert proxied["is_secure"] is trusted, proxied
        assert proxied["absolute_uri"] == (f"https://127.0.0.1:{srv.address[1]}/" if trusted else f"{base}/")


def test_secure_scheme_headers_from_the_config_file_replace_the_defaults(site, tmp_path):
    # A proxy that says https with its own header (here X-Scheme): the deployment's config file
    # extends the example's and names it. As in gunicorn, the setting replaces the default headers.
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(
        "import runpy\n"
        f"globals().update((k, v) for k, v in runpy.run_path({str(site.config)!r}).items() if not k.startswith('__'))\n"
        "secure_scheme_headers = {'X-SCHEME': 'https'}\n"
    )
    srv = start_app(conf, ("-w", "1"), env=site.env(), workdir=tmp_path)
    with running(srv):
        base = f"http://127.0.0.1:{srv.address[1]}"
        custom = requests.get(f"{base}/whoami", headers={"X-Scheme": "https"}, timeout=10).json()
        assert custom["is_secure"] is True, custom
        default = requests.get(f"{base}/whoami", headers={"X-Forwarded-Proto": "https"}, timeout=10).json()
        assert default["is_secure"] is False, default


@pytest.mark.skipif(UNDER_GUNICORN, reason="checks rgunicorn's bytes against gunicorn's, known")
def test_set_cookie_header_is_written_as_gunicorn_writes_it(site, tmp_path):
    # Django's WSGI handler passes cookies as ("Set-Cookie", " csrftoken=..."): Morsel.output(header="")
    # keeps a leading space. gunicorn 27 strips " \t" around every header value (RFC 9110 5.5).
    srv = start_app(site.config, ("-w", "1"), env=site.env(), workdir=tmp_path)
    with running(srv):
        raw = rawhttp.exchange(srv.address, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    head = raw.split(b"\r\n\r\n", 1)[0]
    cookie_lines = [line for line in head.split(b"\r\n") if line.lower().startswith(b"set-cookie:")]
    assert cookie_lines and all(line.startswith(b"Set-Cookie: csrftoken=") for line in cookie_lines), cookie_lines
