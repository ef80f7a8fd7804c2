"""The helpdesk port: what Supporter needs from a helpdesk, whichever it is.

A connector (one module per helpdesk: `zendesk.py`, `freshdesk.py`, ...) takes
webhooks (verifies and parses them, fetching what the payload lacks), polls for
new and updated tickets from a stored cursor, and writes back what Supporter
made of a ticket: tags, priority and a category field, and the draft as an
internal note (or as a draft reply that a person sends).

Errors tell the write-back stage what to do, as everywhere in the pipeline
(`supporter.domain.errors`):

- `HelpdeskUnavailable` (a `TransientError`): 5xx, timeouts, refused connections,
  and 429 after the connector has honoured `Retry-After` as long as it may. It
  opens the write-back stage's circuit breaker, which parks write-backs instead
  of burning their tries.
- `TicketKeptChanging` (an `InvalidAnswerError`): the helpdesk answered, but the ticket
  changed under each try; retried later without touching the circuit.
- `PermanentError`: the helpdesk refused this request for good (the ticket was
  deleted, a field does not exist, 400/404/422). Dead-lettered at once.
- `FatalError`: nothing will work until a person acts (401/403: bad credentials
  or missing permissions). The stage stops; the message goes back to its queue.
- `WebhookRejected`: a webhook that is not the helpdesk's (bad or missing
  signature, a replayed timestamp). Answered with 401 and counted; never parsed.

Connectors never put a credential in an error, a log line or `check()` output,
and treat the text of a ticket as data: nothing in it changes what they do.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from supporter.domain.errors import InvalidAnswerError, SupporterError, TransientError
from supporter.domain.models import Priority, Ticket

# Webhook timestamps older than this (or this far in the future) are replays.
REPLAY_WINDOW_SECONDS = 300.0


class WriteBackMode(StrEnum):
    """What Supporter writes into the helpdesk. Never a public reply by default."""

    TAGS = "tags"
    """Classification only: tags or labels, priority, the category field."""
    NOTE = "note"
    """The classification, and the draft with the facts it rests on and any
    grounding warning, as an internal note (or a draft the agent sends)."""
    AFTER_REVIEW = "after-review"
    """Only what a reviewer approved in the review screen, as a note or draft."""


class HelpdeskUnavailable(TransientError):
    """The helpdesk is down, too slow or still rate-limiting us: try later."""


class TicketKeptChanging(InvalidAnswerError):
    """The helpdesk answered, but the ticket changed under every write-back tried (agents
    at work on it): try later. The helpdesk is up, so the circuit is left alone."""


class WebhookRejected(SupporterError):
    """A webhook that did not come from the helpdesk, or came twice too late.

    `reason` is a short, bounded label for the metric (`missing_signature`,
    `bad_signature`, `replay`, `bad_payload`); the message may say more, but
    never echoes the secret or the expected signature.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook as it arrived: the raw body (signatures cover its exact bytes)."""

    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes
    received_at: datetime


@dataclass(frozen=True)
class WebhookEvent:
    """What a verified webhook is about.

    Payloads rarely carry a whole ticket with its requester's e-mail, so a
    connector may return only ids: the caller fetches those with `fetch_ticket`.
    `delivery_id` is the helpdesk's id of this delivery when it sends one, so a
    delivery received twice is processed once.
    """

    ticket_ids: tuple[str, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    delivery_id: str | None = None


@dataclass(frozen=True)
class PollPage:
    """One page of tickets created or updated since a cursor.

    `cursor` is opaque to the caller and stored after the page's tickets were
    published, so a restart resumes after the last page that was handled; `more`
    says another page is ready now (a caught-up poll waits before asking again).
    """

    tickets: tuple[Ticket, ...]
    cursor: str
    more: bool


@dataclass(frozen=True)
class Draft:
    """What Supporter made of one ticket, to be written back."""

    ticket_id: str
    category: str
    priority: Priority
    tags: tuple[str, ...]
    """Tags or labels to add (never removes a team's own)."""
    note: str | None
    """The note's text (the draft, its facts, any grounding warning), already
    rendered and masked; None in `tags` mode."""
    version: str
    """Names the draft (a hash of the reply): the same version is never written twice."""
    public: bool = False
    """Post as a public reply: only ever true for a reviewer-approved draft when
    the user asked for public replies explicitly."""
    reply: str | None = None
    """The reply alone, masked (what the customer would read), for a helpdesk that
    keeps a draft reply an agent sends as it stands (Help Scout); None in `tags` mode.
    The note is for the agent: its facts and warnings are not for the customer."""
    written_after: datetime | None = None
    """No note of this draft is older than this (the first claim of the write-back not yet
    recorded, less a margin for the helpdesk's clock): a connector that searches the
    ticket newest first for a note written before a crash stops at a page older than
    this. None searches the whole ticket."""
    first_attempt: bool = False
    """No try of this write-back came before this one (the store's first claim of it since
    the last one recorded), so no note of it can be in the ticket yet: a connector skips
    its search for a note written before a crash, and writes. False (the default) when
    that is not known: the search is made."""


@dataclass(frozen=True)
class WriteReceipt:
    """Where a write-back went: the note's (or draft's) id in the helpdesk.

    The store keeps it, so a retry or a rerun updates that note instead of
    posting a second one, on helpdesks that can edit notes.
    """

    note_id: str | None
    updated: bool = False
    withheld: bool = False
    """The draft was an approved public reply that was not sent: the customer was sent
    a reply already (the receipt names it), and is never sent a second one."""


@dataclass(frozen=True)
class CheckResult:
    """One line of `supporter helpdesk check`: what was tried and how it went."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class RateLimit:
    """A documented limit the connector paces itself under."""

    requests: int
    per_seconds: float
    scope: str = "account"
    extra: Mapping[str, str] = field(default_factory=dict)


class Helpdesk(Protocol):
    """One helpdesk account, configured from `SUPPORTER_<HELPDESK>_…`."""

    name: str
    """The helpdesk's name in URLs and configuration: `zendesk`, `rt`, ..."""

    @property
    def write_limit(self) -> RateLimit:
        """The documented limit on the requests a write-back makes."""
        ...

    def request_counts(self) -> Mapping[str, int]:
        """The requests made to the helpdesk so far, by outcome (`ok`, `rate_limited`,
        `unavailable`, `refused`, `rejected`): what /metrics reports."""
        ...

    def verify_webhook(self, request: WebhookRequest) -> None:
        """Raise `WebhookRejected` unless the request is signed by the helpdesk and
        fresh; a helpdesk that signs nothing checks a secret header the user set."""
        ...

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        """What a verified webhook is about (`WebhookRejected` for a body that is
        not one of the helpdesk's events)."""
        ...

    async def fetch_ticket(self, ticket_id: str) -> Ticket: ...

    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        """Tickets created or updated after `cursor`, or after `since` when there
        is no cursor yet (the first poll).

        `statuses` (lower case) are those the caller takes (the open ones): a connector
        that would spend a request of its own reading a ticket in another status (its
        first message) leaves that ticket out, and its cursor moves past it all the same.
        None: every ticket."""
        ...

    async def write_back(
        self, draft: Draft, mode: WriteBackMode, previous: WriteReceipt | None
    ) -> WriteReceipt:
        """Write `draft` as `mode` says. `previous` is what an earlier write-back of
        this ticket returned: update that note where the helpdesk can, rather than
        add another."""
        ...

    async def check(self) -> Sequence[CheckResult]:
        """Credentials, permissions, reachability and limits, without secrets."""
        ...

    async def aclose(self) -> None: ...


class HelpdeskSettings(BaseModel):
    """A connector's settings, read from `SUPPORTER_<HELPDESK>_<FIELD>` (see
    `supporter.helpdesks.registry`). Each connector subclasses it with its own fields;
    credentials are `SecretStr`, so no repr, log line or error shows them.

    `url` (`SUPPORTER_<HELPDESK>_URL`) points the connector at another base URL (a
    proxy, a test server); None means the helpdesk's own (a connector whose address is
    always the user's, like Request Tracker, makes it required).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    url: str | None = None
