"""The review queue: stored tickets with their analysis, draft and latest review,
most urgent first and then oldest first, a page at a time.

Pages are cut by keyset (a cursor holding the last row's sort key), not by offset,
so the 500th page costs what the first does and a ticket arriving meanwhile
neither repeats nor skips a row.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from supporter.store import schema
from supporter.store.sql import aware, store_errors

TicketState = Literal["received", "responded", "failed"]
ReviewState = Literal["pending", "approved", "rejected"]

_t, _r, _a, _p, _s = (
    schema.tickets,
    schema.results,
    schema.analyses,
    schema.replies,
    schema.review_states,
)
_priority = func.coalesce(_a.c.priority, _t.c.priority)
# Higher is more urgent; a ticket with no priority yet comes last.
_rank = case(
    {"urgent": 4, "high": 3, "medium": 2, "low": 1},
    value=_priority,
    else_=0,
)
_REVIEW = {"approved": "approve", "rejected": "reject"}


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
        query = (
            select(
                _t.c.ticket_id,
                _t.c.customer_id,
                _t.c.subject,
                _t.c.created_at,
                _r.c.status,
                _r.c.provider,
                _a.c.category,
                _priority.label("priority"),
                _a.c.needs_human,
                _a.c.language,
                _p.c.grounding_passed,
                _s.c.action,
                _rank.label("rank"),
            )
            .select_from(
                _t.outerjoin(_r, _r.c.ticket_id == _t.c.ticket_id)
                .outerjoin(_a, _a.c.ticket_id == _t.c.ticket_id)
                .outerjoin(_p, _p.c.ticket_id == _t.c.ticket_id)
                .outerjoin(_s, _s.c.ticket_id == _t.c.ticket_id)
            )
            .where(*_conditions(where))
            .order_by(_rank.desc(), _t.c.created_at, _t.c.ticket_id)
            .limit(limit + 1)
        )
        if cursor is not None:
            query = query.where(_after(*_decode(cursor)))
        with store_errors("read the queue"):
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query)).all()
        found = [_row(row) for row in rows[:limit]]
        more = len(rows) > limit
        last = rows[limit - 1] if more else None
        return QueuePage(
            found, _encode(last.rank, last.created_at, last.ticket_id) if last else None
        )


def _conditions(where: QueueFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if where.status == "received":
        found.append(_r.c.status.is_(None))
    elif where.status is not None:
        found.append(_r.c.status == where.status)
    if where.category is not None:
        found.append(_a.c.category == where.category)
    if where.priority is not None:
        found.append(_priority == where.priority)
    if where.needs_human is not None:
        found.append(_a.c.needs_human.is_(where.needs_human))
    if where.language is not None:
        found.append(_a.c.language == where.language)
    if where.grounding_failed is not None:
        found.append(_p.c.grounding_passed.is_(not where.grounding_failed))
    if where.review == "pending":
        found.append(_s.c.action.is_(None))
    elif where.review is not None:
        found.append(_s.c.action == _REVIEW[where.review])
    return found


def _after(rank: int, created_at: datetime, ticket_id: str) -> ColumnElement[bool]:
    return or_(
        _rank < rank,
        and_(
            _rank == rank,
            or_(
                _t.c.created_at > created_at,
                and_(_t.c.created_at == created_at, _t.c.ticket_id > ticket_id),
            ),
        ),
    )


def _encode(rank: int, created_at: datetime, ticket_id: str) -> str:
    raw = json.dumps([rank, created_at.isoformat(), ticket_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        rank, created_at, ticket_id = json.loads(raw)
        if not isinstance(rank, int) or not isinstance(ticket_id, str):
            raise ValueError("wrong types")
        return rank, datetime.fromisoformat(created_at), ticket_id
    except (ValueError, TypeError) as error:
        raise BadCursor("not a cursor from this queue: start again without one") from error


def _row(row: Any) -> QueueRow:
    review: ReviewState = (
        "pending" if row.action is None else "approved" if row.action == "approve" else "rejected"
    )
    return QueueRow(
        ticket_id=row.ticket_id,
        customer_id=row.customer_id,
        subject=row.subject,
        created_at=aware(row.created_at),
        status=row.status or "received",
        category=row.category,
        priority=row.priority,
        needs_human=row.needs_human,
        language=row.language,
        grounding_passed=row.grounding_passed,
        review=review,
        provider=row.provider,
    )
