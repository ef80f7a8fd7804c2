"""The review queue: stored tickets with their analysis, draft and latest review,
most urgent first and then oldest first, a page at a time.

It reads `review_queue`, which every write keeps in step, in the order of its
indexes. Pages are cut by keyset (a cursor holding the last row's sort key), not by
offset, so the 500th page costs what the first does and a ticket arriving meanwhile
neither repeats nor skips a row.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from supporter.store import schema
from supporter.store.sql import aware, store_errors

TicketState = Literal["received", "responded", "failed"]
ReviewState = Literal["pending", "approved", "rejected"]

_q, _t = schema.review_queue, schema.tickets


class BadCursor(ValueError):
    """A cursor this store did not hand out."""


@dataclass(frozen=True)
class QueueFilter:
    status: TicketState | None = None
    category: str | None = None
    priority: str | None = None
    needs_human: bool | None = None
    review: ReviewState | None = None
    grounding_failed: bool | None = None
    language: str | None = None


@dataclass(frozen=True)
class QueueRow:
    ticket_id: str
    customer_id: str
    subject: str
    created_at: datetime
    status: TicketState
    category: str | None
    priority: str | None
    needs_human: bool | None
    language: str | None
    grounding_passed: bool | None
    review: ReviewState
    provider: str | None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None


class SqlQueue:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def page(
        self, where: QueueFilter, *, cursor: str | None = None, limit: int = 50
    ) -> QueuePage:
        """Raises BadCursor for a cursor that was not made here."""
        order = (_q.c.urgency, _q.c.created_at, _q.c.ticket_id)
        query = (
            select(_q, _t.c.customer_id, _t.c.subject)
            .select_from(_q.join(_t, _t.c.ticket_id == _q.c.ticket_id))
            .where(*_conditions(where))
            .order_by(*order)
            .limit(limit + 1)
        )
        if cursor is not None:
            query = query.where(tuple_(*order) > tuple_(*_decode(cursor)))
        with store_errors("read the queue"):
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query)).all()
        found = [_row(row) for row in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return QueuePage(
            found, _encode(last.urgency, last.created_at, last.ticket_id) if last else None
        )


def _conditions(where: QueueFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    for column, value in (
        (_q.c.state, where.status),
        (_q.c.review, where.review),
        (_q.c.category, where.category),
        (_q.c.priority, where.priority),
        (_q.c.language, where.language),
    ):
        if value is not None:
            found.append(column == value)
    if where.needs_human is not None:
        found.append(_q.c.needs_human.is_(where.needs_human))
    if where.grounding_failed is not None:
        found.append(_q.c.grounding_passed.is_(not where.grounding_failed))
    return found


def _encode(urgency: int, created_at: datetime, ticket_id: str) -> str:
    raw = json.dumps([urgency, aware(created_at).isoformat(), ticket_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        urgency, created_at, ticket_id = json.loads(raw)
        if not isinstance(urgency, int) or not isinstance(ticket_id, str):
            raise ValueError("wrong types")
        # Within what the columns hold: a database refuses a number past its integer
        # type, or text it cannot encode, with an error of its own.
        if not -(2**31) <= urgency < 2**31 or "\x00" in ticket_id:
            raise ValueError("out of range")
        ticket_id.encode()  # UnicodeEncodeError (a ValueError) for a lone surrogate
        moment = datetime.fromisoformat(created_at)
        return urgency, moment if moment.tzinfo else moment.replace(tzinfo=UTC), ticket_id
    except (ValueError, TypeError) as error:
        raise BadCursor("not a cursor from this queue: start again without one") from error


def _row(row: Any) -> QueueRow:
    return QueueRow(
        ticket_id=row.ticket_id,
        customer_id=row.customer_id,
        subject=row.subject,
        created_at=aware(row.created_at),
        status=row.state,
        category=row.category,
        priority=row.priority,
        needs_human=row.needs_human,
        language=row.language,
        grounding_passed=row.grounding_passed,
        review=row.review,
        provider=row.provider,
    )
