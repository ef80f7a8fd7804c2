"""Tickets from Help Scout's Mailbox API 2.0 conversation list with threads,
as ``GET /v2/conversations?embed=threads`` answers it.

Follows https://developer.helpscout.com/mailbox-api/endpoints/conversations/list/
and the thread objects of
https://developer.helpscout.com/mailbox-api/endpoints/conversations/threads/list/:
a page is ``{"_embedded": {"conversations": [...]}, "_links": ..., "page": ...}``
and each conversation carries its threads in ``_embedded.threads``. One page or
several one after another, or an array of pages.

Mapping
    ticket_id: ``id``. customer_id: ``helpscout:<primaryCustomer.id>`` (Help Scout's
    customer id, which joins no payment by id). customer_email:
    ``primaryCustomer.email``. subject: ``subject``. body: the customer's own
    messages (threads of ``type`` ``customer``) oldest first, HTML turned to text,
    blank-line separated; agents' replies and notes are not the customer's words.
    A conversation without customer threads falls back to its ``preview``.
    status: ``active`` is our ``open``; pending, closed and spam as they are.
    created_at: ``createdAt``. channel: ``type`` (email, chat, phone). tags: the
    ``tag`` of each of ``tags``.
"""

from __future__ import annotations

from typing import Any

from supporter.domain.models import Ticket
from supporter.sources.helpdesk import (
    BadField,
    JsonTicketFormat,
    JsonTicketSource,
    identifier,
    plain_text,
    subject_and_body,
    tags,
    text,
    ticket_identifier,
    timestamp,
)

__all__ = ["CONVERSATIONS", "HelpScoutTicketSource"]

_STATUSES = {"active": "open"}


class HelpScoutTicketSource(JsonTicketSource):
    """Tickets from a file of Help Scout conversation-list pages (with threads)."""

    KEY = "_embedded.conversations"

    def parse(self, record: dict[str, Any]) -> Ticket:
        limits = self.limits
        ticket_id = ticket_identifier(record.get("id"), "id", limits)
        customer = record.get("primaryCustomer")
        if not isinstance(customer, dict):
            raise BadField("primaryCustomer", "required")
        customer_id = identifier(customer.get("id"), "primaryCustomer.id", limits)
        subject, body = subject_and_body(
            record.get("subject"),
            _customer_words(record) or record.get("preview"),
            limits,
            long_body=self.long_body,
            ticket=f"helpscout conversation {ticket_id}",
        )
        status = text(record.get("status"), "status", limits.text).lower()
        if not status:
            raise BadField("status", "required but empty")
        labels = record.get("tags")
        return Ticket(
            ticket_id=ticket_id,
            customer_id=f"helpscout:{customer_id}",
            subject=subject,
            body=body,
            status=_STATUSES.get(status, status),
            created_at=timestamp(record.get("createdAt"), "createdAt"),
            customer_email=text(customer.get("email"), "primaryCustomer.email", limits.text)
            or None,
            channel=text(record.get("type"), "type", limits.text) or None,
            tags=tags(
                [label.get("tag") for label in labels if isinstance(label, dict)]
                if isinstance(labels, list)
                else labels
            ),
        )


def _customer_words(record: dict[str, Any]) -> str | None:
    embedded = record.get("_embedded")
    threads = embedded.get("threads") if isinstance(embedded, dict) else None
    if not isinstance(threads, list):
        return None
    messages = [
        thread
        for thread in threads
        if isinstance(thread, dict)
        and thread.get("type") == "customer"
        and isinstance(thread.get("body"), str)
    ]
    # The API lists threads newest first; the customer's story reads oldest first. Two
    # in the same second go by id, which grows as threads are added.
    messages.sort(key=lambda thread: (str(thread.get("createdAt") or ""), _number(thread)))
    return "\n\n".join(plain_text(thread["body"]) for thread in messages) or None


CONVERSATIONS = JsonTicketFormat(
    "helpscout",
    "Help Scout conversations (JSON)",
    HelpScoutTicketSource,
    (("_embedded.conversations",),),
)


def _number(thread: dict[str, Any]) -> int:
    value = thread.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
