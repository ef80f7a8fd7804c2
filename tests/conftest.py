"""Shared test fixtures: access to the real services the adapters talk to.

A test of an adapter talks to the real server on loopback. Without the server
it is skipped on a laptop, but under CI=true a missing service is a failure.
"""

from __future__ import annotations

import os
import socket

import pytest


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, under CI, fail) unless something listens on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return
    except OSError as error:
        message = f"{name} is not reachable on {host}:{port}: {error}"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{message} (CI=true: a missing service is a failure)")
        pytest.skip(message)
