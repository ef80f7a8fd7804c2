"""What the generator produces: the ticket and transaction columns, and a customer's
tickets with what each was written to be."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CATEGORIES = (
    "billing_question",
    "refund_request",
    "duplicate_charge",
    "payment_failed",
    "unrecognized_charge",
    "subscription_cancellation",
    "account_access",
    "technical_issue",
    "general_inquiry",
)
LANGUAGES = ("en", "es", "fr", "de", "pt", "it")
TICKET_COLUMNS = (
    "ticket_id",
    "customer_id",
    "subject",
    "body",
    "status",
    "created_at",
    "customer_email",
    "channel",
    "priority",
)
TRANSACTION_COLUMNS = (
    "transaction_id",
    "customer_id",
    "amount",
    "currency",
    "status",
    "created_at",
    "type",
    "description",
    "card_last4",
)


@dataclass(frozen=True, slots=True)
class SampleTicket:
    """One ticket row (keys in `TICKET_COLUMNS` order) and what it was written to be."""

    row: dict[str, str]
    category: str
    language: str
    tone: str  # "polite", "neutral" or "angry"
    transaction_ids: tuple[str, ...]  # the transactions the ticket is about; the first is cited
    has_card_number: bool


@dataclass(frozen=True, slots=True)
class SampleCustomer:
    customer_id: str
    tickets: tuple[SampleTicket, ...]
    transactions: tuple[dict[str, str], ...]  # keys in `TRANSACTION_COLUMNS` order, by time


@dataclass(frozen=True, slots=True)
class SampleFiles:
    tickets_path: Path
    transactions_path: Path
    tickets: int
    transactions: int
    customers: int

    def __str__(self) -> str:
        return (
            f"{self.tickets_path} ({self.tickets:,} tickets) and {self.transactions_path} "
            f"({self.transactions:,} transactions of {self.customers:,} customers)"
        )
