"""Fixtures of the end-to-end tests: each broker in turn, a fresh PostgreSQL store."""

from __future__ import annotations

import pytest
from tests.conftest import require_service
from tests.e2e.processes import BROKERS

from supporter.testing.tansu import TansuServer


@pytest.fixture(params=sorted(BROKERS))
def kind(request: pytest.FixtureRequest) -> str:
    """ "kafka", "rabbitmq" or "redis": the test runs once on each (Kafka on the
    session's Tansu)."""
    if request.param == "kafka":
        tansu: TansuServer = request.getfixturevalue("tansu")
        BROKERS["kafka"] = (tansu.url, tansu.port)
    require_service(request.param, "127.0.0.1", BROKERS[request.param][1])
    return str(request.param)


@pytest.fixture
def store_url(postgres_url: str) -> str:
    return postgres_url
