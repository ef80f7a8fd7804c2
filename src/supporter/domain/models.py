"""The things Supporter reads, computes and writes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class TransactionType(StrEnum):
    CHARGE = "charge"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    PAYOUT = "payout"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Ticket(_Frozen):
    """A support ticket as read from a source; `subject` and `body` are already masked."""

    ticket_id: str
    customer_id: str
    subject: str
    body: str
    status: str
    created_at: datetime
    customer_email: str | None = None
    channel: str | None = None
    priority: Priority | None = None
    # The helpdesk's labels (Zendesk tags): kept for people and filters, not for matching.
    tags: tuple[str, ...] = ()


class Transaction(_Frozen):
    """One payment event of a customer. Only the last four digits of a card are ever kept."""

    transaction_id: str
    customer_id: str
    amount: Decimal
    currency: str
    status: str
    created_at: datetime
    type: TransactionType = TransactionType.CHARGE
    description: str | None = None
    card_last4: str | None = None
    # What processors' exports record beside the charge itself. The e-mail joins a payment to
    # a ticket where the two sides share no customer id (compare it normalised: case, spaces).
    customer_email: str | None = None
    # Refunded part of this charge when the export records refunds as a column (Stripe's
    # `Amount Refunded`) rather than as rows of their own.
    amount_refunded: Decimal | None = None
    # A chargeback in progress on this charge (Stripe's `Dispute Status`, `Disputed Amount`).
    dispute_status: str | None = None
    disputed_amount: Decimal | None = None
    # References a customer may quote: order numbers, invoice ids, the processor's other ids.
    references: tuple[str, ...] = ()


class MatchedBy(StrEnum):
    """How a transaction was joined to a ticket, strongest first: a customer id both
    sides carry, the e-mail (normalised), or a reference the customer quoted."""

    CUSTOMER_ID = "customer_id"
    EMAIL = "email"
    REFERENCE = "reference"


class RelatedTransaction(_Frozen):
    transaction_id: str
    matched_by: MatchedBy


class TransactionFacts(_Frozen):
    """What code (not a model) established about a ticket and the customer's transactions.

    A reply may rely on these facts; the grounding check holds a draft to them.
    """

    mentioned_amounts: list[Decimal] = Field(default_factory=list)
    mentioned_dates: list[str] = Field(default_factory=list)
    related_transaction_ids: list[str] = Field(default_factory=list)
    duplicate_charge_ids: list[str] = Field(default_factory=list)
    pending_ids: list[str] = Field(default_factory=list)
    failed_ids: list[str] = Field(default_factory=list)
    refund_ids: list[str] = Field(default_factory=list)
    chargeback_ids: list[str] = Field(default_factory=list)
    # Charges refunded in part or whole: by the processor's record on the charge (Stripe's
    # Amount Refunded) or by a refund of the customer's that names the charge (PayPal's
    # Reference Txn ID).
    refunded_charge_ids: list[str] = Field(default_factory=list)
    # Charges whose dispute (chargeback) the bank has not decided yet.
    disputed_ids: list[str] = Field(default_factory=list)


class Analysis(_Frozen):
    category: str
    priority: Priority
    sentiment: Sentiment
    language: str = Field(min_length=2, max_length=2, description="ISO 639-1 code")
    summary: str
    confidence: float = Field(ge=0.0, le=1.0)
    needs_human: bool
    related_transaction_ids: list[str] = Field(default_factory=list)
    # The same transactions, in the same order, each with how it was joined to the ticket.
    related_transactions: list[RelatedTransaction] = Field(default_factory=list)


class Reply(_Frozen):
    body: str
    cited_transaction_ids: list[str] = Field(default_factory=list)
    # Help-center passages the reply relies on (`<article_id>#<n>`), and a digest of
    # their text when it was drafted: a rerun redoes the ticket when one of them changed.
    cited_articles: list[str] = Field(default_factory=list)
    knowledge_version: str | None = None


class GroundingCheck(_Frozen):
    """The verdict on a draft reply: `passed` is False when it states something unsupported."""

    passed: bool
    problems: list[str] = Field(default_factory=list)
    # Allowed, but for a person to look at before it is sent (a refund promise that a
    # cited help-center passage makes).
    for_review: list[str] = Field(default_factory=list)


class Usage(_Frozen):
    """Tokens paid for, and what they cost in USD (0 when the price is unknown or free)."""

    prompt_tokens: int = 0
    # Part of prompt_tokens: read from the prompt cache, or written to it (billed apart).
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    completion_tokens: int = 0
    # Part of completion_tokens: the model's reasoning, billed as output but never shown.
    reasoning_tokens: int = 0
    cost_usd: Decimal = Decimal(0)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
        )


ResultStatus = Literal["responded", "failed"]


class TicketResult(_Frozen):
    """One line of the output: what became of one ticket."""

    ticket_id: str
    customer_id: str
    status: ResultStatus
    analysis: Analysis | None = None
    reply: Reply | None = None
    grounding: GroundingCheck | None = None
    provider: str | None = None
    attempts: int = Field(ge=1)
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)


SourceName = Literal["tickets", "transactions"]


class Reject(_Frozen):
    """An input record that could not be used, and why. `raw` is already card-masked."""

    source: SourceName
    file: str
    # The physical line the record starts on; None in a JSON document (an API response is
    # often one line), where `record` says where it is: "tickets[13]", the 14th ticket.
    line: int | None
    reason: str
    raw: str
    record: str | None = None
