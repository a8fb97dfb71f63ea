"""Settings values as gunicorn 27's validators take them: the same setting names, the same values
accepted or refused (with the same exit status), the same stored result, from the command line
and from a config file alike, and the default control socket path gunicorn prints."""

import subprocess
import sys
import textwrap

import pytest

import rawhttp
from config_parity import aligned, both, many, settings_lines
from server import APPS_DIR, UNDER_GUNICORN

APP = "loading_app:app"
BASE = ["--chdir", str(APPS_DIR)]

side_by_side = pytest.mark.skipif(UNDER_GUNICORN, reason="runs rgunicorn and gunicorn side by side itself")

# Command lines: (arguments, why the case matters). The exit status and the printed settings
# must be gunicorn's.
CLI_CASES = [
    (["--umask", "0022"], "auto_int: a leading 0 is octal"),
    (["-m", "022"], "short flag, octal"),
    (["--umask", "0o27"], "0o prefix"),
    (["--umask", "0x12"], "hex"),
    (["--umask", "18"], "decimal"),
    (["--umask", "09"], "not octal: usage error"),
    (["--proxy-protocol"], "nargs='?', const 'auto'"),
    (["--proxy-protocol", "v2"], "explicit mode"),
    (["--proxy-protocol", "TRUE"], "true means auto"),
    (["--proxy-protocol", "bogus"], "refused by the validator"),
    (["--limit-request-field_size", "0"], "0 is printed as given"),
    (["-w", "010"], "type=int: leading zeros are decimal"),
    (["-w", "0x10"], "type=int refuses hex: usage error"),
    (["-w", "-1"], "validate_pos_int refuses negatives: exit 1"),
    (["-w", " 3 "], "int() strips spaces"),
    (["-w", "0"], "0 workers is valid"),
    (["--threads", "0", "--worker-connections", "0"], "0 is valid for validate_pos_int"),
    (["--keep-alive", "1_0"], "int() takes underscores"),
    (["--cert-reqs", "0x2"], "no type: validate_pos_int reads int(text, 0)"),
    (["--cert-reqs", "02"], "int('02', 0) is an error"),
    (["--forwarded-allow-ips", "10.0.0.0/8, 192.168.0.1"], "networks and addresses, stripped"),
    (["--forwarded-allow-ips", "10.0.0.1/8"], "strict: host bits set"),
    (["--forwarded-allow-ips", "localhost"], "names are not addresses"),
    (["--forwarded-allow-ips", "*"], "wildcard"),
    (["--proxy-allow-from", "*"], "wildcard"),
    (["--uwsgi-allow-from", "::1,fd00::/8"], "IPv6 networks"),
    (["--forwarder-headers", "SCRIPT_NAME, ,PATH_INFO"], "an empty middle entry is kept"),
    (["--header-map", "REFUSE"], "lower-cased"),
    (["--header-map", "keep"], "refused"),
    (["--reload-engine", "POLL"], "exact match only"),
    (["--reload-engine", "inotify"], "known engine"),
    (["--http-protocols", "H1"], "a list, lower-cased"),
    (["--http-protocols", "h1,h3"], "unknown protocol"),
    (["--http-protocols", "h1,h1"], "duplicate protocol"),
    (["--http2-max-frame-size", "100"], "below 16384"),
    (["--http2-max-frame-size", "16777215"], "the maximum"),
    (["--http2-initial-window-size", "2147483648"], "above 2^31-1"),
    (["--http2-max-concurrent-streams", "0"], "at least 1"),
    (["--http2-max-header-list-size", "1024"], "plain positive int"),
    (["--http2-cleartext", "Upgrade"], "lower-cased"),
    (["--http2-cleartext", "x"], "refused"),
    (["--asgi-loop", "UVLOOP"], "lower-cased"),
    (["--asgi-lifespan", "maybe"], "refused"),
    (["--http-parser", "python"], "accepted"),
    (["--asgi-disconnect-grace-period", "5", "--websocket-max-message-size", "1024"], "ints"),
    (["--dirty-app", "a.b:C", "--dirty-app", "d:E:2", "--dirty-workers", "2", "--dirty-timeout", "10",
      "--dirty-threads", "2", "--dirty-graceful-timeout", "3"], "dirty arbiter settings"),
    (["--protocol", "uwsgi", "--root-path", "/api", "--enable-backlog-metric"], "ASGI/uwsgi odds and ends"),
    (["--ssl-version", "TLSv1_2"], "kept as given"),
    (["--statsd-host", "localhost:9125"], "a (host, port) tuple"),
    (["--statsd-host", "Stats.Example"], "host lower-cased, port 8125"),
    (["--statsd-host", "unix:/tmp/statsd.sock"], "a unix path"),
    (["--statsd-host", "[::1]:9125"], "IPv6"),
    (["--statsd-host", "host:x"], "port not a number"),
    (["--log-level", "loud"], "validate_string: any level is accepted"),
    (["--control-socket", "/tmp/rg.ctl", "--control-socket-mode", "0660"], "control socket"),
    (["-n", "  spaced  "], "validate_string strips"),
    (["--access-logformat", " %(h)s %(r)s "], "stripped too"),
    (["--reload-extra-file", "/nonexistent/file.py"], "a literal path must exist"),
    (["--reload-extra-file", "/nonexistent/*.py"], "a pattern may match nothing"),
    (["--grace", "5"], "argparse takes an unambiguous prefix"),
    (["--work", "3"], "an ambiguous prefix is a usage error"),
    (["--user", "0", "--group", "0"], "ids"),
    (["--user", "no-such-user-rg"], "unknown user"),
    (["--user", "root", "--group", "root"], "names looked up"),
    (["--chdir", "."], "relative to the working directory"),
    (["--chdir", "/nonexistent/dir"], "must exist"),
    (["-b", "localhost", "-b", "0.0.0.0", "-b", "[::1]:8001"], "bind forms without and with ports"),
    (["-b", "tcp://127.0.0.1:1", "-b", "unix:/tmp/rg.sock", "-b", "unix:///tmp/rg2.sock"], "schemes"),
    (["-e", "A=1", "-e", " B=2 "], "raw_env items stripped"),
    (["--pythonpath", "/a, /b"], "a string, as given"),
    (["--no-sendfile", "--reuse-port", "--preload"], "store_true/store_const flags"),
]

