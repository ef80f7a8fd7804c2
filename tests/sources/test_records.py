"""Records: an oversized record costs its row, an unclosed quote stops with its line."""

import io

import pytest

from supporter.sources.base import SourceError
from supporter.sources.records import Records


def read(text: str, max_record: int = 1000) -> tuple[list[tuple[int, list[str]]], list[str]]:
    oversized: list[str] = []
    records = Records(
        "f.csv",
        io.StringIO(text, newline=""),
        max_record=max_record,
        on_oversized=lambda line, size: oversized.append(f"{line}:{size}"),
    )
    return list(records), oversized


def test_lines_are_physical_lines_across_quoted_newlines() -> None:
    rows, oversized = read('a,b\n1,"x\ny"\n2,z\n')

    assert rows == [(1, ["a", "b"]), (2, ["1", "x\ny"]), (4, ["2", "z"])]
    assert oversized == []


@pytest.mark.parametrize(
    ("big", "size"),
    [
        ('"' + "x\n" * 600 + '"', 1205),  # quoted, over many lines
        ("y" * 1500, 1503),  # unquoted, on one line
        ('"' + 'say ""hi"" ' * 200 + '"', 2205),  # doubled quotes inside
    ],
)
def test_an_oversized_record_is_reported_and_the_rest_goes_on(big: str, size: int) -> None:
    rows, oversized = read(f"a,b\n1,{big}\n2,after\n")

    assert rows[0] == (1, ["a", "b"])
    assert rows[-1][1] == ["2", "after"]
    assert len(rows) == 2
    line_after = rows[-1][0]
    assert oversized == [f"2:{size}"]
    assert line_after == 2 + big.count("\n") + 1


def test_without_a_handler_an_oversized_record_stops_with_its_size() -> None:
    records = Records("f.csv", io.StringIO("a\n" + "x" * 50 + "\n"), max_record=10)

    with pytest.raises(SourceError, match=r"f.csv, line 2: the record is 51 characters"):
        list(records)


@pytest.mark.parametrize("max_record", [1000, 20])
def test_a_quote_never_closed_stops_with_the_line_it_opens_on(max_record: int) -> None:
    with pytest.raises(SourceError, match=r"line 3: cannot read .* never closed"):
        read('a,b\n1,ok\n2,"never closed\nmore\nand more\n', max_record)


def test_a_quote_in_an_unquoted_field_is_not_an_unclosed_quote() -> None:
    rows, _ = read('a,b\n1,5" screen\n')

    assert rows[-1] == (2, ["1", '5" screen'])
