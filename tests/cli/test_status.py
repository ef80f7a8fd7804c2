"""`supporter status`: per stage, what waits on the broker and what live workers hold."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import require_service
from typer.testing import CliRunner

from supporter.brokers.rabbitmq import RabbitMQBroker
from supporter.brokers.redis import RedisStreamsBroker
from supporter.cli.app import app
from supporter.cli.ui import console
from supporter.store.base import WorkerBeat
from supporter.store.sql import SqlStore, sqlite_url
from supporter.store.workers import SqlWorkerRegistry

REDIS = "redis://127.0.0.1:6379/0"
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"
runner = CliRunner()


def beat(
    worker: str,
    stage: str,
    in_flight: int,
    oldest: float | None,
    seen: datetime,
    metrics_port: int | None = None,
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
        metrics_port=metrics_port,
    )


async def prepare(db: Path, prefix: str) -> None:
    store = await SqlStore.open(sqlite_url(db))
    registry = SqlWorkerRegistry(store.engine)
    now = datetime.now(UTC)
    await registry.beat(beat("a1", "analyze", 3, 2.5, now))
    await registry.beat(beat("a2", "analyze", 1, 7.25, now, metrics_port=9466))
    await registry.beat(beat("gone", "analyze", 5, 100.0, now - timedelta(minutes=2)))
    await registry.beat(beat("r1", "respond", 0, None, now))
    await store.close()
    broker = RedisStreamsBroker(REDIS, prefix=prefix)
    await broker.declare("tickets")
    for number in range(4):
        await broker.publish("tickets", b"{}", message_id=f"m{number}")
    await broker.close()


def use_broker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> str:
    """`supporter status` on the broker at `url` under a fresh prefix (returned), with
    a SQLite store in `tmp_path/s.db`."""
    prefix = f"status-{uuid.uuid4().hex[:8]}"
    monkeypatch.delenv("SUPPORTER_STORE_URL", raising=False)
    monkeypatch.setenv("SUPPORTER_DB", str(tmp_path / "s.db"))
    monkeypatch.setenv("SUPPORTER_BROKER_URL", url)
    monkeypatch.setenv("SUPPORTER_BROKER_PREFIX", prefix)
    return prefix


async def clean(prefix: str) -> None:
    broker = RedisStreamsBroker(REDIS, prefix=prefix)
    await broker.delete_keys()
    await broker.close()


def test_status_sums_what_live_workers_hold_per_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = use_broker(monkeypatch, tmp_path, REDIS)
    try:
        published = time.time()
        asyncio.run(prepare(tmp_path / "s.db", prefix))
        time.sleep(0.5)
        result = runner.invoke(app, ["status", "--json"])
        asked = time.time()
        narrow = runner.invoke(app, ["status"])
        monkeypatch.setattr(console, "width", 200)
        table = runner.invoke(app, ["status"], terminal_width=200)
    finally:
        asyncio.run(clean(prefix))
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    rows = {row["stage"]: row for row in found["queues"]}
    # The first of the 4 tickets published has waited since then (rounded to 0.1 s).
    oldest_waiting = rows["analyze"].pop("oldest_waiting_seconds")
    assert 0.45 <= oldest_waiting <= asked - published + 0.05
    assert rows["respond"]["oldest_waiting_seconds"] is None  # nothing waits there
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
    assert sorted((w["worker_id"], w["metrics_port"]) for w in found["workers"]) == [
        ("a1", None),
        ("a2", 9466),
        ("r1", None),
    ]
    assert "http://h:9466/metrics" in table.output
    assert table.output.count(" off") == 2  # the two workers that serve no metrics
    assert table.exit_code == 0, table.output
    # On 80 columns the titles wrap and every column stays, the last one too.
    assert narrow.exit_code == 0, narrow.output
    assert max(len(line) for line in narrow.output.splitlines()) <= 80
    assert "DLQ" in narrow.output
    assert "oldest s" in table.output
    assert "oldest waiting s" in table.output
    assert "7.2" in table.output
    analyze_line = next(
        line.strip() for line in table.output.splitlines() if line.strip().startswith("analyze")
    )
    waited = float(analyze_line.split()[2])  # stage, waiting, oldest waiting s, ...
    assert analyze_line.split()[1] == "4"
    assert oldest_waiting <= waited <= oldest_waiting + 30


async def fill_write_back(prefix: str) -> None:
    broker = RedisStreamsBroker(REDIS, prefix=prefix)
    await broker.declare("write-back")
    await broker.publish("write-back", b"{}", message_id="w1")
    await broker.close()


def test_status_shows_the_write_back_queue_only_when_the_pipeline_writes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = use_broker(monkeypatch, tmp_path, REDIS)
    try:
        asyncio.run(fill_write_back(prefix))
        without = runner.invoke(app, ["status", "--json"])
        monkeypatch.setenv("SUPPORTER_HELPDESK", "zendesk")
        monkeypatch.setenv("SUPPORTER_WRITE_BACK", "note")
        with_write_back = runner.invoke(app, ["status", "--json"])
    finally:
        asyncio.run(clean(prefix))
    assert without.exit_code == 0, without.output
    assert with_write_back.exit_code == 0, with_write_back.output
    stages = [row["stage"] for row in json.loads(without.output)["queues"]]
    assert stages == ["analyze", "respond", "sink"]
    rows = json.loads(with_write_back.output)["queues"]
    assert [row["stage"] for row in rows] == ["analyze", "respond", "sink", "write-back"]
    assert (rows[-1]["queue"], rows[-1]["waiting"]) == ("write-back", 1)


async def fill_rabbitmq(prefix: str) -> None:
    broker = RabbitMQBroker(RABBITMQ, prefix=prefix)
    await broker.declare("analyzed")
    await broker.publish("analyzed", b"{}", message_id="a1")
    await broker.publish("analyzed", b"{}", message_id="a2")
    await broker.close()


async def empty_rabbitmq(prefix: str) -> None:
    broker = RabbitMQBroker(RABBITMQ, prefix=prefix)
    for queue in ("tickets", "analyzed", "responded"):
        await broker.declare(queue)
        await broker.delete(queue)
    await broker.close()


def test_status_tells_how_long_the_oldest_message_waits_on_rabbitmq(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    prefix = use_broker(monkeypatch, tmp_path, RABBITMQ)
    try:
        published = time.time()
        asyncio.run(fill_rabbitmq(prefix))
        time.sleep(0.5)
        result = runner.invoke(app, ["status", "--json"])
        asked = time.time()
        monkeypatch.setattr(console, "width", 200)
        table = runner.invoke(app, ["status"], terminal_width=200)
    finally:
        asyncio.run(empty_rabbitmq(prefix))
    assert result.exit_code == 0, result.output
    rows = {row["stage"]: row for row in json.loads(result.output)["queues"]}
    assert rows["respond"]["waiting"] == 2
    assert 0.45 <= rows["respond"]["oldest_waiting_seconds"] <= asked - published + 0.05
    assert rows["analyze"]["oldest_waiting_seconds"] is None
    assert rows["sink"]["oldest_waiting_seconds"] is None
    assert table.exit_code == 0, table.output
    assert re.search(r"^ *respond +2 +\d+\.\d +0 +0 ", table.output, re.MULTILINE), table.output


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
