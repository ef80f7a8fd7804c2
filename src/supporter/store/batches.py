"""Batch API work in the SQL store: which batches Supporter created and what each of
their requests became. Every change that must survive a crash is one transaction:
the requests are recorded with their input file before the batch is created, and a
batch's answers are all stored before it counts as collected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from supporter.domain.batches import StoredBatch, StoredRequest
from supporter.store import schema
from supporter.store.base import StoreError
from supporter.store.sql import DATABASE_ERRORS, describe_error, dialect_insert

_batches = schema.batches
_requests = schema.batch_requests
_CHUNK = 500
# Answers of one batch are written in slices of this many rows (one transaction).
_WRITE_CHUNK = 1000


class SqlBatchLedger:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = dialect_insert(engine)

    async def requests(self, custom_ids: Sequence[str]) -> dict[str, StoredRequest]:
        """What the store knows of these requests (unknown ones are left out)."""
        found: dict[str, StoredRequest] = {}
        async with self._connection("read batch requests") as connection:
            for start in range(0, len(custom_ids), _CHUNK):
                chunk = custom_ids[start : start + _CHUNK]
                query = select(_requests).where(_requests.c.custom_id.in_(chunk))
                for row in (await connection.execute(query)).mappings():
                    found[row["custom_id"]] = _request(row)
        return found

    async def uploaded(self, input_file_id: str, endpoint: str, custom_ids: Sequence[str]) -> None:
        """An input file is up: its requests are pending in it (before the batch exists)."""
        now = datetime.now(UTC)
        batch = {
            "input_file_id": input_file_id,
            "batch_id": None,
            "endpoint": endpoint,
            "status": "uploaded",
            "requests": len(custom_ids),
            "completed": 0,
            "failed": 0,
            "collected": False,
            "created_at": now,
            "updated_at": now,
        }
        rows = [
            {
                "custom_id": custom_id,
                "input_file_id": input_file_id,
                "state": "pending",
                "status_code": None,
                "body": None,
                "error": None,
                "updated_at": now,
            }
            for custom_id in custom_ids
        ]
        statement = self._insert(_requests)
        upsert = statement.on_conflict_do_update(
            index_elements=["custom_id"],
            set_={name: statement.excluded[name] for name in rows[0] if name != "custom_id"},
        )
        async with self._connection("record a batch input file", write=True) as connection:
            await connection.execute(self._insert(_batches), batch)
            for start in range(0, len(rows), _WRITE_CHUNK):
                await connection.execute(upsert, rows[start : start + _WRITE_CHUNK])

    async def created(self, input_file_id: str, batch_id: str, status: str) -> None:
        await self._update_batch(input_file_id, batch_id=batch_id, status=status)

    async def progressed(
        self, input_file_id: str, status: str, completed: int, failed: int
    ) -> None:
        await self._update_batch(input_file_id, status=status, completed=completed, failed=failed)

    async def collected(
        self,
        input_file_id: str,
        status: str,
        answers: Mapping[str, StoredRequest],
        reason: str,
    ) -> None:
        """A finished batch's results: `answers` by custom_id (answered or failed); its
        other requests fail with `reason`. One transaction, so a crash keeps all or none."""
        now = datetime.now(UTC)
        async with self._connection("store a batch's answers", write=True) as connection:
            rows = [
                {
                    "b_id": custom_id,
                    "b_state": answer.state,
                    "b_status_code": answer.status_code,
                    "b_body": answer.body,
                    "b_error": answer.error,
                }
                for custom_id, answer in answers.items()
            ]
            statement = (
                update(_requests)
                # Bound names differ from the columns': SQLAlchemy reserves those for SET.
                .where(_requests.c.custom_id == bindparam("b_id"))
                .where(_requests.c.input_file_id == input_file_id)
                .values(
                    state=bindparam("b_state"),
                    status_code=bindparam("b_status_code"),
                    body=bindparam("b_body"),
                    error=bindparam("b_error"),
                    updated_at=now,
                )
            )
            for start in range(0, len(rows), _WRITE_CHUNK):
                await connection.execute(statement, rows[start : start + _WRITE_CHUNK])
            await connection.execute(
                update(_requests)
                .where(_requests.c.input_file_id == input_file_id)
                .where(_requests.c.state == "pending")
                .values(state="failed", error=reason, updated_at=now)
            )
            await connection.execute(
                update(_batches)
                .where(_batches.c.input_file_id == input_file_id)
                .values(status=status, collected=True, updated_at=now)
            )

    async def batch(self, input_file_id: str) -> StoredBatch | None:
        query = select(_batches).where(_batches.c.input_file_id == input_file_id)
        async with self._connection("read a batch") as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _batch(row)

    async def batches(self, *, uncollected_only: bool = False) -> list[StoredBatch]:
        """Batches newest first; only those whose results are not in yet, if asked."""
        query = select(_batches).order_by(_batches.c.created_at.desc())
        if uncollected_only:
            query = query.where(_batches.c.collected.is_(False))
        async with self._connection("read batches") as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_batch(row) for row in rows]

    async def _update_batch(self, input_file_id: str, **values: Any) -> None:
        statement = (
            update(_batches)
            .where(_batches.c.input_file_id == input_file_id)
            .values(**values, updated_at=datetime.now(UTC))
        )
        async with self._connection("record a batch's state", write=True) as connection:
            await connection.execute(statement)

    @asynccontextmanager
    async def _connection(
        self, doing: str, *, write: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        try:
            opened = self._engine.begin() if write else self._engine.connect()
            async with opened as connection:
                yield connection
        except DATABASE_ERRORS as error:
            raise StoreError(f"could not {doing}: {describe_error(error)}") from error


def _request(row: Any) -> StoredRequest:
    return StoredRequest(
        custom_id=row["custom_id"],
        state=row["state"],
        input_file_id=row["input_file_id"],
        status_code=row["status_code"],
        body=row["body"],
        error=row["error"],
    )


def _batch(row: Any) -> StoredBatch:
    values = dict(row)
    for name in ("created_at", "updated_at"):
        if values[name].tzinfo is None:  # SQLite returns naive datetimes for UTC ones
            values[name] = values[name].replace(tzinfo=UTC)
    return StoredBatch(**values)
