"""The stage loop on its own: what it does with unreadable messages."""

from __future__ import annotations

import asyncio

from supporter.brokers.base import dead_letter_queue
from supporter.brokers.memory import MemoryBroker
from supporter.domain.errors import FatalError
from supporter.domain.messages import AnalyzedTicketMessage, DeadLetterMessage, TicketMessage
from supporter.pipeline.retry import RetryPolicy
from supporter.pipeline.stats import StageCounters
from supporter.pipeline.worker import Stage, StageWorker


async def never_called(message: TicketMessage) -> AnalyzedTicketMessage:
    raise AssertionError("the handler must not see an invalid message")


async def test_a_message_that_does_not_validate_is_dead_lettered_not_crashed_on() -> None:
    broker = MemoryBroker()
    for queue in ("in", "out"):
        await broker.declare(queue)
    stage = Stage("analyze", "in", "out", TicketMessage, never_called)
    fatal: list[FatalError] = []
    counters = StageCounters()
    worker = StageWorker(stage, broker, RetryPolicy(), counters, fatal.append)
    task = asyncio.create_task(worker.run())
    await broker.publish("in", b'{"kind": "ticket", "ticket": {"oops": 1}}', message_id="bad")
    async with broker.consume(dead_letter_queue("in"), prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 5)
        letter = DeadLetterMessage.model_validate_json(delivery.body)
        await delivery.ack()
    task.cancel()
    assert letter.stage == "analyze"
    assert letter.ticket_id is None
    assert letter.reason.startswith("invalid message")
    assert letter.original == '{"kind": "ticket", "ticket": {"oops": 1}}'
    assert counters.dead_lettered == 1
    assert await broker.depth("out") == 0
