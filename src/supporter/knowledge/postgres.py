"""The knowledge index in PostgreSQL tables beside the store, ranked by BM25.

Why not PostgreSQL's own ranking: `ts_rank` and `ts_rank_cd` know nothing of how
common a word is across the passages (https://www.postgresql.org/docs/current/textsearch-controls.html#TEXTSEARCH-RANKING:
they use "lexical, proximity and structural information" of the one document), so
"refund" counts as much as "chargeback"; on the sample help center that ranking finds
the right article for fewer tickets (BENCHMARKS.md). So the words are kept in a
`tsvector` (title words weighted A, body words D) with a GIN index that finds the
passages a query's words are in, and BM25 is computed from the matching passages'
`tsvector` entries (`unnest`, https://www.postgresql.org/docs/current/functions-textsearch.html)
and document frequencies kept in a table of their own: the same formula as FTS5's
`bm25()`, so both adapters rank alike.

Why not a text-search configuration per language (`to_tsvector('german', …)`): the
words are stemmed in Python by the same Snowball stemmers as the SQLite index
(`terms`), and the `tsvector` is written from them as is, so both adapters find the
same passages, every language with a Snowball stemmer is covered, and no
configuration's stop-word list drops a word the query keeps.

Tables live in a schema of their own (`supporter_knowledge`): they are derived data,
rebuilt from the folder at any time, so an index of another format is dropped and
built again rather than migrated, and the store's migrations never see them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from supporter.domain.errors import TransientError
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
from supporter.store.sql import DATABASE_ERRORS, async_url, describe_error, redacted

SCHEMA: Final = "supporter_knowledge"
FORMAT: Final = "1"
# FTS5's bm25() parameters (https://www.sqlite.org/fts5.html#the_bm25_function).
K1: Final = 1.2
B: Final = 0.75
TITLE_WEIGHT: Final = 2.0
# A tsvector keeps at most 256 positions of a word, none above 16,383, and lexemes under
# 2 KiB
# (https://www.postgresql.org/docs/current/textsearch-limitations.html).
MAX_POSITIONS: Final = 256
MAX_POSITION: Final = 16383
MAX_LEXEME_BYTES: Final = 2046
# Documents written per transaction statement batch.
BATCH: Final = 500
CACHED_PASSAGES: Final = 8192
# Taken by whoever creates the tables or updates them: one at a time.
_LOCK: Final = 0x5EED_1D0C

_SCHEMA: Final = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.meta (key text PRIMARY KEY, value text NOT NULL)",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.articles (
        article_id text PRIMARY KEY, content_hash text NOT NULL, source text NOT NULL
    )""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.passages (
        id bigserial PRIMARY KEY,
        passage_id text NOT NULL UNIQUE,
        article_id text NOT NULL REFERENCES {SCHEMA}.articles ON DELETE CASCADE,
        language text,
        kind text NOT NULL,
        category text,
        record text NOT NULL,
        terms tsvector NOT NULL,
        length integer NOT NULL
    )""",
    f"CREATE INDEX IF NOT EXISTS passages_terms ON {SCHEMA}.passages USING gin (terms)",
    f"CREATE INDEX IF NOT EXISTS passages_article ON {SCHEMA}.passages (article_id)",
    f"CREATE INDEX IF NOT EXISTS passages_category ON {SCHEMA}.passages (category, kind)",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.terms (
        term text PRIMARY KEY, passages integer NOT NULL
    )""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.vectors (
        id bigint PRIMARY KEY REFERENCES {SCHEMA}.passages ON DELETE CASCADE,
        encoder text NOT NULL,
        vector bytea NOT NULL
    )""",
)

# BM25 of the passages the query's words are in: the term frequency of a word is its
# title positions (weight A) counted twice and its body positions once, as FTS5
# weighs columns; a passage's length is its number of words.
_SEARCH: Final = f"""
SELECT p.passage_id,
       sum(q.idf * t.tf * {K1 + 1} / (t.tf + {K1} * ({1 - B} + {B} * p.length / :average)))
           AS score
