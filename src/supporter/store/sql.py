"""The store on a SQL database through SQLAlchemy: SQLite (the default, a file) or
PostgreSQL, with the same tables and the same idempotent writes. Writes come in
batches, one transaction each.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

import asyncpg
from pydantic import TypeAdapter
from sqlalchemy import (
    ColumnElement,
    bindparam,
    cast,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from supporter.domain.masking import masked_url
from supporter.domain.messages import AttemptRecord, DeadLetterMessage
from supporter.domain.models import Ticket, TicketResult
from supporter.store import migrations, schema
from supporter.store.base import Citation, DeadLetterRecord, Outcome, StoreError

_history = TypeAdapter(list[AttemptRecord])
_CHUNK = 500
_OPEN_TRIES = 5
_upgrading: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """A datetime read back from SQLite (which keeps no zone) as the UTC it was stored in."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def async_url(url: str) -> str:
    """`postgresql://…` and `sqlite:///…` with the async driver this store uses."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def dialect_insert(engine: AsyncEngine) -> Any:
    """`insert` of the engine's dialect: both spell "insert … on conflict" the same way."""
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


class SqlStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = dialect_insert(engine)
        self._closed = False
        # The statements of `save`, built once: building one (an upsert's `excluded`
        # alias copies every column of its table) and its cache key cost more than
        # executing it on a batch of a few dozen rows. Lists of ids are expanding
        # parameters, so the same statement takes any batch.
        self._statements: dict[tuple[object, ...], Any] = {}

    @property
    def engine(self) -> AsyncEngine:
        """For other tables of the same database (the shared transactions)."""
        return self._engine

    @classmethod
    async def open(cls, url: str) -> SqlStore:
        """Connect and bring the tables up to this Supporter's schema (`migrations`)."""
        engine = await _connect(url)
        try:
            await _upgrade(engine, url)
        except StoreError:
            await engine.dispose()
            raise
        return cls(engine)

    async def close(self) -> None:
        self._closed = True
        await self._engine.dispose()

    async def ping(self) -> None:
        """A trivial query: StoreError unless the database answers (readiness probes)."""
        if self._closed:
            raise StoreError("the store is closed")
        with store_errors("reach the database"):
            async with self._engine.connect() as connection:
                await connection.execute(select(literal(1)))

    async def done_ticket_ids(self, version: str) -> set[str]:
        query = select(schema.results.c.ticket_id).where(schema.results.c.version == version)
        with store_errors("read the tickets done"):
            async with self._engine.connect() as connection:
                rows = await connection.stream(query)
                return {row.ticket_id async for row in rows}

    async def save(self, version: str, outcomes: Sequence[Outcome]) -> list[Outcome]:
        if not outcomes:
            return []
        now = datetime.now(UTC)
        try:
            async with self._engine.begin() as connection:
                fresh = await self._new_outcomes(connection, outcomes)
                if fresh:
                    await self._save(connection, version, fresh, now)
                return fresh
        except DATABASE_ERRORS as error:
            raise StoreError(
                f"could not store {len(outcomes)} results: {describe_error(error)}"
            ) from error

    async def _new_outcomes(
        self, connection: AsyncConnection, outcomes: Sequence[Outcome]
    ) -> list[Outcome]:
        ids = list({outcome.result.ticket_id for outcome in outcomes})
        query = self._statement(
            ("stored origins",),
            lambda: select(schema.results.c.ticket_id, schema.results.c.origin_id).where(
                schema.results.c.ticket_id.in_(bindparam("ids", expanding=True))
            ),
        )
        stored = {
            row.ticket_id: row.origin_id for row in await connection.execute(query, {"ids": ids})
        }
        fresh: list[Outcome] = []
        seen: set[tuple[str, str]] = set()
        for outcome in outcomes:
            origin = outcome.origin_id
            if origin is not None:
                key = (outcome.result.ticket_id, origin)
                if stored.get(key[0]) == origin or key in seen:
                    continue
                seen.add(key)
            fresh.append(outcome)
        return fresh

    async def _save(
        self,
        connection: AsyncConnection,
        version: str,
        outcomes: Sequence[Outcome],
        now: datetime,
    ) -> None:
        ids = [outcome.result.ticket_id for outcome in outcomes]
        ticket_rows = [o.ticket.model_dump() for o in outcomes if o.ticket is not None]
        result_rows = [_result_row(o, version, now) for o in outcomes]
        analysis_rows = [_analysis_row(o.result, version) for o in outcomes if o.result.analysis]
        reply_rows = [_reply_row(o.result, version) for o in outcomes if o.result.reply]
        attempt_rows = [
            {"ticket_id": o.result.ticket_id, **record.model_dump()}
            for o in outcomes
            for record in o.history
        ]
        # A newer outcome replaces everything an older one recorded: a failure must not
        # sit beside an earlier reply, nor a success beside old failed tries. A ticket
        # with its result is no longer waiting for one (nothing sends it again).
        for table in (schema.analyses, schema.replies, schema.attempts, schema.ticket_publishes):
            await connection.execute(self._delete_by_ticket(table), {"ids": ids})
        await self._upsert(connection, schema.tickets, ticket_rows, "ticket_id")
        await self._upsert(connection, schema.results, result_rows, "ticket_id")
        await self._upsert(connection, schema.analyses, analysis_rows, "ticket_id")
        await self._upsert(connection, schema.replies, reply_rows, "ticket_id")
        await self._upsert(
            connection,
            schema.review_queue,
            [_queue_row(o.ticket, o.result) for o in outcomes if o.ticket is not None],
            "ticket_id",
            keep=("review",),
        )
        await self._reopen_redrafted(connection, result_rows)
        if attempt_rows:
            statement = self._statement(("insert", "attempts"), lambda: insert(schema.attempts))
            await connection.execute(statement, attempt_rows)
        dead_rows = [_dead_letter_row(o, now) for o in outcomes if o.dead_letter is not None]
        # A later outcome resolves the ticket's earlier dead letters; a redelivered
        # dead letter must not resolve itself.
        letters = schema.dead_letters
        resolve = self._statement(
            ("resolve dead letters",),
            lambda: (
                update(letters)
                .where(letters.c.ticket_id.in_(bindparam("ids", expanding=True)))
                .where(letters.c.message_id.not_in(bindparam("kept", expanding=True)))
                .where(letters.c.resolved_at.is_(None))
                .values(resolved_at=bindparam("resolved_now"))
            ),
        )
        await connection.execute(
            resolve,
            {"ids": ids, "kept": [r["message_id"] for r in dead_rows], "resolved_now": now},
        )
        if dead_rows:
            statement = self._statement(
                ("keep dead letters",),
                lambda: self._insert(letters).on_conflict_do_nothing(index_elements=["message_id"]),
            )
            await connection.execute(statement, dead_rows)

    def _statement(self, key: tuple[object, ...], build: Callable[[], Any]) -> Any:
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = build()
        return statement

    def _delete_by_ticket(self, table: Any) -> Any:
        """`delete from table where ticket_id in :ids`."""
        return self._statement(
            ("delete", table.name),
            lambda: delete(table).where(table.c.ticket_id.in_(bindparam("ids", expanding=True))),
        )

    async def _reopen_redrafted(
        self, connection: AsyncConnection, result_rows: Sequence[dict[str, Any]]
    ) -> None:
        """A ticket whose draft changed after a review waits for review again: the decision
        was about the old draft (it stays in the `reviews` audit trail)."""
        records = {row["ticket_id"]: row["record"] for row in result_rows}
        states = schema.review_states
        query = self._statement(
            ("review states",),
            lambda: select(states.c.ticket_id, states.c.draft_version).where(
                states.c.ticket_id.in_(bindparam("ids", expanding=True))
            ),
        )
        reviewed = await connection.execute(query, {"ids": list(records)})
        changed = [tid for tid, seen in reviewed if draft_version(tid, records[tid]) != seen]
        if changed:
            await connection.execute(delete(states).where(states.c.ticket_id.in_(changed)))
            queue = schema.review_queue
            await connection.execute(
                update(queue).where(queue.c.ticket_id.in_(changed)).values(review="pending")
            )

    async def _upsert(
        self,
        connection: AsyncConnection,
        table: Any,
        rows: list[dict[str, Any]],
        key: str,
        keep: Sequence[str] = (),
    ) -> None:
        """Insert the rows, or update them but for `key` and the columns to `keep`."""
        if not rows:
            return

        def build() -> Any:
            statement = self._insert(table)
            columns = {
                name: statement.excluded[name]
                for name in rows[0]
                if name != key and name not in keep
            }
            return statement.on_conflict_do_update(index_elements=[key], set_=columns)

        upsert = self._statement(("upsert", table.name, key, tuple(keep), tuple(rows[0])), build)
        await connection.execute(upsert, rows)

    async def keep_dead_letters(self, letters: Sequence[DeadLetterMessage]) -> None:
        """Dead letters of a stage past the result (the write-back): kept for `dlq list`
        and replay, without touching the ticket's stored result (its draft stands).

        A new one replaces the ticket's pending dead letters of the same queue (they
        are resolved): a replay that fails again leaves one dead letter, the newest,
        not two. A redelivered one (its message id stored already) resolves nothing."""
        if not letters:
            return
        now = datetime.now(UTC)
        table = schema.dead_letters
        statement = self._insert(table).on_conflict_do_nothing(index_elements=["message_id"])
        ids = [letter.message_id for letter in letters]
        with store_errors("store the dead letters"):
            async with self._engine.begin() as connection:
                stored = set(
                    (
                        await connection.execute(
                            select(table.c.message_id).where(table.c.message_id.in_(ids))
                        )
                    ).scalars()
                )
                fresh = [letter for letter in letters if letter.message_id not in stored]
                by_queue: dict[str, set[str]] = {}
                for letter in fresh:
                    if letter.ticket_id is not None:
                        by_queue.setdefault(letter.queue, set()).add(letter.ticket_id)
                for queue, tickets in by_queue.items():
                    await connection.execute(
                        update(table)
                        .where(table.c.queue == queue)
                        .where(table.c.ticket_id.in_(sorted(tickets)))
                        .where(table.c.message_id.not_in(ids))
                        .where(table.c.resolved_at.is_(None))
                        .values(resolved_at=now)
                    )
                if fresh:
                    await connection.execute(
                        statement, [_letter_row(letter, now) for letter in fresh]
                    )

    async def result_versions(self, ticket_ids: Iterable[str]) -> dict[str, str]:
        """The version each of these tickets' stored result was made under (it starts
        with the provider's name: `openai:gpt-4o:…`); tickets without one are left out."""
        found: dict[str, str] = {}
        wanted = list(ticket_ids)
        results = schema.results
        with store_errors("read results"):
            async with self._engine.connect() as connection:
                for start in range(0, len(wanted), _CHUNK):
                    chunk = wanted[start : start + _CHUNK]
                    query = select(results.c.ticket_id, results.c.version).where(
                        results.c.ticket_id.in_(chunk)
                    )
                    for ticket_id, version in await connection.execute(query):
                        found[str(ticket_id)] = str(version)
        return found

    async def add_tickets(self, tickets: Sequence[Ticket]) -> list[Ticket]:
        """Store tickets received (the HTTP API) before any stage has them; returns those
        that were new: a ticket already stored, received or done, is left as it is."""
        if not tickets:
            return []
        statement = (
            self._insert(schema.tickets)
            .on_conflict_do_nothing(index_elements=["ticket_id"])
            .returning(schema.tickets.c.ticket_id)
        )
        added: set[str] = set()
        with store_errors("store the tickets"):
            async with self._engine.begin() as connection:
                # One statement per ticket: a multi-row insert returns nothing on SQLite.
                for ticket in tickets:
                    inserted = await connection.execute(statement, ticket.model_dump())
                    added.update(str(ticket_id) for (ticket_id,) in inserted)
                fresh = [ticket for ticket in tickets if ticket.ticket_id in added]
                if fresh:
                    queued = self._insert(schema.review_queue).on_conflict_do_nothing(
                        index_elements=["ticket_id"]
                    )
                    await connection.execute(queued, [received_row(t) for t in fresh])
                    now = datetime.now(UTC)
                    await connection.execute(
                        insert(schema.ticket_publishes),
                        [publish_row(t.ticket_id, received_at=now) for t in fresh],
                    )
        return fresh

    async def published(self, messages: Mapping[str, str]) -> None:
        """Record that received tickets went into the pipeline, by ticket id: with which
        message id, and when (the sweep that sends stuck tickets again counts from then)."""
        if not messages:
            return
        table = schema.ticket_publishes
        statement = (
            update(table)
            .where(table.c.ticket_id == bindparam("sent_ticket_id"))
            .values(message_id=bindparam("sent_message_id"), published_at=datetime.now(UTC))
        )
        rows = [
            {"sent_ticket_id": ticket_id, "sent_message_id": message_id}
            for ticket_id, message_id in messages.items()
        ]
        with store_errors("record the tickets published"):
            async with self._engine.begin() as connection:
                await connection.execute(statement, rows)

    async def forget_tickets(self, ticket_ids: Sequence[str]) -> None:
        """Undo `add_tickets` for tickets that could not be handed to the pipeline."""
        table = schema.tickets
        done = select(schema.results.c.ticket_id)
        with store_errors("take back the tickets"):
            async with self._engine.begin() as connection:
                for each in (table, schema.review_queue, schema.ticket_publishes):
                    await connection.execute(
                        delete(each)
                        .where(each.c.ticket_id.in_(list(ticket_ids)))
                        .where(each.c.ticket_id.not_in(done))
                    )

    async def results(self, ticket_ids: Iterable[str]) -> list[TicketResult]:
        found: list[TicketResult] = []
        wanted = list(ticket_ids)
        with store_errors("read results"):
            async with self._engine.connect() as connection:
                for start in range(0, len(wanted), _CHUNK):
                    chunk = wanted[start : start + _CHUNK]
                    query = select(schema.results.c.record).where(
                        schema.results.c.ticket_id.in_(chunk)
                    )
                    for (record,) in await connection.execute(query):
                        found.append(TicketResult.model_validate_json(record))
        return found

    async def citations(self, version: str) -> dict[str, Citation]:
        # The two fields are read inside the database: a rerun over a large store does
        # not parse every stored result to find the few that cite a changed passage.
        cited = _reply_field(self._engine.dialect.name, "cited_articles")
        query = select(
            schema.results.c.ticket_id,
            cited,
            _reply_field(self._engine.dialect.name, "knowledge_version"),
        ).where(schema.results.c.version == version, cited.is_not(None))
        found: dict[str, Citation] = {}
        with store_errors("read the results' citations"):
            async with self._engine.connect() as connection:
                async for ticket_id, passage_ids, knowledge_version in await connection.stream(
                    query
                ):
                    if passage_ids := tuple(json.loads(passage_ids)):
                        found[ticket_id] = Citation(passage_ids, knowledge_version)
        return found

    async def counts(self) -> dict[str, int]:
        by_status = select(schema.results.c.status, func.count()).group_by(schema.results.c.status)
        pending = select(func.count()).where(schema.dead_letters.c.resolved_at.is_(None))
        with store_errors("count results"):
            async with self._engine.connect() as connection:
                found = {"responded": 0, "failed": 0}
                for status, count in await connection.execute(by_status):
                    found[str(status)] = int(count)
                found["dead_letters"] = int((await connection.execute(pending)).scalar_one())
        return found

    async def dead_letters(
        self, *, ids: Sequence[int] | None = None, include_resolved: bool = False
    ) -> list[DeadLetterRecord]:
        table = schema.dead_letters
        query = select(table).order_by(table.c.id)
        if ids is not None:
            query = query.where(table.c.id.in_(list(ids)))
        if not include_resolved:
            query = query.where(table.c.resolved_at.is_(None))
        with store_errors("read dead letters"):
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query)).mappings().all()
        return [
            DeadLetterRecord(
                **{
                    **row,
                    "history": _history.validate_python(row["history"]),
                    "created_at": aware(row["created_at"]),
                    "resolved_at": aware(row["resolved_at"]),
                }
            )
            for row in rows
        ]


