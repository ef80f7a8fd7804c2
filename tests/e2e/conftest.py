"""Fixtures of the end-to-end tests: each broker in turn, a fresh PostgreSQL store."""

from __future__ import annotations

import pytest
from tests.conftest import require_service
from tests.e2e.processes import BROKERS


@pytest.fixture(params=sorted(BROKERS))
def kind(request: pytest.FixtureRequest) -> str:
    """ "rabbitmq" or "redis": the test runs once on each."""
    require_service(request.param, "127.0.0.1", BROKERS[request.param][1])
    return str(request.param)


@pytest.fixture
def store_url(postgres_url: str) -> str:
    return postgres_url
