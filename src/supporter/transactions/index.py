"""An in-memory index of transactions by customer, newest first.

Lookups cost O(log n + k) in the customer's own transactions, never a scan of
everyone's. Memory grows with the number of transactions (each is a frozen
pydantic model, roughly 1 KB); a store-backed index takes over when that is
too much.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from supporter.domain.models import Transaction


class TransactionIndex(Protocol):
    def recent(
        self, customer_id: str, *, until: datetime, days: int, limit: int
    ) -> list[Transaction]:
        """The customer's transactions from `days` before `until` up to `until`, newest first."""
        ...


class InMemoryTransactionIndex:
    def __init__(self, transactions: Iterable[Transaction] = ()) -> None:
        self._by_customer: dict[str, list[Transaction]] = defaultdict(list)
        self._sorted = True
        self._count = 0
        for transaction in transactions:
            self.add(transaction)

    def __len__(self) -> int:
        return self._count

    def add(self, transaction: Transaction) -> None:
        self._by_customer[transaction.customer_id].append(transaction)
        self._sorted = False
        self._count += 1

    def _ensure_sorted(self) -> None:
        if self._sorted:
            return
        for items in self._by_customer.values():
            items.sort(key=lambda transaction: transaction.created_at)
        self._sorted = True

    def recent(
        self, customer_id: str, *, until: datetime, days: int, limit: int
    ) -> list[Transaction]:
        items = self._by_customer.get(customer_id)
        if not items:
            return []
        self._ensure_sorted()
        since = until - timedelta(days=days)
        # Bisect on created_at: lists are sorted ascending by time.
        end = bisect.bisect_right(items, until, key=lambda transaction: transaction.created_at)
        start = bisect.bisect_left(items, since, key=lambda transaction: transaction.created_at)
        start = max(start, end - limit)
        return items[start:end][::-1]