FROM {SCHEMA}.passages p
CROSS JOIN LATERAL (
    SELECT u.lexeme,
           (SELECT sum(CASE w WHEN 'A' THEN {TITLE_WEIGHT} ELSE 1.0 END) FROM unnest(u.weights) w)
               AS tf
    FROM unnest(p.terms) u
) t
JOIN unnest(CAST(:terms AS text[]), CAST(:idf AS float8[])) AS q(term, idf) ON q.term = t.lexeme
WHERE p.terms @@ CAST(CAST(:query AS text) AS tsquery)
"""


class PostgresKnowledgeIndex:
    """A `KnowledgeIndex` in the tables of schema `supporter_knowledge` of a PostgreSQL
    database (the store's). Open it with `open`."""

    def __init__(self, engine: AsyncEngine, url: str, *, match_budget: int) -> None:
        self._engine = engine
        self._url = url
        self._match_budget = match_budget
        self._languages: set[str] = set()
        self._unstemmed = False
        self._frequency: dict[str, int] = {}
        self._count = 0
        self._average_length = 1.0
        self._cache: dict[str, Passage] = {}
        self._saved: dict[tuple[str, str | None], list[Passage]] = {}

    @classmethod
    async def open(cls, url: str, *, match_budget: int = MATCH_BUDGET) -> PostgresKnowledgeIndex:
        """The index in the database at `url` (its tables made when missing);
        KnowledgeIndexError when it cannot be reached or is of another format."""
        engine = create_async_engine(async_url(url), hide_parameters=True, pool_pre_ping=True)
        index = cls(engine, url, match_budget=match_budget)
        try:
            with index._errors("open", KnowledgeIndexError):
                async with engine.begin() as connection:
                    await _lock(connection)
                    for statement in _SCHEMA:
                        await connection.execute(text(statement))
                    found = await connection.scalar(
                        text(f"SELECT value FROM {SCHEMA}.meta WHERE key = 'format'")
                    )
                    if found is None:
                        await connection.execute(
                            text(f"INSERT INTO {SCHEMA}.meta VALUES ('format', :format)"),
                            {"format": FORMAT},
                        )
                    elif found != FORMAT:
                        raise KnowledgeIndexError(
                            f"the knowledge index in {redacted(url)} is of format {found}, not "
                            f"{FORMAT}: DROP SCHEMA {SCHEMA} CASCADE and index the folder again"
                        )
                await index._refresh()
        except BaseException:
            await engine.dispose()
            raise
        return index

    @contextmanager
    def _errors(self, doing: str, error: type[Exception] = TransientError) -> Iterator[None]:
        """Database errors as `error`, in the database's words without statement or data:
        a search that cannot reach the database is worth another try (TransientError)."""
        try:
            yield
        except DATABASE_ERRORS as failure:
            raise error(
                f"cannot {doing} the knowledge index in {redacted(self._url)}: "
                f"{describe_error(failure)}"
            ) from None

    async def _refresh(self) -> None:
        """Cache what every search needs: the languages present, document frequencies."""
        async with self._engine.connect() as connection:
            present = {
                language
                for (language,) in await connection.execute(
                    text(f"SELECT DISTINCT language FROM {SCHEMA}.passages")
                )
            }
            count, average = (
                await connection.execute(
                    text(f"SELECT count(*), coalesce(avg(length), 0) FROM {SCHEMA}.passages")
                )
            ).one()
            frequency = await connection.execute(text(f"SELECT term, passages FROM {SCHEMA}.terms"))
            self._frequency = {term: int(passages) for term, passages in frequency}
        self._languages = {language for language in present if language}
        self._unstemmed = None in present
        self._count = int(count)
        self._average_length = float(average) or 1.0
        self._cache = {}
        self._saved = {}

    @property
    def ranking(self) -> str:
        return LEXICAL_RANKING

    async def update(self, documents: Iterable[Document]) -> IndexChanges:
        added: list[str] = []
        changed: list[str] = []
        unchanged = 0
        given: set[str] = set()
        with self._errors("update", KnowledgeIndexError):
            async with self._engine.begin() as connection:
                await _lock(connection)
                known: dict[str, str] = dict(
                    (
                        await connection.execute(
                            text(f"SELECT article_id, content_hash FROM {SCHEMA}.articles")
                        )
                    ).all()
                )
                pending: list[Document] = []
                for document in documents:
                    given.add(document.article_id)
                    old = known.get(document.article_id)
                    if old == document.content_hash:
                        unchanged += 1
                        continue
                    (added if old is None else changed).append(document.article_id)
                    pending.append(document)
                    if len(pending) == BATCH:
                        await _write(connection, pending, known)
                        pending = []
                await _write(connection, pending, known)
                removed = sorted(set(known) - given)
                await _delete(connection, removed)
        await self._refresh()
        return IndexChanges(added, changed, removed, unchanged, self._count)

    def _idf(self, term: str) -> float:
        # FTS5's: log((N - n + 0.5) / (n + 0.5)), at least a tiny positive weight.
        found = self._frequency[term]
        idf = math.log((self._count - found + 0.5) / (found + 0.5))
        return idf if idf > 0 else 1e-6

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
        sql = _SEARCH
        parameters: dict[str, Any] = {
            "average": self._average_length,
            "terms": wanted,
            "idf": [self._idf(term) for term in wanted],
            "query": " | ".join(f"'{term}'" for term in wanted),
            "limit": limit,
        }
        if language in self._languages:
            sql += " AND (p.language = :language OR p.language IS NULL)"
            parameters["language"] = language
        if kind is not None:
            sql += " AND p.kind = :kind"
            parameters["kind"] = kind
        sql += " GROUP BY p.id, p.passage_id ORDER BY score DESC, p.id LIMIT :limit"
        with self._errors("search"):
            async with self._engine.connect() as connection:
                best = (await connection.execute(text(sql), parameters)).all()
        found = await self.passages([passage_id for passage_id, _ in best])
        return [Hit(found[pid], float(score)) for pid, score in best if pid in found]

    async def passages(self, passage_ids: Sequence[str]) -> dict[str, Passage]:
        cache = self._cache
        missing = [passage_id for passage_id in passage_ids if passage_id not in cache]
        if missing:
            if len(cache) + len(missing) > CACHED_PASSAGES:
                cache.clear()
            with self._errors("read"):
                async with self._engine.connect() as connection:
                    rows = await connection.execute(
                        text(
                            f"SELECT passage_id, record FROM {SCHEMA}.passages "
                            "WHERE passage_id = ANY(CAST(:ids AS text[]))"
                        ),
                        {"ids": missing},
                    )
            for passage_id, record in rows:
                cache[passage_id] = Passage.model_validate_json(record)
        return {pid: cache[pid] for pid in passage_ids if pid in cache}

    async def saved_replies(self, category: str, language: str | None) -> list[Passage]:
        key = (category, language)
        if key not in self._saved:
            with self._errors("read"):
                async with self._engine.connect() as connection:
                    rows = await connection.execute(
                        text(
                            f"SELECT record FROM {SCHEMA}.passages WHERE category = :category "
                            "AND kind = 'saved_reply' "
                            "AND (language = :language OR language IS NULL) "
                            "ORDER BY language IS NULL, passage_id"
                        ),
                        {"category": category, "language": language},
                    )
            self._saved[key] = [Passage.model_validate_json(record) for (record,) in rows]
        return list(self._saved[key])

    async def passages_without_vectors(self, encoder: str) -> list[Passage]:
        with self._errors("read"):
            async with self._engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        f"SELECT p.record FROM {SCHEMA}.passages p "
                        f"LEFT JOIN {SCHEMA}.vectors v ON v.id = p.id "
                        "WHERE v.encoder IS DISTINCT FROM :encoder ORDER BY p.id"
                    ),
                    {"encoder": encoder},
                )
        return [Passage.model_validate_json(record) for (record,) in rows]

    async def store_vectors(self, encoder: str, vectors: Mapping[str, bytes]) -> None:
        if not vectors:
            return
        with self._errors("update", KnowledgeIndexError):
            async with self._engine.begin() as connection:
                await connection.execute(
                    text(
                        f"INSERT INTO {SCHEMA}.vectors (id, encoder, vector) "
                        f"SELECT id, :encoder, :vector FROM {SCHEMA}.passages "
                        "WHERE passage_id = :passage_id ON CONFLICT (id) DO UPDATE "
                        "SET encoder = excluded.encoder, vector = excluded.vector"
                    ),
                    [
                        {"encoder": encoder, "vector": vector, "passage_id": passage_id}
                        for passage_id, vector in vectors.items()
                    ],
                )

    async def vectors(self, encoder: str) -> list[StoredVector]:
        with self._errors("read"):
            async with self._engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        "SELECT p.passage_id, p.language, p.kind, v.vector "
                        f"FROM {SCHEMA}.vectors v JOIN {SCHEMA}.passages p ON p.id = v.id "
                        "WHERE v.encoder = :encoder "
                        "ORDER BY p.id"
                    ),
                    {"encoder": encoder},
                )
        return [
            StoredVector(pid, language, kind, bytes(vector)) for pid, language, kind, vector in rows
        ]

    async def close(self) -> None:
        await self._engine.dispose()


