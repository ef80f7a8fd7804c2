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
