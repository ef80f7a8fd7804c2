"""Reviews in the store: the audit trail, stale drafts, what the reviews add up to, and
the export, on each database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from supporter.domain.models import Analysis, Priority, Reply, Ticket, TicketResult, Usage
from supporter.domain.people import ReviewAction
from supporter.store import reviews as reviews_module
from supporter.store import schema
from supporter.store.base import Outcome
from supporter.store.reviews import AlreadyReviewed, Review, SqlReviews, StaleDraft, UnknownTicket
from supporter.store.sql import SqlStore, draft_version, sqlite_url

DRAFT = "Hello, we refunded 19.99 EUR."


def outcome(ticket_id: str, category: str, cost: str, body: str = DRAFT) -> Outcome:
    ticket = Ticket(
        ticket_id=ticket_id,
        customer_id="C1",
        subject="Refund",
        body="Where is my refund?",
        status="open",
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
    )
    result = TicketResult(
        ticket_id=ticket_id,
        customer_id="C1",
        status="responded",
        analysis=Analysis(
            category=category,
            priority=Priority.HIGH,
            sentiment="negative",
            language="en",
            summary="refund",
            confidence=0.9,
            needs_human=False,
        ),
        reply=Reply(body=body),
        provider="openai:gpt-x",
        attempts=1,
        usage=Usage(prompt_tokens=100, cost_usd=Decimal(cost)),
    )
    return Outcome(result=result, ticket=ticket)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    opened = await SqlStore.open(database_url)
    await opened.save(
        "v1", [outcome("T1", "refund_request", "0.002"), outcome("T2", "other", "0.004")]
    )
    yield opened
    await opened.close()


async def version(reviews: SqlReviews, ticket_id: str) -> str:
    found = (await reviews.detail(ticket_id)).draft_version
    assert found is not None
    return found


async def test_reviews_are_appended_and_a_changed_draft_refuses_the_old_version(
    store: SqlStore,
) -> None:
    reviews = SqlReviews(store.engine)
    first = await version(reviews, "T1")
    approved = await reviews.review(
        "T1",
        Review(ReviewAction.APPROVE, first, "ana", reply=DRAFT + " Thanks!", category="other"),
    )
    assert approved.edit_distance == len(" Thanks!")
    assert approved.draft == DRAFT
    await store.save("v1", [outcome("T1", "refund_request", "0.002", body="A new draft.")])
    with pytest.raises(StaleDraft, match="changed since it was read"):
        await reviews.review("T1", Review(ReviewAction.REJECT, first, "ana", reason="late"))
    second = await version(reviews, "T1")
    assert second != first
    await reviews.review("T1", Review(ReviewAction.REJECT, second, "rui", reason="wrong"))
    history = (await reviews.detail("T1")).reviews
    assert [(r.action, r.reviewer, r.draft_version) for r in history] == [
        (ReviewAction.APPROVE, "ana", first),
        (ReviewAction.REJECT, "rui", second),
    ]
    with pytest.raises(UnknownTicket):
        await reviews.review("T9", Review(ReviewAction.REJECT, second, "rui", reason="x"))
    async with store.engine.connect() as connection:
        count = (
            await connection.execute(select(func.count()).select_from(schema.reviews))
        ).scalar()
    assert count == 2


async def test_a_new_draft_after_a_review_waits_for_review_again(store: SqlStore) -> None:
    from supporter.store.queue import QueueFilter, SqlQueue

    reviews = SqlReviews(store.engine)
    for ticket_id in ("T1", "T2"):
        await reviews.review(
            ticket_id,
            Review(ReviewAction.APPROVE, await version(reviews, ticket_id), "ana", reply="Hi."),
        )
    assert (await reviews.overview()).waiting == 0
    await store.save("v2", [outcome("T1", "refund_request", "0.002", body="A new draft.")])
    page = await SqlQueue(store.engine).page(QueueFilter())
    rows = {row.ticket_id: row.review for row in page.rows}
    assert rows == {"T1": "pending", "T2": "approved"}
    assert (await reviews.overview()).waiting == 1
    history = (await reviews.detail("T1")).reviews
    assert [r.action for r in history] == [ReviewAction.APPROVE]


async def test_the_same_reply_stored_again_keeps_its_review(store: SqlStore) -> None:
    """A redelivered or replayed result differs in its tries and usage, not in its draft."""
    from supporter.store.queue import QueueFilter, SqlQueue

    reviews = SqlReviews(store.engine)
    first = await version(reviews, "T1")
    await reviews.review("T1", Review(ReviewAction.APPROVE, first, "ana"))
    await store.save("v1", [outcome("T1", "refund_request", "0.009")])
    assert await version(reviews, "T1") == first
    page = await SqlQueue(store.engine).page(QueueFilter())
    assert {row.ticket_id: row.review for row in page.rows}["T1"] == "approved"


async def test_a_draft_is_decided_once_and_a_second_review_names_the_first(
    store: SqlStore,
) -> None:
    reviews = SqlReviews(store.engine)
    first = await version(reviews, "T1")
    approved = await reviews.review("T1", Review(ReviewAction.APPROVE, first, "bob", reply="Hi."))
    for again in (
        Review(ReviewAction.APPROVE, first, "cy", reply="Other text."),
        Review(ReviewAction.REJECT, first, "bob", reason="wrong"),
    ):
        with pytest.raises(AlreadyReviewed, match="already approved by bob at ") as refused:
            await reviews.review("T1", again)
        assert refused.value.review == approved
    detail = await reviews.detail("T1")
    assert detail.reviews == [approved]
    assert detail.decision == approved
    assert (await reviews.detail("T2")).decision is None


async def test_reviews_at_the_same_time_decide_once(store: SqlStore) -> None:
    """Each pair races: one review is stored and is the ticket's state, the other refused."""
    tickets = [f"R{n}" for n in range(6)]
    await store.save("v1", [outcome(ticket_id, "other", "0.001") for ticket_id in tickets])
    reviews = SqlReviews(store.engine)
    for ticket_id in tickets:
        seen = await version(reviews, ticket_id)
        done = await asyncio.gather(
            reviews.review(ticket_id, Review(ReviewAction.APPROVE, seen, "bob", reply="Bob")),
            reviews.review(ticket_id, Review(ReviewAction.APPROVE, seen, "cy", reply="Cy")),
            return_exceptions=True,
        )
        [won] = [item for item in done if not isinstance(item, BaseException)]
        [lost] = [item for item in done if isinstance(item, BaseException)]
        assert isinstance(lost, AlreadyReviewed)
        assert lost.review == won
        detail = await reviews.detail(ticket_id)
        assert (detail.decision, detail.reviews) == (won, [won])