async def _lock(connection: AsyncConnection) -> None:
    """Until the transaction ends: makers and updaters of the index wait for each other."""
    await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})


async def _write(
    connection: AsyncConnection, documents: Sequence[Document], known: Mapping[str, str]
) -> None:
    """Insert these documents, first removing the earlier version of the changed ones."""
    if not documents:
        return
    await _delete(connection, [d.article_id for d in documents if d.article_id in known])
    await connection.execute(
        text(f"INSERT INTO {SCHEMA}.articles VALUES (:article_id, :content_hash, :source)"),
        [
            {"article_id": d.article_id, "content_hash": d.content_hash, "source": d.source}
            for d in documents
        ],
    )
    rows: list[dict[str, Any]] = []
    frequency: Counter[str] = Counter()
    for document in documents:
        for passage in passages(document):
            vector, length, words = passage_terms(passage)
            frequency.update(words)
            rows.append(
                {
                    "passage_id": passage.passage_id,
                    "article_id": passage.article_id,
                    "language": passage.language,
                    "kind": passage.kind,
                    "category": passage.category,
                    "record": passage.model_dump_json(),
                    "terms": vector,
                    "length": length,
                }
            )
    if not rows:
        return
    await connection.execute(
        text(
            f"INSERT INTO {SCHEMA}.passages "
            "(passage_id, article_id, language, kind, category, record, terms, length) "
            "VALUES (:passage_id, :article_id, :language, :kind, :category, :record, "
            "CAST(CAST(:terms AS text) AS tsvector), :length)"
        ),
        rows,
    )
    await connection.execute(
        text(
            f"INSERT INTO {SCHEMA}.terms (term, passages) "
            "SELECT * FROM unnest(CAST(:terms AS text[]), CAST(:counts AS integer[])) "
            "ON CONFLICT (term) DO UPDATE SET passages = terms.passages + excluded.passages"
        ),
        {"terms": list(frequency), "counts": list(frequency.values())},
    )


