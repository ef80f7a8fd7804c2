"""Shopify Payments transactions export."""

from datetime import UTC, datetime
from decimal import Decimal

from tests.sources.vendor import read

from supporter.domain.models import TransactionType


async def test_charges_refunds_and_disputes_are_keyed_by_order_and_found_by_it() -> None:
    result = await read("shopify_payments_transactions.csv")

    assert result.format == "shopify"
    charge, refund, dispute = result.transactions.values()
    assert charge.transaction_id == "#1001/charge/20240301T150000"
    assert charge.created_at == datetime(2024, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 at -05:00
    assert (charge.amount, charge.references, charge.customer_id) == (
        Decimal("59.00"),
        ("#1001", "1001"),
        "",
    )
    assert (refund.type, refund.amount) == (TransactionType.REFUND, Decimal("-20.00"))
    assert (dispute.type, dispute.references) == (TransactionType.CHARGEBACK, ("#1002", "1002"))
    assert result.skipped == {"payout": 1, "reserve": 1}
