"""Worker heartbeats in the shared SQL store: each `supporter worker` process writes
what it holds every few seconds, and `supporter status` sums them per stage.

A worker that stops cleanly removes its row; one that is killed stops refreshing
it, and readers ignore rows not seen for a while (they are deleted after an hour).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from supporter.store import schema
from supporter.store.base import StoreError, WorkerBeat
from supporter.store.sql import DATABASE_ERRORS, describe_error, dialect_insert

_table = schema.workers
_FORGET_AFTER = timedelta(hours=1)


class SqlWorkerRegistry:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = dialect_insert(engine)

    async def beat(self, beat: WorkerBeat) -> None:
        """Record (or refresh) a worker's row; raises StoreError."""
        row = beat.model_dump()
        statement = self._insert(_table)
        upsert = statement.on_conflict_do_update(
            index_elements=["worker_id"],
            set_={name: statement.excluded[name] for name in row if name != "worker_id"},
        )
        await self._run(upsert, row, doing="record a heartbeat")

    async def retire(self, worker_id: str) -> None:
        await self._run(
            delete(_table).where(_table.c.worker_id == worker_id), None, doing="retire a worker"
        )

    async def alive(self, *, seen_within: float) -> list[WorkerBeat]:
        """Workers seen in the last `seen_within` seconds; forgets old rows.

        `seen_at` is the worker host's clock and "now" this host's: the hosts' clocks
        must agree to well within `seen_within` (NTP does)."""
        now = datetime.now(UTC)
        forget = delete(_table).where(_table.c.seen_at < now - _FORGET_AFTER)
        query = (
            select(_table)
            .where(_table.c.seen_at >= now - timedelta(seconds=seen_within))
            .order_by(_table.c.stage, _table.c.started_at)
        )
        try:
            async with self._engine.begin() as connection:
                await connection.execute(forget)
                rows = (await connection.execute(query)).mappings().all()
        except DATABASE_ERRORS as error:
            raise StoreError(f"could not read workers: {describe_error(error)}") from error
        return [WorkerBeat.model_validate({**row, **_aware(row)}) for row in rows]

    async def _run(self, statement: Any, row: dict[str, Any] | None, *, doing: str) -> None:
        try:
            async with self._engine.begin() as connection:
                await connection.execute(statement, row)
        except DATABASE_ERRORS as error:
            raise StoreError(f"could not {doing}: {describe_error(error)}") from error


def _aware(row: Any) -> dict[str, datetime]:
    # SQLite returns naive datetimes for what was written in UTC.
    return {
        name: row[name] if row[name].tzinfo else row[name].replace(tzinfo=UTC)
        for name in ("started_at", "seen_at")
    }
