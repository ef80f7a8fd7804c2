"""The output stage: stores final outcomes in batches, then writes them to the sinks.

It consumes the responded queue and every dead-letter queue. A batch is stored
in one transaction and only then acknowledged, so a crash at any point leaves
either the whole batch stored or none of it (and it is delivered again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from supporter.brokers.base import Broker, BrokerError, Delivery
from supporter.domain.errors import FatalError
from supporter.domain.messages import (
    AnalyzedTicketMessage,
    AnyStageMessage,
    DeadLetterMessage,
    RespondedTicketMessage,
    TicketMessage,
    WriteBackMessage,
    decode,
    encode,
)
from supporter.domain.models import TicketResult, Usage
from supporter.observability import tracing
from supporter.observability.logging import ticket_context
from supporter.pipeline.retry import Reconnects, RetryPolicy, stop_if_cancelled
from supporter.pipeline.stats import StageCounters
from supporter.pipeline.write_back import STAGE as WRITE_BACK_STAGE
from supporter.pipeline.write_back import WRITE_BACK, WriteBackRoute
from supporter.sinks.base import ResultSink
from supporter.store.base import Outcome, ResultStore, StoreError

log = logging.getLogger(__name__)

# The output stage's name in logs, metrics and `supporter status`.
STAGE = "sink"


class OutputEvents(Protocol):
    """What the output stage tells whoever runs it."""

    def on_stored(self, results: Sequence[TicketResult]) -> None: ...

    def on_dropped(self) -> None:
        """An unreadable message was dropped: it still counts as finished."""
        ...

    def on_fatal(self, error: FatalError) -> None: ...


def outcome_of(message: AnyStageMessage) -> Outcome:
    """Turn a responded message or a dead letter into what is stored and written."""
    if isinstance(message, DeadLetterMessage) and message.stage == WRITE_BACK_STAGE:
        raise ValueError("a write-back's dead letter leaves the ticket's result as it is")
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
        return Outcome(
            result=result,
            ticket=message.ticket,
            history=message.history,
            origin_id=message.origin_id,
        )
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
    return Outcome(
        result=result,
        ticket=ticket,
        history=letter.history,
        dead_letter=letter,
        origin_id=original.origin_id if original is not None else None,
    )


class OutputStage:
    """Stores and writes what the other stages finished.

    A store that keeps failing is retried with backoff, then stops the run as a
    fatal error (the batch goes back to its queue, unstored). A results file that
    cannot be written stops the run too; what was stored is written again by the
    next run, which rewrites the file from the store.
    """

    def __init__(
        self,
        broker: Broker,
        store: ResultStore,
        version: str,
        sinks: Sequence[ResultSink],
        events: OutputEvents,
        *,
        batch_size: int = 256,
        linger: float = 0.05,
        store_retries: RetryPolicy,
        counters: StageCounters | None = None,
        write_back: WriteBackRoute | None = None,
    ) -> None:
        """`write_back`: the helpdesk write-back configured, whose dead letters this
        stage keeps and, but in `after-review` mode, whose queue gets each result."""
        self._write_back = write_back
        self._broker = broker
        self._counters = counters if counters is not None else StageCounters()
        self._store = store
        self._version = version
        self._sinks = sinks
        self._events = events
        self._batch_size = batch_size
        self._linger = linger
        self._store_retries = store_retries
        self._write_lock = asyncio.Lock()
        self._intake_stopped = False
        self.stopped = False

    @property
    def busy(self) -> bool:
        """Whether some delivery is taken but not yet settled."""
        return self._counters.in_flight > 0

    async def run(self, queue: str) -> None:
        """Consume `queue` in batches until cancelled or a fatal error."""
        reconnects = Reconnects()
        with ticket_context(stage=STAGE):
            while not self.stopped:
                try:
                    await self._consume(queue)
                    return
                except BrokerError as error:
                    # What this consumer held goes back to the queue on the broker's side;
                    # a copy of something already stored is recognised and written once.
                    stop_if_cancelled()
                    pause = reconnects.pause(self._counters.consumed)
                    log.warning(
                        "output stage lost its consumer of %s (again in %.1fs): %s",
                        queue,
                        pause,
                        error,
                    )
                    await asyncio.sleep(pause)

    def stop_intake(self) -> None:
        """Take no more batches; the one being stored finishes (a stopping worker)."""
        self._intake_stopped = True

    async def _consume(self, queue: str) -> None:
        async with self._broker.consume(queue, prefetch=self._batch_size) as deliveries:
            while not self.stopped and not self._intake_stopped:
                stop_if_cancelled()
                taken: list[int] = []
                try:
                    batch = await self._take(deliveries, taken)
                    if self._intake_stopped:
                        # Unsettled, the batch goes back with the consumer: a stop
                        # request came while it was being gathered.
                        return
                    await self._flush(batch)
                except FatalError as error:
                    self.stopped = True
                    self._events.on_fatal(error)
                finally:
                    # Whatever ended the batch (a lost consumer, a cancellation), what
                    # it took is no longer in flight here.
                    for token in taken:
                        self._counters.end(token)

    async def _take(self, deliveries: AsyncIterator[Delivery], taken: list[int]) -> list[Delivery]:
        """A delivery, and what else arrives within `linger`, up to a batch."""
        batch = [await anext(deliveries)]
        taken.append(self._counters.begin())
        deadline = asyncio.get_running_loop().time() + self._linger
        while len(batch) < self._batch_size:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
            # cancellation that races with a delivery, and the stage never stops.
            try:
                async with asyncio.timeout(remaining):
                    batch.append(await anext(deliveries))
                    taken.append(self._counters.begin())
            except TimeoutError:
                break
        return batch

    async def _flush(self, batch: list[Delivery]) -> None:
        started = time.time_ns()
        # Each body is decoded once, here: the write-back letters, the outcomes and
        # the write-backs all read the decoded message.
        decoded: list[tuple[Delivery, AnyStageMessage]] = []
        for delivery in batch:
            try:
                decoded.append((delivery, decode(delivery.payload)))
            except ValidationError as error:
                await self._drop(delivery, started, error)
        decoded = await self._keep_write_back_letters(decoded)
        readable: list[tuple[Delivery, Outcome]] = []
        messages: list[AnyStageMessage] = []
        for delivery, message in decoded:
            try:
                readable.append((delivery, outcome_of(message)))
            except ValueError as error:
                await self._drop(delivery, started, error)
            else:
                messages.append(message)
        if not readable:
            return
        outcomes = [outcome for _, outcome in readable]
        async with self._write_lock:
            try:
                fresh = await self._save(outcomes)
            except FatalError as error:
                for delivery, outcome in readable:
                    _trace(delivery, outcome, started, "requeued", type(error).__name__)
                    # Unsettled, it comes back anyway once its connection is gone.
                    with contextlib.suppress(BrokerError):
                        await delivery.requeue()
                raise
            stored = {id(outcome) for outcome in fresh}
            # Each stored message's trace context: its write-back continues from it.
            contexts: list[dict[str, str]] = []
            for delivery, outcome in readable:
                contexts.append(
                    _trace(
                        delivery,
                        outcome,
                        started,
                        "stored" if id(outcome) in stored else "stored_already",
                    )
                )
            # A redelivered copy's result is stored already: it gets no second line.
            results = [outcome.result for outcome in fresh]
            _log_stored(outcomes, fresh)
            try:
                for sink in self._sinks:
                    sink.write(results)
            except OSError as error:
                await self._settle(readable, results)
                raise FatalError(f"cannot write the results file: {error}") from error
        # Every stored result, a redelivered one too: its write-back may not have been
        # sent before; the write-back stage writes each version once.
        await self._send_write_backs(list(zip(messages, contexts, strict=True)))
        await self._settle(readable, results)

    async def _drop(self, delivery: Delivery, started: int, error: Exception) -> None:
        # Only a bug or a foreign publisher sends these; nothing later could use
        # it. The error's text could quote ticket data, so only its kind is logged.
        log.error(
            "output stage dropped unreadable message %s (%s)",
            delivery.message_id,
            type(error).__name__,
        )
        await delivery.ack()
        self._events.on_dropped()
        _trace(delivery, None, started, "dropped", type(error).__name__)

    async def _keep_write_back_letters(
        self, batch: list[tuple[Delivery, AnyStageMessage]]
    ) -> list[tuple[Delivery, AnyStageMessage]]:
        """Store the write-back stage's dead letters (its ticket's result stays as it
        is) and settle them; the rest of the batch is returned."""
        route = self._write_back
        if route is None:
            return batch
        rest: list[tuple[Delivery, AnyStageMessage]] = []
        letters: list[tuple[Delivery, DeadLetterMessage]] = []
        for delivery, message in batch:
            if isinstance(message, DeadLetterMessage) and message.stage == WRITE_BACK_STAGE:
                letters.append((delivery, message))
            else:
                rest.append((delivery, message))
        if letters:
            await self._keep([letter for _, letter in letters])
            for _, letter in letters:
                route.on_dead_letter(letter)
            # One that is not acknowledged comes back and is kept again, harmlessly.
            await self._broker.ack_many([delivery for delivery, _ in letters])
            self._counters.succeeded += len(letters)
        return rest

    async def _keep(self, letters: list[DeadLetterMessage]) -> None:
        policy = self._store_retries
        attempt = 1
        while True:
            try:
                await self._store.keep_dead_letters(letters)
                return
            except StoreError as error:
                if not policy.can_retry(attempt):
                    raise FatalError(f"cannot store dead letters: {error}") from error
                await asyncio.sleep(policy.delay(attempt))
                attempt += 1

    async def _send_write_backs(self, stored: list[tuple[AnyStageMessage, dict[str, str]]]) -> None:
        """A write-back of each stored result, in the trace of the sink's span for it."""
        route = self._write_back
        if route is None or not route.after_storing:
            return
        for message, context in stored:
            if not isinstance(message, RespondedTicketMessage):
                continue
            write_back = WriteBackMessage(
                origin_id=message.origin_id,
                helpdesk=route.helpdesk,
                mode=route.mode.value,
                ticket=message.ticket,
                analysis=message.analysis,
                reply=message.reply,
                grounding=message.grounding,
                transactions=message.transactions,
            )
            await self._broker.publish(
                WRITE_BACK,
                encode(write_back),
                message_id=write_back.message_id,
                headers=context,
                key=message.ticket.customer_id,
            )
            route.on_published()

    async def _settle(
        self, readable: list[tuple[Delivery, Outcome]], results: list[TicketResult]
    ) -> None:
        # Stored before acknowledged: if an ack is lost with its connection, the message
        # comes back, is recognised as stored, and gets no second line.
        self._counters.succeeded += len(readable)
        self._events.on_stored(results)
        # Together: one exchange with the broker for the batch where it allows,
        # instead of a round trip per message.
        unsettled = await self._broker.ack_many([delivery for delivery, _ in readable])
        if unsettled:
            log.warning(
                "output stage could not acknowledge %d stored results: they come back once",
                unsettled,
            )

    async def _save(self, outcomes: list[Outcome]) -> list[Outcome]:
        policy = self._store_retries
        attempt = 1
        while True:
            try:
                return await self._store.save(self._version, outcomes)
            except StoreError as error:
                if not policy.can_retry(attempt):
                    raise FatalError(f"cannot store results: {error}") from error
                log.warning(
                    "could not store %d results (try %d): %s", len(outcomes), attempt, error
                )
                await asyncio.sleep(policy.delay(attempt))
                attempt += 1


