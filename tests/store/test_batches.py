"""The Batch API ledger on each SQL database the store supports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from supporter.domain.batches import StoredRequest
from supporter.store.base import StoreError
from supporter.store.batches import SqlBatchLedger
from supporter.store.sql import SqlStore


@pytest.fixture
async def ledger(database_url: str) -> AsyncIterator[SqlBatchLedger]:
    store = await SqlStore.open(database_url)
    yield SqlBatchLedger(store.engine)
    await store.close()


async def test_requests_are_pending_in_their_file_until_the_batch_is_collected(
    ledger: SqlBatchLedger,
) -> None:
    await ledger.uploaded("file-1", "/v1/chat/completions", ["a", "b", "c"])
    stored = await ledger.requests(["a", "b", "c", "unknown"])
    assert sorted(stored) == ["a", "b", "c"]
    assert {request.state for request in stored.values()} == {"pending"}
    assert stored["a"].input_file_id == "file-1"
    [batch] = await ledger.batches()
    assert (batch.status, batch.batch_id, batch.requests, batch.collected) == (
        "uploaded",
        None,
        3,
        False,
    )

    await ledger.created("file-1", "batch_1", "validating")
    await ledger.progressed("file-1", "in_progress", 1, 0)
    batch = await ledger.batch("file-1")
    assert batch is not None
    assert (batch.batch_id, batch.status, batch.completed) == ("batch_1", "in_progress", 1)
    assert batch.created_at.tzinfo is not None

    answers = {
        "a": StoredRequest("a", "answered", None, status_code=200, body='{"ok": true}'),
        "b": StoredRequest("b", "failed", None, status_code=500, body='{"error": {}}'),
    }
    await ledger.collected("file-1", "expired", answers, "batch batch_1 expired")
    stored = await ledger.requests(["a", "b", "c"])
    assert (stored["a"].state, stored["a"].status_code, stored["a"].body) == (
        "answered",
        200,
        '{"ok": true}',
    )
    assert (stored["b"].state, stored["b"].status_code) == ("failed", 500)
    # Not in either file: failed with the batch's reason.
    assert (stored["c"].state, stored["c"].error) == ("failed", "batch batch_1 expired")
    assert await ledger.batches(uncollected_only=True) == []
    [batch] = await ledger.batches()
    assert (batch.status, batch.collected) == ("expired", True)


async def test_a_request_sent_again_moves_to_its_new_file(ledger: SqlBatchLedger) -> None:
    await ledger.uploaded("file-1", "/v1/chat/completions", ["a"])
    await ledger.collected("file-1", "expired", {}, "batch expired")
    await ledger.uploaded("file-2", "/v1/chat/completions", ["a"])
    stored = await ledger.requests(["a"])
    assert (stored["a"].state, stored["a"].input_file_id, stored["a"].error) == (
        "pending",
        "file-2",
        None,
    )
    newest, oldest = await ledger.batches()
    assert (newest.input_file_id, oldest.input_file_id) == ("file-2", "file-1")
    assert [b.input_file_id for b in await ledger.batches(uncollected_only=True)] == ["file-2"]


async def test_many_requests_are_read_and_written_in_slices(ledger: SqlBatchLedger) -> None:
    ids = [f"r{number}" for number in range(2_300)]
    await ledger.uploaded("file-1", "/v1/chat/completions", ids)
    answers = {
        custom_id: StoredRequest(custom_id, "answered", None, status_code=200, body="{}")
        for custom_id in ids
    }
    await ledger.collected("file-1", "completed", answers, "unused")
    stored = await ledger.requests(ids)
    assert len(stored) == 2_300
    assert {request.state for request in stored.values()} == {"answered"}


async def test_an_unreachable_database_is_a_store_error() -> None:
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    try:
        with pytest.raises(StoreError, match="could not read batches"):
            await SqlBatchLedger(engine).batches()
        with pytest.raises(StoreError, match="could not record a batch input file"):
            await SqlBatchLedger(engine).uploaded("file-1", "/v1/chat/completions", ["a"])
    finally:
        await engine.dispose()
