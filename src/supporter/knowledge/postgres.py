"""The knowledge index in PostgreSQL tables beside the store, ranked by BM25.

Why not PostgreSQL's text search: `ts_rank` and `ts_rank_cd` know nothing of how
common a word is across the passages; they use "lexical, proximity and structural
information" of the one document
(https://www.postgresql.org/docs/current/textsearch-controls.html#TEXTSEARCH-RANKING),
so "refund" would count as much as "chargeback". And BM25 computed from `tsvector`s
(`unnest` of every matching passage's) took 170-240 ms a query at 10,000 articles.
So the index is an inverted index in a table, as FTS5's is inside SQLite: a posting
per word and passage (its weighted frequency: title words twice, body words once,
and the passage's length), read through a B-tree on the word, and document
frequencies in a table of their own. A search reads only the postings of its
words and computes FTS5's `bm25()` from them, so both adapters rank alike.

Why not a text-search configuration per language (`to_tsvector('german', …)`): the
words are stemmed in Python by the same Snowball stemmers as the SQLite index
(`terms`), so both adapters find the same passages, every language with a Snowball
stemmer is covered, and no configuration's stop-word list drops a word the query keeps.

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
# A B-tree entry must fit in a third of a page
# (https://www.postgresql.org/docs/current/btree-implementation.html): a longer "word"
# (a run of letters in pasted data) is not indexed.
MAX_TERM_BYTES: Final = 1000
# Documents written per batch of statements.
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
        length integer NOT NULL
    )""",
    f"CREATE INDEX IF NOT EXISTS passages_article ON {SCHEMA}.passages (article_id)",
    f"CREATE INDEX IF NOT EXISTS passages_category ON {SCHEMA}.passages (category, kind)",
    # What a search reads is in the index itself (INCLUDE): an index-only scan.
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.postings (
        term text NOT NULL,
        passage bigint NOT NULL REFERENCES {SCHEMA}.passages ON DELETE CASCADE,
        frequency real NOT NULL,
        length integer NOT NULL,
        language text,
        kind text NOT NULL,
        PRIMARY KEY (term, passage) INCLUDE (frequency, length, language, kind)
    )""",
    f"CREATE INDEX IF NOT EXISTS postings_passage ON {SCHEMA}.postings (passage)",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.terms (
        term text PRIMARY KEY, passages integer NOT NULL
    )""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.vectors (
        id bigint PRIMARY KEY REFERENCES {SCHEMA}.passages ON DELETE CASCADE,
        encoder text NOT NULL,
        vector bytea NOT NULL
    )""",
)

