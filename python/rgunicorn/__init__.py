"""rgunicorn: a WSGI HTTP server written in Rust, compatible with gunicorn's flags, config and signals."""

from rgunicorn._rgunicorn import __version__

version_info = tuple(int(part) for part in __version__.split(".")[:3])
SERVER = "rgunicorn"
SERVER_SOFTWARE = f"{SERVER}/{__version__}"

__all__ = ["__version__", "version_info", "SERVER", "SERVER_SOFTWARE"]
