"""PayPal's Activity download in English, German and Spanish."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from tests.sources.vendor import FIXTURES, read

from supporter.domain.models import TransactionType
from supporter.sources.base import SourceError
from supporter.sources.formats import ReadOptions
from supporter.sources.paypal import classify


async def test_the_us_download_links_refunds_and_skips_what_is_not_a_payment() -> None:
    result = await read("paypal_activity_en.csv")

    assert result.format == "paypal"
    payment = result.transactions["1AB23456CD789012E"]
    assert (payment.amount, payment.currency, payment.type) == (
        Decimal("1179.40"),
        "USD",
        TransactionType.CHARGE,
    )
    # 5/14/2024 10:35:12 PDT (month first: the file has days over 12 in second place).
    assert payment.created_at == datetime(2024, 5, 14, 17, 35, 12, tzinfo=UTC)
    assert (payment.customer_id, payment.customer_email) == (
        "alice.martin@example.com",
        "Alice.Martin@example.com",
    )
    refund = result.transactions["9ZY87654XW321098V"]
    assert (refund.type, refund.amount, refund.references) == (
        TransactionType.REFUND,
        Decimal("-179.40"),
        ("1AB23456CD789012E", "INV-77"),
    )
    assert refund.customer_email == "Alice.Martin@example.com"  # the refund went to her
    assert result.transactions["8FF11111AA222222B"].status == "pending"
    assert result.skipped == {"currency conversion": 1, "bank withdrawal": 1, "hold": 1}
    assert [(r.line, r.reason) for r in result.rejects] == [(8, "Time: not a time: 'not a time'")]


async def test_the_german_download_reads_decimal_commas_and_day_first_dates() -> None:
    result = await read("paypal_activity_de.csv")

    assert result.why.startswith("columns Datum, Uhrzeit, Brutto")
    payment = result.transactions["3HJ45678KL901234M"]
    assert (payment.amount, payment.status) == (Decimal("1250.00"), "completed")
    assert payment.created_at == datetime(2024, 4, 3, 12, 5, 9, tzinfo=UTC)  # 14:05:09 MESZ
    refund = result.transactions["4NP56789QR012345S"]
    assert (refund.type, refund.amount, refund.references[0]) == (
        TransactionType.REFUND,
        Decimal("-250.00"),
        "3HJ45678KL901234M",
    )
    assert result.skipped == {"currency conversion": 1, "bank deposit": 1}


async def test_the_spanish_download_reads_its_headers_and_day_first_dates() -> None:
    result = await read("paypal_activity_es.csv")

    payment = result.transactions["7DE89012FG345678H"]
    assert (payment.amount, payment.customer_email) == (Decimal("89.90"), "lucia@example.es")
    assert payment.created_at == datetime(2024, 4, 3, 12, 5, 9, tzinfo=UTC)  # 3 April, CEST
    assert result.transactions["8IJ90123KL456789M"].type is TransactionType.REFUND
    assert result.skipped == {"currency conversion": 1}


def ambiguous_download(tmp_path: Path) -> Path:
    lines = (FIXTURES / "paypal_activity_en.csv").read_text(encoding="utf-8-sig").splitlines()
    # Only the payment, its date moved to 5/4: May 4th or April 5th?
    path = tmp_path / "activity.csv"
    path.write_text("\n".join([lines[0], lines[1].replace("5/14/2024", "5/4/2024")]) + "\n")
    return path


async def test_an_english_download_whose_dates_read_two_ways_asks_for_date_order(
    tmp_path: Path,
) -> None:
    path = ambiguous_download(tmp_path)

    with pytest.raises(SourceError, match=r"could be day/month or month/day .* --date-order"):
        await read(path)

    result = await read(path, ReadOptions(date_order="day-first"))
    assert result.transactions["1AB23456CD789012E"].created_at.date().isoformat() == "2024-04-05"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("Express Checkout Payment", TransactionType.CHARGE),
        ("Payment Reversal", TransactionType.CHARGEBACK),
        ("Chargeback Fee", "fee"),
        ("General Authorization", "authorization"),
        ("Reversal of General Account Hold", "hold"),
        ("Rückzahlung", TransactionType.REFUND),
        ("Reembolso de pago", TransactionType.REFUND),
    ],
)
def test_rows_are_classified_by_their_type_in_every_language(
    kind: str, expected: TransactionType | str
) -> None:
    assert classify(kind, gross_is_negative=False) == expected


def test_a_payment_the_account_sent_is_not_a_customer_payment() -> None:
    assert classify("Express Checkout Payment", gross_is_negative=True) == "payment sent"


def with_gross(tmp_path: Path, fixture: str, *gross: str, fees: str = "") -> Path:
    """The fixture with its first data rows' gross amounts (and fees, if given) replaced."""
    lines = (FIXTURES / fixture).read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split('","')
    gross_at = next(at for at, name in enumerate(header) if name in ("Gross", "Brutto", "Bruto"))
    fee_at = gross_at + 1
    edited = [lines[0]]
    for line, amount in zip(lines[1:], gross, strict=False):
        values = line.split('","')
        values[gross_at] = amount
        if fees:
            values[fee_at] = fees
        edited.append('","'.join(values))
    path = tmp_path / fixture
    path.write_text("\n".join(edited) + "\n", encoding="utf-8-sig")
    return path


