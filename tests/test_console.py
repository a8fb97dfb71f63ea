"""What the program prints to a terminal or a pipe: a reader that closes early ends it quietly.

`rgunicorn --help | head -n 1` used to end in a Rust panic followed by a Python traceback. Each
case runs the real command in a real shell pipeline; the same cases pass against gunicorn.
"""

import shlex

import pytest

from server import APPS_DIR, UNDER_GUNICORN, run_command, server_command

PIPELINES = [
    pytest.param(["--help"], id="help"),
    pytest.param(["--version"], id="version"),
    pytest.param(["--print-config", "echo:app"], id="print-config"),
]


def run_piped(args, reader):
    """`<server> ARGS | READER` with pipefail: returns (the pipeline's status, stdout, stderr)."""
    command = " ".join(shlex.quote(part) for part in server_command() + args)
    return run_command(["bash", "-c", f"set -o pipefail; {command} | {reader}"], APPS_DIR, deadline=30)


@pytest.mark.parametrize("args", PIPELINES)
def test_a_reader_that_closes_early_gets_one_line_and_no_error(args):
    status, out, err = run_piped(args, "head -n 1")
    assert out.count("\n") == 1 and out.strip(), out
    assert "panicked" not in err and "Traceback" not in err and "Broken pipe" not in err, err
    assert status == 0, (status, err)


CLOSED_EARLY = [
    PIPELINES[0],
    PIPELINES[1],
    pytest.param(
        ["--print-config", "echo:app"],
        id="print-config",
        marks=pytest.mark.skipif(
            UNDER_GUNICORN, reason="deliberate difference from gunicorn: it prints a BrokenPipeError traceback"
        ),
    ),
]


@pytest.mark.parametrize("args", CLOSED_EARLY)
def test_a_pipe_closed_before_the_first_write_is_not_an_error(args):
    # `true` exits before the server has started, so every write meets EPIPE (head may have read
    # a short output whole before closing).
    status, out, err = run_piped(args, "true")
    assert out == ""
    assert err == "" and status == 0, (status, err)
