"""Console entry point: hand argv to the Rust master and exit with its status."""

import sys

# The exit status for a failure inside rgunicorn itself (sysexits.h EX_SOFTWARE).
INTERNAL_ERROR = 70


def main() -> None:
    from rgunicorn._rgunicorn import run

    try:
        status = run(sys.argv)
    except BaseException as exc:
        # A Rust panic arrives as pyo3's PanicException, after the panic hook has already printed
        # one line naming it: no traceback on top of that.
        if type(exc).__name__ != "PanicException":
            raise
        status = INTERNAL_ERROR
    sys.exit(status)


if __name__ == "__main__":
    main()
