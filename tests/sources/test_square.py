"""Square's transactions export: UTF-16, tab-separated, symbols in amounts, split date/time/zone."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from tests.sources.vendor import read

from supporter.domain.models import TransactionType
from supporter.sources.square import currency_of
from supporter.sources.values import BadValue


async def test_a_utf16_tab_separated_export_is_read_into_utc() -> None:
    result = await read("square_transactions.tsv")

    assert (result.format, result.rejects) == ("square", [])
    payment = result.transactions["Tx9aBcD1"]
    assert (payment.amount, payment.currency, payment.status) == (
        Decimal("1179.40"),
        "USD",
        "completed",
    )
    # 2024-01-18 13:45:10 Pacific Time (PST, UTC-8).
    assert payment.created_at == datetime(2024, 1, 18, 21, 45, 10, tzinfo=UTC)
    assert (payment.customer_id, payment.card_last4, payment.references) == (
        "CUST_77",
        "1111",
        ("pay_Qw1",),
    )
    refund = result.transactions["Tx9aBcD1/refund/20240119T171500"]
    assert (refund.type, refund.amount, refund.references) == (
        TransactionType.REFUND,
        Decimal("-179.40"),
        ("Tx9aBcD1", "pay_Qw1"),
    )
    walk_in = result.transactions["Tx7zYxW2"]  # no customer: found by a reference only
    assert (walk_in.customer_id, walk_in.amount) == ("", Decimal("15.50"))
    assert walk_in.created_at == datetime(2024, 1, 20, 23, 2, 33, tzinfo=UTC)  # Eastern


@pytest.mark.parametrize(
    ("text", "code"), [("$5.00", "USD"), ("-A$5.00", "AUD"), ("CA$5.00", "CAD"), ("€5,00", "EUR")]
)
def test_the_currency_is_the_symbols(text: str, code: str) -> None:
    assert currency_of(text, "Total Collected") == code


def test_an_amount_without_a_currency_is_a_bad_value() -> None:
    with pytest.raises(BadValue, match="Total Collected: no currency symbol or code"):
        currency_of("5.00", "Total Collected")
