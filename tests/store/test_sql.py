from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from supporter.domain.messages import AttemptRecord, DeadLetterMessage
from supporter.domain.models import Analysis, GroundingCheck, Reply, Ticket, TicketResult
from supporter.store.base import Citation, Outcome, StoreError
from supporter.store.sql import SqlStore, async_url, sqlite_url

TICKET = Ticket(
    ticket_id="T1",
    customer_id="C1",
    subject="Hi",
    body="card **** 1111",
    status="open",
    created_at=datetime(2024, 5, 1, tzinfo=UTC),
)


def failed_outcome(message_id: str) -> Outcome:
    history = [
        AttemptRecord(stage="analyze", attempt=n, error="timeout", transient=True) for n in (1, 2)
    ]
    letter = DeadLetterMessage(
        message_id=message_id,
        stage="analyze",
        queue="tickets",
        reason="gave up after 2 tries: timeout",
        error_type="TransientError",
        ticket_id="T1",
        customer_id="C1",
        original="{}",
        history=history,
    )
    result = TicketResult(
        ticket_id="T1", customer_id="C1", status="failed", attempts=2, error=letter.reason
    )
    return Outcome(result=result, ticket=TICKET, history=history, dead_letter=letter)


@pytest.fixture
def store_url(database_url: str) -> str:
    return database_url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlStore]:
    store = await SqlStore.open(store_url)
    yield store
    await store.close()


