"""`supporter run --transactions stripe://` against the Stripe simulator, as a user runs it."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.conftest import require_service
from typer.testing import CliRunner

from supporter.brokers.redis import RedisStreamsBroker
from supporter.cli.app import app
from supporter.cli.fake_stripe import fill_simulator
from supporter.domain.messages import TicketMessage, decode
from supporter.pipeline.stages import TICKETS as TICKETS_QUEUE
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


def test_ingest_with_stripe_sends_tickets_for_the_analyze_workers_to_look_up(
    workdir: Path, stripe_api: tuple[FakeStripe, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    server, url = stripe_api
    prefix = f"cli-stripe-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SUPPORTER_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SUPPORTER_BROKER_PREFIX", prefix)
    monkeypatch.setenv("SUPPORTER_STRIPE_BASE_URL", url)
    arguments = ["ingest", "--tickets", "tickets.csv", "--transactions", "stripe://"]
    try:
        monkeypatch.delenv("STRIPE_API_KEY", raising=False)
        refused = CliRunner().invoke(app, arguments)
        assert refused.exit_code == 2
        assert "needs STRIPE_API_KEY" in refused.output
        monkeypatch.setenv("STRIPE_API_KEY", DEFAULT_API_KEY)
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.output
        messages = asyncio.run(_published(prefix, 2))
        assert sorted(message.ticket.ticket_id for message in messages) == ["T1", "T2"]
        assert all(message.transactions is None for message in messages)
        assert server.requests["/v1/charges"] == 0  # the analyze workers will ask
    finally:
        asyncio.run(_clean(prefix))


async def _published(prefix: str, count: int) -> list[TicketMessage]:
    broker = RedisStreamsBroker("redis://127.0.0.1:6379/0", prefix=prefix)
    found: list[TicketMessage] = []
    try:
        async with broker.consume(TICKETS_QUEUE, prefetch=count) as deliveries:
            async for delivery in deliveries:
                message = decode(delivery.body)
                assert isinstance(message, TicketMessage)
                found.append(message)
                await delivery.ack()
                if len(found) == count:
                    break
    finally:
        await broker.close()
    return found


async def _clean(prefix: str) -> None:
    broker = RedisStreamsBroker("redis://127.0.0.1:6379/0", prefix=prefix)
    await broker.delete_keys()
    await broker.close()


def test_an_analyze_worker_on_stripe_checks_the_key_before_serving(
    workdir: Path, stripe_api: tuple[FakeStripe, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    server, url = stripe_api
    monkeypatch.setenv("SUPPORTER_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SUPPORTER_BROKER_PREFIX", f"cli-stripe-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("SUPPORTER_TRANSACTIONS", "stripe://")
    monkeypatch.setenv("SUPPORTER_STRIPE_BASE_URL", url)
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_refused_0123456789")
    result = CliRunner().invoke(app, ["worker", "analyze", "--metrics-port", "0"])
    assert result.exit_code == 2
    assert "Stripe refused the API key" in result.output
    assert server.outcomes == {401: 1}
