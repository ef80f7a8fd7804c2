"""The helpdesk state in the store: poll cursors, write-back claims (what was written
where) and webhook delivery ids, on each database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from supporter.domain.messages import DeadLetterMessage
from supporter.domain.models import Reply, Ticket, TicketResult
from supporter.store import schema
from supporter.store.base import Outcome
from supporter.store.helpdesks import ClaimState, SqlHelpdeskState
from supporter.store.sql import SqlStore


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def ticket(ticket_id: str) -> Ticket:
    return Ticket(
        ticket_id=ticket_id,
        customer_id="C1",
        subject="Refund",
        body="Where is my refund?",
        status="open",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    opened = await SqlStore.open(database_url)
    yield opened
    await opened.close()


async def test_a_cursor_is_kept_per_helpdesk_and_replaced(store: SqlStore) -> None:
    state = SqlHelpdeskState(store.engine)
    assert await state.cursor("zendesk") is None
    await state.save_cursor("zendesk", "c1")
    await state.save_cursor("rt", "r1")
    await state.save_cursor("zendesk", "c2")
    assert await state.cursor("zendesk") == "c2"
    assert await state.cursor("rt") == "r1"


async def test_a_version_written_is_done_and_a_new_one_gets_the_earlier_note(
    store: SqlStore,
) -> None:
    state = SqlHelpdeskState(store.engine)
    await state.receive("zendesk", [ticket("T1")])
    await state.receive("rt", [ticket("T1")])
    first = await state.claim("zendesk", "T1", "note", "v1")
    assert first.state is ClaimState.CLAIMED
    assert first.previous is None
    await state.record_written("zendesk", "T1", "note", "v1", "note-7")

    again = await state.claim("zendesk", "T1", "note", "v1")
    assert again.state is ClaimState.DONE
    assert again.previous is not None
    assert again.previous.note_id == "note-7"

    newer = await state.claim("zendesk", "T1", "note", "v2")
    assert newer.state is ClaimState.CLAIMED
    assert newer.previous is not None
    assert (newer.previous.note_id, newer.previous.draft_version) == ("note-7", "v1")
    await state.record_written("zendesk", "T1", "note", "v2", "note-7")
    record = await state.write_back("zendesk", "T1")
    assert record is not None
    assert (record.draft_version, record.status, record.attempts) == ("v2", "written", 2)
    # Another helpdesk's write-back of the same ticket id is its own.
    assert (await state.claim("rt", "T1", "note", "v2")).state is ClaimState.CLAIMED


async def test_a_held_claim_is_busy_until_released_or_its_lease_runs_out(
    store: SqlStore,
) -> None:
    clock = Clock()
    state = SqlHelpdeskState(store.engine, clock=clock)
    await state.receive("zendesk", [ticket("T1")])
    assert (await state.claim("zendesk", "T1", "note", "v1")).state is ClaimState.CLAIMED
    assert (await state.claim("zendesk", "T1", "note", "v1")).state is ClaimState.BUSY
    await state.release("zendesk", "T1")
    failed = await state.write_back("zendesk", "T1")
    assert failed is not None
    assert failed.status == "failed"
    assert failed.draft_version is None
    assert (await state.claim("zendesk", "T1", "note", "v1")).state is ClaimState.CLAIMED
    clock.now += timedelta(minutes=4)
    assert (await state.claim("zendesk", "T1", "note", "v1")).state is ClaimState.BUSY
    clock.now += timedelta(minutes=2)
    assert (await state.claim("zendesk", "T1", "note", "v1")).state is ClaimState.CLAIMED


async def test_a_claim_says_since_when_its_write_back_is_pending_until_one_is_recorded(
    store: SqlStore,
) -> None:
    """A crashed or failed try may have written its note: the claims after it are told
    when the first began, until a write-back is recorded."""
    clock = Clock()
    started = clock.now
    state = SqlHelpdeskState(store.engine, clock=clock)
    await state.receive("zendesk", [ticket("T1")])
    first = await state.claim("zendesk", "T1", "note", "v1")
    assert first.pending_since == started
    clock.now += timedelta(minutes=6)  # the first worker died: its lease ran out
    after_crash = await state.claim("zendesk", "T1", "note", "v1")
    assert after_crash.state is ClaimState.CLAIMED
    assert after_crash.pending_since == started
    await state.release("zendesk", "T1")
    clock.now += timedelta(minutes=1)
    after_failure = await state.claim("zendesk", "T1", "note", "v2")
    assert after_failure.pending_since == started
    await state.record_written("zendesk", "T1", "note", "v2", "note-1")
    record = await state.write_back("zendesk", "T1")
    assert record is not None
    assert record.pending_since is None
    clock.now += timedelta(hours=1)
    newer = await state.claim("zendesk", "T1", "note", "v3")
    assert newer.pending_since == clock.now


async def test_only_the_first_claim_since_the_last_record_is_a_first_attempt(
    store: SqlStore,
) -> None:
    """Nothing can have been written before the first claim; after a failure or a crash
    it may have been, even one claimed in the same instant."""
    clock = Clock()
    state = SqlHelpdeskState(store.engine, clock=clock)
    await state.receive("zendesk", [ticket("T1")])
    first = await state.claim("zendesk", "T1", "note", "v1")
    assert (first.state, first.first_attempt) == (ClaimState.CLAIMED, True)
    await state.release("zendesk", "T1")
    after_failure = await state.claim("zendesk", "T1", "note", "v1")  # the clock stood still
    assert (after_failure.state, after_failure.first_attempt) == (ClaimState.CLAIMED, False)
    clock.now += timedelta(minutes=6)  # that worker died: its lease ran out
    after_crash = await state.claim("zendesk", "T1", "note", "v2")
    assert (after_crash.state, after_crash.first_attempt) == (ClaimState.CLAIMED, False)
    busy = await state.claim("zendesk", "T1", "note", "v2")
    assert (busy.state, busy.first_attempt) == (ClaimState.BUSY, False)
    await state.record_written("zendesk", "T1", "note", "v2", "note-1")
    done = await state.claim("zendesk", "T1", "note", "v2")
    assert (done.state, done.first_attempt) == (ClaimState.DONE, False)
    newer = await state.claim("zendesk", "T1", "note", "v3")
    assert (newer.state, newer.first_attempt) == (ClaimState.CLAIMED, True)
    record = await state.write_back("zendesk", "T1")
    assert record is not None
    assert record.attempts == 4


async def test_only_a_ticket_received_from_the_helpdesk_is_claimed(store: SqlStore) -> None:
    state = SqlHelpdeskState(store.engine)
    await state.receive("rt", [ticket("T1")])
    assert (await state.claim("zendesk", "T1", "note", "v1")).state is ClaimState.NOT_RECEIVED
    assert await state.write_back("zendesk", "T1") is None


async def test_a_ticket_is_unseen_until_received_and_again_once_edited(store: SqlStore) -> None:
    state = SqlHelpdeskState(store.engine)
    first, second = ticket("T1"), ticket("T2")
    assert await state.unseen("zendesk", [first, second, first]) == [first, second]
    await state.receive("zendesk", [first, second])
    assert await state.unseen("zendesk", [first, second]) == []
    # Another helpdesk has not received it; an edited ticket is analysed again.
    assert await state.unseen("freshdesk", [first]) == [first]
    assert await state.unseen("zendesk", [first.model_copy(update={"status": "pending"})]) == []
    edited = first.model_copy(update={"body": "Still waiting for the refund."})
    assert await state.unseen("zendesk", [edited]) == [edited]
    await state.receive("zendesk", [edited])
    assert await state.unseen("zendesk", [edited]) == []
    assert await store.results(["T1"]) == []  # received, not yet answered
    async with store.engine.connect() as connection:
        body = (
            await connection.execute(
                select(schema.tickets.c.body).where(schema.tickets.c.ticket_id == "T1")
            )
        ).scalar_one()
        state_row = (
            await connection.execute(
                select(schema.review_queue.c.state).where(schema.review_queue.c.ticket_id == "T1")
            )
        ).scalar_one()
    assert body == "Still waiting for the refund."
    assert state_row == "received"


async def test_a_written_back_ticket_resolves_its_write_back_dead_letters(
    store: SqlStore,
) -> None:
    state = SqlHelpdeskState(store.engine)
    letters = [
        DeadLetterMessage(
            stage=stage,
            queue=queue,
            reason="gave up",
            error_type="HelpdeskUnavailable",
            ticket_id="T1",
            original="{}",
        )
        for stage, queue in (("write-back", "write-back"), ("analyze", "tickets"))
    ]
    await store.keep_dead_letters(letters)
    await state.resolve_dead_letters("T1", "write-back")
    [pending] = await store.dead_letters()
    assert pending.queue == "tickets"
    # The ticket's stored result is untouched by keeping dead letters.
    assert await store.results(["T1"]) == []


async def test_a_delivery_is_new_once_until_forgotten_or_pruned(store: SqlStore) -> None:
    clock = Clock()
    state = SqlHelpdeskState(store.engine, clock=clock)
    assert await state.remember_delivery("zendesk", "d1")
    assert not await state.remember_delivery("zendesk", "d1")
    assert await state.remember_delivery("chatwoot", "d1")
    await state.forget_delivery("zendesk", "d1")
    assert await state.remember_delivery("zendesk", "d1")
    clock.now += timedelta(days=4)
    assert await state.remember_delivery("zendesk", "d2")  # prunes d1
    assert await state.remember_delivery("zendesk", "d1")


def responded(ticket_id: str, body: str = "We refunded you.") -> Outcome:
    return Outcome(
        result=TicketResult(
            ticket_id=ticket_id,
            customer_id="C1",
            status="responded",
            reply=Reply(body=body),
            attempts=1,
        ),
        ticket=ticket(ticket_id),
    )


async def test_results_stored_since_their_last_write_back_are_unwritten(store: SqlStore) -> None:
    state = SqlHelpdeskState(store.engine)
    await state.receive("zendesk", [ticket("T1"), ticket("T2"), ticket("T3")])
    await store.save("v1", [responded("T1"), responded("T2")])
    assert sorted(await state.unwritten("zendesk")) == ["T1", "T2"]
    assert await state.unwritten("rt") == []
    await state.claim("zendesk", "T1", "note", "v1")
    await state.record_written("zendesk", "T1", "note", "v1", "n1")
    assert await state.unwritten("zendesk") == ["T2"]
    await store.save("v1", [responded("T1", "A new draft.")])
    assert sorted(await state.unwritten("zendesk")) == ["T1", "T2"]
    assert len(await state.unwritten("zendesk", limit=1)) == 1
    # A write-back waiting in the dead letters is a person's to replay, not sent again.
    letter = DeadLetterMessage(
        stage="write-back",
        queue="write-back",
        reason="ticket deleted",
        error_type="PermanentError",
        ticket_id="T2",
        original="{}",
    )
    await store.keep_dead_letters([letter])
    assert await state.unwritten("zendesk") == ["T1"]


async def test_of_claims_made_at_once_exactly_one_wins(store: SqlStore) -> None:
    state = SqlHelpdeskState(store.engine)
    await state.receive("zendesk", [ticket("T1")])
    claims = await asyncio.gather(*(state.claim("zendesk", "T1", "note", "v1") for _ in range(8)))
    states = sorted(claim.state.value for claim in claims)
    assert states == ["busy"] * 7 + ["claimed"]
