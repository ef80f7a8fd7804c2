"""The grounding check with a knowledge base: policy figures, citations, promises."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from supporter.analysis.citations import scan_figures
from supporter.analysis.grounding import check_reply
from supporter.domain.knowledge import Passage
from supporter.domain.models import Reply, Transaction, TransactionType

CHARGE = Transaction(
    transaction_id="tx_1",
    customer_id="C1",
    amount=Decimal("49.90"),
    currency="EUR",
    status="succeeded",
    created_at=datetime(2024, 5, 2, 10, tzinfo=UTC),
)
REFUNDS = Passage(
    passage_id="refunds#2",
    article_id="refunds",
    title="Refunds",
    text="You can ask for a refund within 14 days. Refunds reach your card in 5-10 business days.",
)
FEES = Passage(
    passage_id="fees#1",
    article_id="fees",
    title="Fees",
    text="Payments abroad cost a 1.5% fee. A chargeback costs 15.00 EUR.",
)
PROMISE = Passage(
    passage_id="guarantee#1",
    article_id="guarantee",
    title="Guarantee",
    text="If a charge was made twice by mistake, the duplicate will be refunded.",
)
GIVEN = [REFUNDS, FEES, PROMISE]


def check(body: str, cited: list[str], passages: list[Passage] | None = GIVEN):
    reply = Reply(body=body, cited_articles=cited)
    return check_reply(reply, [CHARGE], None, passages)


@pytest.mark.parametrize(
    ("body", "cited"),
    [
        ("You can ask for a refund within 14 days.", ["refunds#2"]),
        ("It takes 5 to 10 business days to reach your card.", ["refunds#2"]),
        ("Payments abroad cost a 1,5 % fee.", ["fees#1"]),
        ("A chargeback costs 15 EUR; your charge of 49.90 EUR is fine.", ["fees#1"]),
        ("Nothing with a figure in it.", []),
    ],
)
def test_figures_from_a_cited_passage_pass(body: str, cited: list[str]) -> None:
    result = check(body, cited)
    assert result.passed, result.problems


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "You can ask for a refund within 14 days.",
            'states "14 days" from refunds#2 without citing it',
        ),
        ("Payments abroad cost a 1.5% fee.", 'states "1.5%" from fees#1 without citing it'),
        ("A chargeback costs 15.00 EUR.", "states 15.00 EUR from fees#1 without citing it"),
        (
            "You can ask for a refund within 30 days.",
            '"30 days" is in no cited help-center passage',
        ),
        ("There is a 3% fee.", '"3%" is in no cited help-center passage'),
        ("A chargeback costs 25.00 EUR.", "amount 25.00 EUR not in the customer's transactions"),
    ],
)
def test_a_policy_figure_without_its_citation_fails(body: str, problem: str) -> None:
    result = check(body, [])
    assert not result.passed
    assert result.problems == [problem]


def test_a_figure_in_another_cited_passage_does_not_count() -> None:
    result = check("You can ask for a refund within 14 days.", ["fees#1"])
    assert result.problems == ['states "14 days" from refunds#2 without citing it']


def test_citing_a_passage_that_was_not_retrieved_fails() -> None:
    result = check("Please see our help center.", ["refunds#2", "made-up#1"])
    assert result.problems == ["cites made-up#1, which was not retrieved for this ticket"]
    nothing_found = check("Please see our help center.", ["refunds#2"], passages=[])
    assert nothing_found.problems == ["cites refunds#2, which was not retrieved for this ticket"]


def test_without_a_knowledge_base_figures_are_not_policy() -> None:
    assert check("Refunds take 3-5 business days.", [], passages=None).passed
    assert not check("Refunds take 3-5 business days.", [], passages=[]).passed


def test_a_promise_stays_forbidden_unless_a_cited_passage_makes_it() -> None:
    body = "We see two charges. We will refund the duplicate."
    uncited = check(body, [])
    assert not uncited.passed
    assert uncited.problems[0].startswith("promises a refund or credit")
    cited = check(body, ["guarantee#1"])
    assert cited.passed, cited.problems
    assert cited.for_review == [
        'promises a refund or credit: "we will refund", as a cited passage does'
    ]


def test_a_cited_promise_does_not_excuse_claiming_a_refund_that_did_not_happen() -> None:
    result = check("We have refunded the duplicate charge.", ["guarantee#1"])
    assert not result.passed
    assert result.problems[0].startswith("says money was refunded but the customer has no refund")


def test_a_passage_that_rules_refunds_out_allows_no_promise() -> None:
    never = PROMISE.model_copy(
        update={"passage_id": "never#1", "text": "Gift cards will not be refunded."}
    )
    result = check("We will refund your gift card.", ["never#1"], [never])
    assert not result.passed
    assert result.for_review == []


def test_figures_are_read_in_several_languages() -> None:
    found = {
        (figure.kind, str(figure.value))
        for text in (
            "innerhalb von 14 Tagen",
            "3 Werktage",
            "30 jours ouvrés",
            "dentro de 14 días",
            "entro 2 settimane",
            "a 14-day window",
            "1,5 % Gebühr",
            "12 months",
        )
        for figure in scan_figures(text)
    }
    assert found == {
        ("day", "14"),
        ("day", "3"),
        ("day", "30"),
        ("week", "2"),
        ("percent", "1.5"),
        ("month", "12"),
    }
    assert list(scan_figures("on 2024-05-02 at 10.30")) == []


def test_refund_transactions_still_ground_a_refund_claim() -> None:
    refund = CHARGE.model_copy(update={"transaction_id": "re_1", "type": TransactionType.REFUND})
    reply = Reply(body="We have refunded 49.90 EUR.", cited_articles=[])
    assert check_reply(reply, [CHARGE, refund], None, GIVEN).passed
