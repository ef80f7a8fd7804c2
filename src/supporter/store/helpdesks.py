"""What Supporter keeps about the helpdesks it works with: where each one's polling
resumes, what was written into which ticket (and the note's id there), and the
webhook deliveries already taken.

A write-back is claimed before the helpdesk is called and recorded after it
answered: a redelivered or replayed write-back of a version already written makes
no call, a newer version gets the earlier note's id so the connector updates it,
and two workers holding the same ticket's write-back at once do not both post (the
second finds it claimed and tries later).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from supporter.domain.models import Ticket
from supporter.store import schema
from supporter.store.sql import aware, dialect_insert, publish_row, received_row, store_errors

# A claim older than this is a worker that died mid-write: another may take it.
DEFAULT_LEASE = timedelta(minutes=5)
# Delivery ids older than this are forgotten: helpdesks retry a delivery for hours.
DELIVERY_RETENTION = timedelta(days=3)


class ClaimState(StrEnum):
    CLAIMED = "claimed"
    """Write it now, then `record_written` (or `release` on failure)."""
    DONE = "done"
    """This version was written already: nothing to do."""
    BUSY = "busy"
    """Another worker is writing this ticket now: try later."""
    NOT_RECEIVED = "not_received"
    """The ticket did not come from this helpdesk: nothing is written into it."""


@dataclass(frozen=True)
class WriteBackRecord:
    helpdesk: str
    ticket_id: str
    mode: str
    draft_version: str | None
    """The version last written; None until a write-back succeeded."""
    note_id: str | None
    status: str
    attempts: int
    written_at: datetime | None
    claimed_until: datetime | None = None
    """While a worker holds it (`status` writing): when its claim lapses."""
    pending_since: datetime | None = None
    """When the write-back not yet recorded was first claimed (a failed or crashed try
    may have written its note since); None once recorded."""


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    previous: WriteBackRecord | None = None
    """What was written before (its note's id), when anything was."""
    pending_since: datetime | None = None
    """A claimed write-back's first claim since the last one recorded: a note that a
    try which crashed before its record wrote cannot be older."""
    first_attempt: bool = False
    """This claim is that first claim: no try of this write-back came before it, so
    none can have written a note the helpdesk should be searched for."""


class SqlHelpdeskState:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] | None = None) -> None:
        """`clock`: the time now (aware), for tests of leases and pruning."""
        self._engine = engine
        self._insert = dialect_insert(engine)
        self._clock = clock or (lambda: datetime.now(UTC))

    def _now(self) -> datetime:
        return self._clock()

    async def cursor(self, helpdesk: str) -> str | None:
        table = schema.helpdesk_cursors
        with store_errors("read the helpdesk's poll cursor"):
            async with self._engine.connect() as connection:
                value = (
                    await connection.execute(
                        select(table.c.cursor).where(table.c.helpdesk == helpdesk)
                    )
                ).scalar()
        return None if value is None else str(value)

    async def save_cursor(self, helpdesk: str, cursor: str) -> None:
        statement = self._insert(schema.helpdesk_cursors)
        with store_errors("store the helpdesk's poll cursor"):
            async with self._engine.begin() as connection:
                await connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["helpdesk"],
                        set_={
                            "cursor": statement.excluded.cursor,
                            "updated_at": statement.excluded.updated_at,
                        },
                    ),
                    [{"helpdesk": helpdesk, "cursor": cursor, "updated_at": self._now()}],
                )

    async def unseen(self, helpdesk: str, tickets: Sequence[Ticket]) -> list[Ticket]:
        """The tickets to analyse: new, with a subject or body edited since stored (a
        customer's reply), or not yet received from this helpdesk. A webhook and a poll
        that bring the same text bring nothing; a change of status alone neither."""
        if not tickets:
            return []
        t, w = schema.tickets, schema.write_backs
        ids = list({ticket.ticket_id for ticket in tickets})
        query = (
            select(t.c.ticket_id, t.c.subject, t.c.body)
            .select_from(t.join(w, and_(w.c.ticket_id == t.c.ticket_id, w.c.helpdesk == helpdesk)))
            .where(t.c.ticket_id.in_(ids))
        )
        with store_errors("read the received tickets"):
            async with self._engine.connect() as connection:
                known = {
                    (row.ticket_id, row.subject, row.body)
                    for row in await connection.execute(query)
                }
        found: list[Ticket] = []
        for ticket in tickets:
            key = (ticket.ticket_id, ticket.subject, ticket.body)
            if key not in known:
                known.add(key)
                found.append(ticket)
        return found

    async def receive(self, helpdesk: str, tickets: Sequence[Ticket]) -> None:
        """Keep tickets taken from the helpdesk (after they were published): as they now
        read, in the review queue, and marked as this helpdesk's (only those are ever
        written into)."""
        if not tickets:
            return
        rows = {ticket.ticket_id: ticket.model_dump() for ticket in tickets}
        upsert = self._insert(schema.tickets)
        upsert = upsert.on_conflict_do_update(
            index_elements=["ticket_id"],
            set_={
                name: upsert.excluded[name]
                for name in next(iter(rows.values()))
                if name != "ticket_id"
            },
        )
        queued = self._insert(schema.review_queue).on_conflict_do_nothing(
            index_elements=["ticket_id"]
        )
        marked = self._insert(schema.write_backs).on_conflict_do_nothing(
            index_elements=["helpdesk", "ticket_id"]
        )
        # Published just now, by a message whose id is not known here: waiting for a
        # result from now on (see `pipeline/resend.py`).
        now = self._now()
        waiting = self._insert(schema.ticket_publishes)
        waiting = waiting.on_conflict_do_update(
            index_elements=["ticket_id"],
            set_={"message_id": None, "published_at": now, "resent": 0},
        )
        with store_errors("store the received tickets"):
            async with self._engine.begin() as connection:
                await connection.execute(upsert, list(rows.values()))
                await connection.execute(queued, [received_row(t) for t in tickets])
                await connection.execute(
                    waiting,
                    [publish_row(i, received_at=now, published_at=now) for i in rows],
                )
                await connection.execute(
                    marked,
                    [
                        {
                            "helpdesk": helpdesk,
                            "ticket_id": ticket_id,
                            "mode": "",
                            "status": "received",
                            "attempts": 0,
                        }
                        for ticket_id in rows
                    ],
                )

    async def unwritten(
        self, helpdesk: str, *, queue: str = "write-back", limit: int = 10_000
    ) -> list[str]:
        """Tickets received from the helpdesk whose draft was stored after their last
        write-back, or never written back, and whose write-back is not waiting in the
        dead letters of `queue` (a person replays those): oldest result first."""
        w, r, d = schema.write_backs, schema.results, schema.dead_letters
        dead = (
            select(d.c.id)
            .where(d.c.ticket_id == w.c.ticket_id, d.c.queue == queue, d.c.resolved_at.is_(None))
            .exists()
        )
        query = (
            select(w.c.ticket_id)
            .select_from(w.join(r, r.c.ticket_id == w.c.ticket_id))
            .where(
                w.c.helpdesk == helpdesk,
                r.c.status == "responded",
                or_(w.c.written_at.is_(None), r.c.updated_at > w.c.written_at),
                ~dead,
            )
            .order_by(r.c.updated_at)
            .limit(limit)
        )
        with store_errors("read the write-backs to send again"):
            async with self._engine.connect() as connection:
                return [str(ticket_id) for (ticket_id,) in await connection.execute(query)]

    async def write_back(self, helpdesk: str, ticket_id: str) -> WriteBackRecord | None:
        table = schema.write_backs
        query = select(table).where(table.c.helpdesk == helpdesk, table.c.ticket_id == ticket_id)
        with store_errors("read the write-back"):
            async with self._engine.connect() as connection:
                row = (await connection.execute(query)).mappings().first()
        return None if row is None else _record(row)

    async def claim(
        self,
        helpdesk: str,
        ticket_id: str,
        mode: str,
        version: str,
        *,
        lease: timedelta = DEFAULT_LEASE,
    ) -> Claim:
        """Take the ticket's write-back of `version`: an update of its row where it is
        neither this version already nor held by another worker whose lease runs. Only a
        ticket received from this helpdesk has a row.

        The first claim since the last write-back recorded (no `pending_since` yet) and a
        later one (a try failed or crashed) are two statements, each deciding on the row
        as it stands when it runs, so a claim knows for sure whether it is the first."""
        table = schema.write_backs
        now = self._now()
        this = and_(table.c.helpdesk == helpdesk, table.c.ticket_id == ticket_id)
        free = (
            this,
            or_(table.c.draft_version.is_(None), table.c.draft_version != version),
            or_(table.c.status != "writing", table.c.claimed_until < now),
        )
        taken = {"status": "writing", "claimed_until": now + lease}
        first = (
            update(table)
            .where(*free, table.c.pending_since.is_(None))
            .values(**taken, attempts=table.c.attempts + 1, pending_since=now)
            .returning(*table.c)
        )
        again = (
            update(table)
            .where(*free, table.c.pending_since.is_not(None))
            .values(**taken, attempts=table.c.attempts + 1)
            .returning(*table.c)
        )
        with store_errors("claim the write-back"):
            async with self._engine.begin() as connection:
                claimed = (await connection.execute(first)).mappings().first()
                first_attempt = claimed is not None
                if claimed is None:
                    claimed = (await connection.execute(again)).mappings().first()
                if claimed is None:
                    current = (
                        (await connection.execute(select(table).where(this))).mappings().first()
                    )
        if claimed is not None:
            record = _record(claimed)
            return Claim(
                ClaimState.CLAIMED,
                record if record.draft_version is not None else None,
                pending_since=record.pending_since,
                first_attempt=first_attempt,
            )
        if current is None:
            return Claim(ClaimState.NOT_RECEIVED)
        record = _record(current)
        if record.draft_version == version:
            return Claim(ClaimState.DONE, record)
        return Claim(ClaimState.BUSY, record)

    async def record_written(
        self, helpdesk: str, ticket_id: str, mode: str, version: str, note_id: str | None
    ) -> None:
        """The helpdesk took `version`: it is never written again."""
        await self._settle(
            helpdesk,
            ticket_id,
            mode=mode,
            draft_version=version,
            note_id=note_id,
            status="written",
            written_at=self._now(),
            pending_since=None,
        )

    async def resolve_dead_letters(self, ticket_id: str, queue: str) -> None:
        """A write-back that succeeded resolves the ticket's dead letters of its queue."""
        table = schema.dead_letters
        with store_errors("resolve the dead letters"):
            async with self._engine.begin() as connection:
                await connection.execute(
                    update(table)
                    .where(
                        table.c.ticket_id == ticket_id,
                        table.c.queue == queue,
                        table.c.resolved_at.is_(None),
                    )
                    .values(resolved_at=self._now())
                )

    async def release(self, helpdesk: str, ticket_id: str) -> None:
        """The write-back failed: another try may claim it at once."""
        await self._settle(helpdesk, ticket_id, status="failed")

    async def _settle(self, helpdesk: str, ticket_id: str, **values: object) -> None:
        table = schema.write_backs
        with store_errors("record the write-back"):
            async with self._engine.begin() as connection:
                await connection.execute(
                    update(table)
                    .where(table.c.helpdesk == helpdesk, table.c.ticket_id == ticket_id)
                    .values(claimed_until=None, **values)
                )

    async def remember_delivery(self, helpdesk: str, delivery_id: str) -> bool:
        """Whether this delivery is new (then it is remembered); old ids are pruned."""
        table = schema.webhook_deliveries
        now = self._now()
        statement = self._insert(table).on_conflict_do_nothing().returning(table.c.delivery_id)
        with store_errors("remember the webhook delivery"):
            async with self._engine.begin() as connection:
                await connection.execute(
                    delete(table).where(table.c.received_at < now - DELIVERY_RETENTION)
                )
                inserted = await connection.execute(
                    statement,
                    {"helpdesk": helpdesk, "delivery_id": delivery_id, "received_at": now},
                )
                return inserted.first() is not None

    async def forget_delivery(self, helpdesk: str, delivery_id: str) -> None:
        """A delivery that could not be handled: its resend is taken again."""
        table = schema.webhook_deliveries
        with store_errors("forget the webhook delivery"):
            async with self._engine.begin() as connection:
                await connection.execute(
                    delete(table).where(
                        table.c.helpdesk == helpdesk, table.c.delivery_id == delivery_id
                    )
                )


def _record(values: RowMapping) -> WriteBackRecord:
    return WriteBackRecord(
        helpdesk=values["helpdesk"],
        ticket_id=values["ticket_id"],
        mode=values["mode"],
        draft_version=values["draft_version"],
        note_id=values["note_id"],
        status=values["status"],
        attempts=values["attempts"],
        written_at=aware(values["written_at"]),
        claimed_until=aware(values["claimed_until"]),
        pending_since=aware(values["pending_since"]),
    )
