"""Stripe's payments export (unified and legacy) and its itemized balance report."""

from datetime import UTC, datetime
from decimal import Decimal

from tests.sources.vendor import read

from supporter.domain.models import TransactionType


async def test_the_unified_payments_export_keeps_refunds_and_disputes_as_facts() -> None:
    # UTF-8 with a BOM, CRLF, quoted fields with commas and doubled quotes, metadata columns.
    result = await read("stripe_payments_unified.csv")

    assert (result.format, result.why) == (
        "stripe",
        "columns id, Created date (UTC), Amount, Currency, Status",
    )
    txs = result.transactions
    first = txs["ch_3PaA1"]
    assert (first.amount, first.currency, first.status) == (Decimal("49.99"), "USD", "paid")
    assert first.created_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    # No customer id: keyed by the normalised e-mail, the e-mail kept as written.
    assert (first.customer_id, first.customer_email) == (
        "alice.martin@example.com",
        "Alice.Martin@Example.com",
    )
    assert first.references == ("pi_3PaA1", "INV-0042", "1001")
    assert (first.card_last4, first.amount_refunded, first.dispute_status) == ("4242", None, None)
    partial = txs["ch_3PaB1"]
    assert (partial.amount_refunded, partial.status) == (Decimal("30.00"), "partially_refunded")
    assert partial.description == 'Annual seat, "team" edition'
    disputed = txs["ch_3PaC1"]
    assert (disputed.dispute_status, disputed.disputed_amount) == (
        "needs_response",
        Decimal("75.00"),
    )
    assert txs["ch_3PaE1"].amount == Decimal("1250.00")
    assert txs["ch_3PaD1"].status == "failed"
    assert [(r.line, r.reason) for r in result.rejects] == [
        (8, "Amount: not an amount like -1,250.00: 'twelve'")
    ]


async def test_the_legacy_export_reads_created_utc_and_a_full_refund() -> None:
    result = await read("stripe_payments_legacy.csv")

    assert result.why == "columns id, Created (UTC), Amount, Currency, Status"
    refunded, lost = result.transactions["ch_1Leg"], result.transactions["ch_2Leg"]
    assert (refunded.status, refunded.amount_refunded) == ("refunded", Decimal("9.99"))
    assert refunded.created_at == datetime(2023, 11, 2, 9, 15, tzinfo=UTC)
    assert (lost.dispute_status, lost.disputed_amount, lost.customer_id) == (
        "lost",
        Decimal("9.99"),
        "cus_L1",
    )


async def test_the_balance_report_keeps_charges_refunds_disputes_and_counts_the_rest() -> None:
    result = await read("stripe_balance_itemized.csv")

    assert result.format == "stripe-balance"
    assert list(result.transactions) == ["ch_3PaA1", "re_3PaA1", "du_1"]
    refund, dispute = result.transactions["re_3PaA1"], result.transactions["du_1"]
    assert (refund.type, refund.amount, refund.references[0]) == (
        TransactionType.REFUND,
        Decimal("-49.99"),
        "ch_3PaA1",
    )
    assert (dispute.type, dispute.references) == (TransactionType.CHARGEBACK, ("ch_3PaC1",))
    assert result.transactions["ch_3PaA1"].references == ("pi_3PaA1", "in_1", "1001")
    assert result.skipped == {"payout": 1, "fee": 1}
    assert result.rejects == []
