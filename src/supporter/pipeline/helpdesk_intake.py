"""Tickets in from a helpdesk: its webhooks, and a catch-up poll from a stored cursor.

Both hand tickets to `HelpdeskIntake`, which publishes only what is new or was
edited since it was last taken (so a webhook and a poll that bring the same ticket
bring it once) and only then records it as received from that helpdesk, the mark
that lets the write-back stage write into it. A crash between the two publishes
the ticket again later, which the stages and the write-back take as a repeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from supporter.brokers.base import Broker
from supporter.domain.errors import FatalError
from supporter.domain.masking import mask_card_numbers
from supporter.domain.messages import TicketMessage
from supporter.domain.models import Ticket
from supporter.helpdesks.base import Helpdesk, WebhookEvent, WebhookRejected, WebhookRequest
from supporter.observability.logging import error_text
from supporter.pipeline.ingest import publish_ticket
from supporter.pipeline.stages import TICKETS
from supporter.pipeline.stats import RunStats
from supporter.sources.values import unicode_problem

log = logging.getLogger(__name__)


class HelpdeskState(Protocol):
    """What intake keeps in the store (`SqlHelpdeskState`)."""

    async def unseen(self, helpdesk: str, tickets: Sequence[Ticket]) -> list[Ticket]: ...

    async def receive(self, helpdesk: str, tickets: Sequence[Ticket]) -> None: ...

    async def cursor(self, helpdesk: str) -> str | None: ...

    async def save_cursor(self, helpdesk: str, cursor: str) -> None: ...

    async def remember_delivery(self, helpdesk: str, delivery_id: str) -> bool: ...

    async def forget_delivery(self, helpdesk: str, delivery_id: str) -> None: ...


class HelpdeskIntake:
    def __init__(
        self,
        helpdesk: Helpdesk,
        state: HelpdeskState,
        broker: Broker,
        open_statuses: Collection[str],
    ) -> None:
        self.helpdesk = helpdesk
        self._state = state
        self._broker = broker
        self._open = frozenset(status.lower() for status in open_statuses)

    @property
    def statuses(self) -> frozenset[str]:
        """The statuses taken (lower case): a ticket in another is not published."""
        return self._open

    async def take(self, tickets: Sequence[Ticket], how: str) -> int:
        """Publish the open tickets that are new or edited; how many were published.
        Raises StoreError or BrokerError (what was published is then taken again)."""
        # Connectors mask as they read; this holds for any of them, so no card number
        # reaches the store, a model or a log from a helpdesk.
        wanted = [_masked(ticket) for ticket in tickets if ticket.status.lower() in self._open]
        fresh = await self._state.unseen(self.helpdesk.name, wanted)
        for ticket in fresh:
            # Without transactions: the analyze stage looks them up in the store.
            message = TicketMessage(ticket=ticket, transactions=None)
            await publish_ticket(self._broker, TICKETS, message, how)
        await self._state.receive(self.helpdesk.name, fresh)
        return len(fresh)


def _masked(ticket: Ticket) -> Ticket:
    subject, body = mask_card_numbers(ticket.subject), mask_card_numbers(ticket.body)
    if subject == ticket.subject and body == ticket.body:
        return ticket
    return ticket.model_copy(update={"subject": subject, "body": body})


WebhookOutcome = Literal["accepted", "duplicate", "taking"]

# Helpdesks wait a few seconds for an answer (Chatwoot 5, Zendesk 12) and may not send
# again: a delivery still being taken after this long is answered 202 and finished.
ANSWER_WITHIN = 3.0


class WebhookReceiver:
    """`POST /webhooks/<helpdesk>`: verify, parse, take each delivery once, fetch the
    tickets the payload lacks, publish. Counts what it received and rejected."""

    def __init__(self, intake: HelpdeskIntake, state: HelpdeskState, stats: RunStats) -> None:
        self._intake = intake
        self._state = state
        self._stats = stats
        self._taking: set[asyncio.Task[None]] = set()

    @property
    def helpdesk(self) -> str:
        return self._intake.helpdesk.name

    async def receive(
        self, request: WebhookRequest, *, answer_within: float | None = None
    ) -> WebhookOutcome:
        """`accepted` once the delivery's tickets are published, `duplicate` for a
        delivery taken before, `taking` when that takes longer than `answer_within`
        seconds (default `ANSWER_WITHIN`; it goes on, and a failure then is logged,
        counted, and left to the helpdesk's resend or the poll).

        Raises `WebhookRejected` (answer 401, or 400 for a `bad_payload`),
        `PermanentError` for a ticket the helpdesk says is gone, or a transient error
        (answer 503: the helpdesk sends the delivery again later, and it is taken then)."""
        helpdesk = self._intake.helpdesk
        try:
            helpdesk.verify_webhook(request)
            event = helpdesk.parse_webhook(request)
            _storable(event)
        except WebhookRejected as error:
            self._stats.webhooks_rejected[(helpdesk.name, error.reason)] += 1
            log.warning("refused a webhook for %s: %s", helpdesk.name, error.reason)
            raise
        delivery = event.delivery_id
        if delivery is not None and not await self._state.remember_delivery(
            helpdesk.name, delivery
        ):
            self._stats.webhooks[(helpdesk.name, "duplicate")] += 1
            return "duplicate"
        # A task of its own: a helpdesk that hangs up does not cancel what was begun.
        taking = asyncio.create_task(self._take(event))
        self._taking.add(taking)
        taking.add_done_callback(self._taking.discard)
        patience = ANSWER_WITHIN if answer_within is None else answer_within
        done, _ = await asyncio.wait({taking}, timeout=patience)
        if taking in done:
            taking.result()
            return "accepted"
        taking.add_done_callback(self._late)
        return "taking"

    async def _take(self, event: WebhookEvent) -> None:
        helpdesk = self._intake.helpdesk
        try:
            carried = {ticket.ticket_id for ticket in event.tickets}
            fetched = [
                await helpdesk.fetch_ticket(ticket_id)
                for ticket_id in dict.fromkeys(event.ticket_ids)
                if ticket_id not in carried
            ]
            await self._intake.take([*event.tickets, *fetched], "webhook")
        except BaseException:
            # Not taken: when the helpdesk sends it again, it is taken then.
            if event.delivery_id is not None:
                await self._state.forget_delivery(helpdesk.name, event.delivery_id)
            raise
        self._stats.webhooks[(helpdesk.name, "accepted")] += 1

    def _late(self, task: asyncio.Task[None]) -> None:
        """A delivery answered 202 that then failed: the catch-up poll brings it."""
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        assert error is not None
        self._stats.webhooks[(self.helpdesk, "failed")] += 1
        log.warning(
            "a webhook for %s answered 202 could not be taken: %s", self.helpdesk, error_text(error)
        )

    async def close(self) -> None:
        """Stop taking deliveries still in progress (at shutdown): they are forgotten, so
        the helpdesk's resend or the poll brings them."""
        for task in self._taking:
            task.cancel()
        await asyncio.gather(*self._taking, return_exceptions=True)


def _storable(event: WebhookEvent) -> None:
    """WebhookRejected (`bad_payload`) for ids no store or URL can hold: JSON may escape a
    lone surrogate (`"\\ud800"`) into any string of the payload."""
    for value in (*event.ticket_ids, event.delivery_id or ""):
        if unicode_problem(value):
            raise WebhookRejected("bad_payload", "an id in the payload is not valid Unicode text")


@dataclass(frozen=True)
class PollOptions:
    interval: float = 60.0
    # The first poll (no cursor yet) starts this far back (`first_poll_days`): the open
    # tickets a team has when it connects are taken. Later polls go from the cursor.
    first_lookback: timedelta = timedelta(days=30)
    # After a failure, the next try waits this long, doubling up to `interval`.
    retry_delay: float = 5.0


class Poller:
    """The catch-up loop: each page of tickets created or updated since the stored
    cursor, published, and only then the page's cursor stored, so a restart resumes
    after the last page that was handled. A caught-up poll waits `interval`."""

    def __init__(self, intake: HelpdeskIntake, state: HelpdeskState, options: PollOptions) -> None:
        self._intake = intake
        self._state = state
        self._options = options

    async def poll_once(self) -> bool:
        """Take one page; whether another is ready now (one that advanced the cursor)."""
        helpdesk = self._intake.helpdesk
        cursor = await self._state.cursor(helpdesk.name)
        since = datetime.now(UTC) - self._options.first_lookback
        page = await helpdesk.poll(cursor, since=since, statuses=self._intake.statuses)
        published = await self._intake.take(page.tickets, "poll")
        await self._state.save_cursor(helpdesk.name, page.cursor)
        if published:
            log.info("polled %s: %d new or edited tickets", helpdesk.name, published)
        # A page that says more but moves nothing on would be asked for again at once,
        # forever: taken as caught up instead.
        return page.more and page.cursor != cursor

    async def run(self) -> None:
        """Poll until cancelled; a fatal error (bad credentials) stops polling."""
        name = self._intake.helpdesk.name
        delay = self._options.retry_delay
        while True:
            try:
                more = await self.poll_once()
            except FatalError as error:
                log.error("stopped polling %s: %s", name, error)
                return
            except Exception as error:
                # The helpdesk or the store is not answering (or refused the request):
                # the cursor stays, so the next poll asks for the same tickets.
                log.warning(
                    "polling %s failed (again in %.0fs): %s", name, delay, error_text(error)
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._options.interval)
                continue
            delay = self._options.retry_delay
            if not more:
                await asyncio.sleep(self._options.interval)
