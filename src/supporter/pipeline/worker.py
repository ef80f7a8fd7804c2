"""The loop every stage runs: consume, handle, publish downstream, then acknowledge
(together with the stage's other confirmed inputs, see acks.py).

Failures are sorted here, once for all stages: a transient one is retried later
with backoff (a delayed publish of the same message with the try recorded), a
permanent one or the last try goes to the stage's fallback when it has one and
otherwise to its dead-letter queue with the whole history, and a fatal one (or
a Retry-After beyond reason, or a `BaseException` that is neither an `Exception` nor
a cancellation) hands the message back and stops the stage. A
circuit breaker, when given, holds messages back while the provider is down:
only unavailability counts (a `TransientError` other than `InvalidAnswerError`);
a provider that answers, even out of schema, is up, and such a ticket uses its
tries at the normal pace. A worker that `parks` (the write-back stage of a service)
charges no try for an unavailability failure that leaves the circuit open: the
message goes back to its queue with the tries it had, to wait for the circuit's
next trial. The failures before the circuit opens still count as tries, so a message
already near its last try when an outage begins can still be dead-lettered (and
`dlq replay` sends it); however long the outage lasts, it spends no more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError

from supporter.brokers.base import Broker, BrokerError, Delivery, dead_letter_queue
from supporter.domain.errors import (
    FatalError,
    InvalidAnswerError,
    NotTriedError,
    PermanentError,
    TransientError,
)
from supporter.domain.messages import (
    AnalyzedTicketMessage,
    AttemptRecord,
    DeadLetterMessage,
    TicketMessage,
    WriteBackMessage,
    decode_as,
    encode,
)
from supporter.observability import tracing
from supporter.observability.logging import error_text, ticket_context
from supporter.observability.readings import DeadLetterCause
from supporter.pipeline.acks import AckBatcher
from supporter.pipeline.circuit import CircuitBreaker
from supporter.pipeline.retry import Reconnects, RetryPolicy, stop_if_cancelled
from supporter.pipeline.stats import StageCounters

log = logging.getLogger(__name__)

_BROKER_BACKOFF = 0.5

In = TypeVar("In", bound=TicketMessage | AnalyzedTicketMessage | WriteBackMessage)
Out = TypeVar("Out", bound=BaseModel)


@dataclass(frozen=True)
class Stage(Generic[In, Out]):
    """What a stage is: where it reads, what it does, where it writes."""

    name: str
    queue: str
    # "" for a stage whose work ends in it (the write-back): nothing is published.
    output_queue: str
    message_type: type[In]
    handle: Callable[[In], Awaitable[Out]]
    concurrency: int = 1
    # Answers a message the stage gave up on, instead of dead-lettering it.
    fallback: Callable[[In], Awaitable[Out]] | None = None
    # Whether an output came from a call to the provider (None: every one did). One that
    # did not (a write-back found already written) says nothing about the provider's
    # health: it must not close a circuit a half-open trial is testing.
    called_provider: Callable[[Out], bool] | None = None


class StageWorker(Generic[In, Out]):
    def __init__(
        self,
        stage: Stage[In, Out],
        broker: Broker,
        policy: RetryPolicy,
        counters: StageCounters,
        on_fatal: Callable[[FatalError], None],
        breaker: CircuitBreaker | None = None,
        *,
        window: int = 0,
        park: bool = False,
    ) -> None:
        """`window`: messages taken beyond the stage's concurrency, so that while
        `concurrency` are being worked on, up to `window` more are being published
        downstream (a broker's confirmation is a round trip) or wait their turn.
        `park`: an unavailability failure that leaves the `breaker` open costs the
        message no try (see the module's docstring); a batch run that must end does
        not park."""
        self.stage = stage
        self._broker = broker
        self._policy = policy
        self._counters = counters
        self._on_fatal = on_fatal
        self._intake_stopped = False
        self._breaker = breaker
        self._window = window
        self._park = park and breaker is not None
        self._working = asyncio.Semaphore(stage.concurrency)
        # Inputs are acknowledged together (see acks.py), not one round trip each.
        self._acks = AckBatcher(broker, stage.name)

    def stop_intake(self) -> None:
        """Take no more messages (a later one goes back at once); those in flight finish."""
        self._intake_stopped = True

    async def run(self) -> None:
        """Consume until cancelled or a fatal error; unsettled messages go back to the queue.

        After a fatal error the tasks in flight still finish (or meet the same error).
        """
        reconnects = Reconnects()
        while not self._intake_stopped:
            try:
                await self._consume()
                return
            except BrokerError as error:
                # The connection dropped under the consumer; what it held goes back to
                # the queue on the broker's side. Consume again once the broker is back,
                # unless this is the stage being stopped.
                stop_if_cancelled()
                pause = reconnects.pause(self._counters.consumed)
                log.warning(
                    "stage %s lost its consumer (again in %.1fs): %s", self.stage.name, pause, error
                )
                await asyncio.sleep(pause)

    async def _consume(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        prefetch = self.stage.concurrency + self._window
        async with self._broker.consume(self.stage.queue, prefetch=prefetch) as deliveries:
            try:
                async for delivery in deliveries:
                    stop_if_cancelled()
                    if self._intake_stopped:
                        # Stopping, or a fatal error: every further message would meet it too.
                        await self._requeue(delivery)
                        break
                    task = asyncio.create_task(self.process(delivery))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await asyncio.gather(*tasks, return_exceptions=True)
            except BrokerError:
                # The consumer is gone, not the work in flight: let it finish (its model
                # calls are paid for; where its ack fails, the message comes back).
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                # Inside the consumer: leaving it hands back whatever is unsettled, and
                # these messages' outputs are confirmed.
                await self._acks.drain()

    async def process(self, delivery: Delivery) -> None:
        """Handle one delivery and settle it; never raises (but for cancellation, and
        `SystemExit` or `KeyboardInterrupt` once the message is handed back).

        Every log line meanwhile names the stage, and once the message is read, its
        ticket and try too."""
        token = self._counters.begin()
        try:
            with tracing.stage_span(
                self.stage.name,
                kind=SpanKind.CONSUMER,
                queue=self.stage.queue,
                message_id=delivery.message_id,
                parent=tracing.parent_of(delivery.headers),
            ) as span:
                message, invalid = self._parse(delivery)
                if message is None:
                    context = ticket_context(stage=self.stage.name)
                else:
                    span.set_attributes(
                        {
                            "supporter.ticket_id": message.ticket_id,
                            "supporter.attempt": message.attempt,
                        }
                    )
                    context = ticket_context(message.ticket_id, self.stage.name, message.attempt)
                with context:
                    await self._settle(delivery, message, invalid)
        finally:
            self._counters.end(token)

    def _parse(self, delivery: Delivery) -> tuple[In | None, str]:
        """The message, or None and why it cannot be read."""
        try:
            return decode_as(self.stage.message_type, delivery.payload), ""
        except ValidationError as error:
            reason = (
                f"invalid message: {error.error_count()} errors, first: {error.errors()[0]['msg']}"
            )
            return None, reason

    async def _settle(self, delivery: Delivery, message: In | None, invalid: str) -> None:
        try:
            if message is None:
                await self._dead_letter(delivery, None, invalid, "InvalidMessage", [], "invalid")
            else:
                await self._process(delivery, message)
        except Exception as error:
            # The broker failed us (publish or settle): hand the message back so it is
            # done again; downstream is idempotent by ticket, so a repeat is harmless.
            # A broker that is down is expected now and then; anything else is a bug.
            broker_down = isinstance(error, BrokerError)
            log.log(
                logging.WARNING if broker_down else logging.ERROR,
                "stage %s could not settle message %s: %s",
                self.stage.name,
                delivery.message_id,
                # A broker's words name no ticket; a bug's could quote one: its
                # traceback goes to DEBUG.
                error if broker_down else error_text(error),
            )
            if not broker_down:
                log.debug("stage %s failed to settle", self.stage.name, exc_info=error)
            tracing.failed(trace.get_current_span(), type(error).__name__)
            # A pause before handing it back keeps a broker that is down from being
            # hammered in a tight loop; the held prefetch slot slows intake meanwhile.
            await asyncio.sleep(_BROKER_BACKOFF)
            with contextlib.suppress(Exception):
                await self._requeue(delivery)
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            # Not an error the stage can sort (SystemExit, or a library's own
            # BaseException): left to the gather of tasks, it would leave the message
            # unsettled and the run waiting for it. Hand it back and stop the stage.
            name = type(error).__name__
            log.error(
                "stage %s stopped: %s while handling message %s",
                self.stage.name,
                name,
                delivery.message_id,
            )
            log.debug("stage %s stopped by %s", self.stage.name, name, exc_info=error)
            fatal = FatalError(f"stage {self.stage.name} raised {name}")
            with contextlib.suppress(Exception):  # a failed requeue: back when consumer closes
                await self._stop_for(delivery, fatal)
            # The event loop itself stops on these two; any other would only be dropped.
            if isinstance(error, KeyboardInterrupt | SystemExit):
                raise

    async def _process(self, delivery: Delivery, message: In) -> None:
        output = await self._work(delivery, message)
        if output is None:
            return
        # Outside the work's bound: the next message is worked on while this one's
        # publish waits for the broker's confirmation. Acknowledged only after it.
        if self.stage.output_queue:
            await self._publish(self.stage.output_queue, output, message)
        if not await self._acks.ack(delivery):
            return
        self._counters.succeeded += 1
        _outcome("succeeded")

    async def _work(self, delivery: Delivery, message: In) -> Out | None:
        """The stage's output, at most `concurrency` at a time; None when the message
        was settled otherwise (retried, dead-lettered, answered by the fallback,
        handed back)."""
        async with self._working:
            if self._intake_stopped:
                # Taken ahead of its turn and not started: back to the queue.
                _outcome("requeued")
                await self._requeue(delivery)
                return None
            return await self._handle(delivery, message)

    async def _handle(self, delivery: Delivery, message: In) -> Out | None:
        if self._breaker is not None:
            await self._breaker.admit()
        try:
            output = await self.stage.handle(message)
        except TransientError as error:
            if not self._policy.retry_after_acceptable(error.retry_after):
                # A server asking for an hour's wait is not a hiccup: stop, keep the ticket.
                await self._stop_for(
                    delivery, FatalError(f"{error} (asked to wait {error.retry_after:.0f}s)")
                )
                return None
            if isinstance(error, NotTriedError):
                await self._inconclusive()
            elif isinstance(error, InvalidAnswerError):
                await self._answered()
            elif self._breaker is not None and await self._breaker.failure() and self._park:
                await self._park_message(delivery, message, error)
                return None
            await self._retry_or_give_up(delivery, message, error)
        except FatalError as error:
            await self._stop_for(delivery, error)
        except PermanentError as error:
            await self._answered()
            record = self._record(message, error, transient=False)
            await self._give_up(
                delivery,
                message,
                str(error),
                type(error).__name__,
                [*message.history, record],
                "permanent",
            )
        except Exception as error:
            # A bug says nothing about the provider: it neither opens nor closes the circuit.
            await self._inconclusive()
            await self._retry_or_give_up(delivery, message, error)
        else:
            called = self.stage.called_provider
            if called is None or called(output):
                await self._answered()
            else:
                await self._inconclusive()
            return output
        return None

    async def _publish(
        self,
        queue: str,
        output: BaseModel,
        source: In | None,
        *,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Publish what this stage made of `source`: keyed by its customer (so a
        partitioning broker keeps a customer's tickets in order) and carrying the
        trace this work belongs to."""
        await self._broker.publish(
            queue,
            encode(output),
            message_id=_message_id(output),
            headers={**(headers or {}), **tracing.headers()},
            delay=delay,
            key=source.ticket.customer_id if source is not None else None,
        )

    async def _stop_for(self, delivery: Delivery, error: FatalError) -> None:
        _outcome("requeued")
        tracing.failed(trace.get_current_span(), type(error).__name__)
        self._intake_stopped = True
        try:
            await self._requeue(delivery)
        finally:
            # A broker that fails the requeue gets the message back when the consumer
            # closes; the run must stop either way.
            self._on_fatal(error)

    async def _requeue(self, delivery: Delivery) -> None:
        # The acknowledgements decided before go first, so the broker settles in the
        # order the stage decided (a hand-back never overtakes an earlier ack).
        await self._acks.drain()
        await delivery.requeue()

    async def _answered(self) -> None:
        """The provider answered (even with a refusal or out of schema): it is up."""
        if self._breaker is not None:
            await self._breaker.success()

    async def _inconclusive(self) -> None:
        """The try said nothing about the provider (not called, or a bug of ours)."""
        if self._breaker is not None:
            await self._breaker.inconclusive()

    async def _retry_or_give_up(self, delivery: Delivery, message: In, error: Exception) -> None:
        if not isinstance(error, TransientError):
            # Unknown errors are retried too: they may pass, and the history keeps them.
            log.warning(
                "unexpected error in stage %s for ticket %s: %s",
                self.stage.name,
                message.ticket_id,
                error_text(error),  # its text may quote the ticket: the traceback at DEBUG
            )
            log.debug("unexpected error in stage %s", self.stage.name, exc_info=error)
        record = self._record(message, error, transient=True)
        history = [*message.history, record]
        if not self._policy.can_retry(message.attempt):
            reason = f"gave up after {message.attempt} tries: {error_text(error)}"
            await self._give_up(
                delivery, message, reason, type(error).__name__, history, "retries_exhausted"
            )
            return
        retry_after = error.retry_after if isinstance(error, TransientError) else None
        delay = self._policy.delay(message.attempt, retry_after)
        retry = message.model_copy(update={"attempt": message.attempt + 1, "history": history})
        log.info(
            "retrying ticket %s in stage %s (try %d) in %.2fs: %s",
            message.ticket_id,
            self.stage.name,
            retry.attempt,
            delay,
            error_text(error),
        )
        await self._publish(self.stage.queue, retry, message, delay=delay)
        if not await self._acks.ack(delivery):
            return
        self._counters.retried += 1
        _outcome("retried", type(error).__name__)

    async def _park_message(self, delivery: Delivery, message: In, error: TransientError) -> None:
        """Back to the stage's queue with the tries it had: the circuit is open, so the
        failure says the dependency is down, not that this message is bad. It waits for
        the circuit's next trial (and for a Retry-After the server gave)."""
        log.info(
            "parking ticket %s in stage %s while its circuit is open (try %d not spent): %s",
            message.ticket_id,
            self.stage.name,
            message.attempt,
            error_text(error),
        )
        await self._publish(self.stage.queue, message, message, delay=error.retry_after or 0.0)
        if not await self._acks.ack(delivery):
            return
        self._counters.parked += 1
        _outcome("parked", type(error).__name__)

    def _record(self, message: In, error: Exception, *, transient: bool) -> AttemptRecord:
        text = str(error) or type(error).__name__
        return AttemptRecord(
            stage=self.stage.name, attempt=message.attempt, error=text, transient=transient
        )

    async def _give_up(
        self,
        delivery: Delivery,
        message: In,
        reason: str,
        error_type: str,
        history: list[AttemptRecord],
        cause: DeadLetterCause,
    ) -> None:
        """The fallback answers when there is one; otherwise the dead-letter queue."""
        fallback = self.stage.fallback
        if fallback is not None:
            try:
                output = await fallback(cast(In, message.model_copy(update={"history": history})))
            except Exception as error:
                log.warning(
                    "fallback of stage %s failed for ticket %s: %s",
                    self.stage.name,
                    message.ticket_id,
                    type(error).__name__,
                )
            else:
                log.info(
                    "ticket %s answered by the fallback in stage %s: %s",
                    message.ticket_id,
                    self.stage.name,
                    reason,
                )
                await self._publish(self.stage.output_queue, output, message)
                if not await self._acks.ack(delivery):
                    return
                self._counters.fell_back += 1
                _outcome("fell_back", error_type)
                return
        await self._dead_letter(delivery, message, reason, error_type, history, cause)

    async def _dead_letter(
        self,
        delivery: Delivery,
        message: In | None,
        reason: str,
        error_type: str,
        history: list[AttemptRecord],
        cause: DeadLetterCause,
    ) -> None:
        letter = DeadLetterMessage(
            stage=self.stage.name,
            queue=self.stage.queue,
            reason=reason,
            error_type=error_type,
            ticket_id=message.ticket_id if message else None,
            customer_id=message.ticket.customer_id if message else None,
            # Kept as text: a NUL, which only an unreadable body holds raw, cannot be.
            original=delivery.body.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
            history=history,
        )
        log.warning(
            "dead-lettered %s in stage %s: %s",
            f"ticket {letter.ticket_id}" if letter.ticket_id else "an unreadable message",
            self.stage.name,
            reason,
        )
        await self._publish(
            dead_letter_queue(self.stage.queue),
            letter,
            message,
            headers=_dead_letter_headers(letter),
        )
        if not await self._acks.ack(delivery):
            return
        self._counters.dead_lettered += 1
        _outcome("dead_lettered", error_type)
        self._counters.dead_letter_causes[cause] += 1


# Bounds of the dead-letter headers: the whole letter is in the body; headers are
# for tools that route or list dead letters without reading it.
_REASON_CHARS = 200
_HISTORY_CHARS = 2000


def _dead_letter_headers(letter: DeadLetterMessage) -> dict[str, str]:
    """Why and after which tries a message was dead-lettered, as headers: the reason,
    stage, error type, number of tries, and the tries (stage, try, error type, when)
    as JSON, newest kept when they do not all fit."""
    tries = [
        {
            "stage": record.stage,
            "attempt": record.attempt,
            "error": record.error[:80],
            "transient": record.transient,
            "at": record.at.isoformat(),
        }
        for record in letter.history
    ]
    history = json.dumps(tries, separators=(",", ":"))
    while len(history) > _HISTORY_CHARS and tries:
        tries.pop(0)
        history = json.dumps(tries, separators=(",", ":"))
    return {
        "reason": letter.reason[:_REASON_CHARS],
        "stage": letter.stage,
        "error_type": letter.error_type,
        "attempts": str(len(letter.history)),
        "history": history,
    }


def _outcome(outcome: str, error_type: str | None = None) -> None:
    """Record on the current span how the stage settled its message."""
    if not tracing.on():
        return
    span = trace.get_current_span()
    span.set_attribute("supporter.outcome", outcome)
    if error_type is None:
        return
    if outcome == "fell_back":
        # The ticket was answered after all, by the fallback: not a failed span.
        span.set_attribute("error.type", error_type)
    else:
        tracing.failed(span, error_type)


def _message_id(message: BaseModel) -> str:
    return str(getattr(message, "message_id", ""))
