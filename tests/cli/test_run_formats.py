"""`supporter run` on a processor's export as it was downloaded: no flags, no converter."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supporter.cli.app import app

FIXTURES = Path(__file__).parents[1] / "sources" / "fixtures"
TICKETS = (
    "ticket_id,customer_id,customer_email,subject,body,status,created_at\n"
    "T1,zd-1,ALICE.MARTIN@example.com,Charged twice,I was charged twice for my plan,open,"
    "2024-05-02T09:00:00Z\n"
    "T2,zd-2,bob@example.org,Refund,Where is my refund for the annual seat?,open,"
    "2024-05-20T09:00:00Z\n"
    "T3,zd-3,carol@example.net,Hardware,I opened a dispute with my bank about the hardware,"
    "open,2024-05-20T09:00:00Z\n"
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    shutil.copy(FIXTURES / "stripe_payments_unified.csv", tmp_path / "payments.csv")
    return tmp_path


def test_a_stripe_export_is_joined_by_email_and_its_refunds_and_disputes_are_stated(
    workdir: Path,
) -> None:
    result = CliRunner().invoke(
        app, ["run", "--no-progress", "--tickets", "tickets.csv", "--transactions", "payments.csv"]
    )

    assert result.exit_code == 0, result.output
    records = {
        record["ticket_id"]: record
        for record in map(json.loads, Path("results.jsonl").read_text().splitlines())
    }
    duplicate, refund, dispute = records["T1"], records["T2"], records["T3"]
    # Stripe wrote Alice's two charges under two spellings of her e-mail.
    assert duplicate["analysis"]["related_transaction_ids"] == ["ch_3PaA2", "ch_3PaA1"]
    assert "look like a possible duplicate" in duplicate["reply"]["body"]
    assert refund["analysis"]["related_transaction_ids"] == ["ch_3PaB1"]
    assert "30.00 EUR of the payment ch_3PaB1 has already been refunded" in refund["reply"]["body"]
    assert "a chargeback has been opened for ch_3PaC1" in dispute["reply"]["body"]
    assert all(record["grounding"]["passed"] for record in records.values())
    rejects = [json.loads(line) for line in Path("rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (8, "Amount: not an amount like -1,250.00: 'twelve'")
    ]


def test_a_paypal_download_is_joined_by_email_and_its_refund_row_is_stated(
    workdir: Path,
) -> None:
    shutil.copy(FIXTURES / "paypal_activity_en.csv", workdir / "activity.csv")
    (workdir / "tickets.csv").write_text(
        "ticket_id,customer_id,customer_email,subject,body,status,created_at\n"
        "T1,zd-1,alice.martin@EXAMPLE.com,Camera kit,Where is my refund for the camera kit?,"
        "open,2024-05-20T09:00:00Z\n",
        encoding="utf-8",
    )

    result = CliRunner().invoke(
        app,
        ["run", "--no-progress", "--tickets", "tickets.csv", "--transactions", "activity.csv"],
        terminal_width=200,
    )

    assert result.exit_code == 0, result.output
    assert re.search(r"transaction rows skipped \(not payments\)\s*│\s*3", result.output)
    record = json.loads(Path("results.jsonl").read_text())
    assert record["analysis"]["related_transaction_ids"] == [
        "9ZY87654XW321098V",
        "1AB23456CD789012E",
    ]
    assert (
        "A refund of 179.40 USD was already issued on 2024-05-16 (reference 9ZY87654XW321098V)"
        in record["reply"]["body"]
    )
    assert record["grounding"]["passed"]
