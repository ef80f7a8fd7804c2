"""Sniffing a file's start: encoding, delimiter, header and JSON shape."""

import codecs
from pathlib import Path

import pytest

from supporter.sources.sniff import printable, sniff


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "f"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "encoding", "name"),
    [
        (b"a,b\n", "utf-8", "UTF-8"),
        (codecs.BOM_UTF8 + b"a,b\n", "utf-8-sig", "UTF-8 with a byte-order mark"),
        (codecs.BOM_UTF16_LE + "a,b\n".encode("utf-16-le"), "utf-16", "UTF-16 LE"),
        (codecs.BOM_UTF16_BE + "a,b\n".encode("utf-16-be"), "utf-16", "UTF-16 BE"),
    ],
)
def test_the_encoding_comes_from_the_byte_order_mark(
    tmp_path: Path, data: bytes, encoding: str, name: str
) -> None:
    sample = sniff(write(tmp_path, data))

    assert (sample.encoding, sample.encoding_name, sample.header) == (encoding, name, ["a", "b"])


@pytest.mark.parametrize(
    ("first_line", "delimiter"),
    [
        ("a,b,c", ","),
        ("a\tb\tc", "\t"),
        ("a;b;c", ";"),
        ('"x;y",b,c', ","),  # a delimiter inside quotes does not count
        ("alone", ","),
    ],
)
def test_the_delimiter_splits_the_first_line_into_the_most_fields(
    tmp_path: Path, first_line: str, delimiter: str
) -> None:
    assert sniff(write(tmp_path, f"{first_line}\n1,2,3\n".encode())).delimiter == delimiter


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ('{"tickets": [], "users": []}', "object"),
        ('{\n  "tickets": []\n}\n', "object"),
        ('  [{"id": 1}]', "array"),
        ('{"id": 1}\n{"id": 2}\n', "lines"),
    ],
)
def test_json_is_told_apart_by_shape(tmp_path: Path, text: str, shape: str) -> None:
    sample = sniff(write(tmp_path, text.encode()))

    assert sample.json_shape == shape
    assert sample.first_json() is not None


def test_columns_compare_without_case_or_surrounding_spaces(tmp_path: Path) -> None:
    sample = sniff(write(tmp_path, b" Created (UTC) ,Amount\n"))

    assert sample.has_columns("created (utc)", "AMOUNT")
    assert not sample.has_columns("created (utc)", "Fee")


def test_printable_escapes_control_characters_and_undecodable_bytes() -> None:
    assert printable("ok") == "ok"
    assert printable("a\x00b\x1bc\udce9é") == "a\\x00b\\x1bc\\xe9é"
