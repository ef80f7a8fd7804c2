from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from supporter.domain.models import Transaction, TransactionType
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


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SqliteTransactionIndex]:
    index = SqliteTransactionIndex(tmp_path)
    yield index
    index.close()


async def test_recent_gives_the_window_newest_first_for_that_customer_only(
    index: SqliteTransactionIndex,
) -> None:
    loaded = await index.load(
        stream([tx(1, "A", 100), tx(2, "A", 5), tx(3, "B", 1), tx(4, "A", 1), tx(5, "A", -2)])
    )
    assert loaded == len(index) == 5
    found = index.recent("A", until=BASE, days=90, limit=10)
    assert [t.transaction_id for t in found] == ["tx_4", "tx_2"]


async def test_a_transaction_comes_back_exactly_as_loaded(index: SqliteTransactionIndex) -> None:
    original = tx(1, "A", 1)
    await index.load(stream([original]))
    assert index.recent("A", until=BASE, days=90, limit=1) == [original]


async def test_recent_keeps_the_newest_when_over_the_limit(index: SqliteTransactionIndex) -> None:
    await index.load(stream(tx(n, "A", n) for n in range(1, 30)))
    found = index.recent("A", until=BASE, days=90, limit=3)
    assert [t.transaction_id for t in found] == ["tx_1", "tx_2", "tx_3"]


async def test_many_transactions_load_in_batches(index: SqliteTransactionIndex) -> None:
    await index.load(stream(tx(n, f"C{n % 100}", n % 50) for n in range(12_000)))
    assert len(index) == 12_000
    assert len(index.recent("C7", until=BASE, days=90, limit=500)) == 120


def test_unknown_customer_has_no_transactions(index: SqliteTransactionIndex) -> None:
    assert index.recent("nobody", until=BASE, days=90, limit=5) == []


def test_close_removes_the_scratch_file(tmp_path: Path) -> None:
    index = SqliteTransactionIndex(tmp_path)
    assert any(tmp_path.iterdir())
    index.close()
    assert not any(tmp_path.iterdir())
