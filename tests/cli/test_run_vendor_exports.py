"""End to end: a Zendesk export with a Stripe export, and with a PayPal download, joined
by e-mail only (no id is shared), give the right category, the related transactions with
how they were matched, and a reply that states the refund or the dispute.

The fixtures follow the vendors' documented shapes: Zendesk's incremental export page
with side-loaded users, Stripe's unified payments export (BOM, CRLF; Alice's address
written ``Alice.Martin@Example.com `` on one charge), PayPal's Activity download (US
English, times in PDT, a refund row naming its payment, a currency conversion).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.cli.test_run import invoke

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("SUPPORTER_STORE_URL", "SUPPORTER_BROKER_URL", "SUPPORTER_DB"):
        monkeypatch.delenv(name, raising=False)
    for fixture in FIXTURES.iterdir():
        shutil.copy(fixture, tmp_path / fixture.name)
    return tmp_path


def run(transactions: str) -> dict[str, dict[str, Any]]:
    code, output = invoke("--tickets", "zendesk_billing.json", "--transactions", transactions)
    assert code == 0, output
    results = map(json.loads, Path("results.jsonl").read_text().splitlines())
    return {result["ticket_id"]: result for result in results}


def related(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (r["transaction_id"], r["matched_by"]) for r in result["analysis"]["related_transactions"]
    ]


def test_zendesk_and_stripe_find_the_duplicate_its_refund_and_a_dispute(workdir: Path) -> None:
    results = run("stripe_payments.csv")
    alice = results["9001"]
    assert alice["analysis"]["category"] == "duplicate_charge"
    assert related(alice) == [("ch_3PzA2", "email"), ("ch_3PzA1", "email")]
    reply = alice["reply"]["body"]
    assert "look like a possible duplicate" in reply
    assert "49.99 USD of the payment ch_3PzA2 has already been refunded" in reply
    assert alice["grounding"]["passed"] is True
    carol = results["9002"]
    assert related(carol) == [("ch_3PzC1", "email")]
    assert "chargeback has been opened for ch_3PzC1" in carol["reply"]["body"]


def test_zendesk_and_paypal_find_the_duplicate_and_its_refund(workdir: Path) -> None:
    results = run("paypal_activity.csv")
    alice = results["9001"]
    assert alice["analysis"]["category"] == "duplicate_charge"
    assert related(alice) == [
        ("9ZY87654XW321098V", "email"),
        ("2BC34567DE890123F", "email"),
        ("1AB23456CD789012E", "email"),
    ]
    reply = alice["reply"]["body"]
    assert "2BC34567DE890123F and 1AB23456CD789012E have the same amount" in reply
    assert "refund" in reply
    assert "9ZY87654XW321098V" in reply
    # The currency conversion is no customer's payment: never cited.
    assert "5CC11111AA222222B" not in json.dumps(results)
