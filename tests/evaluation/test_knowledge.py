"""Scoring retrieval and citations, including examples that get no answer."""

from __future__ import annotations

import pytest

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.domain.errors import FatalError, PermanentError
from supporter.domain.models import Reply
from supporter.evaluation.knowledge import evaluate_knowledge
from supporter.knowledge.documents import Document, Section
from supporter.knowledge.retrieval import Retriever
from supporter.knowledge.sqlite import SqliteKnowledgeIndex
from supporter.llm.base import ModelResponse, ReplyRequest
from supporter.llm.offline import OfflineProvider
from supporter.sources.labelled import LabelledExample

ARTICLES = [
    Document("refunds", "Refunds", [Section("", "Ask for a refund within 14 days.")], "r.md", "en"),
    Document(
        "cancel", "Cancel", [Section("", "Cancel your subscription in Settings.")], "c.md", "en"
    ),
]
EXAMPLES = [
    LabelledExample(2, "I want a refund please", "refunds"),
    LabelledExample(3, "How do I cancel my subscription?", "cancel"),
    LabelledExample(4, "Where do I cancel?", "refunds"),  # labelled with the wrong article
]


class Failing(OfflineProvider):
    def __init__(self, error: Exception) -> None:
        super().__init__(DEFAULT_TAXONOMY)
        self.error = error

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        raise self.error


@pytest.fixture
async def retriever() -> Retriever:
    index = SqliteKnowledgeIndex(":memory:")
    await index.update(ARTICLES)
    return Retriever(index)


async def test_scores_ranks_and_citations(retriever: Retriever) -> None:
    scores = await evaluate_knowledge(
        OfflineProvider(DEFAULT_TAXONOMY), DEFAULT_TAXONOMY, retriever, EXAMPLES, file="x.csv"
    )
    assert (scores.examples, scores.failed) == (3, 0)
    assert scores.recall_at_1 == pytest.approx(2 / 3)
    assert scores.recall_at_5 == pytest.approx(2 / 3)  # "cancel" never mentions refunds
    assert scores.mrr == pytest.approx(2 / 3)
    assert scores.citation_accuracy == pytest.approx(2 / 3)
    assert scores.uncited == 0


async def test_an_example_without_a_draft_counts_as_failed(retriever: Retriever) -> None:
    scores = await evaluate_knowledge(
        Failing(PermanentError("refused")), DEFAULT_TAXONOMY, retriever, EXAMPLES, file="x.csv"
    )
    assert scores.failed == 3
    assert (scores.recall_at_5, scores.citation_accuracy, scores.uncited) == (0, 0, 0)


async def test_a_fatal_error_stops_the_evaluation(retriever: Retriever) -> None:
    with pytest.raises(FatalError):
        await evaluate_knowledge(
            Failing(FatalError("quota")), DEFAULT_TAXONOMY, retriever, EXAMPLES, file="x.csv"
        )