@pytest.mark.parametrize("fixture", ["paypal_activity_de.csv", "paypal_activity_es.csv"])
async def test_a_bare_amount_with_a_thousands_point_is_thousands_in_comma_locales(
    tmp_path: Path, fixture: str
) -> None:
    """German and Spanish downloads group thousands with a point: 1.250 is 1250, not 1.25."""
    result = await read(with_gross(tmp_path, fixture, "1.250"))

    assert result.rejects == []
    assert next(iter(result.transactions.values())).amount == Decimal(1250)


async def test_an_english_download_with_decimal_commas_is_read_as_its_amounts_show(
    tmp_path: Path,
) -> None:
    """PayPal does not say which separator an English download uses: its amounts decide,
    here the fee's 41,58 (a comma followed by two digits)."""
    path = with_gross(tmp_path, "paypal_activity_en.csv", "1.250", "-179,40", fees="-41,58")

    result = await read(path)

    assert result.transactions["1AB23456CD789012E"].amount == Decimal(1250)
    assert result.transactions["9ZY87654XW321098V"].amount == Decimal("-179.40")


async def test_an_amount_that_reads_two_ways_in_a_file_that_never_says_is_rejected(
    tmp_path: Path,
) -> None:
    """No amount shows the decimal separator: 1.250 (a thousand and more, or a little over
    one) goes to the rejects with its line and field; 12 reads the same either way."""
    lines = (FIXTURES / "paypal_activity_en.csv").read_text(encoding="utf-8-sig").splitlines()
    payment, refund = lines[1].split('","'), lines[2].split('","')
    for values, gross in ((payment, "1.250"), (refund, "-12")):
        values[7:10] = [gross, "0", gross]  # Gross, Fee, Net
        values[17] = "0"  # Balance
    path = tmp_path / "activity.csv"
    path.write_text("\n".join([lines[0], '","'.join(payment), '","'.join(refund)]) + "\n")

    result = await read(path)

    assert [(r.line, r.reason) for r in result.rejects] == [
        (
            2,
            "Gross: '1.250' could be a thousand and more or a little over one, and no amount "
            "in the file shows whether its decimal separator is a point or a comma",
        )
    ]
    assert result.rejects[0].file == str(path)
    assert result.transactions["9ZY87654XW321098V"].amount == Decimal(-12)


async def test_a_column_the_format_does_not_read_costs_no_payment(tmp_path: Path) -> None:
    """The payer's Name is not read: however long, it rejects nothing."""
    lines = (FIXTURES / "paypal_activity_en.csv").read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "activity.csv"
    path.write_text("\n".join([lines[0], lines[1].replace("Alice Martin", "A" * 300)]) + "\n")

    result = await read(path)

    assert result.rejects == []
    assert "1AB23456CD789012E" in result.transactions
