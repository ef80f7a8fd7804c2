"""Reviews of drafts: a ticket with everything a reviewer needs, the review itself
(appended to an audit trail that is never updated in place), and what the
reviews add up to.

A draft's version is a digest of the ticket's id and the stored result: a review names
the version it was made on, so a draft that changed since it was read (the ticket was
answered again), or a version read on another ticket, is refused instead of approved
unseen. A draft is decided once: the first review of a version wins, in one transaction
(a compare-and-set on `review_states`), and a later one, or one made at the same time, is
refused with the review that decided it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rapidfuzz.distance import Levenshtein
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from supporter.domain.masking import mask_card_numbers
from supporter.domain.messages import AttemptRecord
from supporter.domain.models import Priority, Ticket, TicketResult, Transaction
from supporter.domain.people import ReviewAction, ReviewRecord
from supporter.store import schema
from supporter.store.base import StoreError
from supporter.store.sql import aware, dialect_insert, draft_version, store_errors


class UnknownTicket(StoreError):
    """No ticket with that id is stored."""


class StaleDraft(StoreError):
    """The draft changed since it was read, or there is none to review."""


class AlreadyReviewed(StoreError):
    """This draft was approved or rejected already: `review` is the decision."""

    def __init__(self, review: ReviewRecord) -> None:
        super().__init__(
            f"the draft of ticket {review.ticket_id!r} was already {_past(review.action)} "
            f"by {review.reviewer} at {review.created_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        )
        self.review = review


def _past(action: ReviewAction) -> str:
    return "approved" if action is ReviewAction.APPROVE else "rejected"


@dataclass(frozen=True)
class TicketDetail:
    ticket: Ticket
    result: TicketResult | None
    draft_version: str | None
    transactions: list[Transaction]
    tries: list[AttemptRecord]
    reviews: list[ReviewRecord]
    # The review that decided the draft at `draft_version`, if one did.
    decision: ReviewRecord | None = None

    @property
    def cited_ids(self) -> set[str]:
        return _cited(self.result)


@dataclass(frozen=True)
class Review:
    action: ReviewAction
    draft_version: str
    reviewer: str
    reply: str | None = None
    category: str | None = None
    priority: Priority | None = None
    reason: str | None = None


@dataclass
class Tally:
    reviewed: int = 0
    approved: int = 0
    edited: int = 0
    edit_distance: int = 0
    cost_usd: float = 0.0

    @property
    def approval_rate(self) -> float | None:
        return self.approved / self.reviewed if self.reviewed else None

    @property
    def edited_share(self) -> float | None:
        return self.edited / self.approved if self.approved else None

    @property
    def mean_edit_distance(self) -> float | None:
        return self.edit_distance / self.edited if self.edited else None

    @property
    def cost_per_approved(self) -> float | None:
        return self.cost_usd / self.approved if self.approved else None


@dataclass
class Overview:
    waiting: int
    total: Tally = field(default_factory=Tally)
    by_category: dict[str, Tally] = field(default_factory=dict)
    by_provider: dict[str, Tally] = field(default_factory=dict)


class SqlReviews:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = dialect_insert(engine)

    async def detail(self, ticket_id: str, *, transactions: int = 20) -> TicketDetail:
        """Raises UnknownTicket. `transactions`: the customer's most recent ones shown,
        besides every one the analysis or the draft cites."""
        with store_errors("read the ticket"):
            async with self._engine.connect() as connection:
                ticket_row = (
                    await connection.execute(
                        select(schema.tickets).where(schema.tickets.c.ticket_id == ticket_id)
                    )
                ).first()
                if ticket_row is None:
                    raise UnknownTicket(f"no ticket {ticket_id!r}")
                ticket = Ticket.model_validate(
                    {**ticket_row._mapping, "created_at": aware(ticket_row.created_at)}
                )
                record = await _record(connection, ticket_id)
                result = TicketResult.model_validate_json(record) if record else None
                version = draft_version(ticket_id, record) if record else None
                reviews = await _reviews(connection, ticket_id)
                decided = await _decided(connection, ticket_id, version)
                return TicketDetail(
                    ticket=ticket,
                    result=result,
                    draft_version=version,
                    transactions=await _transactions(
                        connection, ticket.customer_id, _cited(result), transactions
                    ),
                    tries=await _tries(connection, ticket_id),
                    reviews=reviews,
                    decision=next((r for r in reviews if r.review_id == decided), None),
                )

    async def review(self, ticket_id: str, review: Review) -> ReviewRecord:
        """Record a review of the draft at `review.draft_version`: the first one of that
        draft decides it, once.

        Raises UnknownTicket; StaleDraft when the stored draft is another one (or there is
        none); AlreadyReviewed when this draft was decided already, or by a review stored
        at the same time (nothing of this one is stored then)."""
        now = datetime.now(UTC)
        with store_errors("store the review"):
            async with self._engine.begin() as connection:
                exists = (
                    await connection.execute(
                        select(schema.tickets.c.ticket_id).where(
                            schema.tickets.c.ticket_id == ticket_id
                        )
                    )
                ).first()
                if exists is None:
                    raise UnknownTicket(f"no ticket {ticket_id!r}")
                # Locked until the review is recorded on PostgreSQL: a new draft stored in
                # between would otherwise be marked as reviewed. SQLite has no such lock (and
                # its transaction begins only at the first write): the draft is read again
                # once the review's insert holds the write lock, below.
                record = await _record(connection, ticket_id, lock=True)
                result = TicketResult.model_validate_json(record) if record else None
                if result is None or result.reply is None:
                    raise StaleDraft(f"ticket {ticket_id!r} has no draft to review yet")
                version = draft_version(ticket_id, record or "")
                if version != review.draft_version:
                    raise StaleDraft(
                        f"the draft of ticket {ticket_id!r} changed since it was read "
                        "(or the version is another ticket's): read it again and review "
                        "the new one"
                    )
                await _refuse_if_decided(connection, ticket_id, version)
                draft = result.reply.body
                # What people type is masked as tickets are: a card number a reviewer
                # pastes into a reply or a reason is never stored (nor exported, nor sent).
                typed = _masked(review.reply)
                final = typed if typed is not None else draft
                approved = review.action is ReviewAction.APPROVE
                row = {
                    "ticket_id": ticket_id,
                    "draft_version": version,
                    "action": review.action.value,
                    "reply": final if approved else typed,
                    "draft": draft,
                    "edit_distance": Levenshtein.distance(draft, final) if approved else None,
                    "category": review.category,
                    "priority": review.priority.value if review.priority else None,
                    "reason": _masked(review.reason),
                    "reviewer": review.reviewer,
                    "provider": result.provider,
                    "created_at": now,
                }
                inserted = await connection.execute(
                    insert(schema.reviews).returning(schema.reviews.c.review_id), [row]
                )
                review_id = int(inserted.scalar_one())
                # A new draft saved since the read (SQLite) is refused, and nothing of this
                # review is kept: no one can write the draft now until this one commits.
                if draft_version(ticket_id, await _record(connection, ticket_id) or "") != version:
                    raise StaleDraft(
                        f"the draft of ticket {ticket_id!r} changed while it was reviewed: "
                        "read it again and review the new one"
                    )
                # The compare-and-set: the ticket's state becomes this review unless it
                # already names this draft. Two reviews at once both get here (SQLite takes
                # the write lock at the first insert, PostgreSQL waits on the state's key):
                # the second one's statement sees the first one committed and changes nothing.
                state = self._insert(schema.review_states)
                decided = await connection.execute(
                    state.on_conflict_do_update(
                        index_elements=["ticket_id"],
                        set_={
                            name: state.excluded[name]
                            for name in ("review_id", "action", "draft_version")
                        },
                        where=schema.review_states.c.draft_version != state.excluded.draft_version,
                    ).returning(schema.review_states.c.review_id),
                    [
                        {
                            "ticket_id": ticket_id,
                            "review_id": review_id,
                            "action": review.action.value,
                            "draft_version": version,
                        }
                    ],
                )
                if decided.first() is None:
                    await _refuse_if_decided(connection, ticket_id, version)
                    raise AssertionError(f"ticket {ticket_id!r}: review state not recorded")
                queue = schema.review_queue
                await connection.execute(
                    update(queue)
                    .where(queue.c.ticket_id == ticket_id)
                    .values(review="approved" if approved else "rejected")
                )
        return _review_record({**row, "review_id": review_id})

    async def export(self) -> AsyncIterator[dict[str, Any]]:
        """Every review, oldest first, with the ticket's text and the labels it ends with
        (a correction wins over the model's)."""
        r, t, a = schema.reviews, schema.tickets, schema.analyses
        query = (
            select(
                r,
                t.c.subject,
                t.c.body,
                a.c.category.label("model_category"),
                a.c.priority.label("model_priority"),
            )
            .select_from(
                r.join(t, t.c.ticket_id == r.c.ticket_id).outerjoin(
                    a, a.c.ticket_id == r.c.ticket_id
                )
            )
            .order_by(r.c.review_id)
        )
        with store_errors("read the reviews"):
            async with self._engine.connect() as connection:
                async for row in await connection.stream(query):
                    item = _review_record(row._mapping).model_dump(mode="json")
                    item.update(
                        subject=row.subject,
                        body=row.body,
                        model_category=row.model_category,
                        model_priority=row.model_priority,
                        final_category=row.category or row.model_category,
                        final_priority=row.priority or row.model_priority,
                    )
                    yield item

    async def labelled(self) -> list[tuple[str, str, str]]:
        """(ticket_id, text, label) of each ticket whose category a person
        settled, by their latest review: an approval (the corrected category, else the
        model's) or a rejection that corrected it. Oldest ticket first."""
        r, s, t, a = schema.reviews, schema.review_states, schema.tickets, schema.analyses
        query = (
            select(
                t.c.ticket_id,
                t.c.subject,
                t.c.body,
                r.c.action,
                r.c.category,
                a.c.category.label("model_category"),
            )
            .select_from(
                s.join(r, r.c.review_id == s.c.review_id)
                .join(t, t.c.ticket_id == s.c.ticket_id)
                .outerjoin(a, a.c.ticket_id == s.c.ticket_id)
            )
            .order_by(t.c.created_at, t.c.ticket_id)
        )
        found: list[tuple[str, str, str]] = []
        with store_errors("read the reviewed tickets"):
            async with self._engine.connect() as connection:
                for row in await connection.execute(query):
                    approved = row.action == ReviewAction.APPROVE.value
                    label = row.category or (row.model_category if approved else None)
                    if label:
                        text = "\n".join(part for part in (row.subject, row.body) if part)
                        found.append((row.ticket_id, text, label))
        return found

    async def overview(self) -> Overview:
        r, s, res = schema.reviews, schema.review_states, schema.results
        waiting_query = (
            select(res.c.ticket_id)
            .select_from(
                res.join(schema.replies, schema.replies.c.ticket_id == res.c.ticket_id).outerjoin(
                    s, s.c.ticket_id == res.c.ticket_id
                )
            )
            .where(s.c.ticket_id.is_(None))
        )
        latest = select(
            r.c.action, r.c.edit_distance, r.c.provider, schema.analyses.c.category, res.c.record
        ).select_from(
            s.join(r, r.c.review_id == s.c.review_id)
            .outerjoin(schema.analyses, schema.analyses.c.ticket_id == s.c.ticket_id)
            .outerjoin(res, res.c.ticket_id == s.c.ticket_id)
        )
        with store_errors("sum up the reviews"):
            async with self._engine.connect() as connection:
                waiting = len((await connection.execute(waiting_query)).all())
                overview = Overview(waiting=waiting)
                async for row in await connection.stream(latest):
                    for tally in (
                        overview.total,
                        overview.by_category.setdefault(row.category or "(none)", Tally()),
                        overview.by_provider.setdefault(row.provider or "(none)", Tally()),
                    ):
                        _count(tally, row)
        return overview


def _masked(text: str | None) -> str | None:
    return None if text is None else mask_card_numbers(text)


def _cited(result: TicketResult | None) -> set[str]:
    """The transactions the draft cites and those the analysis found related."""
    if result is None:
        return set()
    cited = set(result.reply.cited_transaction_ids if result.reply else ())
    return cited | set(result.analysis.related_transaction_ids if result.analysis else ())


def _count(tally: Tally, row: Any) -> None:
    tally.reviewed += 1
    if row.action != ReviewAction.APPROVE.value:
        return
    tally.approved += 1
    if row.edit_distance:
        tally.edited += 1
        tally.edit_distance += row.edit_distance
    if row.record:
        tally.cost_usd += float(TicketResult.model_validate_json(row.record).usage.cost_usd)


async def _record(connection: AsyncConnection, ticket_id: str, lock: bool = False) -> str | None:
    query = select(schema.results.c.record).where(schema.results.c.ticket_id == ticket_id)
    if lock:
        query = query.with_for_update()
    value = (await connection.execute(query)).scalar()
    return None if value is None else str(value)


async def _decided(connection: AsyncConnection, ticket_id: str, version: str | None) -> int | None:
    """The id of the review that decided the draft at `version`, if one did."""
    if version is None:
        return None
    states = schema.review_states
    query = select(states.c.review_id).where(
        states.c.ticket_id == ticket_id, states.c.draft_version == version
    )
    found = (await connection.execute(query)).scalar()
    return None if found is None else int(found)


async def _refuse_if_decided(connection: AsyncConnection, ticket_id: str, version: str) -> None:
    """Raises AlreadyReviewed, with the decision, when the draft at `version` has one."""
    decided = await _decided(connection, ticket_id, version)
    if decided is None:
        return
    table = schema.reviews
    row = (
        (await connection.execute(select(table).where(table.c.review_id == decided)))
        .mappings()
        .first()
    )
    if row is None:
        raise StoreError(f"ticket {ticket_id!r}: its review {decided} is missing")
    raise AlreadyReviewed(_review_record(row))


async def _tries(connection: AsyncConnection, ticket_id: str) -> list[AttemptRecord]:
    table = schema.attempts
    query = select(table).where(table.c.ticket_id == ticket_id).order_by(table.c.id)
    rows = (await connection.execute(query)).mappings().all()
    return [
        AttemptRecord.model_validate(
            {key: value for key, value in row.items() if key not in ("id", "ticket_id")}
            | {"at": aware(row["at"])}
        )
        for row in rows
    ]


async def _reviews(connection: AsyncConnection, ticket_id: str) -> list[ReviewRecord]:
    table = schema.reviews
    query = select(table).where(table.c.ticket_id == ticket_id).order_by(table.c.review_id)
    return [_review_record(row) for row in (await connection.execute(query)).mappings().all()]


async def _transactions(
    connection: AsyncConnection, customer_id: str, cited: set[str], limit: int
) -> list[Transaction]:
    table = schema.transactions
    recent = (
        select(table.c.record)
        .where(table.c.customer_id == customer_id)
        .order_by(table.c.created_at.desc(), table.c.transaction_id.desc())
        .limit(limit)
    )
    records = {str(record) for (record,) in await connection.execute(recent)}
    if cited:
        named = select(table.c.record).where(table.c.transaction_id.in_(sorted(cited)))
        records |= {str(record) for (record,) in await connection.execute(named)}
    found = [Transaction.model_validate_json(record) for record in records]
    return sorted(found, key=lambda t: (t.created_at, t.transaction_id), reverse=True)


def _review_record(row: Any) -> ReviewRecord:
    """A stored review as everyone reads it (the screen, the API, its 409s, the export):
    its text masked again, for reviews stored before text was masked on the way in."""
    values = dict(row)
    values["created_at"] = aware(values["created_at"])
    for name in ("reply", "draft", "reason"):
        values[name] = _masked(values[name])
    return ReviewRecord.model_validate({key: values[key] for key in ReviewRecord.model_fields})
