"""Console entry point: hand argv to the Rust master and exit with its status."""

import sys


def main() -> None:
    from rgunicorn._rgunicorn import run

    sys.exit(run(sys.argv))


if __name__ == "__main__":
    main()
