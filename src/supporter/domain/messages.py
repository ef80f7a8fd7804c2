"""Messages that travel between stages.

Every message past the analyze stage is self-contained: it carries the ticket and
the slice of the customer's transactions the later stages need, so a stage (or a
replay of a dead letter) never has to go back to the sources. A ticket message
carries that slice too, unless ingest had no transactions at hand: the analyze
stage then looks it up in the shared store.

A message travels as its JSON. A publisher gives the broker a `Payload`: the message,
whose JSON is made when first asked for (`bytes(payload)`). A broker that carries it
to other processes sends those bytes; the in-memory broker hands the payload itself
to a consumer in this process, which takes the message instead of parsing it, so its
JSON is never made unless something reads the body (a dead letter quotes it).
Messages are frozen, and parsing a message's own JSON gives back an equal message
(tests/domain/test_messages.py holds the pipeline to it).
"""

from __future__ import annotations

import base64
import itertools
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal, SupportsBytes, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from supporter.domain.models import (
    Analysis,
    GroundingCheck,
    Reply,
    Ticket,
    Transaction,
    TransactionFacts,
    Usage,
)

# A random prefix per process and a counter: unique across processes, and much
# cheaper than a uuid4 (an os.urandom call) for every message of every hop. Both
# parts are mostly letters, so an id never looks like a card number to the masker.
_PROCESS_PREFIX = base64.b32encode(uuid.uuid4().bytes).decode()[:16].lower()
_counter = itertools.count()


def new_message_id() -> str:
    return f"{_PROCESS_PREFIX}x{next(_counter):x}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class AttemptRecord(BaseModel):
    """One failed try of one stage, kept for the dead-letter queue."""

    model_config = ConfigDict(frozen=True)

    stage: str
    attempt: int
    error: str
    transient: bool
    at: datetime = Field(default_factory=utcnow)


class _Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str = Field(default_factory=new_message_id)
    schema_version: Literal[1] = 1
    attempt: int = Field(default=1, ge=1, description="the try of the current stage, from 1")
    history: list[AttemptRecord] = Field(default_factory=list)

    @property
    def total_attempts(self) -> int:
        """Tries of every stage so far: 1 plus the failures recorded on the way."""
        return 1 + len(self.history)


class TicketMessage(_Envelope):
    kind: Literal["ticket"] = "ticket"
    ticket: Ticket
    transactions: list[Transaction] | None = Field(
        default=None,
        description="the customer's recent transactions; None: the analyze stage looks "
        "them up in the shared store",
    )

    @property
    def origin_id(self) -> str:
        """What every message derived from this one carries: a redelivered copy of it
        yields results with the same origin, which the output stage writes only once."""
        return self.message_id

    @property
    def ticket_id(self) -> str:
        return self.ticket.ticket_id


class AnalyzedTicketMessage(_Envelope):
    kind: Literal["analyzed"] = "analyzed"
    origin_id: str = Field(description="message_id of the ticket message this came from")
    ticket: Ticket
    transactions: list[Transaction] = Field(default_factory=list)
    facts: TransactionFacts
    analysis: Analysis
    provider: str
    usage: Usage = Field(default_factory=Usage)

    @property
    def ticket_id(self) -> str:
        return self.ticket.ticket_id


class RespondedTicketMessage(_Envelope):
    kind: Literal["responded"] = "responded"
    origin_id: str = Field(description="message_id of the ticket message this came from")
    ticket: Ticket
    analysis: Analysis
    reply: Reply
    grounding: GroundingCheck
    provider: str
    usage: Usage = Field(default_factory=Usage)
    transactions: list[Transaction] = Field(
        default_factory=list,
        description="the transactions the draft cites or the analysis relates, for the "
        "note written into the helpdesk",
    )

    @property
    def ticket_id(self) -> str:
        return self.ticket.ticket_id


WriteBackModeName = Literal["tags", "note", "after-review"]


class WriteBackMessage(_Envelope):
    """What to write into the helpdesk a ticket came from: the classification, and in
    `note` and `after-review` modes the draft with what it rests on."""

    kind: Literal["write_back"] = "write_back"
    origin_id: str = Field(description="message_id of the ticket message this came from")
    helpdesk: str
    mode: WriteBackModeName
    ticket: Ticket
    analysis: Analysis
    reply: Reply | None = None
    grounding: GroundingCheck | None = None
    transactions: list[Transaction] = Field(default_factory=list)
    approved_by: str | None = Field(
        default=None, description="the reviewer who approved the draft (after-review)"
    )
    public_reply: bool | None = Field(
        default=None,
        description="whether an approved draft goes out as the public reply (true) or as "
        "an internal note (false), decided when the message was made (the approving "
        "process's --public-replies); None: made by a version that did not record it",
    )

    @property
    def ticket_id(self) -> str:
        return self.ticket.ticket_id


class DeadLetterMessage(_Envelope):
    """A message a stage gave up on, with why and every try that failed."""

    kind: Literal["dead_letter"] = "dead_letter"
    stage: str
    queue: str
    reason: str
    error_type: str
    ticket_id: str | None = Field(default=None, description="None when the body was unreadable")
    customer_id: str | None = None
    original: str = Field(description="the undelivered message, as JSON text")


AnyStageMessage = (
    TicketMessage
    | AnalyzedTicketMessage
    | RespondedTicketMessage
    | WriteBackMessage
    | DeadLetterMessage
)
StageMessage = Annotated[AnyStageMessage, Field(discriminator="kind")]

_stage_message: TypeAdapter[AnyStageMessage] = TypeAdapter(StageMessage)


M = TypeVar("M", bound=BaseModel)


class Payload:
    """A message on its way to a broker: `bytes(payload)` is its JSON, made the first
    time it is asked for and kept."""

    __slots__ = ("_json", "message")

    def __init__(self, message: BaseModel) -> None:
        self.message = message
        self._json: bytes | None = None

    def __bytes__(self) -> bytes:
        if self._json is None:
            self._json = self.message.model_dump_json().encode()
        return self._json


def encode(message: BaseModel) -> Payload:
    """The message as a broker takes it (see `Payload`)."""
    return Payload(message)


def decode_as(kind: type[M], body: SupportsBytes | str) -> M:
    """`body` as a `kind`: the message itself when `body` is the payload of one, else
    its bytes parsed and validated (`pydantic.ValidationError` when invalid)."""
    if type(body) is Payload and type(body.message) is kind:
        return body.message
    return kind.model_validate_json(_text(body))


def decode(body: SupportsBytes | str) -> AnyStageMessage:
    """Any stage message, as `decode_as` gives it; raises `pydantic.ValidationError`
    when invalid."""
    if type(body) is Payload and isinstance(body.message, AnyStageMessage):
        return body.message
    return _stage_message.validate_json(_text(body))


def _text(body: SupportsBytes | str) -> bytes | str:
    return body if isinstance(body, bytes | str) else bytes(body)