# Config-file lines: (source, why). Values arrive as Python objects, not text.
FILE_CASES = [
    ("workers = '4'", "a string is int(text, 0)"),
    ("workers = '0x4'", "hex in a string"),
    ("workers = True", "True is 1"),
    ("workers = 4.5", "floats are refused"),
    ("preload_app = 'TRUE'", "the strings true/false in any case"),
    ("preload_app = 'yes'", "but not yes"),
    ("preload_app = 1", "nor 1"),
    ("daemon = None", "None is kept"),
    ("bind = '127.0.0.1:9000'", "a string is a one-item list"),
    ("bind = ('127.0.0.1:1', '[::1]:2')", "a tuple is a list"),
    ("raw_env = 'A=1'", "one string"),
    ("forwarded_allow_ips = ['10.0.0.1']", "a list is refused: validate_string"),
    ("forwarded_allow_ips = '10.0.0.1, 10.0.0.2'", "a comma-separated string"),
    ("umask = 0o027", "an int"),
    ("umask = '0o27'", "a string with a prefix"),
    ("umask = '027'", "int('027', 0) is an error"),
    ("proxy_protocol = True", "True means auto"),
    ("http2_cleartext = True", "True means prior-knowledge"),
    ("header_map = None", "None is kept"),
    ("asgi_loop = None", "None means auto"),
    ("loglevel = 'DEBUG'", "kept as given"),
    ("secure_scheme_headers = {'X-PROTO': 'https'}", "a dict"),
    ("secure_scheme_headers = 'X-PROTO'", "not a dict"),
    ("logconfig_dict = {'version': 1, 'root': {'level': 'INFO'}}", "a nested dict"),
    ("accesslog = ' - '", "stripped"),
    ("statsd_host = 'localhost'", "default port"),
    ("errorlog = None", "None"),
    ("ssl_version = 5", "kept"),
    ("pythonpath = '/a,/b'", "kept"),
    ("limit_request_field_size = 0", "printed as 0"),
    ("reload_extra_files = ['/nonexistent/x.py']", "must exist"),
    ("cert_reqs = '2'", "a string"),
    ("user = 0\ngroup = '0'", "ids"),
    ("worker_connections = -5", "negative"),
    ("dirty_apps = 'x:Y'", "one string"),
    ("control_socket_mode = '0o660'", "a string"),
    ("http_protocols = 'h1'", "a string"),
    ("http_protocols = ['h1']", "a list is refused"),
    ("def post_fork(server):\n    pass", "wrong arity"),
    ("def post_fork(server, worker, *rest):\n    pass", "*args do not count"),
    ("def post_request(worker, req):\n    pass", "2 arguments: wrapped, printed as gunicorn's wrapper"),
    ("def post_request(worker, req, environ):\n    pass", "3 arguments: wrapped"),
    ("def post_request(worker):\n    pass", "1 argument: refused"),
    ("when_ready = 'json.dumps'", "a dotted path is imported"),
    ("on_exit = 'os.getcwd'", "a dotted path with the wrong arity"),
    ("on_exit = 'no_such_module_rg.f'", "a dotted path that does not import"),
    ("on_exit = 'nodots'", "not a dotted path"),
    ("on_exit = 42", "not callable"),
    ("unknown_name = 1\nWORKERS = 3", "names that are not settings are ignored"),
    ("default_proc_name = 'web'", "the file wins over APP_MODULE for default_proc_name"),
]


