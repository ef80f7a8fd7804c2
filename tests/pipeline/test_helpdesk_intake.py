"""Tickets in from a helpdesk: the catch-up poll resumes from the stored cursor after
a restart, stores a page's cursor only after its tickets were published, and stops
on a fatal error; intake publishes a ticket once unless it was edited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import SupportsBytes

import pytest
from tests.helpdesks.fakes import NAME, FakeHelpdesk, ticket
from tests.helpdesks.rigs import RIGS, Rig

from supporter.brokers.base import BrokerError
from supporter.brokers.memory import MemoryBroker
from supporter.domain.errors import FatalError
from supporter.domain.messages import TicketMessage
from supporter.domain.models import Ticket
from supporter.helpdesks.base import HelpdeskUnavailable, PollPage
from supporter.pipeline.helpdesk_intake import HelpdeskIntake, Poller, PollOptions
from supporter.pipeline.stages import TICKETS
from supporter.store.helpdesks import SqlHelpdeskState
from supporter.store.sql import SqlStore, sqlite_url

OPEN = ("new", "open")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    opened = await SqlStore.open(sqlite_url(tmp_path / "s.db"))
    yield opened
    await opened.close()


async def declared(broker: MemoryBroker) -> MemoryBroker:
    await broker.declare(TICKETS)
    return broker


def poller(store: SqlStore, helpdesk: FakeHelpdesk, broker: MemoryBroker) -> Poller:
    state = SqlHelpdeskState(store.engine)
    intake = HelpdeskIntake(helpdesk, state, broker, OPEN)
    return Poller(intake, state, PollOptions(interval=0.05, retry_delay=0.01))


async def published(broker: MemoryBroker) -> list[str]:
    found = []
    async with broker.consume(TICKETS, prefetch=100) as deliveries:
        while await broker.depth(TICKETS):
            delivery = await anext(deliveries)
            found.append(TicketMessage.model_validate_json(delivery.body).ticket_id)
            await delivery.ack()
    return found


def tickets(*ids: str) -> dict[str, Ticket]:
    return {ticket_id: ticket(ticket_id) for ticket_id in ids}


async def test_polling_resumes_from_the_stored_cursor_after_a_restart(store: SqlStore) -> None:
    every = tickets("1", "2", "3", "4", "5")
    broker = await declared(MemoryBroker())
    first = FakeHelpdesk(tickets=dict(every))
    before = poller(store, first, broker)
    assert await before.poll_once() is True
    assert await before.poll_once() is True
    assert first.polls == [None, "2"]
    assert await published(broker) == ["1", "2", "3", "4"]

    # A new process on the same store: it asks for what comes after the last page.
    second = FakeHelpdesk(tickets=dict(every))
    after = poller(store, second, broker)
    assert await after.poll_once() is False
    assert second.polls == ["4"]
    assert await published(broker) == ["5"]


class RefusingBroker(MemoryBroker):
    async def publish(self, queue: str, body: SupportsBytes, **kwargs: object) -> None:  # type: ignore[override]
        raise BrokerError("the broker is down")


async def test_a_pages_cursor_is_kept_only_once_its_tickets_are_published(
    store: SqlStore,
) -> None:
    helpdesk = FakeHelpdesk(tickets=tickets("1", "2", "3"))
    with pytest.raises(BrokerError):
        await poller(store, helpdesk, RefusingBroker()).poll_once()
    state = SqlHelpdeskState(store.engine)
    assert await state.cursor(NAME) is None
    # Nothing was marked as received either: the next poll brings the same tickets.
    assert await state.unseen(NAME, [ticket("1")]) == [ticket("1")]


class FailingPolls(FakeHelpdesk):
    def __init__(self, errors: list[Exception], tickets: dict[str, Ticket] | None = None) -> None:
        super().__init__(tickets=tickets or {})
        self.errors = errors

    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        if self.errors:
            self.polls.append(cursor)
            raise self.errors.pop(0)
        return await super().poll(cursor, since=since)


async def test_polling_rides_out_an_outage_and_stops_on_a_fatal_error(store: SqlStore) -> None:
    broker = await declared(MemoryBroker())
    helpdesk = FailingPolls(
        [HelpdeskUnavailable("503"), HelpdeskUnavailable("503")], tickets=tickets("1")
    )
    task = asyncio.create_task(poller(store, helpdesk, broker).run())
    state = SqlHelpdeskState(store.engine)
    for _ in range(100):
        if await state.cursor(NAME) == "1":
            break
        await asyncio.sleep(0.02)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert helpdesk.polls[:3] == [None, None, None]
    assert await published(broker) == ["1"]

    fatal = FailingPolls([FatalError("401: the token was revoked")])
    async with asyncio.timeout(5):
        await poller(store, fatal, broker).run()  # returns: polling stopped
    assert fatal.polls == ["1"]


async def test_intake_takes_open_tickets_once_and_again_when_edited(store: SqlStore) -> None:
    broker = await declared(MemoryBroker())
    state = SqlHelpdeskState(store.engine)
    intake = HelpdeskIntake(FakeHelpdesk(), state, broker, OPEN)
    closed = ticket("3").model_copy(update={"status": "Closed"})
    assert await intake.take([ticket("1"), ticket("2"), closed], "poll") == 2
    assert await intake.take([ticket("1"), ticket("2")], "webhook") == 0
    edited = ticket("1", body="It has been a week, where is my refund?")
    assert await intake.take([edited], "webhook") == 1
    assert await published(broker) == ["1", "2", "1"]


async def test_a_card_number_a_connector_let_through_is_masked_before_it_is_published(
    store: SqlStore,
) -> None:
    broker = await declared(MemoryBroker())
    intake = HelpdeskIntake(FakeHelpdesk(), SqlHelpdeskState(store.engine), broker, OPEN)
    await intake.take([ticket("1", body="My card 4242 4242 4242 4242 was charged twice")], "poll")
    async with broker.consume(TICKETS, prefetch=1) as deliveries:
        delivery = await anext(deliveries)
        body = TicketMessage.model_validate_json(delivery.body).ticket.body
    assert "4242 4242 4242 4242" not in body
    assert "**** 4242" in body


class StuckCursor(FakeHelpdesk):
    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        self.polls.append(cursor)
        return PollPage(tickets=(), cursor="same", more=True)


async def test_a_page_that_says_more_without_moving_on_counts_as_caught_up(
    store: SqlStore,
) -> None:
    broker = await declared(MemoryBroker())
    helpdesk = StuckCursor()
    polling = poller(store, helpdesk, broker)
    assert await polling.poll_once() is True  # from no cursor to "same": it moved
    assert await polling.poll_once() is False


@pytest.fixture(params=sorted(RIGS))
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with RIGS[request.param]() as running:
        yield running


async def caught_up(polling: Poller) -> None:
    for _ in range(20):
        if not await polling.poll_once():
            return
    raise AssertionError("the poll never caught up")


@pytest.mark.parametrize(("days", "taken"), [(30, True), (1, False)])
async def test_the_first_poll_takes_the_backlog_of_first_poll_days_then_the_cursor_rules(
    store: SqlStore, rig: Rig, days: int, taken: bool
) -> None:
    """A ticket last updated ten days before Supporter was connected is open backlog: the
    first poll takes it when it looks back 30 days, not when it looks back one. Later
    polls go from the cursor, however far the first one looked back."""
    broker = await declared(MemoryBroker())
    backlog = rig.add_ticket()
    rig.backdate(backlog, datetime.now(UTC) - timedelta(days=10))
    helpdesk = rig.connect()
    try:
        state = SqlHelpdeskState(store.engine)
        intake = HelpdeskIntake(helpdesk, state, broker, OPEN)
        polling = Poller(intake, state, PollOptions(first_lookback=timedelta(days=days)))
        await caught_up(polling)
        first = await published(broker)
        assert await state.cursor(helpdesk.name) is not None
        # Changed before the cursor, but within the 30 days: the cursor leaves it out.
        rig.backdate(rig.add_ticket(), datetime.now(UTC) - timedelta(days=20))
        new = rig.add_ticket()
        await caught_up(polling)
        second = await published(broker)
    finally:
        await helpdesk.aclose()
    assert first == ([str(backlog)] if taken else [])
    assert second == [str(new)]


class StatusesAsked(FakeHelpdesk):
    asked: Collection[str] | None = None

    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        self.asked = statuses
        return await super().poll(cursor, since=since, statuses=statuses)


async def test_the_poll_tells_the_helpdesk_which_statuses_it_takes(store: SqlStore) -> None:
    """So a connector that reads each ticket's text with a request of its own (Zammad,
    RT) need not read a closed one's."""
    broker = await declared(MemoryBroker())
    helpdesk = StatusesAsked(tickets=tickets("1"))
    state = SqlHelpdeskState(store.engine)
    intake = HelpdeskIntake(helpdesk, state, broker, ("New", "OPEN"))
    await Poller(intake, state, PollOptions()).poll_once()
    assert helpdesk.asked == {"new", "open"}
