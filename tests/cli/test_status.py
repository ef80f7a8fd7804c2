"""`supporter status`: per stage, what waits on the broker and what live workers hold."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import require_service
from typer.testing import CliRunner

from supporter.brokers.redis import RedisStreamsBroker
from supporter.cli.app import app
from supporter.store.base import WorkerBeat
from supporter.store.sql import SqlStore, sqlite_url
from supporter.store.workers import SqlWorkerRegistry

REDIS = "redis://127.0.0.1:6379/0"
runner = CliRunner()


def beat(
    worker: str, stage: str, in_flight: int, oldest: float | None, seen: datetime
) -> WorkerBeat:
    return WorkerBeat(
        worker_id=worker,
        stage=stage,
        host="h",
        pid=1,
        started_at=seen - timedelta(minutes=5),
        seen_at=seen,
        in_flight=in_flight,
        oldest_in_flight_seconds=oldest,
        consumed=10,
        succeeded=8,
        retried=1,
        dead_lettered=1,
    )


async def prepare(db: Path, prefix: str) -> None:
    store = await SqlStore.open(sqlite_url(db))
    registry = SqlWorkerRegistry(store.engine)
    now = datetime.now(UTC)
    await registry.beat(beat("a1", "analyze", 3, 2.5, now))
    await registry.beat(beat("a2", "analyze", 1, 7.25, now))
    await registry.beat(beat("gone", "analyze", 5, 100.0, now - timedelta(minutes=2)))
    await registry.beat(beat("r1", "respond", 0, None, now))
    await store.close()
    broker = RedisStreamsBroker(REDIS, prefix=prefix)
    await broker.declare("tickets")
    for number in range(4):
        await broker.publish("tickets", b"{}", message_id=f"m{number}")
    await broker.close()


async def clean(prefix: str) -> None:
    broker = RedisStreamsBroker(REDIS, prefix=prefix)
    await broker.delete_keys()
    await broker.close()


def test_status_sums_what_live_workers_hold_per_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"status-{uuid.uuid4().hex[:8]}"
    monkeypatch.delenv("SUPPORTER_STORE_URL", raising=False)
    monkeypatch.setenv("SUPPORTER_DB", str(tmp_path / "s.db"))
    monkeypatch.setenv("SUPPORTER_BROKER_URL", REDIS)
    monkeypatch.setenv("SUPPORTER_BROKER_PREFIX", prefix)
    try:
        asyncio.run(prepare(tmp_path / "s.db", prefix))
        result = runner.invoke(app, ["status", "--json"])
        table = runner.invoke(app, ["status"], terminal_width=200)
    finally:
        asyncio.run(clean(prefix))
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    rows = {row["stage"]: row for row in found["queues"]}
    assert rows["analyze"] | {} == {
        "stage": "analyze",
        "queue": "tickets",
        "waiting": 4,
        "workers": 2,  # the one not seen for two minutes is not counted
        "in_flight": 4,
        "oldest_in_flight_seconds": 7.2,
        "done": 16,
        "retried": 2,
        "dead_lettered": 2,
        "dead_letters_waiting": 0,
    }
    assert (rows["respond"]["workers"], rows["respond"]["in_flight"]) == (1, 0)
    assert rows["respond"]["oldest_in_flight_seconds"] is None
    assert (rows["sink"]["workers"], rows["sink"]["waiting"]) == (0, 0)
    assert sorted(worker["worker_id"] for worker in found["workers"]) == ["a1", "a2", "r1"]
    assert table.exit_code == 0, table.output
    assert "oldest s" in table.output
    assert "7.2" in table.output


def test_a_broker_out_of_reach_is_said_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUPPORTER_STORE_URL", raising=False)
    monkeypatch.setenv("SUPPORTER_DB", str(tmp_path / "s.db"))
    monkeypatch.setenv("SUPPORTER_BROKER_URL", "redis://127.0.0.1:1/0")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1
    assert "error: the broker cannot be reached" in result.output
    assert "Traceback" not in result.output
