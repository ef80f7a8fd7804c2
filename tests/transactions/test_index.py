from datetime import UTC, datetime, timedelta
from decimal import Decimal

from supporter.domain.models import Transaction
from supporter.transactions.index import InMemoryTransactionIndex

BASE = datetime(2024, 5, 1, tzinfo=UTC)


def tx(number: int, customer: str, days_before: float) -> Transaction:
    return Transaction(
        transaction_id=f"tx_{number}",
        customer_id=customer,
        amount=Decimal("10.00"),
        currency="EUR",
        status="succeeded",
        created_at=BASE - timedelta(days=days_before),
    )


def test_recent_gives_the_window_newest_first_for_that_customer_only() -> None:
    index = InMemoryTransactionIndex(
        [tx(1, "A", 100), tx(2, "A", 5), tx(3, "B", 1), tx(4, "A", 1), tx(5, "A", -2)]
    )
    found = index.recent("A", until=BASE, days=90, limit=10)
    assert [t.transaction_id for t in found] == ["tx_4", "tx_2"]
    assert len(index) == 5


def test_recent_keeps_the_newest_when_over_the_limit() -> None:
    index = InMemoryTransactionIndex(tx(n, "A", n) for n in range(1, 30))
    found = index.recent("A", until=BASE, days=90, limit=3)
    assert [t.transaction_id for t in found] == ["tx_1", "tx_2", "tx_3"]


def test_unknown_customer_has_no_transactions() -> None:
    assert InMemoryTransactionIndex().recent("nobody", until=BASE, days=90, limit=5) == []


def test_adding_after_a_lookup_keeps_order() -> None:
    index = InMemoryTransactionIndex([tx(1, "A", 3)])
    index.recent("A", until=BASE, days=90, limit=5)
    index.add(tx(2, "A", 1))
    assert [t.transaction_id for t in index.recent("A", until=BASE, days=90, limit=5)] == [
        "tx_2",
        "tx_1",
    ]