def _id(case):
    return " ".join(case[0]) if isinstance(case[0], list) else case[0].split("\n")[0]


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory):
    cases = [BASE + ["--print-config"] + args + [APP] for args, _ in CLI_CASES]
    return many(cases, cwd=tmp_path_factory.mktemp("cli-values"))


@pytest.fixture(scope="module")
def file_results(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("file-values")
    cases = []
    for i, (source, _) in enumerate(FILE_CASES):
        conf = workdir / f"case{i}.py"
        conf.write_text(source + "\n")
        cases.append(BASE + ["--print-config", "-c", str(conf), APP])
    return many(cases, cwd=workdir)


def assert_same(result, label):
    ours, theirs = result["rgunicorn"], result["gunicorn"]
    assert ours[0] == theirs[0], (
        f"{label}: exit {ours[0]} (gunicorn {theirs[0]})\nrgunicorn: {ours[2][-1500:]}\ngunicorn: {theirs[2][-1500:]}"
    )
    if theirs[0] == 0:
        assert aligned(ours[1]) == aligned(theirs[1]), label
    else:
        # Refused: one line naming the problem, never a traceback of ours or a Rust panic.
        assert "panicked" not in ours[2] and "RUST_BACKTRACE" not in ours[2], ours[2]
        assert ours[2].strip(), f"{label}: refused without a word"


@side_by_side
@pytest.mark.parametrize("index", range(len(CLI_CASES)), ids=[_id(c) for c in CLI_CASES])
def test_command_line_values_as_gunicorn(cli_results, index):
    assert_same(cli_results[index], CLI_CASES[index][1])


@side_by_side
@pytest.mark.parametrize("index", range(len(FILE_CASES)), ids=[_id(c) for c in FILE_CASES])
def test_config_file_values_as_gunicorn(file_results, index):
    assert_same(file_results[index], FILE_CASES[index][1])


@side_by_side
def test_print_config_lists_exactly_gunicorns_settings(tmp_path):
    result = both(BASE + ["--print-config", APP], cwd=tmp_path)
    ours, theirs = (set(settings_lines(result[k][1])) for k in ("rgunicorn", "gunicorn"))
    assert len(theirs) == 120
    assert ours == theirs, (sorted(ours - theirs), sorted(theirs - ours))


@side_by_side
@pytest.mark.parametrize("xdg", ["set", "missing-dir", "unset", "empty"])
def test_default_control_socket_as_gunicorn(tmp_path, xdg):
    home = tmp_path / "home"
    runtime = tmp_path / "run-user"
    home.mkdir()
    runtime.mkdir()
    env = {"HOME": str(home)}
    if xdg == "set":
        env["XDG_RUNTIME_DIR"] = str(runtime)
    elif xdg == "missing-dir":
        env["XDG_RUNTIME_DIR"] = str(tmp_path / "nowhere")
    elif xdg == "empty":
        env["XDG_RUNTIME_DIR"] = ""
    else:
        env["XDG_RUNTIME_DIR"] = None
    result = both(BASE + ["--print-config", APP], cwd=tmp_path, env=env)
    ours, theirs = result["rgunicorn"], result["gunicorn"]
    assert ours[0] == theirs[0] == 0, ours[2] + theirs[2]
    want = str(runtime / "gunicorn.ctl") if xdg == "set" else str(home / ".gunicorn" / "gunicorn.ctl")
    assert settings_lines(theirs[1])["control_socket"] == want
    assert settings_lines(ours[1])["control_socket"] == want
    # The whole output, control socket included, is gunicorn's.
    assert aligned(ours[1]) == aligned(theirs[1])


def test_zero_field_size_means_gunicorns_maximum(start_server):
    """limit_request_field_size = 0 is 8190 bytes, not unlimited: a 12,000-byte header gets 431
    (under RGUNICORN_TEST_SERVER=gunicorn the same test passes against gunicorn)."""
    srv = start_server(APP, "--limit-request-field_size", "0")
    big = "x" * 12000
    raw = srv.raw(f"GET / HTTP/1.1\r\nHost: t\r\nX-Big: {big}\r\nConnection: close\r\n\r\n".encode())
    assert rawhttp.status_of(raw) == 431, raw[:200]
    small = "x" * 8000
    raw = srv.raw(f"GET / HTTP/1.1\r\nHost: t\r\nX-Big: {small}\r\nConnection: close\r\n\r\n".encode())
    assert rawhttp.status_of(raw) == 200, raw[:200]


@side_by_side
def test_no_effect_settings_warn_only_when_changed(tmp_path, start_server):
    conf = tmp_path / "conf.py"
    conf.write_text(textwrap.dedent("""\
        spew = False
        http_protocols = "h1"
        dirty_workers = 2
        protocol = "uwsgi"
    """))
    srv = start_server(APP, "-c", str(conf), "--proxy-protocol=v1")
    log = srv.log()
    warned = {line.split("'")[1] for line in log.splitlines() if "has no effect" in line}
    assert warned == {"dirty_workers", "protocol", "proxy_protocol"}, log


@side_by_side
def test_unknown_log_level_runs_at_info_with_a_warning(start_server):
    srv = start_server(APP, "--log-level", "loud")
    srv.wait_for_log(r"\[WARNING\] Unknown log level 'loud': logging at info")
    assert "Booting worker" in srv.log(), "info lines are logged"


def _gunicorn_settings():
    """gunicorn 27's own table, read from the installed gunicorn (the reference)."""
    import gunicorn.config

    return list(gunicorn.config.KNOWN_SETTINGS)


def _our_flags():
    """{setting: flags} from rgunicorn's settings reference (generated from its table)."""
    proc = subprocess.run(
        [sys.executable, "-m", "rgunicorn", "--settings-reference"], capture_output=True, text=True, timeout=30
    )
    flags = {}
    for line in proc.stdout.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            name = cells[0].strip("`")
            flags[name] = set() if cells[1] == "config file only" else {
                f.strip("`").split(" ")[0] for f in cells[1].split(", ")
            }
    return flags


@side_by_side
def test_every_gunicorn_flag_is_accepted():
    ours = _our_flags()
    for setting in _gunicorn_settings():
        assert setting.name in ours, setting.name
        assert set(setting.cli or ()) <= ours[setting.name], (setting.name, setting.cli, ours[setting.name])


def _literal(setting):
    """Python source for gunicorn's default of `setting`, as a config file would write it."""
    value = setting.default
    if callable(value):
        owner = setting.__name__
        return f"__import__('gunicorn.config', fromlist=['x']).{owner}.{value.__name__}"
    if setting.name == "ssl_version":
        return "2"
    if setting.name == "cert_reqs":
        return "0"
    return repr(value)


@side_by_side
def test_every_setting_is_a_config_file_key(tmp_path):
    """A config file that sets every gunicorn setting to gunicorn's default (hooks to gunicorn's
    own default functions) is accepted and printed the same by both."""
    conf = tmp_path / "all_settings.py"
    lines = [f"{s.name} = {_literal(s)}" for s in _gunicorn_settings() if s.name not in ("print_config", "chdir")]
    conf.write_text("\n".join(lines) + "\n")
    result = both(BASE + ["--print-config", "-c", str(conf), APP], cwd=tmp_path)
    ours, theirs = result["rgunicorn"], result["gunicorn"]
    assert theirs[0] == 0, theirs[2][-2000:]
    assert ours[0] == 0, ours[2][-2000:]
    assert aligned(ours[1]) == aligned(theirs[1])
    assert len(settings_lines(ours[1])) == 120


def test_zero_workers_is_a_master_waiting_for_ttin(start_server):
    """validate_pos_int accepts 0: the master runs with no worker until TTIN asks for one
    (the same test passes under RGUNICORN_TEST_SERVER=gunicorn)."""
    import signal

    srv = start_server(APP, "-w", "0", ready=False)
    srv.wait_for_log(r"Listening at")
    assert srv.workers() == [] and srv.proc.poll() is None
    srv.signal(signal.SIGTTIN)
    srv.wait_workers(1)
    srv.wait_ready()
