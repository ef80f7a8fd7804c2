"""Retrieval for one ticket, and the respond step with a knowledge base."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from supporter.analysis.grounding import compute_facts
from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.domain.models import Analysis, Priority, Reply, Sentiment, Ticket, Transaction
from supporter.knowledge.documents import Document, Section
from supporter.knowledge.retrieval import Retriever, retrieval_query
from supporter.knowledge.sqlite import SqliteKnowledgeIndex
from supporter.llm.base import ModelResponse, ReplyRequest
from supporter.llm.offline import OfflineProvider
from supporter.replies.responder import Responder


def document(article_id: str, text: str, language: str, **extra: object) -> Document:
    return Document(
        article_id=article_id,
        title=article_id,
        sections=[Section("", text)],
        source=f"{article_id}.md",
        language=language,
        **extra,  # type: ignore[arg-type]
    )


HELP_CENTER = [
    document("refunds", "Ask for a refund within 14 days of the charge.", "en"),
    document("erstattung", "Eine Erstattung gibt es innerhalb von 14 Tagen.", "de"),
    document("cancel", "Cancel the subscription under Settings.", "en"),
    document(
        "macro-refund",
        "We have your refund request about {{amount}}.",
        "en",
        kind="saved_reply",
        category="refund_request",
    ),
]
TICKET = Ticket(
    ticket_id="T-1",
    customer_id="C1",
    subject="Refund please",
    body="I want a refund for my last charge, card 4111 1111 1111 1111.",
    status="open",
    created_at=datetime(2024, 5, 3, tzinfo=UTC),
)
CHARGE = Transaction(
    transaction_id="tx_1",
    customer_id="C1",
    amount=Decimal("20.00"),
    currency="EUR",
    status="succeeded",
    created_at=datetime(2024, 5, 2, tzinfo=UTC),
)


def analysis(language: str = "en", category: str = "refund_request") -> Analysis:
    return Analysis(
        category=category,
        priority=Priority.MEDIUM,
        sentiment=Sentiment.NEUTRAL,
        language=language,
        summary="wants a refund",
        confidence=0.8,
        needs_human=False,
    )


@pytest.fixture
async def index() -> SqliteKnowledgeIndex:
    built = SqliteKnowledgeIndex(":memory:")
    await built.update(HELP_CENTER)
    return built


def test_the_query_is_the_masked_ticket_and_its_analysis() -> None:
    query = retrieval_query(TICKET, analysis())
    assert "4111 1111 1111 1111" not in query
    assert "refund request" in query
    assert "wants a refund" in query


def test_the_english_words_of_the_analysis_stay_out_of_another_languages_query() -> None:
    german = TICKET.model_copy(
        update={"subject": "Erstattung bitte", "body": "Karte 4111 1111 1111 1111"}
    )
    query = retrieval_query(german, analysis(language="de"))
    assert query.startswith("Erstattung bitte\nKarte ")
    assert "4111 1111 1111 1111" not in query
    assert "refund" not in query


async def test_the_saved_reply_of_the_category_comes_first_then_passages_in_the_language(
    index: SqliteKnowledgeIndex,
) -> None:
    found = await Retriever(index, limit=3).passages_for(TICKET, analysis())
    assert [p.passage_id for p in found][:2] == ["macro-refund#1", "refunds#1"]
    assert all(p.language == "en" for p in found)
    german = await Retriever(index, limit=3).passages_for(
        TICKET.model_copy(update={"body": "Ich möchte eine Erstattung"}),
        analysis("de", "general_inquiry"),
    )
    assert [p.passage_id for p in german] == ["erstattung#1"]


async def test_version_of_cited_passages_follows_their_text(index: SqliteKnowledgeIndex) -> None:
    retriever = Retriever(index)
    before = await retriever.version_of(["refunds#1", "cancel#1"])
    assert before == await retriever.version_of(["cancel#1", "refunds#1"])
    assert await retriever.version_of([]) is None
    await index.update([document("refunds", "Within 30 days now.", "en"), *HELP_CENTER[1:]])
    assert await retriever.version_of(["cancel#1"]) == await Retriever(index).version_of(
        ["cancel#1"]
    )
    assert await retriever.version_of(["refunds#1", "cancel#1"]) != before
    await index.update(HELP_CENTER[1:])
    assert await retriever.version_of(["refunds#1", "cancel#1"]) not in (before, None)


async def test_the_responder_cites_checks_and_versions_the_reply(
    index: SqliteKnowledgeIndex,
) -> None:
    responder = Responder(OfflineProvider(DEFAULT_TAXONOMY), Retriever(index))
    facts = compute_facts(TICKET, [CHARGE])
    drafted = await responder.respond(TICKET, [CHARGE], facts, analysis())
    assert drafted.reply.cited_articles == ["macro-refund#1"]
    assert drafted.reply.body == "We have your refund request about 20.00 EUR."
    assert drafted.reply.knowledge_version == await Retriever(index).version_of(["macro-refund#1"])
    assert drafted.grounding.passed


class InventingProvider(OfflineProvider):
    """A model that states a policy no passage has and cites what it was not given."""

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        self.seen = request
        reply = Reply(body="Refunds are possible within 60 days.", cited_articles=["cancel#1"])
        return ModelResponse[Reply](value=reply, provider="inventing")


async def test_a_draft_that_breaks_the_rules_needs_a_person(index: SqliteKnowledgeIndex) -> None:
    provider = InventingProvider(DEFAULT_TAXONOMY)
    responder = Responder(provider, Retriever(index, limit=1))
    drafted = await responder.respond(TICKET, [CHARGE], compute_facts(TICKET, [CHARGE]), analysis())
    assert [p.passage_id for p in provider.seen.passages] == ["macro-refund#1"]
    assert drafted.grounding.problems == [
        '"60 days" is in no cited help-center passage',
        "cites cancel#1, which was not retrieved for this ticket",
    ]
    assert drafted.analysis.needs_human
