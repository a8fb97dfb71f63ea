"""PasteDeploy apps (`--paste`, `--paste-global`, `[server:main]`), end to end, as gunicorn 27.

Each test writes an ini into tmp and runs the real server on it; the factories are in
`apps/paste_app.py`. The same tests pass against gunicorn (RGUNICORN_TEST_SERVER=gunicorn):
- `--paste FILE[#section]` loads `[app:...]` (with its filter) through `paste.deploy.loadapp`,
  with `--paste-global KEY=VALUE` as `global_conf`; `[server:main]` is ignored by `--paste`;
  the ini's `[loggers]` becomes the logging configuration; the ini is the process name;
- `use = egg:<server>#main` in `[server:main]` (what `pserve` runs) takes host, port, workers,
  `config` and any setting from the section.
"""

import json
import signal
import sys
import textwrap
import time

import pytest

from server import APPS_DIR, SERVER_HEADER, SERVER_KIND, UNDER_GUNICORN, ServerProcess, run_to_exit
from test_reload import SETTLE_BEFORE_EDIT, wait_for_body

INI = """\
[app:main]
use = call:paste_app:make_app
greeting = hello %(NAME)s
filter-with = tag

[filter:tag]
use = call:paste_app:make_filter
tag = tagged

[app:admin]
use = call:paste_app:make_app
role = admin

[server:main]
use = egg:{server}#main
host = 127.0.0.1
port = 1
workers = 3
"""

LOGGING = """
[loggers]
keys = root

[handlers]
keys = file

[formatters]
keys = generic

[logger_root]
level = INFO
handlers = file

[handler_file]
class = FileHandler
args = ('%(here)s/paste-app.log', 'a')
level = NOTSET
formatter = generic

[formatter_generic]
format = PASTELOG %(levelname)s %(name)s %(message)s
"""


@pytest.fixture
def ini(tmp_path):
    path = tmp_path / "development.ini"
    path.write_text(INI.format(server=SERVER_KIND))
    return path


def json_body(resp):
    assert resp.status == 200, resp
    return json.loads(resp.body)


def test_paste_loads_the_app_its_filter_and_global_conf(start_server, ini):
    srv = start_server(None, "--paste", str(ini), "--paste-global", "NAME=world", "--paste-global", "a\\=b=c=d")
    resp = srv.get("/hello")
    seen = json_body(resp)
    assert seen["settings"] == {"greeting": "hello world"}
    assert seen["global_conf"] == {"NAME": "world", "a=b": "c=d"}
    assert seen["here"] == str(ini.parent)
    assert seen["path"] == "/hello"
    assert resp.header("X-Paste-Filter") == "tagged"


def test_paste_names_another_app_section(start_server, ini):
    srv = start_server(None, "--paster", f"{ini}#admin")
    resp = srv.get("/")
    assert json_body(resp)["settings"] == {"role": "admin"}
    assert resp.header("X-Paste-Filter") is None


def test_paste_ignores_server_main(start_server, ini):
    srv = start_server(None, "--paste", str(ini), "--paste-global", "NAME=x")
    json_body(srv.get("/"))
    # [server:main] asks for 3 workers on port 1: --paste takes neither (as gunicorn).
    assert len(srv.workers()) == 1


def test_a_relative_paste_is_taken_from_the_start_directory_not_chdir(ini):
    args = ["--chdir", str(APPS_DIR), "--paste", ini.name, "--paste-global", "NAME=x", "--print-config"]
    code, out, err = run_to_exit(args, cwd=ini.parent)
    assert code == 0, err
    assert f"default_proc_name                  = {ini}" in out.splitlines()


def test_paste_print_config(ini):
    code, out, err = run_to_exit(["--paste", str(ini), "--paste-global", "NAME=x", "--print-config"], cwd=APPS_DIR)
    assert code == 0, err
    lines = dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)
    lines = {k.strip(): v for k, v in lines.items()}
    assert lines["paste"] == str(ini)
    assert lines["raw_paste_global_conf"] == "['NAME=x']"
    assert lines["default_proc_name"] == str(ini)
    # No [loggers] section: the ini is not a logging configuration.
    assert lines["logconfig"] == "None"
    assert lines["workers"] == "1"


def test_the_ini_logging_sections_configure_logging(start_server, ini):
    ini.write_text(ini.read_text() + LOGGING)
    code, out, _ = run_to_exit(["--paste", str(ini), "--paste-global", "NAME=x", "--print-config"], cwd=APPS_DIR)
    assert code == 0
    assert f"logconfig                          = {ini}" in out.splitlines()
    srv = start_server(None, "--paste", str(ini), "--paste-global", "NAME=x")
    json_body(srv.get("/logged"))
    log_file = ini.parent / "paste-app.log"
    assert "PASTELOG WARNING paste_app paste_app served /logged" in log_file.read_text()


def test_a_paste_uri_is_not_an_app_module(start_server, ini):
    # gunicorn 27 takes `config:FILE` as MODULE:NAME and fails to import a module named `config`.
    srv = start_server(f"config:{ini}", ready=False)
    # gunicorn: 3 (worker boot error) for a missing module; rgunicorn: 4 (see test_app_loading.py).
    assert srv.wait_exit(15) == (3 if UNDER_GUNICORN else 4)
    assert "No module named 'config'" in srv.log()


