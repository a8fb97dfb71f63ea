"""APP_MODULE forms, app loading failures (exit code 4, no respawn loop), flags, PORT and
WEB_CONCURRENCY."""

import socket

import pytest

from server import APPS_DIR, UNDER_GUNICORN, run_to_exit, server_version

EXIT_DEADLINE = 20.0
APP_LOAD_ERROR = 4


def _differs(reason):
    return pytest.mark.skipif(UNDER_GUNICORN, reason=f"deliberate difference from gunicorn: {reason}")


@pytest.mark.parametrize(
    "target, body",
    [
        ("loading_app", b"application"),
        ("loading_app:app", b"app"),
        ("loading_app:create_app()", b"factory"),
        ('loading_app:create_app_with("arg", 3)', b"factory-arg-3"),
        pytest.param("loading_app:holder.wsgi", b"dotted", marks=_differs("gunicorn has no dotted attributes")),
    ],
)
def test_app_module_forms(start_server, target, body):
    srv = start_server(target)
    resp = srv.get("/")
    assert resp.status == 200 and resp.body == body


def test_pythonpath_instead_of_chdir(start_server):
    srv = start_server("loading_app:app", "--pythonpath", str(APPS_DIR), chdir=None)
    assert srv.get("/").body == b"app"


MISSING_MODULE = _differs("gunicorn exits 3 (worker boot error) for a missing module; the contract says 4")
# gunicorn 27 bug: when a second worker exits 4 while the master halts, HaltServer is raised again
# from halt() and the master dies with a traceback and status 1.
GUNICORN_HALT_BUG = _differs("gunicorn 27 exits 1 when several workers fail to load")


@pytest.mark.parametrize("workers", [pytest.param("1"), pytest.param("2", marks=GUNICORN_HALT_BUG)])
@pytest.mark.parametrize(
    "target, named",
    [
        pytest.param(
            "no_such_module_for_rgunicorn_tests:app", "no_such_module_for_rgunicorn_tests", marks=MISSING_MODULE
        ),
        pytest.param("no_such_module_for_rgunicorn_tests", "no_such_module_for_rgunicorn_tests", marks=MISSING_MODULE),
        ("loading_app:missing_attribute", "missing_attribute"),
        pytest.param(
            "loading_app:not_callable",
            "not_callable",
            marks=_differs("gunicorn's message 'Application object must be callable.' does not name the object"),
        ),
    ],
)
def test_app_that_cannot_load_exits_4(start_server, target, named, workers):
    srv = start_server(target, "-w", workers, ready=False)

    code = srv.wait_exit(EXIT_DEADLINE)

    log = srv.log()
    assert code == APP_LOAD_ERROR, log[-3000:]
    assert any(named in line for line in log.splitlines()), log[-3000:]
    if named.startswith("no_such_module"):
        assert "Traceback" in log, "the import traceback is in the error log"
    boots = log.count("Booting worker")
    assert boots <= int(workers), f"the master respawned workers that cannot load ({boots} boots)"


@pytest.mark.parametrize(
    "args, named",
    [(["--no-such-flag"], "--no-such-flag"), (["--workers", "many"], "many")],
)
def test_bad_flag_exits_2(tmp_path, args, named):
    code, _, err = run_to_exit(args + ["loading_app:app"], cwd=tmp_path, deadline=EXIT_DEADLINE)
    assert code == 2, err
    assert any(named in line for line in err.splitlines()), err
    assert "Traceback" not in err


@pytest.mark.parametrize("flag", ["--version", "-v"])
def test_version(tmp_path, flag):
    code, out, err = run_to_exit([flag], cwd=tmp_path, deadline=EXIT_DEADLINE)
    assert code == 0, err
    assert server_version() in out + err


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_default_bind_is_localhost_8000(start_server):
    try:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is not "taken"
            s.bind(("127.0.0.1", 8000))
    except OSError:
        pytest.skip("127.0.0.1:8000 is taken on this machine")
    srv = start_server("loading_app:app", bind=False, ready=False)
    srv.wait_ready(probe=("127.0.0.1", 8000))
    srv.wait_for_log(r"Listening at: http://127\.0\.0\.1:8000 ")


def test_port_environment_variable(start_server):
    port = _free_port()  # released just before the server binds it: a small, accepted race
    srv = start_server("loading_app:app", bind=False, ready=False, env={"PORT": str(port)})
    srv.wait_ready(probe=("127.0.0.1", port))
    srv.wait_for_log(rf"Listening at: http://0\.0\.0\.0:{port} ")


def test_web_concurrency_sets_default_workers(start_server):
    srv = start_server("environ_app:app", env={"WEB_CONCURRENCY": "3"})
    srv.wait_workers(3)
    srv.wait_for_log(r"Booting worker with pid: \d+", count=3)


def test_workers_flag_beats_web_concurrency(start_server):
    srv = start_server("environ_app:app", "-w", "1", env={"WEB_CONCURRENCY": "3"})
    srv.wait_workers(1)
    assert len(srv.wait_for_log(r"Booting worker with pid: \d+")) == 1
