"""Config files that import the project: gunicorn puts the working directory on sys.path before it
runs the config file; rgunicorn does the same, and also puts a command-line --chdir there first,
where gunicorn fails with ModuleNotFoundError. Measured with the console scripts, which (unlike
`python -m`) do not put the working directory on sys.path by themselves."""

import os
import subprocess
import textwrap

import pytest

from config_parity import aligned, base_env, console_script, settings_lines
from server import UNDER_GUNICORN

pytestmark = pytest.mark.skipif(UNDER_GUNICORN, reason="runs rgunicorn and gunicorn side by side itself")


@pytest.fixture
def layout(tmp_path):
    """/project/mysite/{settings,wsgi}.py, and a config file elsewhere that imports mysite."""
    project = tmp_path / "project"
    (project / "mysite").mkdir(parents=True)
    (project / "mysite" / "__init__.py").write_text("")
    (project / "mysite" / "settings.py").write_text("WORKERS = 3\nTIMEOUT = 17\n")
    (project / "mysite" / "wsgi.py").write_text(textwrap.dedent("""\
        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"mysite"]
    """))
    etc = tmp_path / "etc"
    etc.mkdir()
    conf = etc / "gunicorn.conf.py"
    conf.write_text("from mysite.settings import WORKERS, TIMEOUT\nworkers = WORKERS\ntimeout = TIMEOUT\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return project, conf, elsewhere


def run(script, args, cwd):
    proc = subprocess.run(
        [console_script(script), "--no-control-socket", *args],
        capture_output=True, text=True, timeout=60, env=base_env(), cwd=str(cwd),
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_started_in_the_project_the_config_imports_it_as_in_gunicorn(layout):
    project, conf, _ = layout
    args = ["-c", str(conf), "--print-config", "mysite.wsgi:application"]
    ours, theirs = run("rgunicorn", args, project), run("gunicorn", args, project)
    assert theirs[0] == 0, theirs[2]
    assert ours[0] == 0, ours[2]
    assert settings_lines(ours[1])["workers"] == "3"
    assert aligned(ours[1]) == aligned(theirs[1])


def test_command_line_chdir_counts_before_the_config_file(layout):
    project, conf, elsewhere = layout
    args = ["--chdir", str(project), "-c", str(conf), "--print-config", "mysite.wsgi:application"]
    theirs = run("gunicorn", args, elsewhere)
    # gunicorn applies --chdir only after the config file ran: the import fails there.
    assert theirs[0] != 0 and "ModuleNotFoundError: No module named 'mysite'" in theirs[2], theirs[2]
    ours = run("rgunicorn", args, elsewhere)
    assert ours[0] == 0, ours[2]
    printed = settings_lines(ours[1])
    assert (printed["workers"], printed["timeout"], printed["chdir"]) == ("3", "17", str(project))


def test_relative_paths_in_the_config_stay_relative_to_where_it_was_started(layout):
    """Only sys.path gains the --chdir directory before the file runs: the file's own relative
    paths and os.getcwd() mean what they mean under gunicorn."""
    project, conf, elsewhere = layout
    conf.write_text(conf.read_text() + "import os\nproc_name = os.getcwd()\n")
    args = ["--chdir", str(project), "-c", str(conf), "--print-config", "mysite.wsgi:application"]
    ours = run("rgunicorn", args, elsewhere)
    assert ours[0] == 0, ours[2]
    assert settings_lines(ours[1])["proc_name"] == str(elsewhere)


def test_chdir_in_the_config_file_loads_the_app_from_there_as_in_gunicorn(layout):
    project, conf, elsewhere = layout
    conf.write_text(f"chdir = {str(project)!r}\nworkers = 2\n")
    args = ["-c", str(conf), "--check-config", "mysite.wsgi:application"]
    ours, theirs = run("rgunicorn", args, elsewhere), run("gunicorn", args, elsewhere)
    assert theirs[0] == 0, theirs[2]
    assert ours[0] == 0, ours[2]


def test_python_module_config_from_the_project(layout):
    project, _, _ = layout
    (project / "mysite" / "gunicorn_conf.py").write_text("from mysite.settings import WORKERS\nworkers = WORKERS\n")
    args = ["-c", "python:mysite.gunicorn_conf", "--print-config", "mysite.wsgi:application"]
    ours, theirs = run("rgunicorn", args, project), run("gunicorn", args, project)
    assert theirs[0] == 0, theirs[2]
    assert ours[0] == 0, ours[2]
    assert aligned(ours[1]) == aligned(theirs[1])


def test_chdir_in_gunicorn_cmd_args_counts_before_the_config_file_too(layout):
    project, conf, elsewhere = layout
    proc = subprocess.run(
        [console_script("rgunicorn"), "-c", str(conf), "--print-config", "mysite.wsgi:application"],
        capture_output=True, text=True, timeout=60, cwd=str(elsewhere),
        env=base_env({"GUNICORN_CMD_ARGS": f"--chdir {project}"}),
    )
    assert proc.returncode == 0, proc.stderr
    assert settings_lines(proc.stdout)["workers"] == "3"


def test_the_app_is_served_after_a_command_line_chdir(layout, tmp_path):
    """End to end: the config file imported the project through --chdir, and the app it names
    is served from there."""
    import signal
    import time

    import rawhttp
    from server import child_pids, listening_socket

    project, conf, elsewhere = layout
    sock = listening_socket()
    log = tmp_path / "stderr.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [console_script("rgunicorn"), "--chdir", str(project), "-c", str(conf), "-b", f"fd://{sock.fileno()}",
             "mysite.wsgi:application"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, pass_fds=(sock.fileno(),),
            start_new_session=True, env=base_env(), cwd=str(elsewhere),
        )
    address = sock.getsockname()
    sock.close()
    try:
        end = time.monotonic() + 15
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                raw = rawhttp.exchange(address, b"GET / HTTP/1.0\r\n\r\n", deadline=2)
                if rawhttp.status_of(raw):
                    break
            except OSError:
                pass
            assert time.monotonic() < end, "not ready"
            time.sleep(0.05)
        resp = rawhttp.parse_response(raw)
        assert (resp.status, resp.body) == (200, b"mysite")
        # The config file's workers = 3 (from mysite.settings) took effect.
        while len(child_pids(proc.pid)) != 3:
            assert time.monotonic() < end, (child_pids(proc.pid), log.read_text())
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
