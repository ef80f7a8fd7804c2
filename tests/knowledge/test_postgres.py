"""The knowledge index in PostgreSQL tables: the adapter contract on the real server,
BM25 as FTS5 computes it, the words' counts through updates, and its failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.conftest import postgres_database
from tests.knowledge.index_contract import HELP_CENTER, IndexContract, OpenIndex, article

from supporter.domain.errors import TransientError
from supporter.knowledge.base import IndexWithVectors, KnowledgeIndexError
from supporter.knowledge.documents import passages
from supporter.knowledge.postgres import SCHEMA, PostgresKnowledgeIndex, passage_terms
from supporter.knowledge.sqlite import SqliteKnowledgeIndex


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


@pytest.fixture
async def opened(url: str) -> AsyncIterator[list[PostgresKnowledgeIndex]]:
    """Every index a test opens, closed before its database is dropped."""
    indexes: list[PostgresKnowledgeIndex] = []
    yield indexes
    for index in indexes:
        await index.close()


class TestPostgresKnowledgeIndex(IndexContract):
    @pytest.fixture
    async def open_index(self, url: str, opened: list[PostgresKnowledgeIndex]) -> OpenIndex:
        async def open_index(match_budget: int | None = None) -> IndexWithVectors:
            if match_budget is None:
                index = await PostgresKnowledgeIndex.open(url)
            else:
                index = await PostgresKnowledgeIndex.open(url, match_budget=match_budget)
            opened.append(index)
            return index

        return open_index


QUERIES = [
    ("I was charged and want a refund", "en"),
    ("cancel my plan in settings", "en"),
    ("conversion fee for payments abroad", "en"),
    ("Rückerstattung 14 Tage", "de"),
    ("Abonnement kündigen Einstellungen", "de"),
]


async def test_ranks_as_fts5_does(
    url: str, opened: list[PostgresKnowledgeIndex], tmp_path: Path
) -> None:
    documents = [
        *HELP_CENTER,
        article("refund-card", "Refunds go back to the card that paid, within 5 days."),
        article("refund-late", "A refund after 14 days is not possible.", title="Late refunds"),
    ]
    postgres = await PostgresKnowledgeIndex.open(url)
    opened.append(postgres)
    await postgres.update(documents)
    sqlite = SqliteKnowledgeIndex(tmp_path / "knowledge.db")
    await sqlite.update(documents)
    for query, language in QUERIES:
        expected = await sqlite.search(query, language=language, limit=5)
        found = await postgres.search(query, language=language, limit=5)
        assert [hit.passage.passage_id for hit in found] == [
            hit.passage.passage_id for hit in expected
        ], query
        assert [hit.score for hit in found] == pytest.approx([hit.score for hit in expected])
    await sqlite.close()


async def test_word_counts_stay_true_through_updates(
    url: str, opened: list[PostgresKnowledgeIndex]
) -> None:
    index = await PostgresKnowledgeIndex.open(url)
    opened.append(index)
    await index.update(HELP_CENTER)
    edited = article("fees", "A fee of 2% applies to refunds.", title="Fees")
    await index.update([*HELP_CENTER[:2], edited, HELP_CENTER[4]])
    await index.update([*HELP_CENTER[:2], edited, HELP_CENTER[4], HELP_CENTER[3]])
    async with index._engine.connect() as connection:
        kept = dict((await connection.execute(text(f"SELECT * FROM {SCHEMA}.terms"))).all())
        actual = dict(
            (
                await connection.execute(
                    text(f"SELECT term, count(*) FROM {SCHEMA}.postings GROUP BY term")
                )
            ).all()
        )
    assert kept == actual
    assert "abroad" not in kept  # only the removed version of "fees" had it


def test_a_passage_becomes_weighted_words() -> None:
    (passage,) = passages(article("r", "Refund refunds.", title="Refund"))
    # Title "Refund": a word counted twice; body: two words of one stem.
    assert passage_terms(passage) == ({"refund": 4.0}, 3)
    (long_word,) = passages(article("l", "x" * 1001 + " ok"))
    assert passage_terms(long_word) == ({"l": 2.0, "ok": 1.0}, 3)


async def test_an_index_of_another_format_is_refused(
    url: str, opened: list[PostgresKnowledgeIndex]
) -> None:
    opened.append(await PostgresKnowledgeIndex.open(url))
    async with opened[0]._engine.begin() as connection:
        await connection.execute(text(f"UPDATE {SCHEMA}.meta SET value = '0'"))
    with pytest.raises(KnowledgeIndexError, match=f"format 0.*DROP SCHEMA {SCHEMA}"):
        await PostgresKnowledgeIndex.open(url)


async def test_workers_opening_a_new_index_together_all_succeed(
    url: str, opened: list[PostgresKnowledgeIndex]
) -> None:
    opened.extend(await asyncio.gather(*(PostgresKnowledgeIndex.open(url) for _ in range(4))))
    await opened[0].update(HELP_CENTER)
    found = await opened[3].passages(["refunds#1"])
    assert found["refunds#1"].article_id == "refunds"


async def test_an_unreachable_database_is_an_error_without_the_password() -> None:
    url = "postgresql://supporter:s3cret@127.0.0.1:9/nowhere"
    with pytest.raises(KnowledgeIndexError, match="cannot open the knowledge index") as raised:
        await PostgresKnowledgeIndex.open(url)
    assert "s3cret" not in str(raised.value)


async def test_a_read_that_fails_is_worth_another_try(url: str) -> None:
    index = await PostgresKnowledgeIndex.open(url)
    await index.update(HELP_CENTER)
    async with index._engine.begin() as connection:
        await connection.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    with pytest.raises(TransientError, match="cannot read the knowledge index"):
        await index.passages(["cancel#1"])
    with pytest.raises(TransientError, match="cannot search the knowledge index"):
        await index.search("refund", language="en", limit=3)
    # An update is a command's: it stops with the reason, it is not retried.
    with pytest.raises(KnowledgeIndexError, match="cannot update the knowledge index"):
        await index.update(HELP_CENTER)
    await index.close()