def test_a_missing_ini_is_one_line_and_exit_1(tmp_path):
    missing = tmp_path / "nope.ini"
    code, out, err = run_to_exit(["--paste", str(missing)], cwd=APPS_DIR)
    assert code == 1
    assert f"'{missing}' not found" in err
    assert "Traceback" not in err and "panicked" not in err


def test_a_broken_app_section_stops_the_server_with_the_reason(start_server, tmp_path):
    ini = tmp_path / "broken.ini"
    ini.write_text("[app:main]\nuse = call:paste_app:no_such_factory\n")
    srv = start_server(None, "--paste", str(ini), ready=False)
    assert srv.wait_exit(15) != 0
    assert "no_such_factory" in srv.log()


def test_server_main_runner_as_pserve_runs_it(tmp_path_factory, tmp_path):
    """`pserve development.ini bind=fd://N`: the app is loaded by PasteDeploy, then the runner."""
    marker = tmp_path / "when_ready.txt"
    conf = tmp_path / "server_conf.py"
    conf.write_text(textwrap.dedent(f"""\
        def when_ready(server):
            with open({str(marker)!r}, "w") as f:
                f.write("ready %d %d" % (server.num_workers, server.cfg.timeout))
        """))
    ini = tmp_path / "pserve.ini"
    ini.write_text(textwrap.dedent(f"""\
        [app:main]
        use = call:paste_app:make_app
        greeting = from pserve
        filter-with = tag

        [filter:tag]
        use = call:paste_app:make_filter

        [server:main]
        use = egg:{SERVER_KIND}#main
        host = %(bind)s
        workers = 2
        timeout = 17
        config = {conf}
        """))
    srv = ServerProcess(None, workdir=tmp_path_factory.mktemp("pserve"), chdir=None,
                        command=[sys.executable, str(APPS_DIR / "paste_serve.py"), str(ini)],
                        env={"PYTHONPATH": str(APPS_DIR)})
    try:
        srv.wait_ready()
        resp = srv.get("/")
        assert json_body(resp)["settings"] == {"greeting": "from pserve"}
        assert resp.header("X-Paste-Filter") == "filtered"
        assert resp.header("Server") == SERVER_HEADER
        srv.wait_workers(2)
        # workers and timeout from the section, when_ready from the config file it names.
        assert marker.read_text() == "ready 2 17"
        # The app was loaded before the server ran: every worker serves that same app, forked.
        pids = {json_body(srv.get("/"))["pid"] for _ in range(20)}
        assert pids <= set(srv.workers())
        # HUP re-reads the same section: two new workers, same listener, same app.
        old = srv.workers()
        srv.signal(signal.SIGHUP)
        srv.wait_workers(2, exclude=old)
        assert json_body(srv.get("/"))["settings"] == {"greeting": "from pserve"}
    finally:
        srv.stop()


def test_reload_with_paste_serves_an_edited_factory(start_server, tmp_path):
    (tmp_path / "paste_edit_app.py").write_text(textwrap.dedent("""\
        VALUE = b"one"

        def make_app(global_conf, **settings):
            def app(environ, start_response):
                start_response("200 OK", [("Content-Length", str(len(VALUE)))])
                return [VALUE]
            return app
        """))
    ini = tmp_path / "edit.ini"
    ini.write_text("[app:main]\nuse = call:paste_edit_app:make_app\n")
    srv = start_server(None, "--reload", "--paste", str(ini), chdir=tmp_path)
    assert srv.get("/").body == b"one"
    time.sleep(SETTLE_BEFORE_EDIT)
    source = tmp_path / "paste_edit_app.py"
    source.write_text(source.read_text().replace('b"one"', 'b"two"'))
    wait_for_body(srv, "two")


@pytest.mark.skipif(UNDER_GUNICORN, reason="deliberate difference: gunicorn's reloader does not watch the --paste "
                    "ini (its inotify engine sees it only in the directory of an imported module)")
def test_reload_with_paste_watches_the_ini(start_server, tmp_path):
    ini = tmp_path / "edit.ini"
    ini.write_text("[app:main]\nuse = call:paste_app:make_app\ncolour = red\n")
    srv = start_server(None, "--reload", "--paste", str(ini))
    assert json_body(srv.get("/"))["settings"] == {"colour": "red"}
    time.sleep(SETTLE_BEFORE_EDIT)
    ini.write_text("[app:main]\nuse = call:paste_app:make_app\ncolour = blue\n")
    end = time.monotonic() + 2.0
    while json_body(srv.get("/"))["settings"] != {"colour": "blue"}:
        assert time.monotonic() < end, srv.log()[-2000:]
        time.sleep(0.05)


@pytest.mark.skipif(UNDER_GUNICORN, reason="deliberate difference: gunicorn reads --paste from its command line "
                    "only; 'paste' in a config file alone ends in 'No application module specified'")
def test_paste_in_the_config_file(start_server, ini, tmp_path):
    conf = tmp_path / "paste_conf.py"
    conf.write_text(f"paste = {str(ini)!r}\nraw_paste_global_conf = ['NAME=conf']\n")
    srv = start_server(None, "-c", str(conf))
    assert json_body(srv.get("/"))["settings"] == {"greeting": "hello conf"}