def _reply_field(dialect: str, name: str) -> ColumnElement[str]:
    """A field of a stored result's reply, as JSON text (a list) or text (a string)."""
    record = schema.results.c.record
    if dialect == "postgresql":
        field: ColumnElement[str] = cast(record, postgresql.JSON)["reply"][name].astext
        return field
    # https://www.sqlite.org/json1.html#jex: a list comes back as its JSON text.
    return func.json_extract(record, f"$.reply.{name}")


async def upgrade(url: str) -> migrations.Upgrade:
    """Bring the store's tables to the head revision, as opening it does."""
    engine = await _connect(url)
    try:
        return await _upgrade(engine, url)
    finally:
        await engine.dispose()


async def revision(url: str) -> str | None:
    """The store's schema revision, changing nothing; None for an empty database."""
    engine = await _connect(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(migrations.current)
    except DATABASE_ERRORS as error:
        raise StoreError(
            f"cannot read the store at {redacted(url)}: {describe_error(error)}"
        ) from error
    finally:
        await engine.dispose()


async def _connect(url: str) -> AsyncEngine:
    # Parameters are ticket data: keep them out of every error message and log.
    # pool_pre_ping: a connection the database dropped (a restart, a failover) is
    # replaced when taken from the pool instead of failing the next write.
    engine = create_async_engine(async_url(url), hide_parameters=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        # Checked here: a failed aiosqlite connect leaves its thread behind.
        if problem := _sqlite_path_problem(engine.url.database):
            await engine.dispose()
            raise StoreError(f"cannot open the store at {redacted(url)}: {problem}")
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_path_problem(database: str | None) -> str | None:
    """Why an SQLite file cannot be opened at `database`, when it is plain without trying."""
    path = Path(database or ".")
    if database and path.is_dir():
        return "is a folder; give the path of a file"
    if not path.parent.is_dir():
        return f"no folder {path.parent}"
    return None


async def _upgrade(engine: AsyncEngine, url: str) -> migrations.Upgrade:
    # Alembic keeps the migration it runs in module globals, so a process runs one at a
    # time, even on different databases (a lock per event loop: asyncio's are bound to one).
    alone = _upgrading.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    for attempt in range(1, _OPEN_TRIES + 1):
        try:
            async with alone, engine.begin() as connection:
                return await connection.run_sync(migrations.upgrade)
        except DATABASE_ERRORS as error:
            if attempt == _OPEN_TRIES:
                raise StoreError(
                    f"cannot open the store at {redacted(url)}: {describe_error(error)}"
                ) from error
            # Upgrades are serialized (see `migrations`); what is left is a busy SQLite
            # file (writes outlasting busy_timeout) or a database restarting.
            await asyncio.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


# What a database failure raises: SQLAlchemy wraps the driver's errors, but a
# connection that cannot be made at all (the server restarting) surfaces as the
# socket's OSError, and asyncpg's own errors can pass through unwrapped.
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, OSError, asyncpg.PostgresError)


@contextmanager
def store_errors(doing: str) -> Iterator[None]:
    try:
        yield
    except DATABASE_ERRORS as error:
        raise StoreError(f"could not {doing}: {describe_error(error)}") from error


def redacted(url: str) -> str:
    """The URL without its password, for messages: the one before the `@` and one given
    as a query parameter (`?password=`), which SQLAlchemy's rendering keeps."""
    try:
        return masked_url(make_url(url).render_as_string(hide_password=True))
    except ArgumentError:
        return url.split("@")[-1] if "@" in url else url


def describe_error(error: BaseException) -> str:
    """The database's own words (e.g. 'database is locked'), without statement or data:
    the first line only, as PostgreSQL's DETAIL (asyncpg puts it on the next line) can
    quote a row ("Failing row contains (…)"), ticket text included."""
    original = getattr(error, "orig", None)
    first_line = str(original or error).strip().split("\n", 1)[0]
    return f"{type(original or error).__name__}: {first_line}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets `supporter dlq list` read while a run writes; NORMAL sync is safe with WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def draft_version(ticket_id: str, record: str) -> str:
    """What a review names the draft by: a digest of the ticket's id and of what the reviewer
    decides on in the stored result (the reply with what it cites, the analysis and the
    grounding check). A version read on one ticket never names another ticket's draft, and a
    ticket drafted again (another text, category or verdict) has a new one; a redelivered or
    replayed result with the same content is the same draft."""
    result = json.loads(record) if record else {}
    named = {"ticket_id": ticket_id, **{key: result.get(key) for key in DRAFT_CONTENT}}
    return hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()[:16]


# The parts of a stored result that its draft version names.
DRAFT_CONTENT = ("reply", "analysis", "grounding")


def _result_row(outcome: Outcome, version: str, now: datetime) -> dict[str, Any]:
    result = outcome.result
    return {
        "ticket_id": result.ticket_id,
        "version": version,
        "origin_id": outcome.origin_id,
        "status": result.status,
        "provider": result.provider,
        "attempts": result.attempts,
        "error": result.error,
        "record": result.model_dump_json(),
        "updated_at": now,
    }


# The queue's order: most urgent first (see schema.review_queue).
URGENCY = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
NO_URGENCY = 4


def urgency(priority: str | None) -> int:
    return URGENCY.get(priority or "", NO_URGENCY)


def received_row(ticket: Ticket) -> dict[str, Any]:
    """A ticket's review-queue row before it has any outcome."""
    priority = ticket.priority.value if ticket.priority else None
    return {
        "ticket_id": ticket.ticket_id,
        "created_at": ticket.created_at,
        "state": "received",
        "review": "pending",
        "urgency": urgency(priority),
        "priority": priority,
    }


def publish_row(
    ticket_id: str, *, received_at: datetime, published_at: datetime | None = None
) -> dict[str, Any]:
    """A received ticket waiting for its result (`schema.ticket_publishes`)."""
    return {
        "ticket_id": ticket_id,
        "message_id": None,
        "received_at": received_at,
        "published_at": published_at,
        "resent": 0,
    }


def _queue_row(ticket: Ticket, result: TicketResult) -> dict[str, Any]:
    analysis, reply = result.analysis, result.reply
    priority = analysis.priority.value if analysis else None
    priority = priority or (ticket.priority.value if ticket.priority else None)
    grounding = result.grounding
    return {
        **received_row(ticket),
        "state": result.status,
        "urgency": urgency(priority),
        "category": analysis.category if analysis else None,
        "priority": priority,
        "needs_human": analysis.needs_human if analysis else None,
        "language": analysis.language if analysis else None,
        "grounding_passed": (grounding.passed if grounding else True) if reply else None,
        "provider": result.provider,
    }


def _analysis_row(result: TicketResult, version: str) -> dict[str, Any]:
    assert result.analysis is not None
    return {"ticket_id": result.ticket_id, "version": version, **result.analysis.model_dump()}


def _reply_row(result: TicketResult, version: str) -> dict[str, Any]:
    assert result.reply is not None
    grounding = result.grounding
    return {
        "ticket_id": result.ticket_id,
        "version": version,
        "body": result.reply.body,
        "cited_transaction_ids": result.reply.cited_transaction_ids,
        "grounding_passed": grounding.passed if grounding else True,
        "grounding_problems": grounding.problems if grounding else [],
    }


def _dead_letter_row(outcome: Outcome, now: datetime) -> dict[str, Any]:
    letter = outcome.dead_letter
    assert letter is not None
    return {**_letter_row(letter, now), "attempts": outcome.result.attempts}


def _letter_row(letter: DeadLetterMessage, now: datetime) -> dict[str, Any]:
    return {
        "message_id": letter.message_id,
        "ticket_id": letter.ticket_id,
        "customer_id": letter.customer_id,
        "stage": letter.stage,
        "queue": letter.queue,
        "reason": letter.reason,
        "error_type": letter.error_type,
        "attempts": max(1, len(letter.history)),
        "history": [record.model_dump(mode="json") for record in letter.history],
        "original": letter.original,
        "created_at": now,
        "resolved_at": None,
    }
