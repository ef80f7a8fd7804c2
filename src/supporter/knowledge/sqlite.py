"""The knowledge index in an SQLite file, ranked by FTS5's BM25.

Passages are stored as JSON beside an FTS5 table of their stemmed words
(https://www.sqlite.org/fts5.html: `bm25()` with the title weighted above the body),
and their embeddings when `fused` asks for them. The file sits beside the store and
any number of processes read it while one updates it: WAL mode, one transaction per
update. A search costs a few milliseconds of CPU and no I/O wait, so it runs on the
caller's event loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

from supporter.domain.knowledge import Passage, PassageKind
from supporter.knowledge.base import (
    LEXICAL_RANKING,
    Hit,
    IndexChanges,
    KnowledgeIndexError,
    StoredVector,
)
from supporter.knowledge.documents import Document, passages
from supporter.knowledge.terms import MATCH_BUDGET, query_terms, terms

FORMAT: Final = "2"
TITLE_WEIGHT: Final = 2.0
BODY_WEIGHT: Final = 1.0
# Passages kept parsed between searches: most replies draw on a few popular ones.
CACHED_PASSAGES: Final = 8192

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    passage_id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL,
    language TEXT,
    kind TEXT NOT NULL,
    category TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages (article_id);
CREATE INDEX IF NOT EXISTS passages_category ON passages (category, kind);
CREATE VIRTUAL TABLE IF NOT EXISTS passage_terms USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS passage_vocabulary USING fts5vocab(passage_terms, 'row');
CREATE TABLE IF NOT EXISTS passage_vectors (
    id INTEGER PRIMARY KEY, encoder TEXT NOT NULL, vector BLOB NOT NULL
);
"""


