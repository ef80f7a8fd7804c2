"""The offline provider answering in the team's own words: saved replies and passages."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from supporter.analysis.grounding import check_reply, compute_facts
from supporter.domain.knowledge import Passage
from supporter.domain.models import Analysis, Priority, Sentiment, Ticket, Transaction
from supporter.llm.base import ReplyRequest
from supporter.llm.offline.replies import compose_reply

TICKET = Ticket(
    ticket_id="T-9",
    customer_id="C1",
    subject="Charged twice",
    body="I was charged twice, 49.90 EUR each.",
    status="open",
    created_at=datetime(2024, 5, 3, 9, tzinfo=UTC),
)
CHARGES = [
    Transaction(
        transaction_id=f"tx_{n}",
        customer_id="C1",
        amount=Decimal("49.90"),
        currency="EUR",
        status="succeeded",
        created_at=datetime(2024, 5, 2, 10, n, tzinfo=UTC),
        card_last4="4242",
    )
    for n in (1, 2)
]


def saved(
    passage_id: str, text: str, category: str = "duplicate_charge", language: str | None = "en"
):
    return Passage(
        passage_id=passage_id,
        article_id=passage_id.split("#")[0],
        title=passage_id,
        text=text,
        kind="saved_reply",
        category=category,
        language=language,
    )


def article(passage_id: str, text: str, language: str | None = "en") -> Passage:
    return Passage(
        passage_id=passage_id,
        article_id=passage_id.split("#")[0],
        title="Duplicate charges",
        text=text,
        language=language,
    )


def request(passages: list[Passage], language: str = "en") -> ReplyRequest:
    analysis = Analysis(
        category="duplicate_charge",
        priority=Priority.MEDIUM,
        sentiment=Sentiment.NEUTRAL,
        language=language,
        summary="charged twice",
        confidence=0.9,
        needs_human=False,
    )
    return ReplyRequest(
        ticket=TICKET,
        transactions=CHARGES,
        facts=compute_facts(TICKET, CHARGES),
        analysis=analysis,
        passages=passages,
    )


def test_a_saved_reply_for_the_category_is_filled_and_cited() -> None:
    macro = saved(
        "macros/duplicate#1",
        "Hi, about ticket {{ticket_id}}: we see {{ amount }} on {{date}} ({{transaction_id}}, "
        "card {{card_last4}}). Our team reviews duplicates within 3 business days.",
    )
    given = [article("duplicates#1", "Duplicates are reviewed."), macro]
    reply = compose_reply(request(given))
    assert reply.body == (
        "Hi, about ticket T-9: we see 49.90 EUR on 2024-05-02 (tx_2, card 4242). "
        "Our team reviews duplicates within 3 business days."
    )
    assert reply.cited_articles == ["macros/duplicate#1"]
    assert reply.cited_transaction_ids == ["tx_2"]
    assert check_reply(reply, CHARGES, TICKET, given).passed


def test_saved_replies_of_another_category_language_or_with_unknown_placeholders_are_not_used() -> (
    None
):
    others = [
        saved("refund#1", "About refunds.", category="refund_request"),
        saved("de#1", "Doppelte Abbuchung {{amount}}.", language="de"),
        saved("name#1", "Dear {{ticket.requester.first_name}}, ..."),
    ]
    reply = compose_reply(request(others))
    assert reply.cited_articles == []
    assert "tx_1" in reply.body  # our phrasebook's reply
    assert "tx_2" in reply.body


def test_the_best_passage_in_the_language_replaces_the_generic_next_steps() -> None:
    german = article("doppelt#1", "Doppelte Abbuchungen prüfen wir in 3 Werktagen.", "de")
    english = article(
        "duplicates#2", "We review duplicate charges within 3 business days.\n\nMore text."
    )
    reply = compose_reply(request([german, english]))
    assert reply.cited_articles == ["duplicates#2"]
    assert "We review duplicate charges within 3 business days." in reply.body
    assert reply.cited_transaction_ids == ["tx_2", "tx_1"]
    assert check_reply(reply, CHARGES, TICKET, [german, english]).passed
    in_german = compose_reply(request([german, english], language="de"))
    assert in_german.cited_articles == ["doppelt#1"]


def test_without_passages_nothing_is_cited() -> None:
    reply = compose_reply(request([]))
    assert reply.cited_articles == []
    assert reply.knowledge_version is None
