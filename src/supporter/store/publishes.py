"""Tickets received and still waiting for their result (`schema.ticket_publishes`), as
the sweep that sends stuck ones into the pipeline again reads and claims them.

A claim is an update guarded by what was read (the count of times sent again, and a
last publish still before the cut-off), so two replicas of `serve` sweeping at once
send each ticket once, and a ticket that intake published meanwhile is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from supporter.domain.models import Ticket
from supporter.store import schema
from supporter.store.sql import aware, store_errors

_p, _t = schema.ticket_publishes, schema.tickets


@dataclass(frozen=True)
class Unfinished:
    """A received ticket without a result, and how it was last sent."""

    ticket: Ticket
    message_id: str | None
    """The id its messages carry; None when no publish of it recorded one."""
    resent: int
    last_sent: datetime
    """When it was last published, or received when it never was."""


def _last_sent() -> ColumnElement[datetime]:
    return func.coalesce(_p.c.published_at, _p.c.received_at)


class SqlTicketPublishes:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def stuck(self, before: datetime, *, limit: int, most: int) -> list[Unfinished]:
        """Tickets last sent (or received) before `before`, sent again fewer than `limit`
        times; the longest waiting first, `most` at most."""
        query = (
            select(_t, _p.c.message_id, _p.c.resent, _last_sent().label("last_sent"))
            .select_from(_p.join(_t, _t.c.ticket_id == _p.c.ticket_id))
            .where(_last_sent() < before, _p.c.resent < limit)
            .order_by(_p.c.received_at, _p.c.ticket_id)
            .limit(most)
        )
        ticket_columns = [column.name for column in _t.columns]
        with store_errors("read the tickets waiting for a result"):
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query)).mappings().all()
        return [
            Unfinished(
                ticket=Ticket.model_validate(
                    {
                        **{name: row[name] for name in ticket_columns},
                        "created_at": aware(row["created_at"]),
                    }
                ),
                message_id=row["message_id"],
                resent=row["resent"],
                last_sent=aware(row["last_sent"]),
            )
            for row in rows
        ]

    async def exhausted(self, before: datetime, *, limit: int) -> int:
        """Tickets sent again `limit` times, the last time before `before`, and still
        without a result: the sweep leaves them to a person."""
        query = select(func.count()).where(_last_sent() < before, _p.c.resent >= limit)
        with store_errors("count the tickets left without a result"):
            async with self._engine.connect() as connection:
                return int((await connection.execute(query)).scalar_one())

    async def claim(self, unfinished: Unfinished, message_id: str, now: datetime) -> bool:
        """Mark the ticket sent again now with `message_id`; False when it changed since
        it was read (another sweep took it, intake published it, its result came)."""
        statement = (
            update(_p)
            .where(
                _p.c.ticket_id == unfinished.ticket.ticket_id,
                _p.c.resent == unfinished.resent,
                _last_sent() <= unfinished.last_sent,
            )
            .values(message_id=message_id, published_at=now, resent=_p.c.resent + 1)
        )
        with store_errors("claim a ticket to send again"):
            async with self._engine.begin() as connection:
                return bool((await connection.execute(statement)).rowcount)

    async def release(self, unfinished: Unfinished, now: datetime) -> None:
        """Undo a claim whose publish failed: the ticket is as it was (but for the
        message id, which a publish that did get through may carry)."""
        statement = (
            update(_p)
            .where(
                and_(
                    _p.c.ticket_id == unfinished.ticket.ticket_id,
                    _p.c.resent == unfinished.resent + 1,
                    _p.c.published_at == now,
                )
            )
            .values(published_at=unfinished.last_sent, resent=unfinished.resent)
        )
        with store_errors("release a ticket not sent again"):
            async with self._engine.begin() as connection:
                await connection.execute(statement)
