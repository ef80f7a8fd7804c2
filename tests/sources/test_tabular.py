"""What every processor's export gets the same way: field counts, duplicates, missing columns."""

from pathlib import Path

import pytest
from tests.sources.vendor import FIXTURES, read

from supporter.sources.base import SourceError
from supporter.sources.registry import open_transactions


def copy(tmp_path: Path, name: str, edit: str = "") -> Path:
    lines = (FIXTURES / name).read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / name
    path.write_text("\n".join([*lines, edit]) + "\n", encoding="utf-8")
    return path


async def test_a_duplicate_id_and_a_short_row_are_rejected_and_the_rest_read(
    tmp_path: Path,
) -> None:
    lines = (FIXTURES / "stripe_payments_legacy.csv").read_text().splitlines()
    path = copy(tmp_path, "stripe_payments_legacy.csv", f"{lines[1]}\nch_3,Monthly\n")

    result = await read(path)

    assert list(result.transactions) == ["ch_1Leg", "ch_2Leg"]
    assert [(r.line, r.reason) for r in result.rejects] == [
        (4, "transaction id: duplicate of line 2"),
        (5, "expected 15 fields as in the header, found 2"),
    ]


def test_a_recognised_export_missing_a_needed_column_stops_before_any_work(
    tmp_path: Path,
) -> None:
    path = tmp_path / "activity.csv"
    path.write_text("Date,Time,Gross,Transaction ID,Reference Txn ID\n5/14/2024,10:00,1.00,X,\n")

    with pytest.raises(SourceError, match=r"activity.csv: no column 'Type' or 'Typ' or 'Tipo'"):
        open_transactions(path)


def test_references_are_masked() -> None:
    """Metadata columns are free text a customer's card number can end up in."""
    from supporter.sources.tabular import references

    row = ["ch_1", "order 42 card 4111 1111 1111 1111", "INV-7"]
    assert references(row, [1, 2]) == ("order 42 card **** 1111", "INV-7")


async def test_bad_values_are_rejected_naming_their_column_and_the_rest_read(
    tmp_path: Path,
) -> None:
    """Each row's values are checked at once; a row that fails is checked column by column
    so the reject names the first bad one."""
    rows = [
        "ch_3," + "x" * 2001 + ",2023-12-03 09:15,1.00,,gbp,1.00,0.1,Paid,cus_L1,e@x.uk,,,,",
        "ch_4,Monthly,2023-12-04 09:15,1.00,,gbp,1.00,0.1,Paid,cus_" + "9" * 130 + ",,,,,",
        ",Monthly,2023-12-05 09:15,1.00,,gbp,1.00,0.1,Paid,cus_L1,,,,,",
        "ch_6,Mon\x00thly,2023-12-06 09:15,1.00,,gbp,1.00,0.1,Paid,cus_L1,,,,,",
        "ch_7,Monthly,2023-12-07 09:15,1.00,,gbp,1.00,0.1,Paid,cus_L1,,,,Widerspruch\xff,",
    ]
    path = copy(tmp_path, "stripe_payments_legacy.csv", "\n".join(rows))
    path.write_bytes(path.read_bytes().replace("\xff".encode(), b"\xff"))

    result = await read(path)

    assert [(r.line, r.reason) for r in result.rejects] == [
        (4, "Description: 2,001 characters, over the limit of 2,000"),
        (5, "Customer ID: 134 characters, over the limit of 128"),
        (6, "id: required but empty"),
        (8, "Dispute Status: not valid UTF-8; save the file as UTF-8"),
    ]
    assert result.rejects[0].raw.startswith("ch_3,xxx")  # the row as it was, no blank cell
    assert result.transactions["ch_6"].description == "Mon\ufffdthly"  # a NUL means nothing
    assert list(result.transactions) == ["ch_1Leg", "ch_2Leg", "ch_6"]


async def test_a_column_not_read_may_hold_anything(tmp_path: Path) -> None:
    long_fee = "9" * 300  # Fee is not read: its length and bytes are not the row's problem
    row = f"ch_3,Monthly,2023-12-03 09:15,1.00,,gbp,1.00,{long_fee},Paid,cus_L1,e@x.uk,,,,"
    path = copy(tmp_path, "stripe_payments_legacy.csv", row)

    result = await read(path)

    assert not result.rejects
    assert result.transactions["ch_3"].amount == 1
