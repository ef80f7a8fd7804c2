"""The FTS5 knowledge index: the adapter contract, and what is the file's own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tests.knowledge.index_contract import IndexContract, OpenIndex

from supporter.knowledge.base import IndexWithVectors, KnowledgeIndexError
from supporter.knowledge.sqlite import SqliteKnowledgeIndex


class TestSqliteKnowledgeIndex(IndexContract):
    @pytest.fixture
    async def open_index(self, tmp_path: Path) -> OpenIndex:
        async def open_index(match_budget: int | None = None) -> IndexWithVectors:
            path = tmp_path / "knowledge.db"
            if match_budget is None:
                return SqliteKnowledgeIndex(path)
            return SqliteKnowledgeIndex(path, match_budget=match_budget)

        return open_index


async def test_an_index_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    await SqliteKnowledgeIndex(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'format'")
    with pytest.raises(KnowledgeIndexError, match="format 0"):
        SqliteKnowledgeIndex(path)
    (tmp_path / "notadb").write_text("x" * 200)
    with pytest.raises(KnowledgeIndexError, match="cannot open the knowledge index"):
        SqliteKnowledgeIndex(tmp_path / "notadb")
