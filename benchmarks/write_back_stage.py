"""What the write-back stage itself costs per write-back, apart from the helpdesk.

Each write-back claims the ticket's write-back in the store, calls the connector,
records the note's id and resolves the ticket's write-back dead letters: three
statements around the call. This runs `count` write-backs through the stage worker
(retries, circuit breaker, spans off) on the in-memory broker against a connector that
answers at once, first as new notes and then again unchanged (the same versions: no
call), and prints write-backs per second on the given store. A helpdesk's documented
write limit is 100 a minute (Zendesk) to a few hundred: the stage should be far from
being what bounds it.

    .venv/bin/python benchmarks/write_back_stage.py [--count 2000] [--concurrency 4]
        [--store-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path

from supporter.brokers.memory import MemoryBroker
from supporter.domain.messages import WriteBackMessage, encode
from supporter.domain.models import Analysis, Priority, Reply, Sentiment, Ticket
from supporter.helpdesks.base import (
    CheckResult,
    Draft,
    PollPage,
    RateLimit,
    WebhookEvent,
    WebhookRequest,
    WriteBackMode,
    WriteReceipt,
)
from supporter.pipeline.retry import RetryPolicy
from supporter.pipeline.stats import StageCounters
from supporter.pipeline.worker import StageWorker
from supporter.pipeline.write_back import WRITE_BACK, WriteBacks
from supporter.store.helpdesks import SqlHelpdeskState
from supporter.store.sql import SqlStore, sqlite_url

NAME = "zendesk"


class InstantHelpdesk:
    """Answers every write-back at once: what is measured is the stage around it."""

    name = NAME

    def __init__(self) -> None:
        self.calls = 0

    @property
    def write_limit(self) -> RateLimit:
        return RateLimit(requests=1_000_000, per_seconds=60.0)

    def request_counts(self) -> dict[str, int]:
        return {}

    def verify_webhook(self, request: WebhookRequest) -> None:
        return None

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        return WebhookEvent()

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        raise NotImplementedError

    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        return PollPage(tickets=(), cursor=cursor or "", more=False)

    async def write_back(
        self, draft: Draft, mode: WriteBackMode, previous: WriteReceipt | None
    ) -> WriteReceipt:
        self.calls += 1
        return WriteReceipt(note_id=f"n-{draft.ticket_id}")

    async def check(self) -> Sequence[CheckResult]:
        return []

    async def aclose(self) -> None:
        return None


def ticket(number: int) -> Ticket:
    return Ticket(
        ticket_id=f"T{number:06d}",
        customer_id=f"C{number % 97}",
        subject="Charged twice",
        body="I was charged twice for my order, please refund one.",
        status="open",
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
    )


def message(each: Ticket) -> WriteBackMessage:
    return WriteBackMessage(
        origin_id=f"o-{each.ticket_id}",
        helpdesk=NAME,
        mode="note",
        ticket=each,
        analysis=Analysis(
            category="duplicate_charge",
            priority=Priority.HIGH,
            sentiment=Sentiment.NEGATIVE,
            language="en",
            summary="charged twice",
            confidence=0.9,
            needs_human=False,
        ),
        reply=Reply(body="We found the duplicate charge and refunded it."),
    )


async def one_pass(
    state: SqlHelpdeskState, helpdesk: InstantHelpdesk, tickets: list[Ticket], concurrency: int
) -> float:
    """Seconds to settle a write-back of every ticket through the stage worker."""
    broker = MemoryBroker(maxsize=len(tickets) + 1)
    await broker.declare(WRITE_BACK)
    for each in tickets:
        body = message(each)
        await broker.publish(WRITE_BACK, encode(body), message_id=body.message_id)
    counters = StageCounters()
    stage = WriteBacks(helpdesk, state).stage(concurrency=concurrency)
    worker = StageWorker(stage, broker, RetryPolicy(), counters, lambda error: None)
    started = time.perf_counter()
    task = asyncio.create_task(worker.run())
    # Polled: the worker's counters are the only signal, and 5 ms is below what is measured.
    while counters.succeeded + counters.dead_lettered + counters.retried < len(tickets):  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await broker.close()
    if counters.dead_lettered or counters.retried:
        raise SystemExit(f"{counters.dead_lettered} dead-lettered, {counters.retried} retried")
    return elapsed


async def main(count: int, concurrency: int, store_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = await SqlStore.open(store_url or sqlite_url(Path(folder) / "bench.db"))
        try:
            state = SqlHelpdeskState(store.engine)
            tickets = [ticket(number) for number in range(count)]
            await state.receive(NAME, tickets)
            helpdesk = InstantHelpdesk()
            new = await one_pass(state, helpdesk, tickets, concurrency)
            calls = helpdesk.calls
            unchanged = await one_pass(state, helpdesk, tickets, concurrency)
        finally:
            await store.close()
    where = store.engine.dialect.name
    print(f"store: {where}, {count} write-backs, concurrency {concurrency}")
    print(f"new notes:  {count / new:8.0f} write-backs/s ({calls} calls)")
    print(f"unchanged:  {count / unchanged:8.0f} write-backs/s ({helpdesk.calls - calls} calls)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--store-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.concurrency, args.store_url))
