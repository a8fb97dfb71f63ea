#!/usr/bin/env bash
# The cross-version pass (part of tests/run.sh): `requires-python = ">=3.9"` is a promise, so for
# every other supported CPython installed on this machine, build a wheel with maturin, install it
# without cargo on PATH into a fresh venv (so nothing can build from source there), and replay the
# request corpus and the WSGI tests under sync, gthread and gevent.
#   usage: tests/cross_version.sh VENV_PY    (VENV_PY: the main test venv's python, which has maturin)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV_PY="$1"
MAIN_VERSION="$("$VENV_PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
SUPPORTED=(3.9 3.10 3.11 3.12 3.13)
PASS_TESTS=(tests/test_corpus.py tests/test_pep3333.py tests/test_wsgi_environ.py tests/test_wsgi_input.py
            tests/test_wsgi_response.py tests/test_wsgi_failures.py)
WORK="${CROSS_VERSION_DIR:-target/cross-version}"

find_python() {
    # A `pythonX.Y` that runs (pyenv's shims print an error for versions not selected), else
    # pyenv's own install of that version.
    local v="$1" candidate
    if candidate="$(command -v "python$v")" && "$candidate" -c "" >/dev/null 2>&1; then
        echo "$candidate"
        return 0
    fi
    if command -v pyenv >/dev/null 2>&1; then
        for candidate in "$(pyenv root)"/versions/"$v".*/bin/"python$v"; do
            if [ -x "$candidate" ] && "$candidate" -c "" >/dev/null 2>&1; then
                echo "$candidate"
                return 0
            fi
        done
    fi
    return 1
}

interpreters=()
for v in "${SUPPORTED[@]}"; do
    [ "$v" = "$MAIN_VERSION" ] && continue
    if py="$(find_python "$v")"; then
        interpreters+=("$py")
    else
        echo "cross_version.sh: CPython $v is not installed here; not checked"
    fi
done
if [ "${#interpreters[@]}" -eq 0 ]; then
    echo "cross_version.sh: no other supported CPython is installed"
    exit 0
fi

mkdir -p "$WORK"
rm -rf "$WORK/wheels"
build_args=()
for py in "${interpreters[@]}"; do
    build_args+=(-i "$py")
done
"$VENV_PY" -m maturin build --release --quiet --out "$WORK/wheels" "${build_args[@]}"

# PATH without cargo or rustc, so that an install that tried to build from source would fail.
NO_RUST_PATH="$(echo "$PATH" | tr ':' '\n' | grep -v -e cargo -e rustup | paste -sd: -)"
status=0
for py in "${interpreters[@]}"; do
    tag="$("$py" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')"
    wheel="$(ls "$WORK"/wheels/rgunicorn-*-"$tag"-*.whl)"
    venv="$WORK/venv-$tag"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    PATH="$NO_RUST_PATH" "$venv/bin/python" -m pip install -q --disable-pip-version-check --only-binary rgunicorn \
        pytest pytest-timeout gevent "$wheel"
    for worker in sync gthread gevent; do
        echo "cross_version.sh: $tag under -k $worker"
        RGUNICORN_TEST_WORKER="$worker" PATH="$NO_RUST_PATH" "$venv/bin/python" -m pytest -q -rs -p no:cacheprovider \
            --timeout 60 "${PASS_TESTS[@]}" || status=1
    done
done
exit "$status"
