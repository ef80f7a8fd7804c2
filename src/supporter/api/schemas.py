"""What the API reads and answers, as its OpenAPI schema shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from supporter.domain.messages import AttemptRecord
from supporter.domain.models import (
    Analysis,
    GroundingCheck,
    Priority,
    Ticket,
    Transaction,
    Usage,
)
from supporter.domain.people import ReviewAction, ReviewRecord
from supporter.store.queue import QueueRow, TicketState


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def fields(self) -> dict[str, str | None]:
        """The values as a CSV row holds them (a list as one comma-separated value)."""
        return {
            name: ",".join(value) if isinstance(value, list) else value
            for name, value in self.model_dump().items()
        }


class TicketIn(_Input):
    """A ticket, with the fields and rules of the tickets CSV: text as written there
    (created_at in ISO 8601, priority low|medium|high|urgent). Card numbers in the
    subject and body are masked before anything is stored."""

    ticket_id: str
    customer_id: str
    subject: str = ""
    body: str = ""
    status: str
    created_at: str
    customer_email: str | None = None
    channel: str | None = None
    priority: str | None = None
    tags: list[str] = Field(default_factory=list)


class TransactionIn(_Input):
    """A payment transaction, with the fields and rules of the transactions CSV."""

    transaction_id: str
    customer_id: str
    amount: str = Field(examples=["-12.50"])
    currency: str
    status: str
    created_at: str
    type: str | None = None
    description: str | None = None
    card_last4: str | None = None
    customer_email: str | None = None
    amount_refunded: str | None = None
    dispute_status: str | None = None
    disputed_amount: str | None = None
    references: list[str] = Field(default_factory=list)


class Problem(BaseModel):
    """One record that was not taken: its place in the request, its id, the field."""

    index: int
    id: str | None
    field: str
    error: str


class TicketsTaken(BaseModel):
    accepted: list[str]
    duplicates: list[str] = Field(description="Stored already: nothing changed.")
    not_open: list[str] = Field(description="Not in an open status: nothing to answer.")
    rejected: list[Problem]
    links: dict[str, str] = Field(description="Where to look for each accepted ticket.")


class TransactionsTaken(BaseModel):
    upserted: int
    rejected: list[Problem]


class TicketPage(BaseModel):
    tickets: list[QueueRow]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


class Draft(BaseModel):
    body: str
    cited_transaction_ids: list[str]
    version: str = Field(
        description="Send it back with a review: it names this ticket's draft as it is now; "
        "a changed draft, or a version read on another ticket, is a 409."
    )


class CitedTransaction(BaseModel):
    transaction: Transaction
    cited: bool


class TicketOut(BaseModel):
    ticket: Ticket
    status: TicketState
    analysis: Analysis | None
    draft: Draft | None
    grounding: GroundingCheck | None
    provider: str | None
    usage: Usage | None
    error: str | None
    transactions: list[CitedTransaction]
    tries: list[AttemptRecord]
    reviews: list[ReviewRecord]
    decision: ReviewRecord | None = Field(
        default=None,
        description="The review that approved or rejected the draft as it is now (it is "
        "decided once), or null while it waits for one.",
    )


class ReviewConflict(BaseModel):
    """A review that was not taken: the draft changed, or it was decided already."""

    detail: str
    review: ReviewRecord | None = Field(
        default=None,
        description="The review that decided this draft already (who, when, what), when "
        "that is the conflict.",
    )


class ReviewIn(_Input):
    action: ReviewAction
    draft_version: str = Field(description="The draft's version, as GET returned it.")
    reply: str | None = Field(
        default=None, description="The reply as approved, if edited.", min_length=1
    )
    category: str | None = Field(default=None, description="A corrected category.")
    priority: Priority | None = Field(default=None, description="A corrected priority.")
    reason: str | None = Field(default=None, description="Why; required to reject.")


class DeadLetterOut(BaseModel):
    id: int
    ticket_id: str | None
    customer_id: str | None
    stage: str
    queue: str
    reason: str
    error_type: str
    attempts: int
    history: list[AttemptRecord]
    created_at: datetime
    resolved_at: datetime | None


class Replayed(BaseModel):
    id: int
    queue: str
    state: Literal["replayed"] = "replayed"
