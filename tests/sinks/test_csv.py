"""The flat CSV of results: how each related transaction was matched, in a column of its own."""

from __future__ import annotations

from supporter.domain.models import (
    Analysis,
    MatchedBy,
    Priority,
    RelatedTransaction,
    Sentiment,
    TicketResult,
)
from supporter.sinks.csv import COLUMNS, flatten


def test_matched_by_is_the_last_column_and_names_each_transaction() -> None:
    analysis = Analysis(
        category="duplicate_charge",
        priority=Priority.HIGH,
        sentiment=Sentiment.NEGATIVE,
        language="en",
        summary="Charged twice",
        confidence=0.9,
        needs_human=False,
        related_transaction_ids=["ch_2", "ch_1"],
        related_transactions=[
            RelatedTransaction(transaction_id="ch_2", matched_by=MatchedBy.EMAIL),
            RelatedTransaction(transaction_id="ch_1", matched_by=MatchedBy.REFERENCE),
        ],
    )
    result = TicketResult(
        ticket_id="T1", customer_id="C1", status="responded", analysis=analysis, attempts=1
    )
    row = flatten(result)
    assert COLUMNS[-1] == "related_matched_by"
    assert row["related_matched_by"] == "ch_2=email ch_1=reference"
    assert row["related_transaction_ids"] == "ch_2 ch_1"
    failed = TicketResult(ticket_id="T2", customer_id="C1", status="failed", attempts=3)
    assert flatten(failed)["related_matched_by"] == ""
