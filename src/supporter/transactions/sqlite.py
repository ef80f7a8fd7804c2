"""A transaction index on disk: memory stays flat however many transactions there are.

Transactions are loaded into an SQLite file (a temporary one unless a path is
given) with an index on (customer_id, created_at), so a lookup reads only the
rows of one customer's window. Rows keep the transaction as JSON, so a lookup
rebuilds exactly the model that was loaded.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import AsyncIterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from supporter.domain.models import Transaction

_BATCH = 5000
_SCHEMA = """
CREATE TABLE transactions (
    transaction_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX ix_transactions_customer_time ON transactions (customer_id, created_us);
"""
_RECENT = (
    "SELECT body FROM transactions WHERE customer_id = ? AND created_us BETWEEN ? AND ? "
    "ORDER BY created_us DESC, transaction_id DESC LIMIT ?"
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    # Integer arithmetic: a float timestamp can be a microsecond off at a window's edge.
    return (moment - _EPOCH) // timedelta(microseconds=1)


class SqliteTransactionIndex:
    def __init__(self, directory: Path | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="supporter-tx-", dir=directory)
        self._connection = sqlite3.connect(Path(self._dir.name) / "transactions.db")
        # A scratch file, rebuilt every run: durability would only cost time.
        self._connection.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000;" + _SCHEMA
        )
        self._count = 0

    def __len__(self) -> int:
        return self._count

    async def load(self, transactions: AsyncIterable[Transaction]) -> int:
        """Add every transaction; returns how many were added."""
        batch: list[tuple[str, str, int, str]] = []
        async for transaction in transactions:
            batch.append(
                (
                    transaction.transaction_id,
                    transaction.customer_id,
                    _micros(transaction.created_at),
                    transaction.model_dump_json(),
                )
            )
            if len(batch) >= _BATCH:
                self._insert(batch)
                batch = []
                # Reading a file never waits, so let signals and the progress bar in.
                await asyncio.sleep(0)
        self._insert(batch)
        return self._count

    def _insert(self, rows: list[tuple[str, str, int, str]]) -> None:
        if rows:
            with self._connection:
                self._connection.executemany(
                    "INSERT OR REPLACE INTO transactions VALUES (?, ?, ?, ?)", rows
                )
            self._count += len(rows)

    async def recent(
        self, customer_id: str, *, until: datetime, days: int, limit: int
    ) -> list[Transaction]:
        # A local file read by one process: quicker inline than on a thread.
        since = until - timedelta(days=days)
        rows = self._connection.execute(
            _RECENT, (customer_id, _micros(since), _micros(until), limit)
        ).fetchall()
        return [Transaction.model_validate_json(body) for (body,) in rows]

    def close(self) -> None:
        self._connection.close()
        self._dir.cleanup()
