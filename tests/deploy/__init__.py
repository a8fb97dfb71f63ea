"""Helpers for the deployment tests (tests/test_deploy_*.py): the example apps under rgunicorn,
nginx started on loopback with a temporary prefix, wrk, and small apps of their own.

Nothing here is collected as a test (no test_*.py files)."""
