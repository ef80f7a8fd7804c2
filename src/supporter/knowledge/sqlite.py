"""The knowledge index in an SQLite file, ranked by FTS5's BM25.

Passages are stored as JSON beside an FTS5 table of their stemmed words
(https://www.sqlite.org/fts5.html: `bm25()` with the title weighted above the body).
The file sits beside the store and any number of processes read it while one
updates it: WAL mode, one transaction per update.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from supporter.domain.knowledge import Passage, PassageKind
from supporter.knowledge.base import Hit, IndexChanges
from supporter.knowledge.documents import Document, passages
from supporter.knowledge.terms import terms

FORMAT: Final = "2"
TITLE_WEIGHT: Final = 2.0
BODY_WEIGHT: Final = 1.0
# FTS5 scores every passage that any word of a query matches, and that is where the
# time of a search goes: a query keeps its rarest words (those BM25 weighs most), at
# most MAX_QUERY_TERMS, and drops the commoner ones once the passages they are in add
# up to MATCH_BUDGET ("the", "your", "charge" match most of a large help center).
MAX_QUERY_TERMS: Final = 12
MATCH_BUDGET: Final = 5000
MIN_QUERY_TERMS: Final = 4
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
"""


class KnowledgeIndexError(Exception):
    """The index file cannot be opened or is of another format."""


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

    def update(self, documents: Iterable[Document]) -> IndexChanges:
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
            "DELETE FROM passage_terms WHERE rowid IN "
            "(SELECT id FROM passages WHERE article_id = ?)",
            (article_id,),
        )
        self._db.execute("DELETE FROM passages WHERE article_id = ?", (article_id,))
        self._db.execute("DELETE FROM articles WHERE article_id = ?", (article_id,))

    def search(
        self, query: str, *, language: str | None, limit: int, kind: PassageKind | None = None
    ) -> list[Hit]:
        wanted = self._query_terms(query, language)
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
        found = self.passages([passage_id for passage_id, _ in best])
        # FTS5's bm25() is lower-is-better (negative); a Hit's score is higher-is-better.
        return [Hit(found[passage_id], -score) for passage_id, score in best]

    def _query_terms(self, query: str, language: str | None) -> list[str]:
        found = terms(query, language)
        if self._unstemmed and language is not None:
            found += terms(query, None)
        frequency = self._frequency
        known = [term for term in dict.fromkeys(found) if term in frequency]
        kept: list[str] = []
        matched = 0
        for term in sorted(known, key=frequency.__getitem__)[:MAX_QUERY_TERMS]:
            matched += frequency[term]
            if matched > self._match_budget and len(kept) >= MIN_QUERY_TERMS:
                break
            kept.append(term)
        return kept

    def passages(self, passage_ids: Sequence[str]) -> dict[str, Passage]:
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

    def saved_replies(self, category: str, language: str | None) -> list[Passage]:
        key = (category, language)
        if key not in self._saved:
            rows = self._db.execute(
                "SELECT record FROM passages WHERE category = ? AND kind = 'saved_reply' "
                "AND (language = ? OR language IS NULL) ORDER BY language IS NULL, passage_id",
                key,
            )
            self._saved[key] = [Passage.model_validate_json(record) for (record,) in rows]
        return list(self._saved[key])

    def close(self) -> None:
        self._db.close()
