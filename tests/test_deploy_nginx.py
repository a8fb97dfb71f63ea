"""nginx (Debian's package, deploy/nginx/mysite.conf) as the buffering proxy in front of
examples/django_project on rgunicorn's unix socket: https seen by Django through
X-Forwarded-Proto from a trusted (unix-socket) peer, the admin over https, static files served by
nginx, a large upload buffered by nginx, 10 000 requests from wrk without an error, and a HUP
under load without a single 502."""

import hashlib
import os
import re
import signal
import time

import pytest
import requests

from deploy import django_site, wrk
from deploy.common import (  # noqa: F401
    LIVE,
    WORKER_CLASSES,
    csrf_token,
    dump_logs_on_failure,
    have,
    running,
    short_tempdir,
    start_app,
    wait_until,
)
from deploy.nginx import Nginx, available, error_lines

pytestmark = [
    pytest.mark.skipif(not available(), reason="nginx is not installed (tests/run.sh installs nginx-light)"),
    pytest.mark.skipif(not have("openssl"), reason="openssl is needed for the proxy's test certificate"),
]

UPLOAD_SIZE = 24 * 1024 * 1024
LOAD_REQUESTS = 10_000
# nginx's status for a request whose client went away first: wrk closes its connections, with
# requests in flight, when it stops. Not an error of the server.
CLIENT_CLOSED = "499"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return django_site.prepare(tmp_path_factory.mktemp("django-data"))


@pytest.fixture(scope="module", params=WORKER_CLASSES)
def stack(request, site, tmp_path_factory):
    """rgunicorn on a unix socket (workers: 2 sync, or 2 gthread x 4 threads) with nginx in front."""
    with short_tempdir() as sockdir:
        sock = str(sockdir / "rgunicorn.sock")
        srv = start_app(
            site.config,
            ("-b", f"unix:{sock}", "-w", "2", *request.param),
            env=site.env(),
            workdir=tmp_path_factory.mktemp("rg"),
            bind=False,
        )
        with running(srv, probe=sock):
            with Nginx(tmp_path_factory.mktemp("nginx"), sock, site.static_root) as proxy:
                proxy.start()
                LIVE.append(proxy)
                try:
                    yield srv, proxy
                finally:
                    LIVE.remove(proxy)
                    errors = error_lines(proxy.log())
                    assert not errors, "nginx logged errors:\n" + "\n".join(errors[-20:])


def test_https_at_the_proxy_is_https_in_django(stack):
    _, proxy = stack
    secure = requests.get(proxy.url("/whoami", https=True), verify=str(proxy.cert), timeout=10).json()
    assert secure["is_secure"] is True and secure["scheme"] == "https", secure
    assert secure["absolute_uri"] == f"https://127.0.0.1:{proxy.https_port}/"
    assert secure["x_forwarded_for"] == "127.0.0.1"
    plain = requests.get(proxy.url("/whoami"), timeout=10).json()
    assert plain["is_secure"] is False and plain["scheme"] == "http", plain
    # nginx overwrites a client's own X-Forwarded-Proto with the scheme it really received.
    spoofed = requests.get(proxy.url("/whoami"), headers={"X-Forwarded-Proto": "https"}, timeout=10).json()
    assert spoofed["is_secure"] is False, spoofed


def test_admin_login_over_https_through_the_proxy(stack):
    _, proxy = stack
    with requests.Session() as s:
        home = django_site.admin_login(s, f"https://127.0.0.1:{proxy.https_port}", verify=str(proxy.cert))
        assert home.status_code == 200 and "Site administration" in home.text
        # The CSRF check on https compared the Referer with https://<host>: it only passes
        # because Django knew the request was secure.
        assert home.url == proxy.url("/admin/", https=True)


def test_static_files_come_from_nginx(stack, site):
    srv, proxy = stack
    for path in ("/static/notes/site.css", "/static/admin/css/base.css"):
        resp = requests.get(proxy.url(path), timeout=10)
        assert resp.status_code == 200, path
        assert resp.headers["Content-Type"] == "text/css"
        assert resp.content == (site.static_root / path.removeprefix("/static/")).read_bytes()
        assert "max-age=604800" in resp.headers.get("Cache-Control", "")
    # ...and not from the app server (DEBUG is off: it would be a 404 there).
    assert "/static/" not in srv.stdout()


def test_large_upload_buffered_by_the_proxy(stack):
    _, proxy = stack
    base = f"https://127.0.0.1:{proxy.https_port}"
    verify = str(proxy.cert)
    data = os.urandom(UPLOAD_SIZE)
    digest = hashlib.sha256(data).hexdigest()
    with requests.Session() as s:
        page = s.get(f"{base}/", verify=verify, timeout=10)
        resp = s.post(
            f"{base}/",
            data={"csrfmiddlewaretoken": csrf_token(page.text), "title": "through nginx"},
            files={"attachment": ("big.bin", data, "application/octet-stream")},
            headers={"Referer": f"{base}/"},
            allow_redirects=False,
            verify=verify,
            timeout=60,
        )
        assert resp.status_code == 302, resp.text[:2000]
        note_id = int(re.fullmatch(r"/notes/(\d+)/", resp.headers["Location"]).group(1))
        meta = s.get(f"{base}/notes/{note_id}.json", verify=verify, timeout=10).json()
        assert meta["attachment_size"] == UPLOAD_SIZE and meta["attachment_sha256"] == digest
        back = s.get(f"{base}/notes/{note_id}/attachment", verify=verify, timeout=60)
        assert back.status_code == 200 and hashlib.sha256(back.content).hexdigest() == digest


needs_wrk = pytest.mark.skipif(not have("wrk"), reason="wrk is not installed (tests/run.sh installs it)")


@needs_wrk
def test_10000_requests_through_nginx_without_errors(stack, tmp_path):
    _, proxy = stack
    result = wrk.run(proxy.url("/healthz"), tmp_path, requests=LOAD_REQUESTS, threads=2, connections=32, duration=60)
    assert result.requests >= LOAD_REQUESTS, result.output
    assert result.errors == 0, result.output
    statuses = [s for s, _, uri in proxy.upstream_statuses() if uri == "/healthz"]
    assert statuses.count("200") >= LOAD_REQUESTS, len(statuses)
    assert set(statuses) <= {"200", CLIENT_CLOSED}, sorted(set(statuses))


@needs_wrk
def test_hup_under_load_through_nginx_has_no_502(stack, tmp_path):
    srv, proxy = stack
    old_workers = set(srv.workers())
    assert len(old_workers) == 2
    load = wrk.start(proxy.url("/healthz"), tmp_path, threads=2, connections=32, duration=6)
    try:
        time.sleep(1.5)
        srv.signal(signal.SIGHUP)
        # The new workers (fresh imports of Django) take over while the load goes on.
        wait_until(lambda: len(srv.workers()) == 2 and not set(srv.workers()) & old_workers, 15, "workers replaced")
    finally:
        result = wrk.finish(load)
    assert result.requests > 1000, result.output
    assert result.errors == 0, result.output
    healthz = [(s, up) for s, up, uri in proxy.upstream_statuses() if uri == "/healthz"]
    bad = [(s, up) for s, up in healthz if s not in ("200", CLIENT_CLOSED)]
    assert not bad, f"{len(bad)} requests failed through nginx, e.g. {bad[:5]}"
