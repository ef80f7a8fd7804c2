"""The customer's transactions as the summary and the reply use them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Final

from supporter.domain.models import Transaction, TransactionFacts, TransactionType

# Raw statuses from payment systems, grouped under the words a customer reads.
STATUS_GROUPS: Final[Mapping[str, str]] = {
    "succeeded": "completed", "success": "completed", "successful": "completed",
    "completed": "completed", "complete": "completed", "paid": "completed",
    "settled": "completed", "captured": "completed", "posted": "completed",
    "pending": "pending", "processing": "pending", "authorized": "pending",
    "authorised": "pending", "in_progress": "pending",
    "failed": "failed", "failure": "failed", "error": "failed",
    "declined": "declined", "rejected": "declined",
    "refunded": "refunded", "partially_refunded": "refunded",
    "canceled": "cancelled", "cancelled": "cancelled", "voided": "cancelled",
    "reversed": "cancelled", "disputed": "disputed",
}  # fmt: skip
UNDONE_STATUSES: Final = frozenset({"failed", "declined", "cancelled"})


def money_text(tx: Transaction) -> str:
    # Exports write refunds and chargebacks negative; the kind word already says which way.
    amount = tx.amount if tx.type is TransactionType.CHARGE else abs(tx.amount)
    return f"{amount} {tx.currency}"


def utc_day(tx: Transaction) -> str:
    """The UTC day (naive times are UTC): how sources write it and the grounding check reads it."""
    moment = tx.created_at
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date().isoformat()


def related_transactions(
    transactions: Sequence[Transaction], facts: TransactionFacts
) -> list[Transaction]:
    """The facts' related transactions, in the facts' order, that really exist."""
    by_id = {tx.transaction_id: tx for tx in transactions}
    return [
        by_id[tx_id] for tx_id in dict.fromkeys(facts.related_transaction_ids) if tx_id in by_id
    ]


def issued_refunds(
    transactions: Sequence[Transaction], facts: TransactionFacts
) -> list[Transaction]:
    """Refund transactions the facts name that did not fail: only these may be called
    issued. A charge whose status is `refunded` is listed as a charge (with that status):
    its date is the charge's, not the refund's."""
    refund_ids = set(facts.refund_ids)
    return [
        tx
        for tx in transactions
        if tx.transaction_id in refund_ids
        and tx.type is TransactionType.REFUND
        and STATUS_GROUPS.get(tx.status.strip().lower()) not in UNDONE_STATUSES
    ]
