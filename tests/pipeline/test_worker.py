"""The stage loop on its own: what it does with unreadable messages."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any, SupportsBytes

import pytest
from tests.pipeline.fakes import DroppingBroker, LostAfterOne

from supporter.brokers.base import BrokerError, dead_letter_queue
from supporter.brokers.memory import MemoryBroker
from supporter.domain.errors import FatalError, TransientError
from supporter.domain.messages import (
    AnalyzedTicketMessage,
    DeadLetterMessage,
    TicketMessage,
    encode,
)
from supporter.domain.models import Ticket
from supporter.pipeline.retry import RetryPolicy
from supporter.pipeline.stats import StageCounters
from supporter.pipeline.worker import Stage, StageWorker

TICKET = Ticket(
    ticket_id="T1",
    customer_id="C1",
    subject="s",
    body="b",
    status="open",
    created_at=datetime(2024, 1, 1, tzinfo=UTC),
)


async def never_called(message: TicketMessage) -> AnalyzedTicketMessage:
    raise AssertionError("the handler must not see an invalid message")


@pytest.mark.parametrize(
    ("body", "original"),
    [
        (b'{"kind": "ticket", "ticket": {"oops": 1}}', '{"kind": "ticket", "ticket": {"oops": 1}}'),
        # What a text column can hold: no NUL, no invalid UTF-8.
        (b"\x00garbage \xff", "\ufffdgarbage \ufffd"),
    ],
)
async def test_a_message_that_does_not_validate_is_dead_lettered_not_crashed_on(
    body: bytes, original: str
) -> None:
    broker = MemoryBroker()
    for queue in ("in", "out"):
        await broker.declare(queue)
    stage = Stage("analyze", "in", "out", TicketMessage, never_called)
    fatal: list[FatalError] = []
    counters = StageCounters()
    worker = StageWorker(stage, broker, RetryPolicy(), counters, fatal.append)
    task = asyncio.create_task(worker.run())
    await broker.publish("in", body, message_id="bad")
    async with broker.consume(dead_letter_queue("in"), prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 5)
        letter = DeadLetterMessage.model_validate_json(delivery.body)
        await delivery.ack()
    task.cancel()
    assert letter.stage == "analyze"
    assert letter.ticket_id is None
    assert letter.reason.startswith("invalid message")
    assert letter.original == original
    assert counters.dead_lettered == 1
    assert counters.dead_letter_causes == {"invalid": 1}
    assert await broker.depth("out") == 0


class FailingOnceBroker(MemoryBroker):
    """Refuses the first publish to `queue`, as a broker does when a connection drops."""

    def __init__(self, queue: str) -> None:
        super().__init__()
        self._queue_to_fail = queue
        self.failed = False

    async def publish(self, queue: str, body: SupportsBytes, **kwargs: object) -> None:  # type: ignore[override]
        if queue == self._queue_to_fail and not self.failed:
            self.failed = True
            raise BrokerError("connection reset")
        await super().publish(queue, body, **kwargs)  # type: ignore[arg-type]


async def pass_through(message: TicketMessage) -> TicketMessage:
    return message


async def test_a_failed_downstream_publish_returns_the_message_for_another_try() -> None:
    broker = FailingOnceBroker("out")
    for queue in ("in", "out"):
        await broker.declare(queue)
    stage = Stage("analyze", "in", "out", TicketMessage, pass_through)
    counters = StageCounters()
    worker = StageWorker(stage, broker, RetryPolicy(), counters, lambda error: None)
    task = asyncio.create_task(worker.run())
    message = TicketMessage(ticket=TICKET)
    await broker.publish("in", encode(message), message_id=message.message_id)
    async with broker.consume("out", prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 5)
        await delivery.ack()
    task.cancel()
    assert broker.failed
    assert TicketMessage.model_validate_json(delivery.body).ticket == TICKET
    assert counters.consumed == 2
    assert counters.succeeded == 1


async def test_a_consumer_lost_with_its_connection_is_opened_again() -> None:
    broker = DroppingBroker(lost_consumers=2)
    for queue in ("in", "out"):
        await broker.declare(queue)
    stage = Stage("analyze", "in", "out", TicketMessage, pass_through)
    counters = StageCounters()
    worker = StageWorker(stage, broker, RetryPolicy(), counters, lambda error: None)
    task = asyncio.create_task(worker.run())
    message = TicketMessage(ticket=TICKET)
    await broker.publish("in", encode(message), message_id=message.message_id)
    for _ in range(500):
        if await broker.depth("out"):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert await broker.depth("out") == 1
    assert broker.consumers == 3  # two lost with their connection, then one that works
    assert counters.succeeded == 1


async def slow_pass_through(message: TicketMessage) -> TicketMessage:
    await asyncio.sleep(0.3)
    return message


async def test_work_in_flight_finishes_when_the_consumer_is_lost() -> None:
    broker = LostAfterOne()
    for queue in ("in", "out"):
        await broker.declare(queue)
    stage = Stage("analyze", "in", "out", TicketMessage, slow_pass_through)
    counters = StageCounters()
    worker = StageWorker(stage, broker, RetryPolicy(), counters, lambda error: None)
    message = TicketMessage(ticket=TICKET)
    await broker.publish("in", encode(message), message_id=message.message_id)
    task = asyncio.create_task(worker.run())
    for _ in range(100):
        if await broker.depth("out"):
            break
        await asyncio.sleep(0.02)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert await broker.depth("out") == 1, "the answer in flight was thrown away"
    assert counters.succeeded == 1


async def test_a_dead_letter_carries_its_reason_and_tries_in_headers() -> None:
    """What a tool routing dead letters reads without the body (on every broker)."""

    async def unavailable(message: TicketMessage) -> AnalyzedTicketMessage:
        raise TransientError(f"503 from the model (try {message.attempt})")

    broker = MemoryBroker()
    for queue in ("in", "out"):
        await broker.declare(queue)
    stage = Stage("analyze", "in", "out", TicketMessage, unavailable)
    policy = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)
    worker = StageWorker(stage, broker, policy, StageCounters(), lambda error: None)
    task = asyncio.create_task(worker.run())
    await broker.publish("in", encode(TicketMessage(ticket=TICKET)), message_id="m1")
    async with broker.consume(dead_letter_queue("in"), prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 5)
        await delivery.ack()
    task.cancel()
    headers = delivery.headers
    assert headers["stage"] == "analyze"
    assert headers["reason"] == "gave up after 3 tries: 503 from the model (try 3)"
    assert headers["error_type"] == "TransientError"
    assert headers["attempts"] == "3"
    tries = json.loads(headers["history"])
    assert [(t["stage"], t["attempt"], t["transient"]) for t in tries] == [
        ("analyze", 1, True),
        ("analyze", 2, True),
        ("analyze", 3, True),
    ]
    assert tries[2]["error"] == "503 from the model (try 3)"


class HeldBroker(MemoryBroker):
    """Publishes to `queue` wait until `confirm` is set, as on a broker whose
    confirmations are slow; it records what was acknowledged before that."""

    def __init__(self, queue: str) -> None:
        super().__init__()
        self._held = queue
        self.confirm = asyncio.Event()
        self.waiting = 0

    async def publish(self, queue: str, body: SupportsBytes, **options: Any) -> None:
        if queue == self._held:
            self.waiting += 1
            await self.confirm.wait()
        await super().publish(queue, body, **options)


async def test_while_publishes_wait_for_confirmation_the_stage_works_on_within_its_window() -> None:
    broker = HeldBroker("out")
    for queue in ("in", "out"):
        await broker.declare(queue)
    stage = Stage("analyze", "in", "out", TicketMessage, pass_through, concurrency=1)
    counters = StageCounters()
    worker = StageWorker(stage, broker, RetryPolicy(), counters, print, window=3)
    for number in range(10):
        message = TicketMessage(ticket=TICKET.model_copy(update={"ticket_id": f"T{number}"}))
        await broker.publish("in", encode(message), message_id=message.message_id)
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(5):
            while broker.waiting < 4:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        # One at work's bound plus three in the window: four publishes wait together,
        # and nothing is acknowledged before its confirmation.
        assert (broker.waiting, counters.in_flight, counters.succeeded) == (4, 4, 0)
        assert await broker.depth("in") == 6
        broker.confirm.set()
        async with asyncio.timeout(5):
            while counters.succeeded < 10:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert await broker.depth("out") == 10


async def test_a_stopped_stage_hands_back_what_it_took_ahead_of_its_turn() -> None:
    broker = HeldBroker("out")
    for queue in ("in", "out"):
        await broker.declare(queue)
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(message: TicketMessage) -> TicketMessage:
        started.set()
        await release.wait()
        return message

    stage = Stage("analyze", "in", "out", TicketMessage, slow, concurrency=1)
    counters = StageCounters()
    worker = StageWorker(stage, broker, RetryPolicy(), counters, print, window=3)
    for number in range(4):
        message = TicketMessage(ticket=TICKET.model_copy(update={"ticket_id": f"T{number}"}))
        await broker.publish("in", encode(message), message_id=message.message_id)
    broker.confirm.set()
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(started.wait(), 5)
        worker.stop_intake()
        release.set()
        async with asyncio.timeout(5):
            while counters.in_flight:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # The one at work finished; the three waiting their turn went back untouched.
    assert (counters.succeeded, await broker.depth("out"), await broker.depth("in")) == (1, 1, 3)


class Meltdown(BaseException):
    """What a library may raise that is neither an `Exception` nor a cancellation."""


async def test_a_base_exception_from_a_handler_hands_the_message_back_and_stops_the_stage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = MemoryBroker()
    for queue in ("in", "out"):
        await broker.declare(queue)
    calls = 0

    async def melting(message: TicketMessage) -> TicketMessage:
        nonlocal calls
        calls += 1
        raise Meltdown("the body of ticket T1")

    stage = Stage("analyze", "in", "out", TicketMessage, melting)
    counters = StageCounters()
    fatal: list[FatalError] = []
    worker = StageWorker(stage, broker, RetryPolicy(), counters, fatal.append)
    message = TicketMessage(ticket=TICKET)
    await broker.publish("in", encode(message), message_id=message.message_id)
    # The stage stops by itself: it does not wait for a message that is never settled.
    await asyncio.wait_for(worker.run(), 5)
    assert calls == 1
    assert [str(error) for error in fatal] == ["stage analyze raised Meltdown"]
    assert "Meltdown" in caplog.text
    assert "the body of ticket" not in caplog.text
    assert (counters.dead_lettered, counters.retried, counters.in_flight) == (0, 0, 0)
    assert await broker.depth(dead_letter_queue("in")) == 0
    assert await broker.depth("out") == 0
    # Handed back as it came, for the next run to take.
    async with broker.consume("in", prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 5)
        await delivery.ack()
    assert delivery.redelivered
    again = TicketMessage.model_validate_json(delivery.body)
    assert (again.ticket, again.attempt, again.history) == (TICKET, 1, [])


async def test_system_exit_from_a_handler_is_raised_on_once_the_message_is_handed_back() -> None:
    broker = MemoryBroker()
    for queue in ("in", "out"):
        await broker.declare(queue)

    async def exiting(message: TicketMessage) -> TicketMessage:
        raise SystemExit(3)

    stage = Stage("analyze", "in", "out", TicketMessage, exiting)
    fatal: list[FatalError] = []
    worker = StageWorker(stage, broker, RetryPolicy(), StageCounters(), fatal.append)
    message = TicketMessage(ticket=TICKET)
    await broker.publish("in", encode(message), message_id=message.message_id)
    async with broker.consume("in", prefetch=1) as deliveries:
        delivery = await asyncio.wait_for(anext(deliveries), 5)
        with pytest.raises(SystemExit):
            await worker.process(delivery)
        assert [str(error) for error in fatal] == ["stage analyze raised SystemExit"]
        again = await asyncio.wait_for(anext(deliveries), 5)
        await again.ack()
    assert again.redelivered
    assert again.message_id == message.message_id