# BM25 from the postings of the query's words: `frequency` is the word's weighted count
# in the passage, `length` the passage's number of words. The filters go after the
# sum's FROM (see `search`), the passages are joined for the best `limit` only.
_SCORES: Final = f"""
SELECT t.passage,
       sum(q.idf * t.frequency * {K1 + 1}
           / (t.frequency + {K1} * ({1 - B} + {B} * t.length / :average))) AS score
FROM unnest(CAST(:terms AS text[]), CAST(:idf AS float8[])) AS q(term, idf)
JOIN {SCHEMA}.postings t ON t.term = q.term
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
            if added or changed or removed:
                # A search reads the postings from their index alone only where VACUUM
                # has marked the pages all-visible
                # (https://www.postgresql.org/docs/current/indexes-index-only-scans.html);
                # it cannot run inside a transaction.
                async with self._engine.connect() as connection:
                    autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await autocommit.execute(text(f"VACUUM (ANALYZE) {SCHEMA}.postings"))
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
        where: list[str] = []
        parameters: dict[str, Any] = {
            "average": self._average_length,
            "terms": wanted,
            "idf": [self._idf(term) for term in wanted],
            "limit": limit,
        }
        if language in self._languages:
            where.append("(t.language = :language OR t.language IS NULL)")
            parameters["language"] = language
        if kind is not None:
            where.append("t.kind = :kind")
            parameters["kind"] = kind
        sql = (
            f"SELECT p.passage_id, best.score FROM ({_SCORES}"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " GROUP BY t.passage ORDER BY score DESC, t.passage LIMIT :limit) best "
            f"JOIN {SCHEMA}.passages p ON p.id = best.passage "
            "ORDER BY best.score DESC, best.passage"
        )
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
    split = [passage for document in documents for passage in passages(document)]
    if not split:
        return
    words = [passage_terms(passage) for passage in split]
    ids = await connection.execute(
        text(
            f"INSERT INTO {SCHEMA}.passages "
            "(passage_id, article_id, language, kind, category, record, length) "
            "SELECT * FROM unnest(CAST(:passage_ids AS text[]), CAST(:article_ids AS text[]), "
            "CAST(:languages AS text[]), CAST(:kinds AS text[]), CAST(:categories AS text[]), "
            "CAST(:records AS text[]), CAST(:lengths AS integer[])) RETURNING passage_id, id"
        ),
        {
            "passage_ids": [passage.passage_id for passage in split],
            "article_ids": [passage.article_id for passage in split],
            "languages": [passage.language for passage in split],
            "kinds": [passage.kind for passage in split],
            "categories": [passage.category for passage in split],
            "records": [passage.model_dump_json() for passage in split],
            "lengths": [length for _, length in words],
        },
    )
    row_of: dict[str, int] = dict(ids.all())
    postings: dict[str, list[Any]] = {
        "terms": [], "passages": [], "frequencies": [], "lengths": [], "languages": [], "kinds": []
    }  # fmt: skip
    documents_with: Counter[str] = Counter()
    for passage, (frequencies, length) in zip(split, words, strict=True):
        documents_with.update(frequencies.keys())
        for term, frequency in frequencies.items():
            postings["terms"].append(term)
            postings["passages"].append(row_of[passage.passage_id])
            postings["frequencies"].append(frequency)
            postings["lengths"].append(length)
            postings["languages"].append(passage.language)
            postings["kinds"].append(passage.kind)
    await connection.execute(
        text(
            f"INSERT INTO {SCHEMA}.postings (term, passage, frequency, length, language, kind) "
            "SELECT * FROM unnest(CAST(:terms AS text[]), CAST(:passages AS bigint[]), "
            "CAST(:frequencies AS real[]), CAST(:lengths AS integer[]), "
            "CAST(:languages AS text[]), CAST(:kinds AS text[]))"
        ),
        postings,
    )
    await connection.execute(
        text(
            f"INSERT INTO {SCHEMA}.terms (term, passages) "
            "SELECT * FROM unnest(CAST(:terms AS text[]), CAST(:counts AS integer[])) "
            "ON CONFLICT (term) DO UPDATE SET passages = terms.passages + excluded.passages"
        ),
        {"terms": list(documents_with), "counts": list(documents_with.values())},
    )


async def _delete(connection: AsyncConnection, article_ids: Sequence[str]) -> None:
    """Remove these articles, their passages, postings and embeddings, and their words'
    counts."""
    if not article_ids:
        return
    ids = {"ids": list(article_ids)}
    await connection.execute(
        text(
            f"WITH gone AS (SELECT t.term, count(*) AS n FROM {SCHEMA}.passages p "
            f"JOIN {SCHEMA}.postings t ON t.passage = p.id "
            "WHERE p.article_id = ANY(CAST(:ids AS text[])) GROUP BY t.term) "
            f"UPDATE {SCHEMA}.terms t SET passages = t.passages - gone.n "
            "FROM gone WHERE t.term = gone.term"
        ),
        ids,
    )
    await connection.execute(text(f"DELETE FROM {SCHEMA}.terms WHERE passages <= 0"))
    await connection.execute(
        text(f"DELETE FROM {SCHEMA}.articles WHERE article_id = ANY(CAST(:ids AS text[]))"), ids
    )


def passage_terms(passage: Passage) -> tuple[dict[str, float], int]:
    """The passage's words with their weighted frequency (a title word counts twice, as
    FTS5 weighs the columns), and its length in words."""
    title = terms(f"{passage.title} {passage.heading}", passage.language)
    body = terms(f"{' '.join(passage.tags)} {passage.text}", passage.language)
    frequencies: dict[str, float] = {}
    for words, weight in ((title, TITLE_WEIGHT), (body, 1.0)):
        for word in words:
            if len(word.encode()) <= MAX_TERM_BYTES:
                frequencies[word] = frequencies.get(word, 0.0) + weight
    return frequencies, len(title) + len(body)
