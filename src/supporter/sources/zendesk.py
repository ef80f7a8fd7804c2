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
    The file is read twice, a record at a time: first the side-loaded users (each
    requester's address and external id are kept, about 200 bytes a user, since a
    page may list its users after its tickets), then the tickets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from supporter.domain.models import Priority, Ticket
from supporter.sources.base import RejectHandler
from supporter.sources.formats import FieldLimits
from supporter.sources.helpdesk import (
    BadField,
    JsonTicketFormat,
    JsonTicketSource,
    LongBody,
    identifier,
    priority,
    subject_and_body,
    tags,
    text,
    ticket_identifier,
    timestamp,
)
from supporter.sources.jsonpages import read_records

__all__ = ["EXPORT", "Requester", "ZendeskTicketSource", "parse_ticket", "requesters"]

_PRIORITIES = {
    "urgent": Priority.URGENT,
    "high": Priority.HIGH,
    "normal": Priority.MEDIUM,
    "low": Priority.LOW,
}


@dataclass(frozen=True, slots=True)
class Requester:
    """What a ticket needs of its side-loaded requester."""

    email: str | None
    external_id: str | None


_NOBODY = Requester(None, None)


class ZendeskTicketSource(JsonTicketSource):
    """Tickets from a file of Zendesk incremental export pages."""

    KEY = "tickets"

    def read(self, on_reject: RejectHandler) -> Iterator[Ticket]:
        # Users may come after the tickets in a page: a first pass reads them all.
        self._users = requesters(user for _, user in read_records(self.path, "users"))
        yield from super().read(on_reject)

    def parse(self, record: dict[str, Any]) -> Ticket:
        return parse_ticket(record, self._users, self.limits)


def parse_ticket(
    record: dict[str, Any],
    users: Mapping[str, Requester],
    limits: FieldLimits,
    long_body: LongBody | None = None,
) -> Ticket:
    """One Zendesk ticket object (an export's or the Tickets API's) as our Ticket, its
    requester looked up in `users` (see `requesters`). `BadField` names what is wrong.
    `long_body` as `subject_and_body` takes it (the API's tickets are cut, not refused)."""
    ticket_id = ticket_identifier(record.get("id"), "id", limits)
    requester_id = identifier(record.get("requester_id"), "requester_id", limits)
    requester = users.get(requester_id, _NOBODY)
    subject, body = subject_and_body(
        record.get("subject"),
        record.get("description"),
        limits,
        long_body=long_body,
        ticket=f"zendesk ticket {ticket_id}",
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


def requesters(users: Iterable[Any]) -> dict[str, Requester]:
    """Side-loaded user objects by id, as `parse_ticket` looks requesters up."""
    found: dict[str, Requester] = {}
    for user in users:
        _add_user(found, user)
    return found


def _status(value: Any, limits: FieldLimits) -> str:
    status = text(value, "status", limits.text).lower()
    if not status:
        raise BadField("status", "required but empty")
    return status


def _add_user(users: dict[str, Requester], user: Any) -> None:
    # A user the reader cannot use is no ticket's problem until a ticket needs its address.
    if not isinstance(user, dict) or isinstance(user.get("id"), bool):
        return
    if not isinstance(user.get("id"), int | str):
        return
    email = user.get("email")
    external_id = user.get("external_id")
    users[str(user["id"]).strip()] = Requester(
        email.strip() or None if isinstance(email, str) else None,
        str(external_id).strip() or None if isinstance(external_id, int | str) else None,
    )


EXPORT = JsonTicketFormat(
    "zendesk",
    "Zendesk incremental ticket export (JSON)",
    ZendeskTicketSource,
    # Tickets first, or (cursor-based pages can start so) a long list of side-loaded users.
    (("tickets.item.requester_id", "tickets.item.via"), ("users.item.role", "users.item.email")),
)
