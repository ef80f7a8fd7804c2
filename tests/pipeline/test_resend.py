"""Tickets stuck in `received` sent into the pipeline again (`pipeline/resend.py`), on
the real store (SQLite and PostgreSQL): a ticket stored but never published is processed
after a restart, a ticket published recently or maybe still waiting in a queue is left
alone, a copy sent again is the same message (one result), and the limit holds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from tests.api.conftest import served_api

from supporter.brokers.base import BrokerError
from supporter.brokers.memory import MemoryBroker
from supporter.domain.messages import TicketMessage, decode_as
from supporter.domain.models import Ticket, TicketResult
from supporter.pipeline.ingest import publish_ticket
from supporter.pipeline.intake import TicketIntake
from supporter.pipeline.resend import ResendOptions, ResendSweep
from supporter.pipeline.stages import ANALYZED, RESPONDED, TICKETS
from supporter.pipeline.stats import RunStats
from supporter.store import schema
from supporter.store.base import Outcome
from supporter.store.helpdesks import SqlHelpdeskState
from supporter.store.publishes import SqlTicketPublishes, Unfinished
from supporter.store.sql import SqlStore

TICKET = Ticket(
    ticket_id="T1",
    customer_id="C1",
    subject="Refund",
    body="Please refund 19.99 EUR",
    status="open",
    created_at=datetime(2024, 5, 1, tzinfo=UTC),
)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    store = await SqlStore.open(database_url)
    yield store
    await store.close()


async def declared() -> MemoryBroker:
    broker = MemoryBroker()
    for queue in (TICKETS, ANALYZED, RESPONDED):
        await broker.declare(queue)
    return broker


def sweep_at(
    store: SqlStore,
    broker: MemoryBroker,
    stats: RunStats,
    later: timedelta = timedelta(0),
    **options: float,
) -> ResendSweep:
    """A sweep whose clock runs `later` than the real one."""
    return ResendSweep(
        SqlTicketPublishes(store.engine),
        broker,
        stats,
        ResendOptions(**options),  # type: ignore[arg-type]
        queues_outlive_process=True,
        clock=lambda: datetime.now(UTC) + later,
    )


async def taken(broker: MemoryBroker) -> list[TicketMessage]:
    """Every message waiting in the tickets queue, taken off it."""
    found: list[TicketMessage] = []
    async with broker.consume(TICKETS, prefetch=100) as deliveries:
        for _ in range(await broker.depth(TICKETS)):
            delivery = await anext(deliveries)
            found.append(decode_as(TicketMessage, delivery.body))
            await delivery.ack()
    return found


MINUTES = [timedelta(minutes=n) for n in range(100)]


async def test_a_ticket_never_published_is_sent_again_when_its_wait_is_over_up_to_the_limit(
    store: SqlStore,
) -> None:
    broker, stats = await declared(), RunStats()
    await store.add_tickets([TICKET])
    assert await sweep_at(store, broker, stats, limit=2).sweep() == []

    assert await sweep_at(store, broker, stats, MINUTES[31], limit=2).sweep() == ["T1"]
    [first] = await taken(broker)
    assert (first.ticket, first.transactions) == (TICKET, None)
    # Counted from when it was sent again.
    assert await sweep_at(store, broker, stats, MINUTES[31], limit=2).sweep() == []
    assert await sweep_at(store, broker, stats, MINUTES[62], limit=2).sweep() == ["T1"]
    [second] = await taken(broker)
    assert second.message_id == first.message_id
    assert stats.resend_exhausted == 0

    # Its last wait is over too: it is left to a person.
    assert await sweep_at(store, broker, stats, MINUTES[93], limit=2).sweep() == []
    assert await broker.depth(TICKETS) == 0
    assert (stats.resent, stats.resend_exhausted) == (2, 1)


async def test_a_ticket_published_recently_is_left_alone(store: SqlStore) -> None:
    broker, stats = await declared(), RunStats()
    await store.add_tickets([TICKET])
    await store.published({"T1": "m-1"})
    assert await sweep_at(store, broker, stats, MINUTES[10]).sweep() == []
    assert await broker.depth(TICKETS) == 0
    assert await sweep_at(store, broker, stats, MINUTES[31]).sweep() == ["T1"]
    [again] = await taken(broker)
    # The message it was published as: should that one come through too, it is a repeat.
    assert again.message_id == "m-1"


async def test_a_ticket_that_may_still_wait_behind_a_queued_message_is_left_alone(
    store: SqlStore,
) -> None:
    broker, stats = await declared(), RunStats()
    waiting = TicketMessage(ticket=TICKET.model_copy(update={"ticket_id": "T0"}))
    await publish_ticket(broker, TICKETS, waiting, "test")
    await store.add_tickets([TICKET])
    await store.published({"T1": "m-1"})
    await asyncio.sleep(0.5)
    sweep = sweep_at(store, broker, stats, after=0.2)
    # T1 is older than `after`, but T0 was queued before it and still waits.
    assert await sweep.sweep() == []
    assert [message.ticket_id for message in await taken(broker)] == ["T0"]
    assert await sweep.sweep() == ["T1"]


async def test_a_ticket_with_its_result_is_not_sent_again(store: SqlStore) -> None:
    broker, stats = await declared(), RunStats()
    await store.add_tickets([TICKET])
    await store.published({"T1": "m-1"})
    result = TicketResult(ticket_id="T1", customer_id="C1", status="failed", attempts=1)
    await store.save("v1", [Outcome(result=result, ticket=TICKET, origin_id="m-1")])
    assert await sweep_at(store, broker, stats, MINUTES[90]).sweep() == []
    assert stats.resend_exhausted == 0


async def test_a_publish_that_fails_does_not_count_and_the_next_sweep_sends_it(
    store: SqlStore,
) -> None:
    closed, stats = await declared(), RunStats()
    await closed.close()
    await store.add_tickets([TICKET])
    with pytest.raises(BrokerError):
        await sweep_at(store, closed, stats, MINUTES[31], limit=1).sweep()
    broker = await declared()
    assert await sweep_at(store, broker, stats, MINUTES[31], limit=1).sweep() == ["T1"]
    assert stats.resent == 1


async def test_two_replicas_sweeping_at_once_send_a_ticket_once(
    store: SqlStore, database_url: str
) -> None:
    other = await SqlStore.open(database_url)
    try:
        broker, stats = await declared(), RunStats()
        await store.add_tickets([TICKET])
        sent = await asyncio.gather(
            *(sweep_at(s, broker, stats, MINUTES[31]).sweep() for s in (store, other, store))
        )
        assert sorted(sent) == [[], [], ["T1"]]
        assert len(await taken(broker)) == 1
    finally:
        await other.close()


class SlowRelease(SqlTicketPublishes):
    """Releases that wait for `go`, so a stop can arrive while one runs."""

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store.engine)
        self.releasing = asyncio.Event()
        self.go = asyncio.Event()

    async def release(self, unfinished: Unfinished, now: datetime) -> None:
        self.releasing.set()
        await self.go.wait()
        await super().release(unfinished, now)


async def test_a_stop_during_the_release_of_an_unsent_copy_still_releases_it(
    store: SqlStore,
) -> None:
    closed, stats = await declared(), RunStats()
    await closed.close()
    await store.add_tickets([TICKET])
    waiting = SlowRelease(store)
    sweep = ResendSweep(
        waiting,
        closed,
        stats,
        ResendOptions(limit=1),
        queues_outlive_process=True,
        clock=lambda: datetime.now(UTC) + MINUTES[31],
    )
    sweeping = asyncio.create_task(sweep.sweep())
    await asyncio.wait_for(waiting.releasing.wait(), timeout=5)
    sweeping.cancel()  # the process is told to stop while the failed copy is released
    await asyncio.sleep(0.05)
    waiting.go.set()
    with pytest.raises(asyncio.CancelledError):
        await sweeping
    # Not counted as sent: the next sweep (limit 1) still sends it.
    broker = await declared()
    assert await sweep_at(store, broker, stats, MINUTES[31], limit=1).sweep() == ["T1"]


async def test_a_ticket_stored_but_never_published_is_processed_after_a_restart(
    database_url: str,
) -> None:
    # What a crash between storing a posted ticket and publishing it leaves behind.
    crashed = await SqlStore.open(database_url)
    await crashed.add_tickets([TICKET])
    await crashed.close()
    async with served_api(database_url) as api:
        done = await api.wait_for("T1")
        assert done["draft"] is not None
        metrics = (await api.client.get("/metrics")).text
        assert "supporter_tickets_resent_total 1.0" in metrics
        async with api.served.services.store.engine.connect() as connection:
            left = (await connection.execute(select(schema.ticket_publishes))).all()
        assert left == []


async def test_a_copy_sent_again_beside_its_original_is_stored_once(database_url: str) -> None:
    crashed = await SqlStore.open(database_url)
    await crashed.add_tickets([TICKET])
    await crashed.published({"T1": "m-1"})
    await crashed.close()
    async with served_api(database_url) as api:
        await api.wait_for("T1")
        stats = api.served.pipeline.stats
        results = schema.results
        query = select(results.c.origin_id, results.c.updated_at)
        async with api.served.services.store.engine.connect() as connection:
            before = (await connection.execute(query)).all()
        # The original message comes through after all (it was only slow).
        original = TicketMessage(ticket=TICKET, message_id="m-1")
        await publish_ticket(api.served.pipeline.broker, TICKETS, original, "test")
        for _ in range(200):
            if stats.stage("sink").succeeded >= 2:
                break
            await asyncio.sleep(0.05)
        assert stats.stage("sink").succeeded == 2
        assert stats.responded == 1
        async with api.served.services.store.engine.connect() as connection:
            assert (await connection.execute(query)).all() == before
        assert before[0].origin_id == "m-1"


async def test_intake_and_helpdesks_record_what_they_published(store: SqlStore) -> None:
    broker = await declared()
    await TicketIntake(store, broker, ["open"]).take([TICKET])
    [posted] = await taken(broker)
    from_helpdesk = TICKET.model_copy(update={"ticket_id": "Z1"})
    await SqlHelpdeskState(store.engine).receive("zendesk", [from_helpdesk])
    table = schema.ticket_publishes
    query = select(table.c.ticket_id, table.c.message_id, table.c.published_at.is_not(None))
    async with store.engine.connect() as connection:
        rows = sorted(tuple(row) for row in await connection.execute(query))
    assert rows == [("T1", posted.message_id, True), ("Z1", None, True)]
    # Lost after all: both are sent again once their wait is over.
    stats = RunStats()
    assert sorted(await sweep_at(store, broker, stats, MINUTES[31]).sweep()) == ["T1", "Z1"]


async def test_the_sweep_goes_on_after_a_failure_and_a_limit_of_0_turns_it_off(
    store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    closed, stats = await declared(), RunStats()
    await closed.close()
    await store.add_tickets([TICKET])
    off = sweep_at(store, closed, stats, MINUTES[31], limit=0)
    await asyncio.wait_for(off.run(), timeout=5)

    failing = asyncio.create_task(sweep_at(store, closed, stats, MINUTES[31], interval=0.05).run())
    await asyncio.sleep(0.5)
    assert not failing.done()
    failing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await failing
    tries = [r for r in caplog.records if "could not send stuck tickets again" in r.message]
    assert len(tries) >= 2
    assert stats.resent == 0
    broker = await declared()
    assert await sweep_at(store, broker, stats, MINUTES[31], limit=1).sweep() == ["T1"]
