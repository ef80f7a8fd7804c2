"""Every transaction index answers the same: the scratch SQLite file of a run and the
shared store's table (on SQLite and on PostgreSQL)."""

from collections.abc import AsyncIterator, Collection, Iterable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import pytest
from tests.conftest import postgres_database

from supporter.domain.errors import TransientError
from supporter.domain.models import Ticket, Transaction, TransactionType
from supporter.store.base import StoreError
from supporter.store.sql import SqlStore, sqlite_url
from supporter.transactions.base import TransactionWindow
from supporter.transactions.sql import SqlTransactionIndex
from supporter.transactions.sqlite import SqliteTransactionIndex

BASE = datetime(2024, 5, 1, tzinfo=UTC)


def tx(number: int, customer: str, days_before: float) -> Transaction:
    return Transaction(
        transaction_id=f"tx_{number}",
        customer_id=customer,
        amount=Decimal("10.10"),
        currency="EUR",
        status="succeeded",
        created_at=BASE - timedelta(days=days_before),
        type=TransactionType.REFUND,
        card_last4="4242",
    )


async def stream(items: Iterable[Transaction]) -> AsyncIterator[Transaction]:
    for item in items:
        yield item


class Index(Protocol):
    async def load(self, transactions: AsyncIterator[Transaction]) -> int: ...

    async def recent(
        self,
        customer_id: str | None,
        *,
        email: str | None = None,
        until: datetime,
        days: int,
        limit: int,
    ) -> list[Transaction]: ...

    async def referenced(
        self, quoted: Collection[str], *, until: datetime, limit: int
    ) -> list[Transaction]: ...


@pytest.fixture(params=["scratch", "store-sqlite", "store-postgresql"])
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Index]:
    if request.param == "scratch":
        scratch = SqliteTransactionIndex(tmp_path)
        yield scratch
        scratch.close()
        return
    if request.param == "store-sqlite":
        store = await SqlStore.open(sqlite_url(tmp_path / "s.db"))
        yield SqlTransactionIndex(store.engine)
        await store.close()
        return
    async with postgres_database() as url:
        store = await SqlStore.open(url)
        yield SqlTransactionIndex(store.engine)
        await store.close()


async def test_recent_gives_the_window_newest_first_for_that_customer_only(
    index: Index,
) -> None:
    loaded = [tx(1, "A", 1), tx(2, "A", 100), tx(3, "B", 1), tx(4, "A", 0.5), tx(5, "A", -1)]
    assert await index.load(stream(loaded)) == 5
    found = await index.recent("A", until=BASE, days=90, limit=10)
    assert [t.transaction_id for t in found] == ["tx_4", "tx_1"]


async def test_a_transaction_comes_back_exactly_as_loaded(index: Index) -> None:
    original = tx(1, "A", 1).model_copy(update={"description": "Coffee ☕", "merchant": "Bär"})
    await index.load(stream([original]))
    assert await index.recent("A", until=BASE, days=90, limit=1) == [original]


async def test_recent_keeps_the_newest_when_over_the_limit(index: Index) -> None:
    await index.load(stream(tx(n, "A", n) for n in range(1, 11)))
    found = await index.recent("A", until=BASE, days=90, limit=3)
    assert [t.transaction_id for t in found] == ["tx_1", "tx_2", "tx_3"]


async def test_window_edges_are_inclusive_to_the_microsecond(index: Index) -> None:
    edge = tx(1, "A", 90)
    past_edge = tx(2, "A", 90).model_copy(
        update={"created_at": BASE - timedelta(days=90, microseconds=1)}
    )
    at_until = tx(3, "A", 0)
    after = tx(4, "A", 0).model_copy(update={"created_at": BASE + timedelta(microseconds=1)})
    await index.load(stream([edge, past_edge, at_until, after]))
    found = await index.recent("A", until=BASE, days=90, limit=10)
    assert [t.transaction_id for t in found] == ["tx_3", "tx_1"]


async def test_times_in_other_zones_are_compared_as_instants(index: Index) -> None:
    # 23:30 at UTC-5 on the 30th is 04:30 UTC on May 1st: inside a window ending 05:00 UTC.
    eastern = timezone(timedelta(hours=-5))
    late = tx(1, "A", 0).model_copy(
        update={"created_at": datetime(2024, 4, 30, 23, 30, tzinfo=eastern)}
    )
    await index.load(stream([late]))
    until = datetime(2024, 5, 1, 5, 0, tzinfo=UTC)
    assert [t.transaction_id for t in await index.recent("A", until=until, days=1, limit=5)] == [
        "tx_1"
    ]
    before = datetime(2024, 5, 1, 4, 0, tzinfo=UTC)
    assert await index.recent("A", until=before, days=1, limit=5) == []


