"""Braintree's transaction search download."""

from datetime import UTC, datetime
from decimal import Decimal

from tests.sources.vendor import read

from supporter.domain.models import TransactionType


async def test_sales_credits_and_declines_with_their_zone() -> None:
    result = await read("braintree_transactions.csv")

    assert result.format == "braintree"
    sale = result.transactions["kx9d2c4q"]
    assert (sale.amount, sale.status, sale.customer_id, sale.card_last4) == (
        Decimal("64.00"),
        "settled",
        "84811902",
        "1111",
    )
    assert sale.created_at == datetime(2024, 4, 22, 20, 4, 5, tzinfo=UTC)  # 15:04:05 CDT
    credit = result.transactions["m3n8p1r7"]
    assert (credit.type, credit.amount, credit.status, credit.references) == (
        TransactionType.REFUND,
        Decimal("-64.00"),
        "processing",
        ("kx9d2c4q", "A-1009"),
    )
    declined = result.transactions["q7w8e9r0"]
    assert (declined.status, declined.amount) == ("declined", Decimal("20.00"))
