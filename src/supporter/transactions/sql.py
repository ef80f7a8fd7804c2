"""Transactions in the shared SQL store (SQLite or PostgreSQL), for workers on any machine.

`supporter transactions load` fills the `transactions` table; analyze workers
look up the window of each ticket that ingest sent without one. A lookup is one
range scan of the (customer_id, created_at) or the (customer_email, created_at)
index, however many rows the table has; quoted references are looked up in
`transaction_references`. Rows keep the transaction as JSON, so a lookup rebuilds
exactly the model that was loaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from supporter.domain.errors import TransientError
from supporter.domain.keys import Quoted, normalise_email, reference_keys
from supporter.domain.models import Transaction
from supporter.store import schema
from supporter.store.base import StoreError
from supporter.store.sql import DATABASE_ERRORS, describe_error, dialect_insert

_BATCH = 2000
_table = schema.transactions
_references = schema.transaction_references
_COLUMNS = (
    "customer_id",
    "created_at",
    "record",
    "customer_email",
    "amount_refunded",
    "dispute_status",
    "disputed_amount",
    "references",
)


def _utc(moment: datetime) -> datetime:
    # SQLite keeps datetimes as text without a zone: one zone for all keeps them ordered.
    return moment.astimezone(UTC)


class SqlTransactionIndex:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = dialect_insert(engine)

    async def load(self, transactions: AsyncIterable[Transaction]) -> int:
        """Add or replace (by transaction_id) every transaction, a batch per database
        transaction; returns how many were read. Raises StoreError when the store fails."""
        statement = self._insert(_table)
        upsert = statement.on_conflict_do_update(
            index_elements=["transaction_id"],
            set_={name: statement.excluded[name] for name in _COLUMNS},
        )
        count = 0
        batch: list[Transaction] = []
        try:
            async for transaction in transactions:
                batch.append(transaction)
                if len(batch) >= _BATCH:
                    count += await self._write(upsert, batch)
                    batch = []
            count += await self._write(upsert, batch)
        except DATABASE_ERRORS as error:
            raise StoreError(
                f"could not load transactions after {count}: {describe_error(error)}"
            ) from error
        return count

    async def _write(self, statement: Any, batch: list[Transaction]) -> int:
        if not batch:
            return 0
        ids = [transaction.transaction_id for transaction in batch]
        keys = [
            {"reference": key, "transaction_id": transaction.transaction_id}
            for transaction in batch
            for key in reference_keys(transaction)
        ]
        async with self._engine.begin() as connection:
            await connection.execute(statement, [_row(transaction) for transaction in batch])
            # A transaction loaded again replaces its references, as its row is replaced.
            await connection.execute(
                delete(_references).where(_references.c.transaction_id.in_(ids))
            )
            if keys:
                await connection.execute(self._insert(_references).on_conflict_do_nothing(), keys)
        return len(batch)

    async def count(self) -> int:
        try:
            async with self._engine.connect() as connection:
                return int(
                    (
                        await connection.execute(select(func.count()).select_from(_table))
                    ).scalar_one()
                )
        except DATABASE_ERRORS as error:
            raise StoreError(f"could not count transactions: {describe_error(error)}") from error

    async def recent(
        self,
        customer_id: str | None,
        *,
        email: str | None = None,
        until: datetime,
        days: int,
        limit: int,
    ) -> list[Transaction]:
        whose = [
            *([] if customer_id is None else [_table.c.customer_id == customer_id]),
            *([] if email is None else [_table.c.customer_email == email]),
        ]
        if not whose:
            return []
        return await self._window(or_(*whose), until, days, limit)

    async def _window(
        self, whose: ColumnElement[bool], until: datetime, days: int, limit: int
    ) -> list[Transaction]:
        since = until - timedelta(days=days)
        return await self._select(
            whose & _table.c.created_at.between(_utc(since), _utc(until)), limit
        )

    async def referenced(
        self, quoted: Collection[str], *, until: datetime, limit: int
    ) -> list[Transaction]:
        wanted = Quoted.of(quoted)
        by_reference = select(_references.c.transaction_id).where(
            _references.c.reference.in_(sorted(wanted.keys))
        )
        try:
            async with self._engine.connect() as connection:
                referenced = (await connection.execute(by_reference)).scalars().all()
        except DATABASE_ERRORS as error:
            raise TransientError(
                f"could not look up transactions: {describe_error(error)}"
            ) from error
        # Two index lookups: ORed with the id list, the subquery made PostgreSQL scan the table.
        ids = sorted(wanted.ids | set(referenced))
        found = await self._select(
            (_table.c.created_at <= _utc(until)) & _table.c.transaction_id.in_(ids), limit
        )
        return [transaction for transaction in found if wanted.matches(transaction)]

    async def _select(self, where: ColumnElement[bool], limit: int) -> list[Transaction]:
        query = (
            select(_table.c.record)
            .where(where)
            .order_by(_table.c.created_at.desc(), _table.c.transaction_id.desc())
            .limit(limit)
        )
        try:
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query)).all()
        except DATABASE_ERRORS as error:
            # A store that restarts or fails over comes back: the stage tries again later.
            raise TransientError(
                f"could not look up transactions: {describe_error(error)}"
            ) from error
        return [Transaction.model_validate_json(record) for (record,) in rows]


def _row(transaction: Transaction) -> dict[str, Any]:
    return {
        "transaction_id": transaction.transaction_id,
        "customer_id": transaction.customer_id,
        "created_at": _utc(transaction.created_at),
        "record": transaction.model_dump_json(),
        "customer_email": normalise_email(transaction.customer_email),
        "amount_refunded": transaction.amount_refunded,
        "dispute_status": transaction.dispute_status,
        "disputed_amount": transaction.disputed_amount,
        "references": list(transaction.references) or None,
    }
