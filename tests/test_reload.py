"""`--reload`, end to end: a real server runs an app from a project directory in tmp, the test
edits its files, and the new code must be served within 2 s (the promise of issue 12).

Covered: an imported module edited, under sync, gthread and gevent; the poll and inotify
engines; a module imported lazily (at the first request); an editor's save by rename;
`--reload-extra-file` with a glob, including a file created after start; a syntax error (the
master stays up, the traceback is logged and served as a 500, the next good save serves again).
The same tests run against gunicorn 27 with RGUNICORN_TEST_SERVER=gunicorn (its inotify engine
needs the `inotify` package, which tests/run.sh installs); the deliberate differences (an
exception other than SyntaxError at import, --reload with --preload) are skipped there, saying why.
"""

import os
import re
import signal
import textwrap
import time

import pytest

from server import UNDER_GUNICORN

RELOAD_WITHIN = 2.0

APP = """\
import helper


def application(environ, start_response):
    if environ["PATH_INFO"] == "/lazy":
        import lazy_helper
        body = lazy_helper.VALUE.encode()
    else:
        body = helper.VALUE.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""

TEMPLATES_APP = """\
import glob
import os

HERE = os.path.dirname(os.path.abspath(__file__))
# Read once, at import: only a new worker sees an edited template.
TEXT = "|".join(open(p).read().strip() for p in sorted(glob.glob(os.path.join(HERE, "templates", "*.txt"))))


def application(environ, start_response):
    body = TEXT.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


def write(path, text):
    """Write as an editor that overwrites in place does (truncate, write)."""
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))


def save_by_rename(path, text):
    """Write as editors that save atomically do: a new file renamed over the old one."""
    tmp = f"{path}.tmp~"
    write(tmp, text)
    os.replace(tmp, path)


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "reload_app.py", APP)
    write(tmp_path / "helper.py", 'VALUE = "one"\n')
    write(tmp_path / "lazy_helper.py", 'VALUE = "lazy-one"\n')
    return tmp_path


def body_of(srv, path="/"):
    resp = srv.get(path)
    return resp.status, resp.body.decode("utf-8", "replace")


