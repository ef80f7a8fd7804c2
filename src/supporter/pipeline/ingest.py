"""The ingest stage: read tickets, keep those waiting for an answer, attach the
customer's recent transactions, and publish them (waiting while the queue is full),
a window of them in flight at once.

Without an index at hand (`supporter ingest` with no transactions file), tickets go
out without transactions and the analyze workers look them up in the shared store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass

from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from supporter.brokers.base import Broker
from supporter.domain.messages import (
    AnalyzedTicketMessage,
    TicketMessage,
    WriteBackMessage,
    decode,
    encode,
    new_message_id,
)
from supporter.observability import tracing
from supporter.pipeline.stages import TICKETS
from supporter.pipeline.stats import RunStats
from supporter.pipeline.window import PublishWindow, until_stopped
from supporter.sources.base import RejectHandler, TicketSource
from supporter.store.base import DeadLetterRecord
from supporter.transactions.base import TransactionIndex, TransactionWindow


@dataclass(frozen=True)
class IngestOptions:
    open_statuses: frozenset[str] = frozenset({"new", "open"})
    lookback_days: int = 90
    max_transactions: int = 20

    @property
    def window(self) -> TransactionWindow:
        return TransactionWindow(self.lookback_days, self.max_transactions)


class Ingestor:
    def __init__(
        self,
        broker: Broker,
        index: TransactionIndex | None,
        options: IngestOptions,
        stats: RunStats,
        done: Collection[str],
        *,
        grace: float = 30.0,
        window: int = 64,
    ) -> None:
        self._broker = broker
        self._index = index
        self._options = options
        self._stats = stats
        self._done = done
        self._grace = grace
        self._window = window
        self.skipped_done: list[str] = []

    async def run(
        self, source: TicketSource, on_reject: RejectHandler, stop: asyncio.Event
    ) -> None:
        """Publish every open ticket not done yet, until the source ends or `stop` is set.

        Up to `window` publishes are in flight at once. A stop ends reading at
        once, wherever it waits (a full queue, a slow broker), and gives the publishes
        in flight `grace` seconds to be confirmed; those that are not count as not
        published (a rerun publishes them again: downstream is idempotent by ticket)."""
        window = PublishWindow(self._window)
        try:
            await until_stopped(self._feed(source, on_reject, window, stop), stop)
            await until_stopped(window.drain(), stop, grace=self._grace)
        finally:
            await window.cancel()

    async def _feed(
        self,
        source: TicketSource,
        on_reject: RejectHandler,
        window: PublishWindow,
        stop: asyncio.Event,
    ) -> None:
        options = self._options
        transactions_of = options.window.of
        async for ticket in source.tickets(on_reject):
            if stop.is_set():
                return
            self._stats.read += 1
            if ticket.status not in options.open_statuses:
                self._stats.skipped_status += 1
                continue
            if ticket.ticket_id in self._done:
                self._stats.already_done += 1
                self.skipped_done.append(ticket.ticket_id)
                continue
            transactions = None
            if self._index is not None:
                transactions = await transactions_of(self._index, ticket)
            message = TicketMessage(ticket=ticket, transactions=transactions)
            await window.put(
                publish_ticket(self._broker, TICKETS, message, "ingest"), self._published
            )

    def _published(self) -> None:
        self._stats.published += 1


async def publish_ticket(
    broker: Broker,
    queue: str,
    message: TicketMessage | AnalyzedTicketMessage | WriteBackMessage,
    how: str,
) -> None:
    """Send a ticket into the pipeline (from `how`: ingest, replay), starting its trace:
    every stage's span for it joins the one begun here."""
    with tracing.stage_span(
        how, kind=SpanKind.PRODUCER, queue=queue, message_id=message.message_id, parent=Context()
    ) as span:
        span.set_attribute("supporter.ticket_id", message.ticket_id)
        await broker.publish(
            queue,
            encode(message),
            message_id=message.message_id,
            headers=tracing.headers(),
            key=message.ticket.customer_id,
        )


async def replay_letter(broker: Broker, letter: DeadLetterRecord) -> bool:
    """Send a dead letter back to the queue of the stage that gave up on it; False when
    its original message cannot be read (nothing is sent)."""
    try:
        message = decode(letter.original)
    except ValueError:
        return False
    if not isinstance(message, TicketMessage | AnalyzedTicketMessage | WriteBackMessage):
        return False
    # A new identity: the replay's result must not pass for a redelivered copy.
    replay_id = new_message_id()
    update: dict[str, object] = {"attempt": 1, "history": [], "message_id": replay_id}
    if isinstance(message, AnalyzedTicketMessage):
        update["origin_id"] = replay_id
    await publish_ticket(broker, letter.queue, message.model_copy(update=update), "replay")
    return True
