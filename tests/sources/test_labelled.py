"""Reading labelled examples from CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from supporter.sources.base import SourceError
from supporter.sources.labelled import read_labelled


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "labelled.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_columns_are_found_and_text_columns_joined(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\ufeffId, Subject ,BODY,Category\r\n"
        '1,Charged twice,"Card 4111 1111 1111 1111, twice!",duplicate_charge\r\n'
        "2,,Where is my card?, card_arrival \r\n",
    )
    data = read_labelled(path, ["subject", "body"], "category")
    assert [(e.line, e.text, e.label) for e in data.examples] == [
        (2, "Charged twice\nCard **** 1111, twice!", "duplicate_charge"),
        (3, "Where is my card?", "card_arrival"),
    ]
    assert data.skipped == []
    assert data.labels == ["duplicate_charge", "card_arrival"]


def test_unusable_rows_are_skipped_with_their_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'text,label\nfine,a\n,a\nno label,\n\n"two\nlines",b\ntoo,many,fields\n{"x" * 30},b\n',
    )
    data = read_labelled(path, ["text"], "label", max_text=20)
    assert [e.text for e in data.examples] == ["fine", "two\nlines"]
    assert data.skipped == [
        (3, "no text"),
        (4, "no label"),
        (8, "expected 2 fields as in the header, found 3"),
        (9, "text longer than 20 characters"),
    ]


def test_a_missing_column_or_file_stops_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, "text,category\nhello,a\n")
    with pytest.raises(SourceError, match=r"no column 'label' \(found: text, category\)"):
        read_labelled(path, ["text"], "label")
    with pytest.raises(SourceError, match="no such file"):
        read_labelled(tmp_path / "missing.csv", ["text"], "label")
    with pytest.raises(SourceError, match="empty"):
        read_labelled(write(tmp_path, "\n\n"), ["text"], "label")