def wait_for_body(srv, expected, path="/", deadline=RELOAD_WITHIN):
    """Seconds until `path` answers 200 `expected`; fails with the last answer after `deadline`."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < deadline:
        try:
            last = body_of(srv, path)
        except (OSError, TimeoutError) as exc:
            last = repr(exc)
        if last == (200, expected):
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"{path} still answers {last!r}, not {expected!r}, {deadline}s after the edit:\n{srv.log()[-3000:]}")


# gunicorn starts its reloader thread after the worker is ready, and that thread takes its first
# look (mtimes, inotify watches) a moment later: an edit made at once can be missed (measured:
# an inotify run that never reloaded). rgunicorn looks before the worker serves, so only the
# reference run waits.
SETTLE_BEFORE_EDIT = 0.5 if UNDER_GUNICORN else 0.0


def start_reloading(start_server, project, *args):
    srv = start_server("reload_app", "--reload", *args, chdir=project)
    assert body_of(srv) == (200, "one")
    time.sleep(SETTLE_BEFORE_EDIT)
    return srv


WORKERS = {
    "sync": [],
    "gthread": ["-k", "gthread", "--threads", "2"],
    # gunicorn's inotify engine cannot run under gevent (its `inotify` package needs select.epoll,
    # which gevent's patching removes: the worker fails to boot), so gunicorn polls there.
    "gevent": ["-k", "gevent"] + (["--reload-engine", "poll"] if UNDER_GUNICORN else []),
}


@pytest.mark.parametrize("worker", sorted(WORKERS))
def test_an_edited_module_is_served_within_2s(start_server, project, worker):
    srv = start_reloading(start_server, project, *WORKERS[worker])
    master = srv.pid
    old_workers = srv.workers()
    write(project / "helper.py", 'VALUE = "two"\n')
    elapsed = wait_for_body(srv, "two")
    print(f"{worker}: new code served {elapsed:.2f}s after the edit")
    srv.wait_for_log(r"Worker reloading: \S*helper\.py modified")
    assert srv.proc.poll() is None and srv.pid == master
    assert not set(srv.wait_workers(1, exclude=old_workers)) & set(old_workers)
    # And again: the new worker watches too.
    write(project / "helper.py", 'VALUE = "three"\n')
    wait_for_body(srv, "three")


@pytest.mark.parametrize("engine", ["poll", "inotify"])
def test_each_engine_reloads(start_server, project, engine):
    srv = start_reloading(start_server, project, "--reload-engine", engine)
    write(project / "helper.py", 'VALUE = "two"\n')
    elapsed = wait_for_body(srv, "two")
    print(f"{engine}: new code served {elapsed:.2f}s after the edit")


def test_a_module_imported_after_start_is_watched(start_server, project):
    srv = start_reloading(start_server, project)
    assert body_of(srv, "/lazy") == (200, "lazy-one")
    # The reloader re-reads sys.modules about once a second.
    time.sleep(1.5)
    write(project / "lazy_helper.py", 'VALUE = "lazy-two"\n')
    wait_for_body(srv, "lazy-two", path="/lazy")


def test_a_save_by_rename_is_seen(start_server, project):
    srv = start_reloading(start_server, project)
    save_by_rename(project / "helper.py", 'VALUE = "renamed"\n')
    wait_for_body(srv, "renamed")


@pytest.mark.skipif(UNDER_GUNICORN, reason="deliberate difference: gunicorn's inotify engine restarts the "
                    "workers on any event in a watched directory, an editor's swap file included")
def test_files_next_to_the_watched_ones_do_not_reload(start_server, project):
    srv = start_reloading(start_server, project)
    workers = srv.workers()
    write(project / "notes.txt", "scratch\n")
    write(project / ".helper.py.swp", "editor swap file\n")
    time.sleep(2.0)
    assert srv.workers() == workers
    assert "Worker reloading" not in srv.log()


def test_extra_files_by_glob_including_one_created_after_start(start_server, tmp_path):
    project = tmp_path
    write(project / "templates_app.py", TEMPLATES_APP)
    (project / "templates").mkdir()
    write(project / "templates" / "a.txt", "alpha\n")
    pattern = str(project / "templates" / "*.txt")
    nothing_yet = str(project / "later" / "*.cfg")
    srv = start_server("templates_app", "--reload", "--reload-extra-file", pattern,
                       "--reload-extra-file", nothing_yet, chdir=project)
    assert body_of(srv) == (200, "alpha")
    # As gunicorn: a pattern that matches nothing is legitimate (re-expanded later), but said.
    srv.wait_for_log(re.escape(f"Pattern {nothing_yet} currently matches no files."))
    time.sleep(SETTLE_BEFORE_EDIT)
    write(project / "templates" / "a.txt", "alpha2\n")
    wait_for_body(srv, "alpha2")
    # A file created later matches the pattern on the next check; its first edit reloads.
    write(project / "templates" / "b.txt", "beta\n")
    time.sleep(1.5)
    write(project / "templates" / "b.txt", "beta2\n")
    wait_for_body(srv, "alpha2|beta2")


def test_a_missing_literal_extra_file_is_refused_at_start(start_server, project):
    srv = start_server("reload_app", "--reload", "--reload-extra-file", str(project / "nope.cfg"),
                       chdir=project, ready=False)
    code = srv.wait_exit(10)
    assert code != 0
    assert "nope.cfg does not exists" in srv.log() + srv.stdout()


@pytest.mark.parametrize("worker", sorted(WORKERS))
def test_a_syntax_error_keeps_the_master_and_the_next_good_save_serves(start_server, project, worker):
    srv = start_reloading(start_server, project, *WORKERS[worker])
    master = srv.pid
    write(project / "helper.py", 'VALUE = (\n')
    # The worker restarts, cannot import the app, and serves the traceback meanwhile.
    deadline = time.monotonic() + RELOAD_WITHIN
    while True:
        status, body = body_of(srv)
        if status == 500 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == 500, (status, body)
    assert "SyntaxError" in body and "helper.py" in body
    srv.wait_for_log(r"SyntaxError")
    assert "Traceback (most recent call last)" in srv.log()
    assert srv.proc.poll() is None and srv.pid == master
    # Still up a moment later (no exit 4, no respawn loop), then the fix is served.
    time.sleep(1.0)
    assert srv.proc.poll() is None
    assert len(srv.workers()) == 1
    write(project / "helper.py", 'VALUE = "fixed"\n')
    elapsed = wait_for_body(srv, "fixed")
    print(f"fix served {elapsed:.2f}s after the save")


def test_a_syntax_error_at_first_start_is_served_then_fixed(start_server, project):
    write(project / "helper.py", 'VALUE = "one\n')
    srv = start_server("reload_app", "--reload", chdir=project)
    status, body = body_of(srv)
    assert status == 500 and "SyntaxError" in body
    time.sleep(SETTLE_BEFORE_EDIT)
    write(project / "helper.py", 'VALUE = "fixed"\n')
    wait_for_body(srv, "fixed")


@pytest.mark.skipif(UNDER_GUNICORN, reason="deliberate difference: under --reload gunicorn stops (worker "
                    "boot error, exit 3) on an import error other than SyntaxError")
def test_an_exception_at_import_is_served_and_watched_like_a_syntax_error(start_server, project):
    srv = start_reloading(start_server, project)
    write(project / "helper.py", 'VALUE = undefined_name\n')
    deadline = time.monotonic() + RELOAD_WITHIN
    while body_of(srv)[0] != 500 and time.monotonic() < deadline:
        time.sleep(0.05)
    status, body = body_of(srv)
    assert status == 500 and "NameError" in body
    write(project / "helper.py", 'VALUE = "fixed"\n')
    wait_for_body(srv, "fixed")


def test_a_missing_app_module_still_stops_the_server(start_server, project):
    srv = start_server("no_such_module", "--reload", chdir=project, ready=False)
    # gunicorn exits 3 (worker boot error) for a missing module, with or without --reload;
    # rgunicorn 4, the app-load code (see MISSING_MODULE in test_app_loading.py).
    assert srv.wait_exit(15) == (3 if UNDER_GUNICORN else 4)
    assert "no_such_module" in srv.log()


@pytest.mark.skipif(UNDER_GUNICORN, reason="deliberate difference: gunicorn's workers keep the app the master "
                    "preloaded, so an edit restarts them but the old code is served")
def test_reload_with_preload_serves_the_new_code(start_server, project):
    srv = start_reloading(start_server, project, "--preload")
    write(project / "helper.py", 'VALUE = "two"\n')
    wait_for_body(srv, "two")
    srv.wait_for_log(r"--reload and --preload")


@pytest.mark.skipif(UNDER_GUNICORN, reason="deliberate difference: gunicorn's reloader calls worker_int after "
                    "waking the worker's loop, which often exits first (measured: 2 runs of 3 without the hook)")
def test_worker_int_runs_before_a_reload(start_server, project):
    marker = project / "worker_int.log"
    write(project / "reload_conf.py", f"""\
        def worker_int(worker):
            with open({str(marker)!r}, "a") as f:
                f.write("worker_int %d\\n" % worker.pid)
        """)
    srv = start_reloading(start_server, project, "-c", str(project / "reload_conf.py"))
    (pid,) = srv.workers()
    write(project / "helper.py", 'VALUE = "two"\n')
    wait_for_body(srv, "two")
    assert marker.read_text() == f"worker_int {pid}\n"


def test_hup_still_works_with_reload(start_server, project):
    srv = start_reloading(start_server, project)
    old = srv.workers()
    srv.signal(signal.SIGHUP)
    srv.wait_workers(1, exclude=old)
    write(project / "helper.py", 'VALUE = "after-hup"\n')
    wait_for_body(srv, "after-hup")
