"""`supporter dlq list` and `supporter dlq replay` on a database holding a dead letter."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.domain.messages import (
    AttemptRecord,
    DeadLetterMessage,
    TicketMessage,
    WriteBackMessage,
    encode,
)
from supporter.domain.models import (
    Analysis,
    Priority,
    Reply,
    Sentiment,
    Ticket,
    TicketResult,
    Transaction,
)
from supporter.store.base import DeadLetterRecord, Outcome
from supporter.store.helpdesks import SqlHelpdeskState
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.fake_zendesk import DEFAULT_EMAIL, DEFAULT_TOKEN, FakeZendesk


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


def test_an_id_not_pending_is_refused_and_the_results_file_left_alone(db: Path) -> None:
    Path("replayed.jsonl").write_text("an earlier replay\n")
    unknown = CliRunner().invoke(
        app, ["dlq", "replay", "--db", str(db), "--id", "999", "--no-progress"]
    )
    assert unknown.exit_code == 2, unknown.output
    assert "no dead letter with id 999" in unknown.output
    assert Path("replayed.jsonl").read_text() == "an earlier replay\n"
    # Replayed once (resolved), then asked for again beside an unknown one: neither goes.
    done = CliRunner().invoke(app, ["dlq", "replay", "--db", str(db), "--id", "1", "--no-progress"])
    assert done.exit_code == 0, done.output
    replayed = Path("replayed.jsonl").read_text()
    again = CliRunner().invoke(
        app, ["dlq", "replay", "--db", str(db), "--id", "1", "--id", "7", "--no-progress"]
    )
    assert again.exit_code == 2
    assert "no dead letter with id 7" in again.output
    assert "dead letter 1 already resolved" in again.output
    assert Path("replayed.jsonl").read_text() == replayed
    assert not list(Path().glob(".replayed*"))


def test_nothing_pending_says_so_and_writes_no_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    asyncio.run(_open_and_close(empty))
    result = CliRunner().invoke(app, ["dlq", "replay", "--db", str(empty), "--no-progress"])
    assert result.exit_code == 0
    assert "no pending dead letters" in result.output
    assert not (tmp_path / "replayed.jsonl").exists()


async def _open_and_close(path: Path) -> None:
    store = await SqlStore.open(sqlite_url(path))
    await store.close()


async def seed_failed_with(db: Path, version: str) -> None:
    store = await SqlStore.open(sqlite_url(db))
    ticket = Ticket(
        ticket_id="T9",
        customer_id="C9",
        subject="Refund",
        body="Please refund the 20.00 EUR charge",
        status="open",
        created_at=datetime(2024, 5, 2, tzinfo=UTC),
    )
    original = bytes(encode(TicketMessage(ticket=ticket, transactions=[]))).decode()
    await store.save(version, [dead_letter("T9", original)])
    await store.close()


def test_a_replay_does_not_switch_the_model_silently(tmp_path: Path) -> None:
    """The run used openai:gpt-4o (its failed result's version says so): a replay on
    the default offline provider is refused, naming what to pass, unless asked for."""
    db = tmp_path / "run.db"
    asyncio.run(seed_failed_with(db, "openai:gpt-4o:0123456789ab"))
    out = tmp_path / "out.jsonl"
    command = ["dlq", "replay", "--db", str(db), "--out", str(out), "--no-progress"]
    refused = CliRunner().invoke(app, [*command, "--provider", "offline"])
    assert refused.exit_code == 2, refused.output
    assert "openai:gpt-4o" in refused.output
    assert "this replay's offline" in refused.output
    assert "--allow-provider-change" in refused.output
    assert not out.exists()
    allowed = CliRunner().invoke(
        app, [*command, "--provider", "offline", "--allow-provider-change"]
    )
    assert allowed.exit_code == 0, allowed.output
    assert "replaying with offline" in allowed.output
    (line,) = out.read_text().splitlines()
    assert json.loads(line)["provider"] == "offline"


def test_a_refusal_names_every_dead_letter_of_a_ticket(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    asyncio.run(seed_failed_with(db, "openai:gpt-4o:0123456789ab"))
    asyncio.run(keep_a_later_stages_letter(db, "T9"))
    command = ["dlq", "replay", "--db", str(db), "--no-progress", "--provider", "offline"]
    refused = CliRunner().invoke(app, command)
    assert refused.exit_code == 2, refused.output
    assert "1, 2 with openai:gpt-4o" in refused.output


async def keep_a_later_stages_letter(db: Path, ticket_id: str) -> None:
    """The same ticket given up on by the respond stage too."""
    store = await SqlStore.open(sqlite_url(db))
    letter = dead_letter(ticket_id, "{}").dead_letter
    assert letter is not None
    await store.keep_dead_letters(
        [letter.model_copy(update={"stage": "respond", "queue": "analyzed"})]
    )
    await store.close()


@contextlib.contextmanager
def zendesk_in_thread(server: FakeZendesk) -> Iterator[str]:
    """The simulator on an event loop of its own while the (blocking) command runs."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


REPLY = "We refunded the second charge of 20.00 EUR."


async def seed_write_back(db: Path, number: int, *, public_reply: bool | None) -> None:
    """An approved reply to Zendesk ticket `number` that a write-back gave up on."""
    ticket = Ticket(
        ticket_id=str(number),
        customer_id="C1",
        subject="Charged twice",
        body="Two charges",
        status="open",
        created_at=datetime(2024, 5, 2, tzinfo=UTC),
    )
    message = WriteBackMessage(
        origin_id="review-1",
        helpdesk="zendesk",
        mode="after-review",
        ticket=ticket,
        analysis=Analysis(
            category="billing",
            priority=Priority.HIGH,
            sentiment=Sentiment.NEGATIVE,
            language="en",
            summary="charged twice",
            confidence=0.9,
            needs_human=False,
        ),
        reply=Reply(body=REPLY),
        approved_by="bob",
        **({} if public_reply is None else {"public_reply": public_reply}),
    )
    history = [
        AttemptRecord(stage="write-back", attempt=1, error="cannot reach zendesk", transient=True)
    ]
    store = await SqlStore.open(sqlite_url(db))
    await SqlHelpdeskState(store.engine).receive("zendesk", [ticket])
    await store.keep_dead_letters(
        [
            DeadLetterMessage(
                stage="write-back",
                queue="write-back",
                reason="gave up after 1 tries: cannot reach zendesk",
                error_type="HelpdeskUnavailable",
                ticket_id=ticket.ticket_id,
                customer_id="C1",
                original=bytes(encode(message)).decode(),
                history=history,
            )
        ]
    )
    await store.close()


def _without_helpdesk(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SUPPORTER_HELPDESK", "SUPPORTER_WRITE_BACK", "SUPPORTER_PUBLIC_REPLIES"):
        monkeypatch.delenv(name, raising=False)


def test_a_write_back_replay_names_the_settings_it_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_helpdesk(monkeypatch)
    db = tmp_path / "serve.db"
    asyncio.run(seed_write_back(db, 5, public_reply=None))
    result = CliRunner().invoke(app, ["dlq", "replay", "--db", str(db), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "SUPPORTER_HELPDESK=zendesk" in result.output
    assert "SUPPORTER_WRITE_BACK" in result.output
    assert "unreadable" not in result.output
    [letter] = asyncio.run(_pending(db))
    assert letter.resolved_at is None


async def _pending(db: Path) -> list[DeadLetterRecord]:
    store = await SqlStore.open(sqlite_url(db))
    try:
        return await store.dead_letters()
    finally:
        await store.close()


def _zendesk_env(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    _without_helpdesk(monkeypatch)
    monkeypatch.setenv("SUPPORTER_HELPDESK", "zendesk")
    monkeypatch.setenv("SUPPORTER_WRITE_BACK", "after-review")
    monkeypatch.setenv("SUPPORTER_ZENDESK_URL", url)
    monkeypatch.setenv("SUPPORTER_ZENDESK_EMAIL", DEFAULT_EMAIL)
    monkeypatch.setenv("SUPPORTER_ZENDESK_TOKEN", DEFAULT_TOKEN)


def test_a_write_back_is_replayed_as_approved_whatever_the_replay_is_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trial's finding: serve ran with --public-replies, the replay did not, and the
    approved reply went out as an internal note. Now the approval's choice is in the
    dead letter, and the replay says how many write-backs it sent."""
    server = FakeZendesk()
    number = server.add_ticket("Charged twice", "Two charges")
    db = tmp_path / "serve.db"
    asyncio.run(seed_write_back(db, number, public_reply=True))
    with zendesk_in_thread(server) as url:
        _zendesk_env(monkeypatch, url)
        result = CliRunner().invoke(
            app, ["dlq", "replay", "--db", str(db), "--no-progress", "--no-public-replies"]
        )
    assert result.exit_code == 0, result.output
    assert "write-backs sent again: 1: 1 written" in result.output
    assert "Supporter run" not in result.output  # no ticket was redone: no table of zeros
    written = [c for c in server.comments[number][1:]]
    assert [(c["body"], c["public"]) for c in written] == [(REPLY, True)]
    assert asyncio.run(_pending(db)) == []
    assert not (tmp_path / "replayed.jsonl").exists()


def test_an_approval_that_recorded_no_choice_is_not_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeZendesk()
    number = server.add_ticket("Charged twice", "Two charges")
    db = tmp_path / "serve.db"
    asyncio.run(seed_write_back(db, number, public_reply=None))
    with zendesk_in_thread(server) as url:
        _zendesk_env(monkeypatch, url)
        command = ["dlq", "replay", "--db", str(db), "--no-progress"]
        refused = CliRunner().invoke(app, command)
        assert refused.exit_code == 2, refused.output
        assert "--public-replies" in refused.output
        assert server.comments[number][1:] == []
        replayed = CliRunner().invoke(app, [*command, "--public-replies"])
    assert replayed.exit_code == 0, replayed.output
    written = [c for c in server.comments[number][1:]]
    assert [(c["body"], c["public"]) for c in written] == [(REPLY, True)]
