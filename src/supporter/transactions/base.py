"""The transaction-index port: a customer's recent transactions, without a full scan,
and the join of a ticket to them (by customer id, by e-mail, by a quoted reference)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from supporter.domain.keys import normalise_email, quoted_references
from supporter.domain.models import Ticket, Transaction

# A ticket written minutes after a charge may carry a clock or zone that puts it
# "before" the charge; a day of slack keeps such a charge in view.
CLOCK_SLACK = timedelta(days=1)


class TransactionIndex(Protocol):
    async def recent(
        self,
        customer_id: str | None,
        *,
        email: str | None = None,
        until: datetime,
        days: int,
        limit: int,
    ) -> list[Transaction]:
        """The transactions of `customer_id` and, given an `email` (normalised:
        `supporter.domain.keys.normalise_email`), those whose `customer_email`, normalised,
        is `email`: from `days` before `until` up to `until`, each once, the newest `limit`
        of them together, newest first (ties by id, descending). One lookup for both:
        a ticket's window is looked up for every ticket."""
        ...

    async def referenced(
        self, quoted: Collection[str], *, until: datetime, limit: int
    ) -> list[Transaction]:
        """Transactions up to `until` (however old) whose id is one of `quoted` as
        written, or one of whose `references`, normalised, is one of `quoted` normalised
        (`supporter.domain.keys.normalise_reference`); newest first, at most `limit`."""
        ...


@dataclass(frozen=True)
class TransactionWindow:
    """Which transactions a ticket is answered with.

    Those of the ticket's customer id and those of its e-mail address, within `days`
    before the ticket: the newest `limit` of them together. Then every transaction the
    ticket quotes by id or reference, however old (the customer named it), up to
    `limit` more. Newest first; how each joined is `supporter.domain.keys.matched_by`.
    """

    days: int = 90
    limit: int = 20

    async def of(self, index: TransactionIndex, ticket: Ticket) -> list[Transaction]:
        until = ticket.created_at + CLOCK_SLACK
        window = await index.recent(
            ticket.customer_id,
            email=normalise_email(ticket.customer_email) or None,
            until=until,
            days=self.days,
            limit=self.limit,
        )
        quoted = quoted_references(f"{ticket.subject}\n{ticket.body}")
        if quoted:
            window += await index.referenced(quoted, until=until, limit=self.limit)
        return _newest_first(window)


def _newest_first(transactions: Iterable[Transaction]) -> list[Transaction]:
    """Each transaction once, in the indexes' own order: newest first, ties by id descending."""
    unique = {transaction.transaction_id: transaction for transaction in transactions}
    return sorted(
        unique.values(),
        key=lambda transaction: (_utc(transaction.created_at), transaction.transaction_id),
        reverse=True,
    )


def _utc(moment: datetime) -> datetime:
    # Naive times are UTC, as the sources write them.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
