"""A helpdesk connector for tests of OUR side of the port (the write-back stage, the
webhook route, polling): it keeps tickets in memory, signs webhooks with an HMAC,
pages a poll two tickets at a time and records every write-back. Vendor APIs are
tested against their simulators, not with this."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from supporter.domain.errors import PermanentError
from supporter.domain.models import Ticket
from supporter.helpdesks.base import (
    REPLAY_WINDOW_SECONDS,
    CheckResult,
    Draft,
    PollPage,
    RateLimit,
    WebhookEvent,
    WebhookRejected,
    WebhookRequest,
    WriteBackMode,
    WriteReceipt,
)

SECRET = b"demo-webhook-secret"
NAME = "zendesk"


def ticket(ticket_id: str, body: str = "I was charged twice for order 7, please refund") -> Ticket:
    return Ticket(
        ticket_id=ticket_id,
        customer_id=f"C-{ticket_id}",
        subject="Charged twice",
        body=body,
        status="open",
        created_at=datetime(2026, 1, 2, 10, 0, tzinfo=UTC),
    )


def signed(body: bytes, *, at: float | None = None, secret: bytes = SECRET) -> dict[str, str]:
    """Headers a webhook from the fake helpdesk carries."""
    timestamp = str(int(at if at is not None else time.time()))
    signature = hmac.new(secret, timestamp.encode() + body, hashlib.sha256).hexdigest()
    return {"x-demo-signature": signature, "x-demo-timestamp": timestamp}


@dataclass
class WriteCall:
    draft: Draft
    mode: WriteBackMode
    previous: WriteReceipt | None


@dataclass
class FakeHelpdesk:
    """`failures`: raised, in order, by the next write-backs (`failures_for`: of one
    ticket); `outage`: raised by every write-back for `outage_seconds` from the first
    (timed from then, so a slow machine does not shorten it)."""

    name: str = NAME
    tickets: dict[str, Ticket] = field(default_factory=dict)
    failures: list[Exception] = field(default_factory=list)
    failures_for: dict[str, list[Exception]] = field(default_factory=dict)
    outage: Exception | None = None
    outage_seconds: float = 0.0
    unavailable_until: float | None = None
    calls: list[WriteCall] = field(default_factory=list)
    failed_calls: int = 0
    fetched: list[str] = field(default_factory=list)
    polls: list[str | None] = field(default_factory=list)
    closed: bool = False
    page_size: int = 2

    @property
    def write_limit(self) -> RateLimit:
        return RateLimit(requests=100, per_seconds=60.0)

    def request_counts(self) -> dict[str, int]:
        return {"ok": len(self.calls) + len(self.fetched), "unavailable": self.failed_calls}

    def verify_webhook(self, request: WebhookRequest) -> None:
        signature = request.headers.get("x-demo-signature")
        timestamp = request.headers.get("x-demo-timestamp")
        if not signature or not timestamp:
            raise WebhookRejected("missing_signature", "no signature")
        expected = hmac.new(SECRET, timestamp.encode() + request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            raise WebhookRejected("bad_signature", "the signature does not match")
        if abs(request.received_at.timestamp() - float(timestamp)) > REPLAY_WINDOW_SECONDS:
            raise WebhookRejected("replay", "the timestamp is too old")

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        try:
            payload = json.loads(request.body)
        except ValueError:
            raise WebhookRejected("bad_payload", "not JSON") from None
        tickets = tuple(Ticket.model_validate(item) for item in payload.get("tickets", []))
        return WebhookEvent(
            ticket_ids=tuple(payload.get("ticket_ids", [])),
            tickets=tickets,
            delivery_id=payload.get("delivery"),
        )

    async def fetch_ticket(self, ticket_id: str) -> Ticket:
        self.fetched.append(ticket_id)
        if ticket_id not in self.tickets:
            raise PermanentError(f"no ticket {ticket_id}")
        return self.tickets[ticket_id]

    async def poll(
        self, cursor: str | None, *, since: datetime, statuses: Collection[str] | None = None
    ) -> PollPage:
        self.polls.append(cursor)
        ordered = list(self.tickets.values())
        start = int(cursor) if cursor else 0
        page = ordered[start : start + self.page_size]
        end = start + len(page)
        return PollPage(tickets=tuple(page), cursor=str(end), more=end < len(ordered))

    async def write_back(
        self, draft: Draft, mode: WriteBackMode, previous: WriteReceipt | None
    ) -> WriteReceipt:
        if self.outage is not None:
            now = time.monotonic()
            if self.unavailable_until is None:
                self.unavailable_until = now + self.outage_seconds
            if now < self.unavailable_until:
                self.failed_calls += 1
                raise self.outage
        pending = self.failures_for.get(draft.ticket_id) or self.failures
        if pending:
            self.failed_calls += 1
            raise pending.pop(0)
        self.calls.append(WriteCall(draft, mode, previous))
        if previous is not None and previous.note_id is not None:
            return WriteReceipt(note_id=previous.note_id, updated=True)
        return WriteReceipt(note_id=f"note-{len(self.calls)}")

    async def check(self) -> Sequence[CheckResult]:
        return [
            CheckResult("credentials", True, "signed in as a test agent"),
            CheckResult("webhook", False, "no webhook points at Supporter"),
        ]

    async def aclose(self) -> None:
        self.closed = True