async def test_many_transactions_load_in_batches(index: Index) -> None:
    await index.load(stream(tx(n, f"C{n % 100}", n % 50) for n in range(12_000)))
    assert len(await index.recent("C7", until=BASE, days=90, limit=500)) == 120


async def test_unknown_customer_has_no_transactions(index: Index) -> None:
    assert await index.recent("nobody", until=BASE, days=90, limit=5) == []


async def test_the_window_of_a_ticket_reaches_a_day_past_its_creation(index: Index) -> None:
    await index.load(stream([tx(1, "A", -0.5), tx(2, "A", -2), tx(3, "A", 10), tx(4, "A", 40)]))
    ticket = Ticket(
        ticket_id="T1",
        customer_id="A",
        subject="s",
        body="b",
        status="open",
        created_at=BASE,
    )
    found = await TransactionWindow(days=30, limit=5).of(index, ticket)
    assert [t.transaction_id for t in found] == ["tx_1", "tx_3"]


def test_close_removes_the_scratch_file(tmp_path: Path) -> None:
    index = SqliteTransactionIndex(tmp_path)
    assert any(tmp_path.iterdir())
    index.close()
    assert not any(tmp_path.iterdir())


async def test_loading_again_updates_by_transaction_id(tmp_path: Path) -> None:
    store = await SqlStore.open(sqlite_url(tmp_path / "s.db"))
    index = SqlTransactionIndex(store.engine)
    try:
        await index.load(stream([tx(1, "A", 1), tx(2, "A", 2)]))
        corrected = tx(1, "A", 3).model_copy(update={"amount": Decimal("99.00")})
        assert await index.load(stream([corrected])) == 1
        assert await index.count() == 2
        found = await index.recent("A", until=BASE, days=90, limit=5)
        assert [(t.transaction_id, t.amount) for t in found] == [
            ("tx_2", Decimal("10.10")),
            ("tx_1", Decimal("99.00")),
        ]
    finally:
        await store.close()


async def test_a_lookup_the_store_cannot_answer_is_worth_another_try(tmp_path: Path) -> None:
    store = await SqlStore.open(sqlite_url(tmp_path / "s.db"))
    index = SqlTransactionIndex(store.engine)
    async with store.engine.begin() as connection:
        await connection.exec_driver_sql("DROP TABLE transactions")
    try:
        with pytest.raises(TransientError, match="could not look up transactions"):
            await index.recent("A", until=BASE, days=90, limit=5)
        with pytest.raises(StoreError, match="could not load transactions after 0"):
            await index.load(stream([tx(1, "A", 1)]))
    finally:
        await store.close()


async def test_transactions_at_the_same_moment_are_ordered_by_id_in_every_index(
    index: Index,
) -> None:
    # Both indexes must pick the same window, or ingest and the workers would disagree.
    same = [tx(n, "A", 1) for n in (3, 1, 2)]
    await index.load(stream(same))
    found = await index.recent("A", until=BASE, days=90, limit=2)
    assert [t.transaction_id for t in found] == ["tx_3", "tx_2"]


def paid(
    number: int,
    customer: str,
    days_before: float,
    email: str | None = None,
    references: tuple[str, ...] = (),
) -> Transaction:
    return tx(number, customer, days_before).model_copy(
        update={
            "type": TransactionType.CHARGE,
            "customer_email": email,
            "references": references,
        }
    )


def ticket_of(customer: str, email: str | None, body: str = "I was charged twice") -> Ticket:
    return Ticket(
        ticket_id="T1",
        customer_id=customer,
        subject="Billing",
        body=body,
        status="open",
        created_at=BASE,
        customer_email=email,
    )


def ids(transactions: Iterable[Transaction]) -> list[str]:
    return [t.transaction_id for t in transactions]


async def test_recent_by_email_alone_matches_the_address_whatever_its_case_and_spaces(
    index: Index,
) -> None:
    await index.load(
        stream(
            [
                paid(1, "cus_A", 1, "Alice.Martin@Example.com "),
                paid(2, "cus_B", 2, "alice.martin@example.com"),
                paid(3, "cus_C", 1, "bob@example.com"),
                paid(4, "cus_A", 100, "alice.martin@example.com"),
                paid(5, "cus_A", 1),
            ]
        )
    )
    found = await index.recent(
        None, email="alice.martin@example.com", until=BASE, days=90, limit=10
    )
    assert ids(found) == ["tx_1", "tx_2"]
    assert found[0].customer_email == "Alice.Martin@Example.com "  # the record as loaded
    assert await index.recent(None, email="nobody@example.com", until=BASE, days=90, limit=10) == []


