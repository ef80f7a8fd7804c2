"""The output stage: stores final outcomes in batches, then writes them to the sinks.

It consumes the responded queue and every dead-letter queue. A batch is stored
in one transaction and only then acknowledged, so a crash at any point leaves
either the whole batch stored or none of it (and it is delivered again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from supporter.brokers.base import Broker, Delivery
from supporter.domain.messages import (
    AnalyzedTicketMessage,
    DeadLetterMessage,
    RespondedTicketMessage,
    TicketMessage,
    decode,
)
from supporter.domain.models import TicketResult, Usage
from supporter.sinks.base import ResultSink
from supporter.store.base import Outcome, ResultStore, StoreError

log = logging.getLogger(__name__)


def outcome_of(body: bytes) -> Outcome:
    """Turn a responded message or a dead letter into what is stored and written."""
    message = decode(body)
    if isinstance(message, RespondedTicketMessage):
        result = TicketResult(
            ticket_id=message.ticket.ticket_id,
            customer_id=message.ticket.customer_id,
            status="responded",
            analysis=message.analysis,
            reply=message.reply,
            grounding=message.grounding,
            provider=message.provider,
            attempts=message.total_attempts,
            usage=message.usage,
        )
        return Outcome(result=result, ticket=message.ticket, history=message.history)
    if isinstance(message, DeadLetterMessage):
        return _failed(message)
    raise ValueError(f"the output stage cannot take a {message.kind!r} message")


def _failed(letter: DeadLetterMessage) -> Outcome:
    original: TicketMessage | AnalyzedTicketMessage | None = None
    try:
        parsed = decode(letter.original)
        if isinstance(parsed, TicketMessage | AnalyzedTicketMessage):
            original = parsed
    except ValidationError:
        original = None
    analysis = original.analysis if isinstance(original, AnalyzedTicketMessage) else None
    result = TicketResult(
        ticket_id=letter.ticket_id or f"unreadable:{letter.message_id}",
        customer_id=letter.customer_id or "",
        status="failed",
        analysis=analysis,
        provider=original.provider if isinstance(original, AnalyzedTicketMessage) else None,
        attempts=max(1, len(letter.history)),
        error=letter.reason,
        usage=original.usage if isinstance(original, AnalyzedTicketMessage) else Usage(),
    )
    ticket = original.ticket if original is not None else None
    return Outcome(result=result, ticket=ticket, history=letter.history, dead_letter=letter)


class OutputStage:
    def __init__(
        self,
        broker: Broker,
        store: ResultStore,
        version: str,
        sinks: Sequence[ResultSink],
        on_stored: Callable[[Sequence[TicketResult]], None],
        *,
        batch_size: int = 256,
        linger: float = 0.05,
    ) -> None:
        self._broker = broker
        self._store = store
        self._version = version
        self._sinks = sinks
        self._on_stored = on_stored
        self._batch_size = batch_size
        self._linger = linger
        self._write_lock = asyncio.Lock()

    async def run(self, queue: str) -> None:
        """Consume `queue` in batches until cancelled."""
        loop = asyncio.get_running_loop()
        async with self._broker.consume(queue, prefetch=self._batch_size) as deliveries:
            while True:
                batch = [await anext(deliveries)]
                deadline = loop.time() + self._linger
                while len(batch) < self._batch_size:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
                    # cancellation that races with a delivery, and the stage never stops.
                    try:
                        async with asyncio.timeout(remaining):
                            batch.append(await anext(deliveries))
                    except TimeoutError:
                        break
                await self._flush(batch)

    async def _flush(self, batch: list[Delivery]) -> None:
        readable: list[tuple[Delivery, Outcome]] = []
        for delivery in batch:
            try:
                readable.append((delivery, outcome_of(delivery.body)))
            except (ValidationError, ValueError) as error:
                # Only a bug or a foreign publisher sends these; nothing later could use it.
                log.error(
                    "output stage dropped unreadable message %s: %s", delivery.message_id, error
                )
                await delivery.ack()
        if not readable:
            return
        outcomes = [outcome for _, outcome in readable]
        async with self._write_lock:
            try:
                await self._store.save(self._version, outcomes)
            except StoreError:
                log.exception("could not store %d results; they will be retried", len(outcomes))
                for delivery, _ in readable:
                    await delivery.requeue()
                await asyncio.sleep(1.0)
                return
            results = [outcome.result for outcome in outcomes]
            for sink in self._sinks:
                sink.write(results)
        for delivery, _ in readable:
            await delivery.ack()
        self._on_stored(results)
