"""One stage served as a worker process would (`supporter worker …`): on a stop
request it takes nothing more and lets what is in flight finish, within a limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.memory import MemoryBroker
from supporter.domain.messages import TicketMessage, encode
from supporter.domain.models import Analysis, Reply, Ticket
from supporter.llm.base import AnalysisRequest, ModelResponse, ReplyRequest
from supporter.llm.offline import OfflineProvider
from supporter.pipeline.orchestrator import Pipeline, PipelineOptions
from supporter.pipeline.stages import ANALYZED, TICKETS
from supporter.store.sql import SqlStore, sqlite_url


class SlowProvider(OfflineProvider):
    """The offline provider, taking `delay` seconds to analyse."""

    def __init__(self, delay: float) -> None:
        super().__init__(list(DEFAULT_TAXONOMY))
        self.delay = delay
        self.started = 0

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        self.started += 1
        await asyncio.sleep(self.delay)
        return await super().analyze(request)

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        return await super().draft_reply(request)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    store = await SqlStore.open(sqlite_url(tmp_path / "s.db"))
    yield store
    await store.close()


async def serve_and_stop(
    store: SqlStore, provider: SlowProvider, shutdown_timeout: float
) -> tuple[MemoryBroker, float]:
    broker = MemoryBroker()
    options = PipelineOptions(shutdown_timeout=shutdown_timeout, analyze_concurrency=4)
    pipeline = Pipeline(broker, store, provider, DEFAULT_TAXONOMY, [], options)
    await broker.declare(TICKETS)
    await broker.declare(ANALYZED)
    for number in range(3):
        ticket = Ticket(
            ticket_id=f"T{number}",
            customer_id="C1",
            subject="Refund",
            body="Please refund me",
            status="open",
            created_at=datetime(2024, 5, 2, tzinfo=UTC),
        )
        message = TicketMessage(ticket=ticket, transactions=[])
        await broker.publish(TICKETS, encode(message), message_id=message.message_id)
    serving = asyncio.create_task(pipeline.serve("analyze"))
    for _ in range(500):
        if provider.started == 3:
            break
        await asyncio.sleep(0.01)
    assert provider.started == 3
    loop = asyncio.get_running_loop()
    stopped_at = loop.time()
    pipeline.request_stop()
    await asyncio.wait_for(serving, 30)
    return broker, loop.time() - stopped_at


async def test_a_stop_lets_the_tickets_in_flight_finish(store: SqlStore) -> None:
    provider = SlowProvider(delay=0.5)
    broker, _ = await serve_and_stop(store, provider, shutdown_timeout=10)
    assert await broker.depth(ANALYZED) == 3, "a paid-for answer was thrown away"
    assert await broker.depth(TICKETS) == 0


async def test_what_outlasts_the_shutdown_timeout_goes_back_to_the_queue(
    store: SqlStore,
) -> None:
    provider = SlowProvider(delay=30)
    broker, took = await serve_and_stop(store, provider, shutdown_timeout=0.2)
    assert took < 5
    assert await broker.depth(ANALYZED) == 0
    assert await broker.depth(TICKETS) == 3
