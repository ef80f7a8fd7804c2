"""`supporter run --transactions stripe://` against the Stripe simulator, as a user runs it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.cli.fake_stripe import fill_simulator
from supporter.testing.fake_stripe import DEFAULT_API_KEY, FakeStripe, FakeStripeConfig

TICKETS = (
    "ticket_id,customer_id,subject,body,status,created_at,customer_email\n"
    "T1,H-17,Charged twice,I was charged twice for my plan,open,2024-05-02T09:00:00Z,"
    "alice.martin@example.com\n"
    "T2,H-18,Hello,Where is my invoice?,open,2024-05-02T09:00:00Z,nobody@example.com\n"
)


@pytest.fixture
def stripe_api() -> Iterator[tuple[FakeStripe, str]]:
    """The simulator on a loop of its own, so that the command's own loop can reach it."""
    server = FakeStripe(FakeStripeConfig(rate=None, search_rate=None))
    alice = server.add_customer("Alice.Martin@Example.com ")
    moment = int(datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp())
    server.add_charge(alice, 4999, "usd", created=moment)
    server.add_charge(alice, 4999, "usd", created=moment + 300)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    url = asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    yield server, url
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    return tmp_path


def _run(url: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--no-progress",
            "--tickets",
            "tickets.csv",
            "--transactions",
            "stripe://",
            "--stripe-base-url",
            url,
        ],
    )
    return result.exit_code, result.output


def test_each_ticket_is_answered_with_the_charges_stripe_has_for_its_email(
    workdir: Path, stripe_api: tuple[FakeStripe, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, url = stripe_api
    monkeypatch.setenv("STRIPE_API_KEY", DEFAULT_API_KEY)
    code, output = _run(url)
    assert code == 0, output
    results = {
        line["ticket_id"]: line
        for line in map(json.loads, Path("results.jsonl").read_text().splitlines())
    }
    charges = sorted(server.charges)
    t1 = results["T1"]["analysis"]
    assert sorted(t1["related_transaction_ids"]) == charges
    assert {item["matched_by"] for item in t1["related_transactions"]} == {"email"}
    assert t1["category"] == "duplicate_charge"
    assert results["T2"]["analysis"]["related_transaction_ids"] == []
    assert server.requests["/v1/customers/search"] == 2


def test_without_a_key_or_with_a_refused_one_nothing_runs(
    workdir: Path, stripe_api: tuple[FakeStripe, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = stripe_api
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    code, output = _run(url)
    assert code == 2
    assert "needs STRIPE_API_KEY" in output
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_refused_0123456789")
    code, output = _run(url)
    assert code == 2
    assert "Stripe refused the API key" in output
    assert "refused_0123456789" not in output
    assert not (workdir / "results.jsonl").exists()


async def test_fake_stripe_is_filled_from_our_csv_files(tmp_path: Path) -> None:
    (tmp_path / "tickets.csv").write_text(TICKETS.replace("H-17", "C1"), encoding="utf-8")
    (tmp_path / "transactions.csv").write_text(
        "transaction_id,customer_id,amount,currency,status,created_at,type,card_last4\n"
        "tx_1,C1,49.99,USD,refunded,2024-05-01T10:00:00Z,charge,1111\n"
        "tx_2,C1,5000,JPY,succeeded,2024-05-01T10:05:00Z,charge,1111\n"
        "tx_3,C1,49.99,USD,succeeded,2024-05-02T10:00:00Z,refund,1111\n",
        encoding="utf-8",
    )
    server = FakeStripe()
    counts = await fill_simulator(server, tmp_path / "tickets.csv", tmp_path / "transactions.csv")
    assert counts == (1, 2)
    [customer] = server.customers.values()
    assert customer["email"] == "alice.martin@example.com"
    amounts = sorted(
        (charge["amount"], charge["currency"], charge["amount_refunded"])
        for charge in server.charges.values()
    )
    assert amounts == [(4999, "usd", 4999), (5000, "jpy", 0)]
