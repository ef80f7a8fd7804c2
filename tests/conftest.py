"""Shared test fixtures: access to the real services the adapters talk to.

A test of an adapter talks to the real server on loopback. Without the server
it is skipped on a laptop, but under CI=true a missing service is a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from supporter.brokers.base import Broker
from supporter.brokers.kafka import KafkaBroker
from supporter.brokers.rabbitmq import RabbitMQBroker
from supporter.brokers.redis import RedisStreamsBroker
from supporter.pipeline.orchestrator import QUEUES
from supporter.testing.tansu import TansuError, TansuServer


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


POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"


async def create_postgres_database() -> str:
    """A fresh, empty PostgreSQL database; its URL. Drop it with `drop_postgres_database`."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"supporter_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{POSTGRES_SERVER}/{name}"


async def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards; yields its URL."""
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for a test that is not async; dropped afterwards."""
    url = asyncio.run(create_postgres_database())
    yield url
    asyncio.run(drop_postgres_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The test runs on each SQL database the store supports: an SQLite file, then a
    fresh PostgreSQL database (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
        return
    async with postgres_database() as url:
        yield url


MARIADB_SERVER = "mariadb://root@127.0.0.1:3306"


@contextlib.asynccontextmanager
async def mariadb_database() -> AsyncIterator[str]:
    """A fresh, empty MariaDB database for one test, dropped afterwards; yields its URL."""
    import asyncmy  # only the tests that use MariaDB need it

    require_service("MariaDB", "127.0.0.1", 3306)
    name = f"supporter_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncmy.connect(host="127.0.0.1", port=3306, user="root")
    try:
        async with admin.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        yield f"{MARIADB_SERVER}/{name}"
    finally:
        async with admin.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def start_tansu(server: TansuServer) -> None:
    """Start Tansu, or skip the test (under CI=true: fail it) when it cannot start."""
    try:
        server.start()
    except TansuError as error:
        message = f"Tansu (the Kafka test server) did not start: {error}"
        if _in_ci():
            pytest.fail(f"{message} (CI=true: a missing service is a failure)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def tansu() -> Iterator[TansuServer]:
    """Tansu, a Kafka-protocol server, on a free port for the whole session (memory
    storage). Skipped when it cannot start, but under CI=true that is a failure."""
    server = TansuServer()
    start_tansu(server)
    yield server
    server.stop()


RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
REDIS_URL = "redis://127.0.0.1:6379/0"


@contextlib.asynccontextmanager
async def broker_of(
    kind: str,
    request: pytest.FixtureRequest,
    *,
    url: str | None = None,
    max_length: int | None = None,
) -> AsyncIterator[Broker]:
    """A real broker of `kind` ("rabbitmq", "redis", "kafka": the session's Tansu
    unless `url` says otherwise), under a prefix of its own deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    if kind == "kafka":
        if url is None:
            tansu: TansuServer = request.getfixturevalue("tansu")
            url = tansu.url
        kafka = KafkaBroker(url, prefix=prefix, session_timeout=2.0, max_length=max_length)
        yield kafka
        for queue in QUEUES:
            await kafka.delete(queue)
        await kafka.close()
    elif kind == "rabbitmq":
        require_service("RabbitMQ", "127.0.0.1", 5672)
        rabbit = RabbitMQBroker(url or RABBITMQ_URL, prefix=prefix, max_length=max_length)
        yield rabbit
        for queue in QUEUES:
            await rabbit.delete(queue)
        await rabbit.close()
    else:
        require_service("Redis", "127.0.0.1", 6379)
        redis = RedisStreamsBroker(url or REDIS_URL, prefix=prefix, max_length=max_length)
        yield redis
        await redis.delete_keys()
        await redis.close()


@pytest.fixture(params=["rabbitmq", "redis", "kafka"])
async def real_broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """Each real broker in turn (the test runs once on each), under a prefix of its own
    that is deleted afterwards."""
    async with broker_of(request.param, request) as broker:
        yield broker
