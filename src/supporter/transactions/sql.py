"""Transactions in the shared SQL store (SQLite or PostgreSQL), for workers on any machine.

`supporter transactions load` fills the `transactions` table; analyze workers
look up the window of each ticket that ingest sent without one. A lookup is one
range scan of the (customer_id, created_at) index, however many rows the table has.
Rows keep the transaction as JSON, so a lookup rebuilds exactly the model that was loaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from supporter.domain.errors import TransientError
from supporter.domain.models import Transaction
from supporter.store import schema
from supporter.store.base import StoreError
from supporter.store.sql import DATABASE_ERRORS, describe_error, dialect_insert

_BATCH = 2000
_table = schema.transactions


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
            set_={
                name: statement.excluded[name] for name in ("customer_id", "created_at", "record")
            },
        )
        count = 0
        batch: list[dict[str, Any]] = []
        try:
            async for transaction in transactions:
                batch.append(_row(transaction))
                if len(batch) >= _BATCH:
                    count += await self._write(upsert, batch)
                    batch = []
            count += await self._write(upsert, batch)
        except DATABASE_ERRORS as error:
            raise StoreError(
                f"could not load transactions after {count}: {describe_error(error)}"
            ) from error
        return count

    async def _write(self, statement: Any, rows: list[dict[str, Any]]) -> int:
        if rows:
            async with self._engine.begin() as connection:
                await connection.execute(statement, rows)
        return len(rows)

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
        self, customer_id: str, *, until: datetime, days: int, limit: int
    ) -> list[Transaction]:
        query = (
            select(_table.c.record)
            .where(_table.c.customer_id == customer_id)
            .where(_table.c.created_at.between(_utc(until - timedelta(days=days)), _utc(until)))
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
    }
