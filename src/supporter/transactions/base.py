"""The transaction-index port: a customer's recent transactions, without a full scan."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from supporter.domain.models import Transaction


class TransactionIndex(Protocol):
    def recent(
        self, customer_id: str, *, until: datetime, days: int, limit: int
    ) -> list[Transaction]:
        """The customer's transactions from `days` before `until` up to `until`, newest first,
        at most `limit` of them (the newest)."""
        ...
