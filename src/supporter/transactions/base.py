"""The transaction-index port: a customer's recent transactions, without a full scan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from supporter.domain.models import Ticket, Transaction

# A ticket written minutes after a charge may carry a clock or zone that puts it
# "before" the charge; a day of slack keeps such a charge in view.
CLOCK_SLACK = timedelta(days=1)


class TransactionIndex(Protocol):
    async def recent(
        self, customer_id: str, *, until: datetime, days: int, limit: int
    ) -> list[Transaction]:
        """The customer's transactions from `days` before `until` up to `until`, newest first,
        at most `limit` of them (the newest)."""
        ...


@dataclass(frozen=True)
class TransactionWindow:
    """Which of a customer's transactions a ticket is answered with."""

    days: int = 90
    limit: int = 20

    async def of(self, index: TransactionIndex, ticket: Ticket) -> list[Transaction]:
        return await index.recent(
            ticket.customer_id,
            until=ticket.created_at + CLOCK_SLACK,
            days=self.days,
            limit=self.limit,
        )
