"""Choosing a file's format: recognised from content, named, or mapped; refused with reasons."""

import json
from pathlib import Path

import pytest

from supporter.sources.base import SourceError
from supporter.sources.csv import CsvTransactionSource
from supporter.sources.formats import ReadOptions
from supporter.sources.registry import TRANSACTION_FORMATS, choose, open_tickets, open_transactions

TRANSACTIONS = (
    "transaction_id,customer_id,amount,currency,status,created_at\nX1,C1,5,EUR,ok,2024-01-01\n"
)


def write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_our_csv_is_recognised_by_its_required_columns(tmp_path: Path) -> None:
    choice = choose(write(tmp_path, TRANSACTIONS), TRANSACTION_FORMATS, "transactions")

    assert choice.format.name == "csv"
    assert "transaction_id, customer_id, amount" in choice.why
    assert choice.sample.delimiter == ","


async def test_a_column_map_reads_any_header_as_our_csv(tmp_path: Path) -> None:
    path = write(tmp_path, TRANSACTIONS.replace("transaction_id", "Ref", 1))
    options = ReadOptions(column_map={"transaction_id": "Ref"})

    source, choice = open_transactions(path, options=options)

    assert choice.why == "columns mapped with --transaction-columns"
    assert isinstance(source, CsvTransactionSource)
    assert [tx.transaction_id async for tx in source.transactions(lambda reject: None)] == ["X1"]


def test_a_named_format_is_used_without_asking(tmp_path: Path) -> None:
    choice = choose(
        write(tmp_path, TRANSACTIONS), TRANSACTION_FORMATS, "transactions", forced="CSV"
    )

    assert (choice.format.name, choice.why) == ("csv", "named with --transactions-format")


def test_an_unknown_format_name_lists_the_known_ones(tmp_path: Path) -> None:
    known = r"zendesk, freshdesk, helpscout, jsonl, csv"
    with pytest.raises(
        SourceError, match=rf"--tickets-format: unknown format 'zendsk'; .*: {known}"
    ):
        open_tickets(write(tmp_path, TRANSACTIONS), forced="zendsk")


def test_an_unrecognised_file_names_its_header_and_the_known_formats(tmp_path: Path) -> None:
    path = write(tmp_path, "Date;Betrag;Kunde\n01.02.2024;5,00;A\n")

    with pytest.raises(SourceError) as raised:
        open_transactions(path)

    message = str(raised.value)
    assert message.startswith(f"{path}: not a transactions format Supporter recognises")
    assert "UTF-8, semicolon-separated, header: Date, Betrag, Kunde" in message
    assert "csv (Supporter transactions CSV)" in message
    assert "--transactions-format NAME" in message
    assert "missing required column 'transaction_id'" in message
    assert "--transaction-columns" in message


def test_a_json_file_is_described_as_json(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"tickets": []}), "t.json")

    with pytest.raises(SourceError, match=r"UTF-8, JSON \(object\)"):
        open_tickets(path)
