"""The analyze stage finds the transactions of a ticket that came without them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from supporter.analysis.analyzer import Analyzer
from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.domain.errors import PermanentError
from supporter.domain.messages import TicketMessage
from supporter.domain.models import Ticket, Transaction, TransactionType
from supporter.llm.offline import OfflineProvider
from supporter.pipeline.stages import analyze_stage

TICKET = Ticket(
    ticket_id="T1",
    customer_id="C1",
    subject="Refund",
    body="Please refund the 12.50 EUR charge",
    status="open",
    created_at=datetime(2024, 5, 2, tzinfo=UTC),
)
CHARGE = Transaction(
    transaction_id="tx_1",
    customer_id="C1",
    amount=Decimal("12.50"),
    currency="EUR",
    status="succeeded",
    created_at=datetime(2024, 5, 1, tzinfo=UTC),
    type=TransactionType.CHARGE,
)
ANALYZER = Analyzer(OfflineProvider(list(DEFAULT_TAXONOMY)), list(DEFAULT_TAXONOMY))


async def test_a_ticket_without_transactions_is_answered_with_the_looked_up_ones() -> None:
    asked: list[str] = []

    async def lookup(ticket: Ticket) -> list[Transaction]:
        asked.append(ticket.ticket_id)
        return [CHARGE]

    stage = analyze_stage(ANALYZER, concurrency=1, lookup=lookup)
    analyzed = await stage.handle(TicketMessage(ticket=TICKET))
    assert asked == ["T1"]
    assert analyzed.transactions == [CHARGE]
    assert analyzed.analysis.related_transaction_ids == ["tx_1"]


async def test_transactions_that_came_with_the_ticket_are_not_looked_up() -> None:
    async def lookup(ticket: Ticket) -> list[Transaction]:
        raise AssertionError("looked up")

    stage = analyze_stage(ANALYZER, concurrency=1, lookup=lookup)
    analyzed = await stage.handle(TicketMessage(ticket=TICKET, transactions=[]))
    assert analyzed.transactions == []


async def test_without_a_lookup_such_a_ticket_is_a_permanent_failure() -> None:
    stage = analyze_stage(ANALYZER, concurrency=1)
    with pytest.raises(PermanentError, match="without transactions"):
        await stage.handle(TicketMessage(ticket=TICKET))