class SqliteKnowledgeIndex:
    """A `KnowledgeIndex` in one SQLite file (or in memory with ":memory:")."""

    def __init__(self, path: Path | str, *, match_budget: int = MATCH_BUDGET) -> None:
        self._match_budget = match_budget
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            with self._db:
                self._db.executescript(_SCHEMA)
                row = self._db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
                if row is None:
                    self._db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
                elif row[0] != FORMAT:
                    raise KnowledgeIndexError(
                        f"{path} is a knowledge index of format {row[0]}, not {FORMAT}: "
                        "delete it and index the folder again"
                    )
        except sqlite3.Error as error:
            raise KnowledgeIndexError(f"cannot open the knowledge index {path}: {error}") from None
        self._refresh()

    def _refresh(self) -> None:
        """Cache what every search needs: the languages present, the too-common words."""
        present = {
            language for (language,) in self._db.execute("SELECT DISTINCT language FROM passages")
        }
        self._languages = {language for language in present if language}
        self._cache: dict[str, Passage] = {}
        self._saved: dict[tuple[str, str | None], list[Passage]] = {}
        # Passages of no stated language are indexed unstemmed (see `terms`).
        self._unstemmed = None in present
        (count,) = self._db.execute("SELECT count(*) FROM passages").fetchone()
        self._count = int(count)
        # Passages each word is in: a few MiB for a large help center, read at start.
        self._frequency: dict[str, int] = dict(
            self._db.execute("SELECT term, doc FROM passage_vocabulary")
        )

    @property
    def ranking(self) -> str:
        return LEXICAL_RANKING

    async def update(self, documents: Iterable[Document]) -> IndexChanges:
        known = dict(self._db.execute("SELECT article_id, content_hash FROM articles"))
        added: list[str] = []
        changed: list[str] = []
        unchanged = 0
        given: set[str] = set()
        with self._db:
            for document in documents:
                given.add(document.article_id)
                digest = document.content_hash
                old = known.get(document.article_id)
                if old == digest:
                    unchanged += 1
                    continue
                if old is None:
                    added.append(document.article_id)
                else:
                    changed.append(document.article_id)
                    self._delete(document.article_id)
                self._insert(document, digest)
            removed = sorted(set(known) - given)
            for article_id in removed:
                self._delete(article_id)
        self._refresh()
        return IndexChanges(added, changed, removed, unchanged, self._count)

    def _insert(self, document: Document, digest: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO articles VALUES (?, ?, ?)",
            (document.article_id, digest, document.source),
        )
        for passage in passages(document):
            cursor = self._db.execute(
                "INSERT INTO passages (passage_id, article_id, language, kind, category, record) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    passage.passage_id,
                    passage.article_id,
                    passage.language,
                    passage.kind,
                    passage.category,
                    passage.model_dump_json(),
                ),
            )
            language = passage.language
            title = " ".join(terms(f"{passage.title} {passage.heading}", language))
            body = " ".join(terms(f"{' '.join(passage.tags)} {passage.text}", language))
            self._db.execute(
                "INSERT INTO passage_terms (rowid, title, body) VALUES (?, ?, ?)",
                (cursor.lastrowid, title, body),
            )

    def _delete(self, article_id: str) -> None:
        self._db.execute(
            "DELETE FROM passage_vectors WHERE id IN "
            "(SELECT id FROM passages WHERE article_id = ?)",
            (article_id,),
        )
        self._db.execute(
            "DELETE FROM passage_terms WHERE rowid IN "
            "(SELECT id FROM passages WHERE article_id = ?)",
            (article_id,),
        )
        self._db.execute("DELETE FROM passages WHERE article_id = ?", (article_id,))
        self._db.execute("DELETE FROM articles WHERE article_id = ?", (article_id,))

    async def search(
        self, query: str, *, language: str | None, limit: int, kind: PassageKind | None = None
    ) -> list[Hit]:
        wanted = query_terms(
            query,
            language,
            self._frequency,
            unstemmed=self._unstemmed,
            budget=self._match_budget,
        )
        if not wanted or limit <= 0:
            return []
        # Language and kind filter in the join: as words in the FTS table they cost more
        # (bm25() then iterates their long lists too), measured in benchmarks/.
        sql = (
            "SELECT p.passage_id, bm25(passage_terms, ?, ?) AS score FROM passage_terms "
            "JOIN passages p ON p.id = passage_terms.rowid WHERE passage_terms MATCH ?"
        )
        parameters: list[object] = [
            TITLE_WEIGHT,
            BODY_WEIGHT,
            " OR ".join(f'"{term}"' for term in wanted),
        ]
        if language in self._languages:
            sql += " AND (p.language = ? OR p.language IS NULL)"
            parameters.append(language)
        if kind is not None:
            sql += " AND p.kind = ?"
            parameters.append(kind)
        sql += " ORDER BY score LIMIT ?"
        parameters.append(limit)
        best = self._db.execute(sql, parameters).fetchall()
        found = self._passages([passage_id for passage_id, _ in best])
        # FTS5's bm25() is lower-is-better (negative); a Hit's score is higher-is-better.
        return [Hit(found[passage_id], -score) for passage_id, score in best]

    async def passages(self, passage_ids: Sequence[str]) -> dict[str, Passage]:
        return self._passages(passage_ids)

    def _passages(self, passage_ids: Sequence[str]) -> dict[str, Passage]:
        cache = self._cache
        missing = [passage_id for passage_id in passage_ids if passage_id not in cache]
        if missing:
            if len(cache) + len(missing) > CACHED_PASSAGES:
                cache.clear()
            marks = ",".join("?" * len(missing))
            rows = self._db.execute(
                f"SELECT passage_id, record FROM passages WHERE passage_id IN ({marks})", missing
            )
            for passage_id, record in rows:
                cache[passage_id] = Passage.model_validate_json(record)
        return {pid: cache[pid] for pid in passage_ids if pid in cache}

    async def saved_replies(self, category: str, language: str | None) -> list[Passage]:
        key = (category, language)
        if key not in self._saved:
            rows = self._db.execute(
                "SELECT record FROM passages WHERE category = ? AND kind = 'saved_reply' "
                "AND (language = ? OR language IS NULL) ORDER BY language IS NULL, passage_id",
                key,
            )
            self._saved[key] = [Passage.model_validate_json(record) for (record,) in rows]
        return list(self._saved[key])

    async def passages_without_vectors(self, encoder: str) -> list[Passage]:
        rows = self._db.execute(
            "SELECT p.record FROM passages p LEFT JOIN passage_vectors v ON v.id = p.id "
            "WHERE v.encoder IS NULL OR v.encoder != ? ORDER BY p.id",
            (encoder,),
        )
        return [Passage.model_validate_json(record) for (record,) in rows]

    async def store_vectors(self, encoder: str, vectors: Mapping[str, bytes]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO passage_vectors (id, encoder, vector) "
                "SELECT id, ?, ? FROM passages WHERE passage_id = ?",
                [(encoder, vector, passage_id) for passage_id, vector in vectors.items()],
            )

    async def vectors(self, encoder: str) -> list[StoredVector]:
        rows = self._db.execute(
            "SELECT p.passage_id, p.language, p.kind, v.vector FROM passage_vectors v "
            "JOIN passages p ON p.id = v.id WHERE v.encoder = ? ORDER BY p.id",
            (encoder,),
        )
        return [StoredVector(pid, language, kind, vector) for pid, language, kind, vector in rows]

    async def close(self) -> None:
        self._db.close()
