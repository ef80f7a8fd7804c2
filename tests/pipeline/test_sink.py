"""The output stage when its consumer is lost or the worker stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from tests.pipeline.fakes import LostAfterOne

from supporter.brokers.memory import MemoryBroker
from supporter.domain.errors import FatalError
from supporter.domain.models import TicketResult
from supporter.pipeline.retry import RetryPolicy
from supporter.pipeline.sink import OutputStage
from supporter.pipeline.stats import StageCounters
from supporter.store.sql import SqlStore, sqlite_url


class Events:
    def on_stored(self, results: Sequence[TicketResult]) -> None: ...

    def on_dropped(self) -> None: ...

    def on_fatal(self, error: FatalError) -> None: ...


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    store = await SqlStore.open(sqlite_url(tmp_path / "s.db"))
    yield store
    await store.close()


def output_stage(broker: MemoryBroker, store: SqlStore, counters: StageCounters) -> OutputStage:
    return OutputStage(
        broker,
        store,
        "v1",
        [],
        Events(),
        linger=1.0,
        store_retries=RetryPolicy(max_attempts=1),
        counters=counters,
    )


async def test_a_consumer_lost_while_gathering_a_batch_leaves_nothing_in_flight(
    store: SqlStore,
) -> None:
    broker = LostAfterOne()
    await broker.declare("responded")
    await broker.publish("responded", b"{}", message_id="m1")
    counters = StageCounters()
    stage = output_stage(broker, store, counters)
    task = asyncio.create_task(stage.run("responded"))
    for _ in range(100):
        if counters.consumed >= 2:  # taken once, lost, taken again after the reconnect
            break
        await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert counters.consumed >= 2
    assert counters.in_flight == 0
    assert counters.oldest_in_flight() is None


async def test_a_stopped_output_stage_takes_nothing_more(store: SqlStore) -> None:
    broker = MemoryBroker()
    await broker.declare("responded")
    await broker.publish("responded", b"{}", message_id="m1")
    stage = output_stage(broker, store, StageCounters())
    stage.stop_intake()
    await asyncio.wait_for(stage.run("responded"), 5)
    assert await broker.depth("responded") == 1