async def test_the_state_is_compared_and_set_in_the_write(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review whose first look missed the other one (it was not committed yet) is still
    refused by the write of the state, and leaves nothing behind."""
    reviews = SqlReviews(store.engine)
    seen = await version(reviews, "T1")
    approved = await reviews.review("T1", Review(ReviewAction.APPROVE, seen, "bob", reply="Bob"))
    looks: list[str] = []
    check = reviews_module._refuse_if_decided

    async def missed_first(connection: object, ticket_id: str, found: str) -> None:
        looks.append(ticket_id)
        if len(looks) > 1:
            await check(connection, ticket_id, found)  # type: ignore[arg-type]

    monkeypatch.setattr(reviews_module, "_refuse_if_decided", missed_first)
    with pytest.raises(AlreadyReviewed) as refused:
        await reviews.review("T1", Review(ReviewAction.REJECT, seen, "cy", reason="no"))
    assert refused.value.review == approved
    assert looks == ["T1", "T1"]
    detail = await reviews.detail("T1")
    assert (detail.decision, detail.reviews) == (approved, [approved])


def test_a_draft_version_names_the_ticket_and_what_the_reviewer_decides_on() -> None:
    one = outcome("T1", "refund_request", "0.002").result
    record = one.model_dump_json()
    assert draft_version("T1", record) != draft_version("T2", record)
    # Drafted again with the same text: another category is another draft...
    recategorised = outcome("T1", "other", "0.002").result.model_dump_json()
    assert draft_version("T1", recategorised) != draft_version("T1", record)
    # ...while the tries and the cost of the same draft are not.
    again = one.model_copy(update={"attempts": 3}).model_dump_json()
    assert draft_version("T1", again) == draft_version("T1", record)


async def test_the_overview_counts_the_latest_review_of_each_ticket(store: SqlStore) -> None:
    reviews = SqlReviews(store.engine)
    assert (await reviews.overview()).waiting == 2
    await reviews.review(
        "T1", Review(ReviewAction.APPROVE, await version(reviews, "T1"), "ana", reply="Hi.")
    )
    await reviews.review(
        "T2", Review(ReviewAction.REJECT, await version(reviews, "T2"), "ana", reason="no")
    )
    overview = await reviews.overview()
    assert overview.waiting == 0
    assert (overview.total.reviewed, overview.total.approved) == (2, 1)
    assert overview.total.approval_rate == 0.5
    assert overview.total.edited_share == 1.0
    assert overview.total.cost_per_approved == pytest.approx(0.002)
    assert overview.by_category["refund_request"].approved == 1
    assert overview.by_category["other"].approval_rate == 0.0
    assert set(overview.by_provider) == {"openai:gpt-x"}


async def test_the_export_gives_each_review_with_the_labels_it_ends_with(store: SqlStore) -> None:
    reviews = SqlReviews(store.engine)
    await reviews.review(
        "T1",
        Review(
            ReviewAction.APPROVE,
            await version(reviews, "T1"),
            "ana",
            category="other",
            priority=Priority.LOW,
        ),
    )
    await reviews.review(
        "T2", Review(ReviewAction.REJECT, await version(reviews, "T2"), "ana", reason="no")
    )
    rows = [row async for row in reviews.export()]
    assert [(r["ticket_id"], r["action"]) for r in rows] == [("T1", "approve"), ("T2", "reject")]
    assert (rows[0]["model_category"], rows[0]["final_category"]) == ("refund_request", "other")
    assert (rows[0]["final_priority"], rows[1]["final_category"]) == ("low", "other")
    assert rows[0]["reply"] == DRAFT
    assert rows[0]["body"] == "Where is my refund?"


async def test_upgrading_fills_the_queue_from_what_the_store_holds(store: SqlStore) -> None:
    from alembic import command
    from sqlalchemy.engine import Connection

    from supporter.store import migrations
    from supporter.store.queue import QueueFilter, SqlQueue

    reviews = SqlReviews(store.engine)
    await reviews.review(
        "T1", Review(ReviewAction.REJECT, await version(reviews, "T1"), "ana", reason="no")
    )
    before = await SqlQueue(store.engine).page(QueueFilter())

    def down_and_up(connection: Connection) -> None:
        command.downgrade(migrations._config(connection), "0008")
        command.upgrade(migrations._config(connection), "head")

    async with store.engine.begin() as connection:
        await connection.run_sync(down_and_up)
    after = await SqlQueue(store.engine).page(QueueFilter())
    assert after == before
    assert [(row.ticket_id, row.review, row.priority) for row in after.rows] == [
        ("T1", "rejected", "high"),
        ("T2", "pending", "high"),
    ]


async def test_a_draft_saved_while_it_is_reviewed_is_refused_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite takes no lock at the read of the draft (its transaction begins at the first
    write): a new draft saved right after that read must not be stored as reviewed. (On
    PostgreSQL the read locks the row, so a save there waits for the review.)"""
    store = await SqlStore.open(sqlite_url(tmp_path / "race.db"))
    try:
        await store.save("v1", [outcome("T1", "refund_request", "0.002")])
        reviews = SqlReviews(store.engine)
        seen = await version(reviews, "T1")
        read = reviews_module._record

        async def then_redrafted(
            connection: AsyncConnection, ticket_id: str, lock: bool = False
        ) -> str | None:
            record = await read(connection, ticket_id, lock)
            if lock:
                await store.save("v2", [outcome("T1", "refund_request", "0.002", body="New")])
            return record

        monkeypatch.setattr(reviews_module, "_record", then_redrafted)
        with pytest.raises(StaleDraft, match="changed while it was reviewed"):
            await reviews.review("T1", Review(ReviewAction.APPROVE, seen, "bob"))
        monkeypatch.undo()

        detail = await reviews.detail("T1")
        assert detail.result is not None
        assert detail.result.reply is not None
        assert detail.result.reply.body == "New"
        assert (detail.reviews, detail.decision) == ([], None)
        async with store.engine.connect() as connection:
            queue = schema.review_queue
            states = (await connection.execute(select(schema.review_states))).all()
            review = (
                await connection.execute(select(queue.c.review).where(queue.c.ticket_id == "T1"))
            ).scalar_one()
        assert (states, review) == ([], "pending")
        # The new draft is reviewed as any other.
        await reviews.review("T1", Review(ReviewAction.APPROVE, detail.draft_version or "", "bob"))
        assert (await reviews.detail("T1")).decision is not None
    finally:
        await store.close()


async def test_card_numbers_in_reviews_stored_unmasked_are_masked_wherever_read(
    store: SqlStore,
) -> None:
    """Reviews stored before text was masked on the way in may hold a card number."""
    reviews = SqlReviews(store.engine)
    seen = await version(reviews, "T1")
    await reviews.review("T1", Review(ReviewAction.APPROVE, seen, "ana"))
    async with store.engine.begin() as connection:
        await connection.execute(
            schema.reviews.update().values(
                reply=f"Refunded to {CARD}.", draft=f"Draft {CARD}", reason=f"Was {CARD}"
            )
        )
    detail = await reviews.detail("T1")
    assert detail.decision is not None
    with pytest.raises(AlreadyReviewed) as refused:
        await reviews.review("T1", Review(ReviewAction.REJECT, seen, "cy", reason="no"))
    exported = [row async for row in reviews.export()]
    for review in (*detail.reviews, detail.decision, refused.value.review):
        assert (review.reply, review.draft, review.reason) == (
            "Refunded to **** 1111.",
            "Draft **** 1111",
            "Was **** 1111",
        )
    assert [(row["reply"], row["draft"], row["reason"]) for row in exported] == [
        ("Refunded to **** 1111.", "Draft **** 1111", "Was **** 1111")
    ]


CARD = "4111 1111 1111 1111"
