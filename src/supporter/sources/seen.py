"""The ids an input has given so far, for rejecting a duplicate, in flat memory.

A dict of ids costs about 130 bytes an id: 130 MB for a table of a million rows.
Up to `in_memory` ids stay in a dict (fast, and all a usual file needs); past it they
move to a temporary SQLite file (sqlite3's private on-disk database, deleted when
closed) with a small page cache, so memory stays flat however many rows follow.
"""

from __future__ import annotations

import sqlite3
from typing import Final

DEFAULT_IN_MEMORY: Final = 100_000
_CACHE_KIB: Final = 4096


class SeenIds:
    """Each id with the line it was first read on."""

    def __init__(self, in_memory: int = DEFAULT_IN_MEMORY) -> None:
        self._in_memory = in_memory
        self._memory: dict[str, int] = {}
        self._disk: sqlite3.Connection | None = None

    def first_line(self, record_id: str, line: int) -> int:
        """The line `record_id` was first read on; `line` (and remembered) when it is new."""
        if self._disk is None:
            first = self._memory.setdefault(record_id, line)
            if len(self._memory) > self._in_memory:
                self._spill()
            return first
        found = self._disk.execute("SELECT line FROM seen WHERE id = ?", (record_id,)).fetchone()
        if found is not None:
            return int(found[0])
        self._disk.execute("INSERT INTO seen VALUES (?, ?)", (record_id, line))
        return line

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()
            self._disk = None
        self._memory.clear()

    def _spill(self) -> None:
        # "" opens a private temporary database on disk, removed when it is closed.
        disk = sqlite3.connect("", isolation_level=None)
        # A scratch file: no journal, no sync; a bounded cache is what keeps memory flat.
        disk.executescript(
            f"PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-{_CACHE_KIB};"
            "CREATE TABLE seen (id TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID;"
        )
        disk.execute("BEGIN")  # one transaction for the whole read: no commit per row
        disk.executemany("INSERT INTO seen VALUES (?, ?)", self._memory.items())
        self._memory = {}
        self._disk = disk
