"""A transaction index on disk: memory stays flat however many transactions there are.

Transactions are loaded into an SQLite file (a temporary one unless a path is
given) with an index on (customer_id, created_at) and one on (normalised e-mail,
created_at), so a lookup reads only the rows of one customer's window; quotable
references sit in a table of their own, keyed by the normalised reference. Rows
keep the transaction as JSON, so a lookup rebuilds exactly the model that was loaded.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import AsyncIterable, Collection
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from supporter.domain.keys import Quoted, normalise_email, reference_keys
from supporter.domain.models import Transaction

_BATCH = 5000
_SCHEMA = """
CREATE TABLE transactions (
    transaction_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    email TEXT,
    created_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX ix_transactions_customer_time ON transactions (customer_id, created_us);
CREATE INDEX ix_transactions_email_time ON transactions (email, created_us)
    WHERE email IS NOT NULL;
CREATE TABLE refs (
    reference TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    PRIMARY KEY (reference, transaction_id)
) WITHOUT ROWID;
"""
# Each side of the UNION reads its own index's range; the UNION keeps a row found
# both ways once.
_RECENT = """
SELECT body FROM (
    SELECT body, created_us, transaction_id FROM transactions
    WHERE customer_id = ? AND created_us BETWEEN ? AND ?
    UNION
    SELECT body, created_us, transaction_id FROM transactions
    WHERE email = ? AND created_us BETWEEN ? AND ?
)
ORDER BY created_us DESC, transaction_id DESC LIMIT ?
"""
_Row = tuple[str, str, str | None, int, str]


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
        batch: list[_Row] = []
        references: list[tuple[str, str]] = []
        async for transaction in transactions:
            batch.append(
                (
                    transaction.transaction_id,
                    transaction.customer_id,
                    normalise_email(transaction.customer_email),
                    _micros(transaction.created_at),
                    transaction.model_dump_json(),
                )
            )
            references.extend(
                (key, transaction.transaction_id) for key in reference_keys(transaction)
            )
            if len(batch) >= _BATCH:
                self._insert(batch, references)
                batch, references = [], []
                # Reading a file never waits, so let signals and the progress bar in.
                await asyncio.sleep(0)
        self._insert(batch, references)
        return self._count

    def _insert(self, rows: list[_Row], references: list[tuple[str, str]]) -> None:
        if rows:
            with self._connection:
                self._connection.executemany(
                    "INSERT OR REPLACE INTO transactions VALUES (?, ?, ?, ?, ?)", rows
                )
                # A transaction read twice keeps its first references too: `referenced`
                # checks each answer against the transaction itself.
                self._connection.executemany("INSERT OR IGNORE INTO refs VALUES (?, ?)", references)
            self._count += len(rows)

    async def recent(
        self,
        customer_id: str | None,
        *,
        email: str | None = None,
        until: datetime,
        days: int,
        limit: int,
    ) -> list[Transaction]:
        # A local file read by one process: quicker inline than on a thread.
        since, until_us = _micros(until - timedelta(days=days)), _micros(until)
        rows = self._connection.execute(
            _RECENT, (customer_id, since, until_us, email, since, until_us, limit)
        ).fetchall()
        return [_transaction(body) for (body,) in rows]

    async def referenced(
        self, quoted: Collection[str], *, until: datetime, limit: int
    ) -> list[Transaction]:
        wanted = Quoted.of(quoted)
        keys = sorted(wanted.keys)
        referenced = self._connection.execute(
            f"SELECT transaction_id FROM refs WHERE reference IN ({_marks(keys)})", keys
        ).fetchall()
        # Two index lookups: one query ORing the id list with a subquery scans the table.
        ids = sorted(wanted.ids | {transaction_id for (transaction_id,) in referenced})
        query = (
            f"SELECT body FROM transactions WHERE transaction_id IN ({_marks(ids)}) "
            "AND created_us <= ? ORDER BY created_us DESC, transaction_id DESC LIMIT ?"
        )
        rows = self._connection.execute(query, (*ids, _micros(until), limit)).fetchall()
        found = [_transaction(body) for (body,) in rows]
        return [transaction for transaction in found if wanted.matches(transaction)]

    def close(self) -> None:
        self._connection.close()
        self._dir.cleanup()


# A customer's next ticket, and the references a ticket quotes, find the same rows
# again: each is parsed once while recent. Transactions are immutable, so one can be shared.
@lru_cache(maxsize=256)
def _transaction(body: str) -> Transaction:
    return Transaction.model_validate_json(body)


def _marks(values: Collection[str]) -> str:
    return ", ".join("?" * len(values))