async def test_recent_by_customer_and_email_gives_each_once_the_newest_of_both(
    index: Index,
) -> None:
    await index.load(
        stream(
            [
                paid(1, "cus_A", 5, "alice@example.com"),  # found both ways: once
                paid(2, "cus_B", 1, "alice@example.com"),
                paid(3, "cus_A", 3),
                paid(4, "cus_A", 9, "alice@example.com"),  # past the limit of three
                paid(5, "cus_C", 2, "bob@example.com"),
            ]
        )
    )
    found = await index.recent("cus_A", email="alice@example.com", until=BASE, days=90, limit=3)
    assert ids(found) == ["tx_2", "tx_3", "tx_1"]
    alone = await index.recent("cus_A", until=BASE, days=90, limit=10)
    assert ids(alone) == ["tx_3", "tx_1", "tx_4"]


async def test_referenced_finds_ids_as_written_and_references_normalised(index: Index) -> None:
    await index.load(
        stream(
            [
                paid(1, "cus_A", 1, references=("#SO-1001", "inv_77")),
                paid(2, "cus_B", 400),
                paid(3, "cus_C", 1, references=("SO-1002",)),
                paid(4, "cus_D", -2, references=("SO-1003",)),
            ]
        )
    )
    found = await index.referenced(["so-1001", "tx_2", "SO-1003", "TX_3"], until=BASE, limit=10)
    # tx_2 is a year old and still found; tx_4 is after the ticket; ids match as written.
    assert ids(found) == ["tx_1", "tx_2"]
    assert ids(await index.referenced(["INV_77"], until=BASE, limit=10)) == ["tx_1"]
    assert ids(await index.referenced(["SO-1001", "tx_2"], until=BASE, limit=1)) == ["tx_1"]
    assert await index.referenced(["#"], until=BASE, limit=10) == []


async def test_loading_again_replaces_the_references(index: Index) -> None:
    await index.load(stream([paid(1, "cus_A", 1, references=("SO-1", "SO-2"))]))
    await index.load(stream([paid(1, "cus_A", 1, references=("SO-2", "SO-3"))]))
    assert await index.referenced(["SO-1"], until=BASE, limit=10) == []
    assert ids(await index.referenced(["SO-3"], until=BASE, limit=10)) == ["tx_1"]


async def test_a_ticket_joins_payments_by_email_alone(index: Index) -> None:
    # The helpdesk's requester id is not the processor's customer id: only the e-mail joins.
    await index.load(
        stream(
            [
                paid(1, "cus_A", 1, "Alice.Martin@Example.com "),
                paid(2, "cus_A", 1.5, "alice.martin@example.com"),
                paid(3, "cus_B", 1, "bob@example.com"),
            ]
        )
    )
    found = await TransactionWindow().of(index, ticket_of("zd-381", " alice.martin@EXAMPLE.com"))
    assert ids(found) == ["tx_1", "tx_2"]
    assert await TransactionWindow().of(index, ticket_of("zd-381", None)) == []


async def test_id_and_email_matches_are_one_window_newest_first(index: Index) -> None:
    await index.load(
        stream(
            [
                paid(1, "C1", 1),
                paid(2, "cus_A", 2, "alice@example.com"),
                paid(3, "C1", 3, "alice@example.com"),
                paid(4, "C1", 4),
                paid(5, "cus_A", 5, "alice@example.com"),
            ]
        )
    )
    found = await TransactionWindow(limit=3).of(index, ticket_of("C1", "alice@example.com"))
    assert ids(found) == ["tx_1", "tx_2", "tx_3"]


async def test_a_quoted_payment_joins_however_old_beside_the_window(index: Index) -> None:
    await index.load(
        stream(
            [
                paid(1, "C1", 1),
                paid(5, "C1", 1.5),
                paid(2, "C1", 2).model_copy(update={"transaction_id": "ch_000002"}),
                paid(3, "cus_X", 200, "billing@other.example", ("#1001",)),
                paid(4, "cus_Y", 1, "someone@else.example"),
            ]
        )
    )
    ticket = ticket_of("C1", "alice@example.com", "Where is my order #1001? Paid: ch_000002.")
    found = await TransactionWindow(limit=2).of(index, ticket)
    # The window keeps the newest two by customer id; the quoted ones come on top of it.
    assert ids(found) == ["tx_1", "tx_5", "ch_000002", "tx_3"]
