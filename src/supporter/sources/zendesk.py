"""Tickets from Zendesk's Incremental Ticket Export, as the API answers it.

Follows https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
(time-based ``GET /api/v2/incremental/tickets.json`` and cursor-based
``GET /api/v2/incremental/tickets/cursor.json``, both with ``include=users``)
and the Tickets and Users objects of
https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/ and
https://developer.zendesk.com/api-reference/ticketing/users/users/. Both kinds
of page hold ``tickets`` and the side-loaded ``users``; the paging keys
(``next_page``, ``after_cursor``, ``end_of_stream``, ...) are not needed. One
page, several pages one after another, or an array of pages (see
``supporter.sources.jsonpages``).

Mapping
    ticket_id: ``id``. customer_id: the requester's ``external_id`` (the id of the
    customer in your own systems, which Zendesk keeps for that) when the side-loaded
    user has one, else ``zendesk:<requester_id>``, which joins no payment by id.
    customer_email: the side-loaded requester's ``email`` (none without ``users``,
    or for a requester without an address: such a ticket joins by id or reference
    only). subject: ``subject``; body: ``description`` (the first comment).
    status: ``status`` as is (new, open, pending, hold, solved, closed, deleted).
    priority: urgent, high, normal (our medium), low, or none. created_at:
    ``created_at``. channel: ``via.channel``. tags: ``tags``.

Memory
    A page's users are kept until the page ends, and so are its tickets when the
    users come after them in the page (Zendesk pages hold at most 1,000 tickets).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from supporter.domain.models import Priority, Ticket
from supporter.sources.base import RejectHandler
from supporter.sources.csv import FieldLimits
from supporter.sources.helpdesk import (
    BadField,
    JsonTicketSource,
    TicketRecords,
    identifier,
    priority,
    subject_and_body,
    tags,
    text,
    timestamp,
)
from supporter.sources.jsonpages import Item, PageEnd, read_pages

__all__ = ["ZendeskTicketSource"]

_PRIORITIES = {
    "urgent": Priority.URGENT,
    "high": Priority.HIGH,
    "normal": Priority.MEDIUM,
    "low": Priority.LOW,
}
_ARRAYS = {"tickets": "tickets", "users": "users"}


@dataclass(frozen=True, slots=True)
class _Requester:
    email: str | None
    external_id: str | None


class ZendeskTicketSource(JsonTicketSource):
    """Tickets from a file of Zendesk incremental export pages."""

    def read(self, on_reject: RejectHandler) -> Iterator[Ticket]:
        records = TicketRecords(os.fspath(self.path), on_reject, repeats_skipped=True)
        users: dict[str, _Requester] = {}
        waiting: list[Item] = []  # tickets read before their page's users
        users_seen = False
        for item in read_pages(self.path, _ARRAYS):
            if isinstance(item, PageEnd):
                for ticket in waiting:
                    yield from records.ticket(ticket.value, ticket.path, self._parser(users))
                users, waiting, users_seen = {}, [], False
            elif item.array == "users":
                users_seen = True
                _add_user(users, item.value)
            elif users_seen:
                yield from records.ticket(item.value, item.path, self._parser(users))
            else:
                waiting.append(item)

    def _parser(self, users: dict[str, _Requester]) -> Callable[[dict[str, Any]], Ticket]:
        limits = self.limits

        def parse(record: dict[str, Any]) -> Ticket:
            ticket_id = identifier(record.get("id"), "id", limits)
            requester_id = identifier(record.get("requester_id"), "requester_id", limits)
            requester = users.get(requester_id, _Requester(None, None))
            subject, body = subject_and_body(
                record.get("subject"), record.get("description"), limits
            )
            via = record.get("via")
            channel = via.get("channel") if isinstance(via, dict) else None
            return Ticket(
                ticket_id=ticket_id,
                customer_id=requester.external_id or f"zendesk:{requester_id}",
                subject=subject,
                body=body,
                status=_status(record.get("status"), limits),
                created_at=timestamp(record.get("created_at"), "created_at"),
                customer_email=requester.email,
                channel=text(channel, "via.channel", limits.text) or None,
                priority=priority(record.get("priority"), _PRIORITIES),
                tags=tags(record.get("tags")),
            )

        return parse


def _status(value: Any, limits: FieldLimits) -> str:
    status = text(value, "status", limits.text).lower()
    if not status:
        raise BadField("status", "required but empty")
    return status


def _add_user(users: dict[str, _Requester], user: Any) -> None:
    # A user the reader cannot use is no ticket's problem until a ticket needs its address.
    if not isinstance(user, dict) or isinstance(user.get("id"), bool):
        return
    if not isinstance(user.get("id"), int | str):
        return
    email = user.get("email")
    external_id = user.get("external_id")
    users[str(user["id"]).strip()] = _Requester(
        email.strip() or None if isinstance(email, str) else None,
        str(external_id).strip() or None if isinstance(external_id, int | str) else None,
    )
