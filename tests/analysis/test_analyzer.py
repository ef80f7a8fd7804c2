"""The analyze step says how each related transaction was joined to the ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from supporter.analysis.analyzer import Analyzer
from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.domain.models import Analysis, MatchedBy, RelatedTransaction, Ticket, Transaction
from supporter.llm.base import AnalysisRequest, ModelResponse
from supporter.llm.offline import OfflineProvider

TICKET = Ticket(
    ticket_id="T1",
    customer_id="zd-381",
    subject="Charged twice",
    body="I was charged 49.99 twice for order #1001, see ch_3MmlLrLkdIwHu7ix0snN2B5a",
    status="open",
    created_at=datetime(2024, 5, 2, tzinfo=UTC),
    customer_email="alice.martin@example.com",
)


def charge(transaction_id: str, customer_id: str, **fields: object) -> Transaction:
    return Transaction(
        transaction_id=transaction_id,
        customer_id=customer_id,
        amount=Decimal("49.99"),
        currency="USD",
        status="succeeded",
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
        **fields,  # type: ignore[arg-type]
    )


TRANSACTIONS = [
    charge("tx_9", "zd-381"),
    charge("ch_1", "cus_A", customer_email="Alice.Martin@Example.com "),
    charge("ch_3MmlLrLkdIwHu7ix0snN2B5a", "cus_B", customer_email="other@example.com"),
    charge("py_5", "cus_C", references=("#1001",)),
]


async def test_each_related_transaction_says_how_it_was_matched() -> None:
    analyzer = Analyzer(OfflineProvider(list(DEFAULT_TAXONOMY)), list(DEFAULT_TAXONOMY))
    _, response = await analyzer.analyze(TICKET, TRANSACTIONS)
    analysis = response.value
    assert analysis.related_transactions == [
        RelatedTransaction(transaction_id=tid, matched_by=how)
        for tid, how in [
            ("tx_9", MatchedBy.CUSTOMER_ID),
            ("ch_1", MatchedBy.EMAIL),
            ("ch_3MmlLrLkdIwHu7ix0snN2B5a", MatchedBy.REFERENCE),
            ("py_5", MatchedBy.REFERENCE),
        ]
    ]
    # The list existing readers use keeps its shape and order.
    assert analysis.related_transaction_ids == [
        related.transaction_id for related in analysis.related_transactions
    ]


class InventingProvider(OfflineProvider):
    """Answers as the rules do, plus an id that is none of the customer's."""

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        response = await super().analyze(request)
        invented = ["ch_made_up", *response.value.related_transaction_ids]
        value = response.value.model_copy(update={"related_transaction_ids": invented})
        return response.model_copy(update={"value": value})


async def test_ids_a_model_invents_are_dropped_from_both_lists() -> None:
    taxonomy = list(DEFAULT_TAXONOMY)
    analyzer = Analyzer(InventingProvider(taxonomy), taxonomy)
    _, response = await analyzer.analyze(TICKET, TRANSACTIONS[1:2])
    assert response.value.related_transaction_ids == ["ch_1"]
    assert response.value.related_transactions == [
        RelatedTransaction(transaction_id="ch_1", matched_by=MatchedBy.EMAIL)
    ]
