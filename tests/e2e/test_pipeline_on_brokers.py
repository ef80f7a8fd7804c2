"""The whole pipeline on the real brokers: retries through delayed publishes, dead
letters through the stage's dead-letter queue, results stored once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.conftest import require_service
from tests.pipeline.fakes import FlakyProvider
from tests.pipeline.test_orchestrator import write_tickets

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.base import Broker
from supporter.brokers.kafka import KafkaBroker
from supporter.brokers.rabbitmq import RabbitMQBroker
from supporter.brokers.redis import RedisStreamsBroker
from supporter.domain.errors import PermanentError, TransientError
from supporter.pipeline.orchestrator import QUEUES, Pipeline, PipelineOptions
from supporter.pipeline.retry import RetryPolicy
from supporter.sources.csv import CsvTicketSource
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.tansu import TansuServer
from supporter.transactions.sqlite import SqliteTransactionIndex


@pytest.fixture(params=["rabbitmq", "redis", "kafka"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    prefix = f"e2e-{uuid.uuid4().hex[:10]}"
    if request.param == "kafka":
        tansu: TansuServer = request.getfixturevalue("tansu")
        kafka = KafkaBroker(tansu.url, prefix=prefix, session_timeout=2.0)
        yield kafka
        for queue in QUEUES:
            await kafka.delete(queue)
        await kafka.close()
    elif request.param == "rabbitmq":
        require_service("RabbitMQ", "127.0.0.1", 5672)
        rabbit = RabbitMQBroker("amqp://guest:guest@127.0.0.1:5672/", prefix=prefix)
        yield rabbit
        for queue in QUEUES:
            await rabbit.delete(queue)
        await rabbit.close()
    else:
        require_service("Redis", "127.0.0.1", 6379)
        redis = RedisStreamsBroker("redis://127.0.0.1:6379/0", prefix=prefix)
        yield redis
        await redis.delete_keys()
        await redis.close()


async def test_retries_and_dead_letters_work_the_same_on_a_real_broker(
    tmp_path: Path, broker: Broker
) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 30)
    provider = FlakyProvider(
        {"T0003": 2, "T0007": 99},
        lambda tid: PermanentError("model refused") if tid == "T0007" else TransientError("503"),
    )
    store = await SqlStore.open(sqlite_url(tmp_path / "run.db"))
    options = PipelineOptions(
        policy=RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1),
        analyze_concurrency=4,
        respond_concurrency=4,
        output_batch_size=16,
    )
    pipeline = Pipeline(broker, store, provider, DEFAULT_TAXONOMY, [], options)
    index = SqliteTransactionIndex()
    try:
        report = await pipeline.run(CsvTicketSource(tickets), index, lambda reject: None)
        results = {r.ticket_id: r for r in await store.results(f"T{i:04d}" for i in range(30))}
        letters = await store.dead_letters()
    finally:
        index.close()
        await store.close()
    assert report.exit_code == 1
    assert len(results) == 30
    assert results["T0003"].status == "responded"
    assert results["T0003"].attempts == 3
    assert results["T0007"].status == "failed"
    assert [letter.ticket_id for letter in letters] == ["T0007"]
    assert sum(r.status == "responded" for r in results.values()) == 29
    assert provider.calls["T0003"] == 3
    assert provider.calls["T0007"] == 1
