"""The helpdesk state in the store: poll cursors, write-back claims (what was written
where) and webhook delivery ids, on each database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from supporter.store.helpdesks import ClaimState, SqlHelpdeskState
from supporter.store.sql import SqlStore


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


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
