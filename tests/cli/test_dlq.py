"""`supporter dlq list` and `supporter dlq replay` on a database holding a dead letter."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.domain.messages import AttemptRecord, DeadLetterMessage, TicketMessage, encode
from supporter.domain.models import Ticket, TicketResult, Transaction
from supporter.store.base import Outcome
from supporter.store.sql import SqlStore, sqlite_url


def dead_letter(ticket_id: str, original: str) -> Outcome:
    history = [AttemptRecord(stage="analyze", attempt=1, error="HTTP 503", transient=True)]
    letter = DeadLetterMessage(
        stage="analyze",
        queue="tickets",
        reason="gave up after 1 tries: HTTP 503",
        error_type="TransientError",
        ticket_id=ticket_id,
        customer_id="C1",
        original=original,
        history=history,
    )
    result = TicketResult(
        ticket_id=ticket_id, customer_id="C1", status="failed", attempts=1, error=letter.reason
    )
    return Outcome(result=result, ticket=None, history=history, dead_letter=letter)


async def seed(db: Path) -> None:
    ticket = Ticket(
        ticket_id="T1",
        customer_id="C1",
        subject="Refund",
        body="Please refund the 20.00 EUR charge from 2024-05-01",
        status="open",
        created_at=datetime(2024, 5, 2, tzinfo=UTC),
    )
    charge = Transaction(
        transaction_id="tx_1",
        customer_id="C1",
        amount="20.00",  # type: ignore[arg-type]
        currency="EUR",
        status="succeeded",
        created_at=datetime(2024, 5, 1, 12, tzinfo=UTC),
    )
    message = TicketMessage(ticket=ticket, transactions=[charge])
    store = await SqlStore.open(sqlite_url(db))
    await store.save("any", [dead_letter("T1", bytes(encode(message)).decode())])
    await store.save("any", [dead_letter("T2", "{not json")])
    await store.close()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "s.db"
    asyncio.run(seed(path))
    return path


def test_list_shows_pending_dead_letters(db: Path) -> None:
    result = CliRunner().invoke(app, ["dlq", "list", "--db", str(db), "--json"])
    assert result.exit_code == 0
    letters = [json.loads(line) for line in result.output.splitlines()]
    assert [(x["id"], x["ticket_id"], x["stage"]) for x in letters] == [
        (1, "T1", "analyze"),
        (2, "T2", "analyze"),
    ]
    assert letters[0]["history"][0]["error"] == "HTTP 503"
    table = CliRunner().invoke(app, ["dlq", "list", "--db", str(db)])
    assert "2 dead letters" in table.output


def test_replay_of_one_id_resolves_it(db: Path) -> None:
    result = CliRunner().invoke(
        app, ["dlq", "replay", "--db", str(db), "--id", "1", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    (line,) = Path("replayed.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["ticket_id"] == "T1"
    assert record["status"] == "responded"
    assert record["analysis"]["related_transaction_ids"] == ["tx_1"]
    remaining = CliRunner().invoke(app, ["dlq", "list", "--db", str(db), "--json"])
    assert [json.loads(x)["id"] for x in remaining.output.splitlines()] == [2]


def test_an_unreadable_dead_letter_is_reported_not_replayed(db: Path) -> None:
    result = CliRunner().invoke(app, ["dlq", "replay", "--db", str(db), "--no-progress"])
    assert result.exit_code == 1
    assert "not replayable" in result.output
    assert "[2]" in result.output


def test_a_database_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    for command in (["dlq", "list"], ["dlq", "replay", "--no-progress"]):
        result = CliRunner().invoke(app, [*command, "--db", str(missing)])
        assert result.exit_code == 2
        assert "no database at" in result.output
    assert not missing.exists()
