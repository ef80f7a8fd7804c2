"""Tickets as JSON Lines of our ticket model: one object a line, as `supporter` writes them.

Keys are the ticket fields (``supporter.domain.models.Ticket``): ticket_id,
customer_id, subject, body, status, created_at, and optional customer_email,
channel, priority (low, medium, high, urgent), tags (a list). Values follow the
CSV reader's rules (limits, masking, ISO 8601 times; ids may be numbers); other
keys are ignored. A line that is not a JSON object, or whose fields cannot be
used, is rejected with its line number and the field; blank lines are skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from supporter.domain.models import Priority, Ticket
from supporter.sources.base import RejectHandler, SourceError
from supporter.sources.formats import ReadOptions
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
from supporter.sources.sniff import Sample, unreadable
from supporter.sources.values import ticket_id_problem

__all__ = ["TICKETS", "JsonLinesTicketSource"]

_PRIORITIES = {priority.value: priority for priority in Priority}


class JsonLinesTicketSource(JsonTicketSource):
    """Tickets from a JSON Lines file of our ticket model."""

    def read(self, on_reject: RejectHandler) -> Iterator[Ticket]:
        name = os.fspath(self.path)
        try:
            stream = Path(self.path).open(encoding="utf-8-sig", errors="replace")  # noqa: SIM115
        except OSError as error:
            raise SourceError(unreadable(name, error)) from error
        records = TicketRecords(name, on_reject, repeats_skipped=False)
        with stream, closing(records):
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as error:
                    reason = f"record: not a JSON object ({error.args[0]})"
                    records.reject("", reason, line.rstrip(), number)
                    continue
                yield from records.ticket(record, "", self.parse, line=number)

    def parse(self, record: dict[str, Any]) -> Ticket:
        limits = self.limits
        subject, body = subject_and_body(record.get("subject"), record.get("body"), limits)
        status = text(record.get("status"), "status", limits.text).lower()
        if not status:
            raise BadField("status", "required but empty")
        return Ticket(
            ticket_id=_ticket_id(identifier(record.get("ticket_id"), "ticket_id", limits)),
            customer_id=identifier(record.get("customer_id"), "customer_id", limits),
            subject=subject,
            body=body,
            status=status,
            created_at=timestamp(record.get("created_at"), "created_at"),
            customer_email=text(record.get("customer_email"), "customer_email", limits.text)
            or None,
            channel=text(record.get("channel"), "channel", limits.text) or None,
            priority=priority(record.get("priority"), _PRIORITIES),
            tags=tags(record.get("tags")),
        )


class _JsonLinesFormat:
    name = "jsonl"
    title = "Supporter tickets as JSON Lines"

    def recognise(self, sample: Sample) -> str | None:
        first = sample.first_json() if sample.json_shape in ("lines", "object") else None
        if isinstance(first, dict) and {"ticket_id", "customer_id", "status"} <= first.keys():
            return "JSON Lines whose first object has ticket_id, customer_id and status"
        return None

    def open(self, sample: Sample, options: ReadOptions) -> JsonLinesTicketSource:
        return JsonLinesTicketSource(sample.path, limits=options.limits)


TICKETS = _JsonLinesFormat()


def _ticket_id(value: str) -> str:
    if problem := ticket_id_problem(value):
        raise BadField("ticket_id", problem)
    return value
