"""`supporter run --batch` and `supporter batch status|cancel`, end to end: the official
SDK against the simulator's Batch API."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from tests.cli.test_run import TICKETS, TRANSACTIONS
from tests.cli.test_run_openai import ThreadedFakeLLM, results, run_openai
from typer.testing import CliRunner

from supporter.cli.app import app
from supporter.domain.models import Usage
from supporter.llm.pricing import PriceTable
from supporter.store.batches import SqlBatchLedger
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.fake_batches import FakeBatchConfig, FakeBatches
from supporter.testing.fake_llm import FakeLLMConfig

FAST = {"SUPPORTER_BATCH_GATHER_SECONDS": "0.5", "SUPPORTER_BATCH_POLL_INTERVAL": "0.05"}


INPUT = ["--tickets", "tickets.csv", "--transactions", "transactions.csv", "--provider", "openai"]


class BatchSimulator(ThreadedFakeLLM):
    def __init__(self) -> None:
        super().__init__(FakeLLMConfig(latency_ms=1, latency_jitter=0, seed=1))
        self.batches = FakeBatches(self.fake, FakeBatchConfig())


@pytest.fixture
def simulator() -> Iterator[BatchSimulator]:
    with BatchSimulator() as running:
        yield running


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    (tmp_path / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")
    return tmp_path


def run_batch(simulator: BatchSimulator) -> tuple[int, str]:
    return run_openai(simulator, "--batch")


def test_a_batch_run_answers_every_ticket_at_batch_prices(
    workdir: Path, simulator: BatchSimulator
) -> None:
    code, output = run_batch(simulator)
    assert code == 0, output
    assert "completed, 2 of 2 answered, 0 failed" in output
    records = results()
    assert sorted(records) == ["T1", "T2"]
    prices = PriceTable()
    for record in records.values():
        assert isinstance(record["provider"], str)
        kind, model = record["provider"].split(":", 1)
        assert kind == "openai-batch"
        usage = Usage.model_validate(record["usage"])
        assert usage.cost_usd > 0
        assert usage.cost_usd == prices.cost(model, usage, "batch")
        standard = prices.cost(model, usage)
        assert standard is not None
        assert usage.cost_usd < standard
    # Analyses in one batch, replies in the next.
    assert [b.total for b in simulator.batches.batches.values()] == [2, 2]

    status = CliRunner().invoke(app, ["batch", "status", "--base-url", simulator.base_url])
    assert status.exit_code == 0, status.output
    assert "2 batches" in status.output
    assert "completed" in status.output

    code, output = run_batch(simulator)
    assert code == 0, output
    assert simulator.batches.executed == 4  # nothing asked twice


def test_batch_needs_an_openai_provider(workdir: Path) -> None:
    args = ["run", "--no-progress", "--tickets", "tickets.csv"]
    result = CliRunner().invoke(app, [*args, "--transactions", "transactions.csv", "--batch"])
    assert result.exit_code == 2
    assert "--batch needs --provider openai" in result.output


async def _unfinished_batch(base_url: str, db: Path) -> str:
    store = await SqlStore.open(sqlite_url(db))
    ledger = SqlBatchLedger(store.engine)
    async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-test") as client:
        line = {"custom_id": "c1", "method": "POST", "url": "/v1/chat/completions"}
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        content = json.dumps({**line, "body": body}).encode()
        file = await client.files.create(file=("in.jsonl", content), purpose="batch")
        await ledger.uploaded(file.id, "/v1/chat/completions", ["c1"])
        batch = await client.batches.create(
            input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        await ledger.created(file.id, batch.id, batch.status)
    await store.close()
    return batch.id


def test_batch_status_and_cancel(workdir: Path, simulator: BatchSimulator) -> None:
    simulator.batches.config.paused = True
    batch_id = asyncio.run(_unfinished_batch(simulator.base_url, workdir / "supporter.db"))
    status = CliRunner().invoke(app, ["batch", "status", "--base-url", simulator.base_url])
    assert status.exit_code == 0, status.output
    assert "in_progress" in status.output
    assert "collect" in status.output

    cancelled = CliRunner().invoke(app, ["batch", "cancel", "--base-url", simulator.base_url])
    assert cancelled.exit_code == 0, cancelled.output
    assert f"cancelling {batch_id}" in cancelled.output
    assert simulator.batches.batches[batch_id].cancel_requested

    unknown = CliRunner().invoke(
        app, ["batch", "cancel", "batch_nope", "--base-url", simulator.base_url]
    )
    assert unknown.exit_code == 1
    assert "batch_nope: not a batch of this database" in unknown.output
    again = CliRunner().invoke(app, ["batch", "cancel", batch_id, "--base-url", simulator.base_url])
    assert again.exit_code == 1
    assert "OpenAI refused (HTTP 409)" in again.output


def test_batch_status_without_a_database_says_so(workdir: Path) -> None:
    result = CliRunner().invoke(app, ["batch", "status", "--db", "missing.db"])
    assert result.exit_code == 2
    assert "no database at missing.db" in result.output


@pytest.mark.slow
def test_a_run_killed_while_its_batch_runs_is_resumed_and_pays_nothing_twice(
    workdir: Path, simulator: BatchSimulator
) -> None:
    simulator.batches.config.paused = True
    log = (workdir / "first.log").open("w")
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "supporter",
            "run",
            "--no-progress",
            "--batch",
            *INPUT,
            "--base-url",
            simulator.base_url,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **FAST},
    )
    try:
        deadline = time.monotonic() + 30
        while not _recorded_batch_ids(workdir / "supporter.db"):
            assert time.monotonic() < deadline, (workdir / "first.log").read_text()
            assert first.poll() is None, (workdir / "first.log").read_text()
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        log.close()
    [analyses] = list(simulator.batches.batches)
    simulator.batches.config.paused = False

    code, output = run_batch(simulator)
    assert code == 0, output
    assert sorted(results()) == ["T1", "T2"]
    # The killed run's batch answered the analyses; only the replies made a new one.
    assert next(iter(simulator.batches.batches)) == analyses
    assert len(simulator.batches.batches) == 2
    assert simulator.batches.executed == 4
    assert [f.purpose for f in simulator.batches.files.values()].count("batch") == 2


def _recorded_batch_ids(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as connection:
            rows = connection.execute("select batch_id from batches").fetchall()
    except sqlite3.OperationalError:  # the tables are not made yet
        return []
    return [row[0] for row in rows if row[0]]


@pytest.fixture
def expiring(simulator: BatchSimulator) -> BatchSimulator:
    """Batches that answer nothing and expire after 0.3 s."""
    simulator.batches.config.paused = True
    simulator.batches.config.completion_window_seconds = 0.3
    return simulator


def test_requests_no_batch_answers_are_dead_lettered_with_the_reason(
    workdir: Path, expiring: BatchSimulator
) -> None:
    simulator = expiring
    code, output = run_openai(simulator, "--batch", "--max-attempts", "2")
    assert code == 1, output
    letters = CliRunner().invoke(app, ["dlq", "list", "--json"])
    reasons = [json.loads(line)["reason"] for line in letters.output.splitlines()]
    assert len(reasons) == 2
    assert all("gave up after 2 tries: batch request failed: batch_expired" in r for r in reasons)
    # Each try went into a batch of its own: the second after the first expired.
    assert len(simulator.batches.batches) == 2


def test_with_the_realtime_fallback_what_batches_miss_is_answered_at_once(
    workdir: Path, expiring: BatchSimulator
) -> None:
    simulator = expiring
    code, output = run_openai(simulator, "--batch", "--batch-fallback", "realtime")
    assert code == 0, output
    records = results()
    assert sorted(records) == ["T1", "T2"]
    # Asked in real time: the real-time provider's name, not the batch one's.
    assert all(str(record["provider"]).startswith("openai:") for record in records.values())
    assert simulator.batches.executed == 0
