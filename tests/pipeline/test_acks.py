"""A stage's inputs are acknowledged together, never before their outputs are
confirmed, and none is left pending when the stage stops."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, SupportsBytes

from supporter.brokers.base import Delivery
from supporter.brokers.memory import MemoryBroker
from supporter.domain.messages import TicketMessage, decode_as, encode
from supporter.domain.models import Ticket
from supporter.pipeline.retry import RetryPolicy
from supporter.pipeline.stats import StageCounters
from supporter.pipeline.worker import Stage, StageWorker

TICKET = Ticket(
    ticket_id="T0",
    customer_id="C1",
    subject="s",
    body="b",
    status="open",
    created_at=datetime(2024, 1, 1, tzinfo=UTC),
)


class CountingBroker(MemoryBroker):
    """Records each `ack_many` (the tickets it carried), which outputs were confirmed
    when it came, and makes each one a round trip that the test may hold."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.failures: list[int] = []
        self.confirmed: set[str] = set()
        self.acked_before_confirmed: list[str] = []
        self.round_trip = asyncio.Event()
        self.round_trip.set()

    async def publish(self, queue: str, body: SupportsBytes, **options: Any) -> None:
        await asyncio.sleep(0.001)  # a confirmation is a round trip too
        await super().publish(queue, body, **options)
        if queue == "out":
            self.confirmed.add(decode_as(TicketMessage, body).ticket_id)

    async def ack_many(self, deliveries: Sequence[Delivery]) -> int:
        tickets = [decode_as(TicketMessage, d.payload).ticket_id for d in deliveries]
        self.batches.append(tickets)
        self.acked_before_confirmed += [t for t in tickets if t not in self.confirmed]
        # Sent: a caller that stops waiting does not take it back.
        return await asyncio.shield(self._acknowledge(deliveries))

    async def _acknowledge(self, deliveries: Sequence[Delivery]) -> int:
        await asyncio.sleep(0.005)
        await self.round_trip.wait()  # the broker, which may be slow
        failed = await super().ack_many(deliveries)
        self.failures.append(failed)
        return failed


async def pass_through(message: TicketMessage) -> TicketMessage:
    return message


async def _start(
    broker: CountingBroker, tickets: int
) -> tuple[StageWorker[Any, Any], StageCounters]:
    for queue in ("in", "out"):
        await broker.declare(queue)
    for number in range(tickets):
        message = TicketMessage(ticket=TICKET.model_copy(update={"ticket_id": f"T{number}"}))
        await broker.publish("in", encode(message), message_id=message.message_id)
    stage = Stage("analyze", "in", "out", TicketMessage, pass_through, concurrency=2)
    counters = StageCounters()
    return StageWorker(stage, broker, RetryPolicy(), counters, print, window=8), counters


async def test_inputs_are_acknowledged_in_batches_after_their_outputs_are_confirmed() -> None:
    broker = CountingBroker()
    worker, counters = await _start(broker, 40)
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(10):
            while counters.succeeded < 40:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    acked = [ticket for batch in broker.batches for ticket in batch]
    assert sorted(acked) == sorted(f"T{number}" for number in range(40))
    assert broker.acked_before_confirmed == []
    # Fewer exchanges than messages: those confirmed during a round trip go together.
    assert len(broker.batches) < 20
    assert max(len(batch) for batch in broker.batches) > 1
    assert await broker.depth("in") == 0


async def test_a_stop_sends_the_acknowledgements_still_pending() -> None:
    broker = CountingBroker()
    broker.round_trip.clear()  # the first exchange is held: the others wait their turn
    worker, _ = await _start(broker, 10)
    task = asyncio.create_task(worker.run())
    async with asyncio.timeout(5):
        while len(broker.confirmed) < 10:
            await asyncio.sleep(0.01)
    assert len(broker.batches) == 1  # one in flight, nine pending
    task.cancel()
    asyncio.get_running_loop().call_later(0.1, broker.round_trip.set)
    await asyncio.gather(task, return_exceptions=True)
    # Sent before the consumer closed: none handed back, none acknowledged twice.
    assert all(failed == 0 for failed in broker.failures)
    acked = [ticket for batch in broker.batches for ticket in batch]
    assert sorted(acked) == sorted(f"T{number}" for number in range(10))
    assert broker.acked_before_confirmed == []
    assert await broker.depth("in") == 0
    assert await broker.depth("out") == 10
