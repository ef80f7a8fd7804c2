"""`supporter inspect`: what a file is and how it will be read, before a long run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from supporter.cli.app import app

FIXTURES = Path(__file__).parents[1] / "sources" / "fixtures"
EXAMPLES = Path(__file__).parents[2] / "examples"


def inspect(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["inspect", *args], terminal_width=200)
    return result.exit_code, result.output


def inspect_json(*args: str) -> dict[str, Any]:
    code, output = inspect(*args, "--json")
    assert code == 0, output
    found: dict[str, Any] = json.loads(output)
    return found


def test_a_stripe_export_shows_its_format_columns_rejects_and_first_rows() -> None:
    found = inspect_json(str(FIXTURES / "stripe_payments_unified.csv"), "--rows", "2")

    assert (found["kind"], found["format"], found["why"]) == (
        "transactions",
        "stripe",
        "columns id, Created date (UTC), Amount, Currency, Status",
    )
    assert (found["encoding"], found["layout"]) == (
        "UTF-8 with a byte-order mark",
        "comma-separated",
    )
    read = [entry["column"] for entry in found["columns_read"]]
    assert {"Amount Refunded", "Dispute Status", "order_id (metadata)"} <= set(read)
    assert found["columns_not_read"] == ["Captured", "Dispute Date (UTC)"]
    assert (found["rows_scanned"], found["records"], found["rejected"]) == (7, 6, 1)
    assert found["rejects"] == [
        {"line": 8, "reason": "Amount: not an amount like -1,250.00: 'twelve'"}
    ]
    first = found["first"]
    assert [record["transaction_id"] for record in first] == ["ch_3PaA1", "ch_3PaA2"]
    assert first[0]["customer_email"] == "Alice.Martin@Example.com"


def test_what_an_export_skips_is_counted() -> None:
    found = inspect_json(str(FIXTURES / "paypal_activity_en.csv"))

    assert found["skipped"] == {"currency conversion": 1, "bank withdrawal": 1, "hold": 1}
    assert found["records"] == 3


def test_a_tickets_file_shows_the_mapping_of_our_fields() -> None:
    found = inspect_json(str(EXAMPLES / "tickets.csv"), "--rows", "1")

    assert (found["kind"], found["format"]) == ("tickets", "csv")
    assert {"column": "body", "field": "body"} in found["columns_read"]
    assert found["first"][0]["ticket_id"] == "T000001"


def test_the_tables_name_the_format_and_show_the_rows_as_parsed() -> None:
    code, output = inspect(str(FIXTURES / "square_transactions.tsv"), "--rows", "1")

    assert code == 0, output
    assert "square (Square transactions export)" in output
    assert "UTF-16 LE, tab-separated" in output
    assert "2024-01-18T21:45:10Z" in output  # 13:45:10 Pacific, in UTC


def test_a_file_no_format_recognises_stops_naming_both_kinds(tmp_path: Path) -> None:
    path = tmp_path / "mystery.csv"
    path.write_text("a;b;c\n1;2;3\n", encoding="utf-8")

    code, output = inspect(str(path))

    assert code == 2
    flat = " ".join(output.split())
    assert "not a format Supporter recognises" in flat
    assert "transactions as stripe, stripe-balance, paypal" in flat
    assert "--kind" in flat


def test_a_named_format_and_kind_read_a_file_as_told(tmp_path: Path) -> None:
    path = tmp_path / "renamed.csv"
    path.write_text("Ref,Who,Total,Cur,State,When\nX1,C1,5.00,EUR,ok,2024-01-01\n")

    found = inspect_json(
        str(path),
        "--kind",
        "transactions",
        "--columns",
        "transaction_id=Ref,customer_id=Who,amount=Total,currency=Cur,status=State,created_at=When",
    )

    assert found["why"] == "columns mapped with --transaction-columns"
    assert found["first"][0]["transaction_id"] == "X1"
