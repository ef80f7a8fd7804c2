"""Adyen's settlement details report."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tests.sources.vendor import FIXTURES, read

from supporter.domain.models import TransactionType


async def test_settled_refunded_and_chargeback_rows_with_debit_and_credit_columns() -> None:
    result = await read("adyen_settlement_details.csv")

    assert result.format == "adyen"
    settled = result.transactions["1813702551707653"]
    assert (settled.amount, settled.currency, settled.type) == (
        Decimal("5.00"),
        "GBP",
        TransactionType.CHARGE,
    )
    assert settled.created_at == datetime(2024, 6, 3, 10, 26, 49, tzinfo=UTC)  # 11:26:49 CET
    assert settled.references == ("ORDER-3vpzf7",)
    refund = result.transactions["1913702551799999"]
    assert (refund.type, refund.amount) == (TransactionType.REFUND, Decimal("-2.00"))
    assert refund.created_at == datetime(2024, 6, 5, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert refund.references[:2] == ("1813702551707653", "ORDER-3vpzf7")
    chargeback = result.transactions["2313642467170922"]
    assert (chargeback.type, chargeback.amount) == (
        TransactionType.CHARGEBACK,
        Decimal("-349.99"),
    )
    assert result.skipped == {"Fee": 1, "MerchantPayout": 1}


async def test_a_row_with_both_or_neither_amount_column_is_rejected(tmp_path: Path) -> None:
    lines = (FIXTURES / "adyen_settlement_details.csv").read_text().splitlines()
    both = lines[1].replace("GBP,,5.00", "GBP,1.00,5.00")
    path = tmp_path / "settlement_detail_report_batch_4.csv"
    path.write_text("\n".join([lines[0], both]) + "\n")

    result = await read(path)

    assert result.transactions == {}
    assert [(r.line, r.reason.split(":")[0]) for r in result.rejects] == [(2, "Gross Credit (GC)")]
