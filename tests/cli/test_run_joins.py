"""`supporter run` joins tickets to payments the helpdesk and the processor share no id for."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from tests.cli.test_run import invoke

TICKETS = (
    "ticket_id,customer_id,subject,body,status,created_at,customer_email\n"
    "T1,zd-381,Charged twice,I was charged 49.99 twice this week,open,2024-05-02T10:00:00Z,"
    "alice.martin@example.com\n"
    "T2,zd-382,Order,Where is my order #1001?,open,2024-05-02T10:00:00Z,\n"
)
TRANSACTIONS = (
    "transaction_id,customer_id,amount,currency,status,created_at,customer_email,references\n"
    "ch_1,cus_A,49.99,USD,succeeded,2024-04-30T09:00:00Z,Alice.Martin@Example.com ,\n"
    "ch_2,cus_A,49.99,USD,succeeded,2024-04-30T09:05:00Z,alice.martin@example.com,\n"
    "ch_3,cus_B,20.00,USD,succeeded,2024-03-01T09:00:00Z,carol@example.com,SO-1001 1001\n"
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("SUPPORTER_STORE_URL", "SUPPORTER_BROKER_URL", "SUPPORTER_DB"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    (tmp_path / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")
    return tmp_path


def test_tickets_join_payments_by_email_and_by_quoted_order_number(workdir: Path) -> None:
    code, output = invoke(
        "--tickets", "tickets.csv", "--transactions", "transactions.csv", "--format", "csv"
    )
    assert code == 0, output
    lines = {
        line["ticket_id"]: line
        for line in map(json.loads, Path("results.jsonl").read_text().splitlines())
    }
    alice = lines["T1"]["analysis"]
    assert alice["category"] == "duplicate_charge"
    assert alice["related_transaction_ids"] == ["ch_2", "ch_1"]
    assert alice["related_transactions"] == [
        {"transaction_id": "ch_2", "matched_by": "email"},
        {"transaction_id": "ch_1", "matched_by": "email"},
    ]
    assert "ch_1" in lines["T1"]["reply"]["body"] or "ch_2" in lines["T1"]["reply"]["body"]
    assert lines["T2"]["analysis"]["related_transactions"] == [
        {"transaction_id": "ch_3", "matched_by": "reference"}
    ]
    with Path("results.csv").open(encoding="utf-8", newline="") as file:
        rows = {row["ticket_id"]: row for row in csv.DictReader(file)}
    assert rows["T1"]["related_matched_by"] == "ch_2=email ch_1=email"
    assert rows["T1"]["related_transaction_ids"] == "ch_2 ch_1"


def test_a_zendesk_export_joins_our_payments_by_email_only(workdir: Path) -> None:
    fixture = Path(__file__).parents[1] / "sources" / "fixtures" / "zendesk_time_based.json"
    Path("zendesk.json").write_bytes(fixture.read_bytes())
    code, output = invoke("--tickets", "zendesk.json", "--transactions", "transactions.csv")
    assert code == 0, output
    lines = {
        line["ticket_id"]: line
        for line in map(json.loads, Path("results.jsonl").read_text().splitlines())
    }
    # Open and new tickets only: 4712 is solved, 4714 pending.
    assert sorted(lines) == ["4711", "4713"]
    alice = lines["4711"]
    assert alice["customer_id"] == "zendesk:381"  # shares no id with the payments
    assert alice["analysis"]["category"] == "duplicate_charge"
    assert alice["analysis"]["related_transactions"] == [
        {"transaction_id": "ch_2", "matched_by": "email"},
        {"transaction_id": "ch_1", "matched_by": "email"},
    ]
    reply = alice["reply"]["body"]
    assert "ch_1" in reply
    assert "ch_2" in reply
    assert alice["grounding"]["passed"] is True
    # The phone ticket has no address; nothing it quotes is a payment's reference.
    assert lines["4713"]["analysis"]["related_transactions"] == []
