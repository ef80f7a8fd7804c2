"""The sweep that sends again tickets stuck in `received`.

Intake stores a ticket, then publishes it. A crash between the two, or a stop of a
process whose in-memory queues held it, leaves it received and never processed. The
sweep, at start and every `interval`, publishes again each received ticket without a
result whose last publish (or reception) is older than `after`, at most `limit` times.

Sending again is safe: every stage is idempotent by ticket, and the copy carries the
message id of the publish it replaces, so should the first one still come through, the
output stage takes the second for a redelivery and stores one result. It is not free:
a copy processed beside its original costs a second model call. So a ticket is only
sent again once its last publish is older than `after` and older than the oldest
message waiting in the stages' queues: a ticket published since that message cannot
still be waiting in a queue, however long the backlog.

On the in-memory broker nothing outlives the process, so the sweep at start sends
every ticket received before it at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from supporter.brokers.base import Broker, BrokerError
from supporter.domain.messages import TicketMessage, new_message_id
from supporter.pipeline.ingest import publish_ticket
from supporter.pipeline.orchestrator import stage_queues
from supporter.pipeline.stages import TICKETS
from supporter.pipeline.stats import RunStats
from supporter.store.base import StoreError
from supporter.store.publishes import Unfinished

log = logging.getLogger(__name__)

# Where a ticket published by intake may still be waiting.
_STAGE_QUEUES = stage_queues(write_back=False)
# How many ticket ids one log line names; the count says the rest.
_LOGGED_IDS = 20


class WaitingTickets(Protocol):
    """Received tickets without a result (`SqlTicketPublishes`)."""

    async def stuck(self, before: datetime, *, limit: int, most: int) -> list[Unfinished]: ...

    async def exhausted(self, before: datetime, *, limit: int) -> int: ...

    async def claim(self, unfinished: Unfinished, message_id: str, now: datetime) -> bool: ...

    async def release(self, unfinished: Unfinished, now: datetime) -> None: ...


@dataclass(frozen=True)
class ResendOptions:
    interval: float = 60.0
    """Seconds between sweeps."""
    after: float = 1800.0
    """A ticket is sent again once its last publish is this many seconds old."""
    limit: int = 3
    """Times a ticket is sent again at most; 0 turns the sweep off."""
    batch: int = 500
    """Tickets one sweep sends at most (the next sweep takes the rest)."""


class ResendSweep:
    def __init__(
        self,
        waiting: WaitingTickets,
        broker: Broker,
        stats: RunStats,
        options: ResendOptions,
        *,
        queues_outlive_process: bool,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """`queues_outlive_process`: False on the in-memory broker, whose queues are empty
        at start. `clock`: the time now (aware), for tests."""
        self._waiting = waiting
        self._broker = broker
        self._stats = stats
        self._options = options
        self._durable = queues_outlive_process
        self._clock = clock or (lambda: datetime.now(UTC))

    async def run(self) -> None:
        """Sweep at start, then every `interval`, until cancelled."""
        if self._options.limit == 0:
            return
        # What was sent before this process started is gone with an in-memory queue.
        lost_before = None if self._durable else self._clock()
        declared = False
        while True:
            try:
                if not declared:
                    # Running beside the stages, which may not have declared them yet.
                    for queue in _STAGE_QUEUES:
                        await self._broker.declare(queue)
                    declared = True
                await self.sweep(lost_before)
            except (StoreError, BrokerError) as error:
                log.warning(
                    "could not send stuck tickets again (next try in %.0fs): %s",
                    self._options.interval,
                    error,
                )
            await asyncio.sleep(self._options.interval)

    async def sweep(self, lost_before: datetime | None = None) -> list[str]:
        """Send again the stuck tickets last sent `after` ago and before the oldest
        message waiting, or before `lost_before` (a time before which anything sent is
        known to be lost); their ids. Raises StoreError or BrokerError."""
        options = self._options
        before = self._clock() - timedelta(seconds=max(options.after, await self._backlog()))
        if lost_before is not None:
            before = max(before, lost_before)
        sent: list[str] = []
        stuck = await self._waiting.stuck(before, limit=options.limit, most=options.batch)
        for unfinished in stuck:
            if await self._send(unfinished):
                sent.append(unfinished.ticket.ticket_id)
        self._stats.resend_exhausted = await self._waiting.exhausted(before, limit=options.limit)
        if sent:
            shown = ", ".join(sent[:_LOGGED_IDS])
            more = f" and {len(sent) - _LOGGED_IDS} more" if len(sent) > _LOGGED_IDS else ""
            log.warning(
                "sent again %d tickets stuck in received (stored, never processed): %s%s",
                len(sent),
                shown,
                more,
            )
        return sent

    async def _backlog(self) -> float:
        """Seconds the oldest message waiting in the stages' queues has waited."""
        ages = [await self._broker.oldest_age(queue) for queue in _STAGE_QUEUES]
        return max((age for age in ages if age is not None), default=0.0)

    async def _send(self, unfinished: Unfinished) -> bool:
        now = self._clock()
        message_id = unfinished.message_id or new_message_id()
        if not await self._waiting.claim(unfinished, message_id, now):
            return False
        message = TicketMessage(ticket=unfinished.ticket, transactions=None, message_id=message_id)
        try:
            await publish_ticket(self._broker, TICKETS, message, "resend")
        except BaseException:  # a cancellation too: the claim must not outlive an unsent copy
            # Finished even when the stop arrives while it runs: a release cut short
            # would leave the ticket counted as sent again, and not sent for `after`.
            release = asyncio.ensure_future(self._waiting.release(unfinished, now))
            try:
                await asyncio.shield(release)
            except asyncio.CancelledError:
                await release
                raise
            raise
        self._stats.resent += 1
        if unfinished.resent + 1 == self._options.limit:
            log.warning(
                "ticket %s was sent again %d times without a result: the last time",
                unfinished.ticket.ticket_id,
                self._options.limit,
            )
        return True
