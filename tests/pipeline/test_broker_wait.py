"""A broker that cannot be reached yet when a pipeline starts serving or ingesting (the
process was started before it) is waited for; one that refuses is not."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.conftest import require_service
from tests.proxy import TcpProxy

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.base import Broker, BrokerError, BrokerUnreachable
from supporter.brokers.kafka import KafkaBroker
from supporter.brokers.rabbitmq import RabbitMQBroker
from supporter.brokers.redis import RedisStreamsBroker
from supporter.llm.offline import OfflineProvider
from supporter.pipeline import orchestrator
from supporter.pipeline.orchestrator import QUEUES, Pipeline, PipelineOptions
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.tansu import TansuServer, free_port

WAITING = "waiting up to"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    opened = await SqlStore.open(sqlite_url(tmp_path / "store.db"))
    yield opened
    await opened.close()


def pipeline_on(broker: Broker, store: SqlStore, wait: float) -> Pipeline:
    provider = OfflineProvider(DEFAULT_TAXONOMY)
    options = PipelineOptions(broker_wait=wait)
    return Pipeline(broker, store, provider, DEFAULT_TAXONOMY, [], options)


def lines(caplog: pytest.LogCaptureFixture, start: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage().startswith(start)]


@pytest.fixture
def rabbitmq() -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)


async def test_a_broker_that_becomes_reachable_during_the_wait_is_used(
    store: SqlStore, caplog: pytest.LogCaptureFixture, rabbitmq: None
) -> None:
    port = free_port()
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    broker = RabbitMQBroker(f"amqp://guest:guest@127.0.0.1:{port}/", prefix=prefix)
    pipeline = pipeline_on(broker, store, wait=60)
    relay = TcpProxy("127.0.0.1", 5672)

    async def listen_later() -> None:
        await asyncio.sleep(1.0)
        await asyncio.to_thread(relay.start, port)

    caplog.set_level(logging.INFO)
    try:
        reached, _ = await asyncio.gather(pipeline.reach_broker(), listen_later())
        assert reached
        assert broker.declared == QUEUES
    finally:
        for queue in QUEUES:
            await broker.delete(queue)
        await broker.close()
        relay.close()
    [waiting] = lines(caplog, WAITING)
    assert waiting.levelno == logging.WARNING
    assert f"amqp://guest:***@127.0.0.1:{port}/" in waiting.getMessage()
    assert "Connect call failed" in waiting.getMessage()
    assert len(lines(caplog, "reached the broker after")) == 1
    # The client library's own line for each failed try is left out.
    assert not [record for record in caplog.records if record.name.startswith("aiormq")]


async def test_the_wait_is_noted_now_and_then_and_ends_with_the_reason(
    store: SqlStore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orchestrator, "BROKER_WAIT_NOTE_EVERY", 0.5)
    port = free_port()
    broker = RedisStreamsBroker(f"redis://default:s3cret@127.0.0.1:{port}/0")
    pipeline = pipeline_on(broker, store, wait=3)
    try:
        with pytest.raises(BrokerUnreachable) as raised:
            await pipeline.reach_broker()
    finally:
        await broker.close()
    message = str(raised.value)
    assert f"Redis at redis://default:***@127.0.0.1:{port}/0" in message
    assert "Connect call failed" in message
    assert message.endswith("(waited 3 s for it)")
    assert len(lines(caplog, WAITING)) == 1
    assert lines(caplog, "still waiting for the broker")
    assert all("s3cret" not in record.getMessage() for record in caplog.records)


async def test_without_a_wait_an_unreachable_broker_fails_at_once(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    broker = KafkaBroker(f"kafka://127.0.0.1:{free_port()}?idempotence=false")
    pipeline = pipeline_on(broker, store, wait=0)
    try:
        with pytest.raises(
            BrokerUnreachable, match=r"connecting to Kafka at kafka://127\.0\.0\.1:"
        ):
            await pipeline.reach_broker()
    finally:
        await broker.close()
    assert not lines(caplog, WAITING)
    assert not [record for record in caplog.records if record.name.startswith("aiokafka")]


async def test_bad_credentials_are_not_waited_for(
    store: SqlStore, caplog: pytest.LogCaptureFixture, rabbitmq: None
) -> None:
    broker = RabbitMQBroker("amqp://guest:wrong-password@127.0.0.1:5672/")
    pipeline = pipeline_on(broker, store, wait=60)
    try:
        with pytest.raises(BrokerError, match="refused the connection") as raised:
            await asyncio.wait_for(pipeline.reach_broker(), 30)
    finally:
        await broker.close()
    assert not isinstance(raised.value, BrokerUnreachable)
    assert "amqp://guest:***@127.0.0.1:5672/" in str(raised.value)
    assert not lines(caplog, WAITING)


@pytest.mark.parametrize("kind", ["rabbitmq", "redis", "kafka"])
async def test_a_stop_ends_the_wait_in_the_middle_of_a_try(
    kind: str, store: SqlStore, request: pytest.FixtureRequest
) -> None:
    """The broker accepts the connection and never answers (held): the try would last
    until the client's timeout (Redis has none), but a stop ends it at once."""
    if kind == "kafka":
        tansu: TansuServer = request.getfixturevalue("tansu")
        port = tansu.port
    else:
        port = 5672 if kind == "rabbitmq" else 6379
        require_service(kind, "127.0.0.1", port)
    held = TcpProxy("127.0.0.1", port)
    through = held.start()
    held.hold()
    broker: Broker
    if kind == "rabbitmq":
        broker = RabbitMQBroker(f"amqp://guest:guest@127.0.0.1:{through}/")
    elif kind == "redis":
        broker = RedisStreamsBroker(f"redis://127.0.0.1:{through}/0")
    else:
        broker = KafkaBroker(f"kafka://127.0.0.1:{through}?idempotence=false")
    pipeline = pipeline_on(broker, store, wait=300)
    try:
        reaching = asyncio.create_task(pipeline.reach_broker())
        for _ in range(200):
            if held.connections():
                break
            await asyncio.sleep(0.05)
        assert held.connections(), "the broker was never tried"
        await asyncio.sleep(0.5)
        assert not reaching.done()
        pipeline.request_stop()
        assert await asyncio.wait_for(reaching, 5) is False
    finally:
        held.release()
        held.close()
        await broker.close()
