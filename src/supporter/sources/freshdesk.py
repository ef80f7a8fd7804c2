"""Tickets from Freshdesk's ticket list, as ``GET /api/v2/tickets?include=requester,description``
answers it: a JSON array of tickets a page (several pages one after another).

Follows https://developers.freshdesk.com/api/#list_all_tickets and the ticket
properties of https://developers.freshdesk.com/api/#tickets: ``include=requester``
embeds ``requester`` (id, name, email, mobile, phone), ``include=description``
adds ``description`` (HTML) and ``description_text`` (plain).

Mapping
    ticket_id: ``id``. customer_id: ``freshdesk:<requester_id>`` (Freshdesk's contact
    id, which joins no payment by id). customer_email: ``requester.email``, else the
    ticket's own ``email`` when present. subject: ``subject``; body:
    ``description_text`` (the HTML ``description`` is not read). created_at: ``created_at``.
    tags: ``tags``. Codes, as the documentation lists them:
    status 2 open, 3 pending, 4 resolved, 5 closed (other numbers are an account's
    custom statuses: ``status-<n>``, never open); priority 1 low, 2 medium, 3 high,
    4 urgent; source (our channel) 1 email, 2 portal, 3 phone, 7 chat, 9 feedback
    widget, 10 outbound email (other numbers: ``source-<n>``).
"""

from __future__ import annotations

from typing import Any

from supporter.domain.models import Priority, Ticket
from supporter.sources.helpdesk import (
    BadField,
    JsonTicketFormat,
    JsonTicketSource,
    identifier,
    priority,
    subject_and_body,
    tags,
    text,
    ticket_identifier,
    timestamp,
)

__all__ = ["TICKETS", "FreshdeskTicketSource"]

_STATUSES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
_PRIORITIES = {1: Priority.LOW, 2: Priority.MEDIUM, 3: Priority.HIGH, 4: Priority.URGENT}
_SOURCES = {
    1: "email",
    2: "portal",
    3: "phone",
    7: "chat",
    9: "feedback_widget",
    10: "outbound_email",
}


class FreshdeskTicketSource(JsonTicketSource):
    """Tickets from a file of Freshdesk ticket-list pages."""

    KEY = ""

    def parse(self, record: dict[str, Any]) -> Ticket:
        limits = self.limits
        ticket_id = ticket_identifier(record.get("id"), "id", limits)
        requester_id = identifier(record.get("requester_id"), "requester_id", limits)
        subject, body = subject_and_body(
            record.get("subject"),
            record.get("description_text"),
            limits,
            long_body=self.long_body,
            ticket=f"freshdesk ticket {ticket_id}",
        )
        requester = record.get("requester")
        email = requester.get("email") if isinstance(requester, dict) else None
        return Ticket(
            ticket_id=ticket_id,
            customer_id=f"freshdesk:{requester_id}",
            subject=subject,
            body=body,
            status=_code(record.get("status"), "status", _STATUSES),
            created_at=timestamp(record.get("created_at"), "created_at"),
            customer_email=text(email or record.get("email"), "requester.email", limits.text)
            or None,
            channel=None
            if record.get("source") is None
            else _code(record["source"], "source", _SOURCES),
            priority=priority(record.get("priority"), _PRIORITIES),
            tags=tags(record.get("tags")),
        )


def _code(value: Any, field: str, names: dict[int, str]) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadField(field, "required" if value is None else f"not a number code: {value!r}")
    return names.get(value, f"{field}-{value}")


TICKETS = JsonTicketFormat(
    "freshdesk",
    "Freshdesk ticket list (JSON)",
    FreshdeskTicketSource,
    (("item.requester_id", "item.source", "item.status"),),
)