def _trace(
    delivery: Delivery,
    outcome: Outcome | None,
    started: int,
    what: str,
    error_type: str | None = None,
) -> dict[str, str]:
    """The output stage's span for one message, in the trace the message carries: from
    the start of its batch's flush (in ns since the epoch) to now. Returns the span's
    context as message headers (empty with tracing off)."""
    if not tracing.on():
        return {}
    span = tracing.tracer().start_span(
        STAGE,
        context=tracing.parent_of(delivery.headers),
        kind=SpanKind.CONSUMER,
        start_time=started,
        attributes={
            "messaging.message.id": delivery.message_id,
            "messaging.operation.type": "process",
            "supporter.stage": STAGE,
            "supporter.outcome": what,
        },
    )
    if outcome is not None:
        span.set_attributes(
            {
                "supporter.ticket_id": outcome.result.ticket_id,
                "supporter.status": outcome.result.status,
            }
        )
    if error_type is not None:
        tracing.failed(span, error_type)
    span.end()
    with trace.use_span(span):
        return tracing.headers()


def _log_stored(outcomes: Sequence[Outcome], fresh: Sequence[Outcome]) -> None:
    """A line per ticket (DEBUG: routine), each with the ticket's context."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    stored = {id(outcome) for outcome in fresh}
    for outcome in outcomes:
        result = outcome.result
        # The output stage has no tries of its own: `attempt` is left out.
        with ticket_context(result.ticket_id, STAGE):
            if id(outcome) in stored:
                log.debug("stored ticket %s as %s", result.ticket_id, result.status)
            else:
                log.debug("ticket %s was stored already: not written again", result.ticket_id)