async def _delete(connection: AsyncConnection, article_ids: Sequence[str]) -> None:
    """Remove these articles, their passages and embeddings, and their words' counts."""
    if not article_ids:
        return
    ids = {"ids": list(article_ids)}
    await connection.execute(
        text(
            f"WITH gone AS (SELECT u.lexeme AS term, count(*) AS n FROM {SCHEMA}.passages p, "
            "unnest(p.terms) u WHERE p.article_id = ANY(CAST(:ids AS text[])) "
            f"GROUP BY u.lexeme) UPDATE {SCHEMA}.terms t SET passages = t.passages - gone.n "
            "FROM gone WHERE t.term = gone.term"
        ),
        ids,
    )
    await connection.execute(text(f"DELETE FROM {SCHEMA}.terms WHERE passages <= 0"))
    await connection.execute(
        text(f"DELETE FROM {SCHEMA}.articles WHERE article_id = ANY(CAST(:ids AS text[]))"), ids
    )


def passage_terms(passage: Passage) -> tuple[str, int, set[str]]:
    """The passage's words as a `tsvector` literal (title words at weight A, body words
    at D, numbered in order), its length in words, and its distinct words."""
    language = passage.language
    title = terms(f"{passage.title} {passage.heading}", language)
    body = terms(f"{' '.join(passage.tags)} {passage.text}", language)
    positions: dict[str, list[tuple[int, str]]] = {}
    for number, (word, weight) in enumerate(
        [(word, "A") for word in title] + [(word, "D") for word in body], start=1
    ):
        if len(word.encode()) > MAX_LEXEME_BYTES:
            continue
        kept = positions.setdefault(word, [])
        # Later positions all read as the last one: a word counts there once.
        position = min(number, MAX_POSITION)
        if len(kept) < MAX_POSITIONS and (not kept or kept[-1][0] != position):
            kept.append((position, weight))
    # \w+ words hold no quote or backslash, the only characters a literal escapes.
    literal = " ".join(
        f"'{word}':" + ",".join(f"{position}{weight}" for position, weight in at)
        for word, at in positions.items()
    )
    return literal, len(title) + len(body), set(positions)
