"""A real Request Tracker for the RT connector's tests: its database initialised once
per session (the slow part), one `rt-server` shared by the session's tests, which each
create tickets of their own."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from supporter.testing.rt import RTError, RTServer, RTTemplate


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{message} (CI=true: a missing service is a failure)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def rt_template(tmp_path_factory: pytest.TempPathFactory) -> RTTemplate:
    started = time.monotonic()
    try:
        template = RTTemplate.create(Path(tmp_path_factory.mktemp("rt-template")))
    except RTError as error:
        _unavailable(f"Request Tracker is not available: {error}")
    print(f"\nRT database initialised in {time.monotonic() - started:.1f} s")
    return template


@pytest.fixture(scope="session")
def rt_server(rt_template: RTTemplate) -> Iterator[RTServer]:
    """`rt-server` on a free loopback port for the whole session. Skipped when RT is not
    installed, but under CI=true that is a failure."""
    server = RTServer(rt_template)
    started = time.monotonic()
    try:
        server.start()
    except RTError as error:
        _unavailable(f"rt-server did not start: {error}")
    print(f"\nrt-server answered in {time.monotonic() - started:.1f} s")
    yield server
    server.stop()
