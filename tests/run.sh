#!/usr/bin/env bash
# The project's one test command (also what .ci/run runs). On a fresh Debian machine with
# Python 3.11 and Rust: installs the missing tools (apt) and test packages (PyPI, into .venv),
# builds and installs rgunicorn, checks fmt and clippy, runs `cargo test` and the end-to-end pytest
# suite. With CI=true (as CI runs it) a skipped test fails: everything a test needs is installed here.
# RGUNICORN_TEST_SERVER=gunicorn runs the pytest suite against gunicorn instead (the reference).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
PER_TEST_TIMEOUT="${PER_TEST_TIMEOUT:-120}"

apt_install() {
    # Only when something is missing, and only where apt exists; never fatal by itself.
    command -v apt-get >/dev/null 2>&1 || { echo "run.sh: apt-get not available to install $*" >&2; return 0; }
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 && sudo="sudo" || { echo "run.sh: not root, cannot install $*" >&2; return 0; }
    fi
    $sudo apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" || echo "run.sh: apt-get install $* failed" >&2
}

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
# The deployment tests (tests/test_deploy_*.py): nginx as the proxy, wrk as the load, openssl for
# the proxy's test certificate.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The systemd unit in deploy/ is checked by systemd-analyze (tests/test_deploy_container.py).
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
if [ ! -x .venv/bin/python ] && ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
    missing+=("python3-venv")
fi
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
VENV_PY="$PWD/.venv/bin/python"

"$VENV_PY" -m pip install -q --disable-pip-version-check --upgrade pip
# Beyond the frameworks and the reference gunicorn: PasteDeploy for --paste (test_paste.py), inotify
# for gunicorn's own inotify reload engine (test_reload.py), and the third-party worker classes
# and their frameworks (test_plugin_workers.py).
"$VENV_PY" -m pip install -q --disable-pip-version-check pytest pytest-timeout requests flask django gevent gunicorn maturin \
    PasteDeploy inotify uvicorn-worker fastapi aiohttp tornado mypy
"$VENV_PY" -m pip install -q --disable-pip-version-check .
# The extension module's type stub (python/rgunicorn/_rgunicorn.pyi) against the module just built.
"$VENV_PY" -m mypy.stubtest rgunicorn._rgunicorn

# The HTTP layer is a crate of its own that must build and test without libpython: run it
# before the Python variables are set, and with any inherited ones removed.
env -u PYO3_PYTHON -u LD_LIBRARY_PATH cargo test --release -p rgunicorn-http

# The root crate links libpython: build and run its tests against the venv's interpreter.
LIBDIR="$("$VENV_PY" -c "import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')")"
export PYO3_PYTHON="$VENV_PY"
export LD_LIBRARY_PATH="${LIBDIR}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Formatting and lints are part of the test: CI cannot pass with either drifting.
cargo fmt --all --check
cargo clippy --release --all-targets --workspace -- -D warnings
cargo test --release

status=0
"$VENV_PY" -m pytest -q -rs -p no:cacheprovider --timeout "$PER_TEST_TIMEOUT" tests || status=$?
if [ "$status" -eq 5 ]; then
    echo "run.sh: pytest collected no tests" >&2
    exit 1
fi

# The request corpus and the WSGI tests again under the other worker classes (issues 5 and 6:
# every parsing and PEP 3333 rule holds whichever worker serves).
CORE_TESTS=(tests/test_corpus.py tests/test_pep3333.py tests/test_wsgi_environ.py tests/test_wsgi_input.py
            tests/test_wsgi_response.py tests/test_wsgi_failures.py tests/test_frameworks.py)
for worker in gthread gevent; do
    echo "run.sh: core tests under -k $worker"
    replay=0
    RGUNICORN_TEST_WORKER="$worker" "$VENV_PY" -m pytest -q -rs -p no:cacheprovider --timeout "$PER_TEST_TIMEOUT" \
        "${CORE_TESTS[@]}" || replay=$?
    if [ "$replay" -ne 0 ]; then
        status=1
    fi
done
# The same corpus and WSGI tests on every other installed CPython from 3.9 to 3.13, each from a
# wheel installed without a Rust toolchain on PATH.
bash tests/cross_version.sh "$VENV_PY" || status=1
exit "$status"