async def count(url: str, table: str) -> int:
    engine = create_async_engine(async_url(url))
    async with engine.connect() as connection:
        value = (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    await engine.dispose()
    return int(value)


async def test_saving_the_same_outcome_twice_changes_nothing(
    store_url: str, store: SqlStore
) -> None:
    outcome = failed_outcome("d1")
    await store.save("v1", [outcome])
    await store.save("v1", [outcome])
    for table, expected in [("results", 1), ("tickets", 1), ("attempts", 2), ("dead_letters", 1)]:
        assert await count(store_url, table) == expected, table
    (letter,) = await store.dead_letters()
    assert letter.resolved_at is None, "a redelivered dead letter resolved itself"
    assert letter.history[1].attempt == 2


async def test_a_later_success_resolves_the_dead_letter(store: SqlStore) -> None:
    await store.save("v1", [failed_outcome("d1")])
    done = TicketResult(ticket_id="T1", customer_id="C1", status="responded", attempts=1)
    await store.save("v1", [Outcome(result=done, ticket=TICKET)])
    assert await store.dead_letters() == []
    (resolved,) = await store.dead_letters(include_resolved=True)
    assert resolved.resolved_at is not None
    (result,) = await store.results(["T1", "missing"])
    assert result.status == "responded"


async def test_done_tickets_are_per_version(store: SqlStore) -> None:
    done = TicketResult(ticket_id="T1", customer_id="C1", status="responded", attempts=1)
    await store.save("v1", [Outcome(result=done, ticket=TICKET)])
    assert await store.done_ticket_ids("v1") == {"T1"}
    assert await store.done_ticket_ids("v2") == set()


async def test_an_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open the store"):
        await SqlStore.open(sqlite_url(tmp_path / "missing-dir" / "s.db"))


async def test_a_folder_given_as_the_store_file_is_named_and_leaves_no_thread(
    tmp_path: Path,
) -> None:
    """`--db some-folder/`: said plainly, and checked before connecting, since a failed
    aiosqlite connect leaves a thread that prints a traceback once the loop is closed."""
    with pytest.raises(StoreError, match="is a folder; give the path of a file"):
        await SqlStore.open(sqlite_url(tmp_path))
    assert not [t for t in threading.enumerate() if "_connection_worker" in t.name]


def responded(body: str = "Hello") -> Outcome:
    analysis = Analysis(
        category="billing_question",
        priority="low",  # type: ignore[arg-type]
        sentiment="neutral",  # type: ignore[arg-type]
        language="en",
        summary="s",
        confidence=0.9,
        needs_human=False,
    )
    result = TicketResult(
        ticket_id="T1",
        customer_id="C1",
        status="responded",
        analysis=analysis,
        reply=Reply(body=body),
        grounding=GroundingCheck(passed=True),
        attempts=1,
    )
    return Outcome(result=result, ticket=TICKET)


async def test_a_later_failure_leaves_no_stale_reply_behind(
    store_url: str, store: SqlStore
) -> None:
    await store.save("v1", [responded()])
    assert await count(store_url, "replies") == 1
    await store.save("v2", [failed_outcome("d9")])
    assert await count(store_url, "replies") == 0
    assert await count(store_url, "analyses") == 0
    (result,) = await store.results(["T1"])
    assert result.status == "failed"


async def test_a_store_error_does_not_quote_ticket_data(store_url: str, store: SqlStore) -> None:
    engine = create_async_engine(async_url(store_url))
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE replies"))
        await connection.execute(text("CREATE TABLE replies (ticket_id TEXT PRIMARY KEY)"))
    await engine.dispose()
    secret = "my private address is 1 Secret Lane"
    with pytest.raises(StoreError) as caught:
        await store.save("v1", [responded(body=secret)])
    assert "Secret Lane" not in str(caught.value)
    assert "could not store 1 results" in str(caught.value)


async def test_counts_by_status_and_pending_dead_letters(store: SqlStore) -> None:
    assert await store.counts() == {"responded": 0, "failed": 0, "dead_letters": 0}
    await store.save("v1", [failed_outcome("d1")])
    assert await store.counts() == {"responded": 0, "failed": 1, "dead_letters": 1}
    await store.save("v1", [responded()])
    assert await store.counts() == {"responded": 1, "failed": 0, "dead_letters": 0}


async def test_a_repeat_from_the_same_origin_is_not_new(store: SqlStore) -> None:
    first = responded()
    first = Outcome(result=first.result, ticket=first.ticket, origin_id="origin-1")
    assert await store.save("v1", [first, first]) == [first]
    assert await store.save("v1", [first]) == []
    again = Outcome(result=first.result, ticket=first.ticket, origin_id="origin-2")
    assert await store.save("v1", [again]) == [again]
    without_origin = Outcome(result=first.result, ticket=first.ticket)
    assert await store.save("v1", [without_origin]) == [without_origin]


async def test_citations_are_read_without_the_rest_of_the_results(store: SqlStore) -> None:
    citing = responded()
    citing_result = citing.result.model_copy(
        update={
            "reply": Reply(
                body="See our refund policy.",
                cited_articles=["refunds#1", "fees#2"],
                knowledge_version="abc123",
            )
        }
    )
    other_ticket = TICKET.model_copy(update={"ticket_id": "T2"})
    plain = responded()
    plain_result = plain.result.model_copy(update={"ticket_id": "T2"})
    await store.save(
        "v1",
        [
            Outcome(result=citing_result, ticket=TICKET),
            Outcome(result=plain_result, ticket=other_ticket),
        ],
    )
    found = await store.citations("v1")
    assert found == {"T1": Citation(("refunds#1", "fees#2"), "abc123")}
    assert await store.citations("v2") == {}
    await store.save("v1", [failed_outcome("d1")])  # T1 failed later: no reply to cite
    assert await store.citations("v1") == {}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+asyncpg://app:s3cret@db:5432/supporter",
            "postgresql+asyncpg://app:***@db:5432/supporter",
        ),
        # asyncpg also takes the password as a query parameter; SQLAlchemy shows it.
        (
            "postgresql+asyncpg://app@db/supporter?password=s3cret&ssl=require",
            "postgresql+asyncpg://app@db/supporter?password=***&ssl=require",
        ),
        ("sqlite+aiosqlite:///supporter.db", "sqlite+aiosqlite:///supporter.db"),
    ],
)
def test_a_store_url_is_shown_without_its_password(url: str, shown: str) -> None:
    from supporter.store.sql import redacted

    assert redacted(url) == shown
