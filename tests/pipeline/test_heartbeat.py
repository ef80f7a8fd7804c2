"""A worker's heartbeat: what it holds, in the shared store, gone when it stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from supporter.pipeline.heartbeat import Heartbeat
from supporter.pipeline.stats import StageCounters
from supporter.store.sql import SqlStore, sqlite_url
from supporter.store.workers import SqlWorkerRegistry


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[SqlWorkerRegistry]:
    store = await SqlStore.open(sqlite_url(tmp_path / "s.db"))
    yield SqlWorkerRegistry(store.engine)
    await store.close()


def test_counters_know_what_is_in_flight_and_for_how_long() -> None:
    counters = StageCounters()
    assert counters.oldest_in_flight() is None
    first, second = counters.begin(), counters.begin()
    assert (counters.consumed, counters.in_flight) == (2, 2)
    counters.end(first)
    counters.end(first)  # ending twice changes nothing
    assert counters.in_flight == 1
    age = counters.oldest_in_flight()
    assert age is not None
    assert age >= 0
    counters.end(second)
    assert counters.in_flight == 0


async def test_a_running_worker_is_seen_with_what_it_holds_and_leaves_no_row(
    registry: SqlWorkerRegistry,
) -> None:
    counters = StageCounters()
    counters.begin()
    counters.begin()
    counters.succeeded = 7
    heartbeat = Heartbeat(registry, "analyze", counters, interval=0.05, metrics_port=9465)
    task = asyncio.create_task(heartbeat.run())
    try:
        for _ in range(100):
            alive = await registry.alive(seen_within=5)
            if alive and alive[0].in_flight == 2:
                break
            await asyncio.sleep(0.02)
        [beat] = alive
        assert (beat.worker_id, beat.stage, beat.in_flight, beat.succeeded) == (
            heartbeat.worker_id,
            "analyze",
            2,
            7,
        )
        assert beat.oldest_in_flight_seconds is not None
        assert beat.metrics_port == 9465
        counters.succeeded = 9
        await asyncio.sleep(0.2)
        [later] = await registry.alive(seen_within=5)
        assert later.succeeded == 9
        assert later.seen_at > beat.seen_at
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert await registry.alive(seen_within=5) == []


async def test_a_worker_not_seen_lately_does_not_count(registry: SqlWorkerRegistry) -> None:
    heartbeat = Heartbeat(registry, "respond", StageCounters())
    await registry.beat(heartbeat.snapshot())
    assert len(await registry.alive(seen_within=5)) == 1
    await asyncio.sleep(0.3)
    assert await registry.alive(seen_within=0.2) == []


class BrokenRegistry:
    """A registry whose database is gone in a way no adapter foresaw."""

    def __init__(self) -> None:
        self.beats = 0

    async def beat(self, beat: object) -> None:
        self.beats += 1
        raise ConnectionRefusedError("connect call failed")

    async def retire(self, worker_id: str) -> None:
        raise ConnectionRefusedError("connect call failed")

    async def alive(self, *, seen_within: float) -> list[object]:
        return []


async def test_a_failing_registry_never_stops_the_worker() -> None:
    registry = BrokenRegistry()
    heartbeat = Heartbeat(registry, "analyze", StageCounters(), interval=0.01)  # type: ignore[arg-type]
    task = asyncio.create_task(heartbeat.run())
    await asyncio.sleep(0.1)
    assert not task.done(), "the heartbeat died"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert registry.beats > 2
    assert task.cancelled()
