"""`supporter ingest` and `supporter worker analyze|respond|sink` as separate processes
on a real broker: every open ticket ends with exactly one stored result."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from tests.conftest import create_postgres_database, drop_postgres_database, require_service

from supporter.brokers.rabbitmq import RabbitMQBroker
from supporter.brokers.redis import RedisStreamsBroker
from supporter.pipeline.orchestrator import QUEUES

SUPPORTER = [sys.executable, "-m", "supporter"]
BROKERS = {
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672/", 5672),
    "redis": ("redis://127.0.0.1:6379/0", 6379),
}


async def _clean(kind: str, url: str, prefix: str) -> None:
    if kind == "rabbitmq":
        rabbit = RabbitMQBroker(url, prefix=prefix)
        for queue in QUEUES:
            await rabbit.delete(queue)
        await rabbit.close()
    else:
        redis = RedisStreamsBroker(url, prefix=prefix)
        await redis.delete_keys()
        await redis.close()


@pytest.fixture(params=sorted(BROKERS))
def environment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    url, port = BROKERS[request.param]
    require_service(request.param, "127.0.0.1", port)
    prefix = f"e2e-{uuid.uuid4().hex[:10]}"
    yield {
        **os.environ,
        "SUPPORTER_BROKER_URL": url,
        "SUPPORTER_BROKER_PREFIX": prefix,
        "SUPPORTER_DB": str(tmp_path / "shared.db"),
    }
    asyncio.run(_clean(request.param, url, prefix))


def stored(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM results").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def stored_in(store_url: str) -> int:
    async def count() -> int:
        connection = await asyncpg.connect(store_url)
        try:
            return int(await connection.fetchval("SELECT count(*) FROM results"))
        except asyncpg.UndefinedTableError:
            return 0
        finally:
            await connection.close()

    return asyncio.run(count())


def sample_with_open_ids(tmp_path: Path, tickets: int) -> tuple[Path, set[str]]:
    """Sample data written by the CLI, and the ids of its tickets that wait for an answer."""
    data = tmp_path / "data"
    subprocess.run(
        [*SUPPORTER, "sample-data", "--tickets", str(tickets), "--out", str(data)],
        check=True,
        capture_output=True,
    )
    with (data / "tickets.csv").open(encoding="utf-8", newline="") as file:
        open_ids = {
            row["ticket_id"]
            for row in csv.DictReader(file)
            if row["status"].strip().lower() in {"new", "open"}
        }
    return data, open_ids


def test_stages_as_separate_processes_store_every_ticket_once(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    """The issue's flow: transactions loaded into a PostgreSQL store, tickets ingested
    without them, the analyze workers look each window up; the answers are the ones a
    one-process `supporter run` gives."""
    data, open_ids = sample_with_open_ids(tmp_path, 300)
    store_url = asyncio.run(create_postgres_database())
    environment = {**environment, "SUPPORTER_STORE_URL": store_url}
    out = tmp_path / "results.jsonl"
    commands = [
        [*SUPPORTER, "worker", "analyze"],
        [*SUPPORTER, "worker", "analyze"],
        [*SUPPORTER, "worker", "respond"],
        [*SUPPORTER, "worker", "sink", "--out", str(out)],
    ]
    workers: list[subprocess.Popen[bytes]] = []
    try:
        load = subprocess.run(
            [*SUPPORTER, "transactions", "load", str(data / "transactions.csv")],
            env=environment,
            capture_output=True,
            timeout=120,
        )
        assert load.returncode == 0, load.stderr.decode()[-2000:]
        workers = [
            subprocess.Popen(
                command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for command in commands
        ]
        ingest = subprocess.run(
            [
                *SUPPORTER,
                "ingest",
                "--tickets",
                str(data / "tickets.csv"),
                "--rejects",
                str(tmp_path / "rejects.jsonl"),
            ],
            env=environment,
            capture_output=True,
            timeout=120,
        )
        assert ingest.returncode == 0, ingest.stderr.decode()[-2000:]
        deadline = time.monotonic() + 120
        while stored_in(store_url) < len(open_ids) and time.monotonic() < deadline:
            time.sleep(0.2)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(timeout=60) for worker in workers]
        assert codes == [0, 0, 0, 0], [
            w.stderr.read().decode()[-1500:] for w in workers if w.stderr
        ]
        assert stored_in(store_url) == len(open_ids)
        status = subprocess.run(
            [*SUPPORTER, "status", "--json"], env=environment, capture_output=True, timeout=60
        )
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        asyncio.run(drop_postgres_database(store_url))
    assert status.returncode == 0, status.stderr.decode()
    found = json.loads(status.stdout)
    assert found["store"]["responded"] == len(open_ids)
    assert found["store"]["dead_letters"] == 0
    assert [(q["stage"], q["waiting"]) for q in found["queues"]] == [
        ("analyze", 0),
        ("respond", 0),
        ("sink", 0),
    ]
    records = sorted(out.read_text().splitlines())
    assert [json.loads(line)["ticket_id"] for line in records] == sorted(open_ids)
    one_process = tmp_path / "one-process.jsonl"
    run = subprocess.run(
        [
            *SUPPORTER,
            "run",
            "--tickets",
            str(data / "tickets.csv"),
            "--transactions",
            str(data / "transactions.csv"),
            "--out",
            str(one_process),
            "--db",
            str(tmp_path / "one-process.db"),
            "--rejects",
            str(tmp_path / "rejects-run.jsonl"),
        ],
        env={k: v for k, v in os.environ.items() if not k.startswith("SUPPORTER_")},
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert records == sorted(one_process.read_text().splitlines())


def test_stages_on_a_shared_sqlite_file_with_windows_attached_at_ingest(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    data, open_ids = sample_with_open_ids(tmp_path, 300)
    out = tmp_path / "results.jsonl"
    commands = [
        [*SUPPORTER, "worker", "analyze"],
        [*SUPPORTER, "worker", "respond"],
        [*SUPPORTER, "worker", "sink", "--out", str(out)],
    ]
    workers = [
        subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for command in commands
    ]
    try:
        ingest = subprocess.run(
            [
                *SUPPORTER,
                "ingest",
                "--tickets",
                str(data / "tickets.csv"),
                "--transactions",
                str(data / "transactions.csv"),
                "--rejects",
                str(tmp_path / "rejects.jsonl"),
            ],
            env=environment,
            capture_output=True,
            timeout=120,
        )
        assert ingest.returncode == 0, ingest.stderr.decode()[-2000:]
        db = Path(environment["SUPPORTER_DB"])
        deadline = time.monotonic() + 120
        while stored(db) < len(open_ids) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(timeout=60) for worker in workers]
    assert codes == [0, 0, 0], [w.stderr.read().decode()[-1500:] for w in workers if w.stderr]
    assert stored(db) == len(open_ids)
    lines = [json.loads(line)["ticket_id"] for line in out.read_text().splitlines()]
    assert sorted(lines) == sorted(open_ids)

    # Publishing the same input again publishes nothing: every ticket is done.
    again = subprocess.run(
        [
            *SUPPORTER,
            "ingest",
            "--tickets",
            str(data / "tickets.csv"),
            "--transactions",
            str(data / "transactions.csv"),
            "--rejects",
            str(tmp_path / "rejects.jsonl"),
        ],
        env=environment,
        capture_output=True,
        timeout=120,
    )
    assert again.returncode == 0
    assert "processed now" in again.stderr.decode()


@pytest.mark.parametrize("kind", sorted(BROKERS))
def test_a_killed_analyze_worker_loses_and_duplicates_nothing(tmp_path: Path, kind: str) -> None:
    url, port = BROKERS[kind]
    require_service(kind, "127.0.0.1", port)
    prefix = f"e2e-kill-{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ,
        "SUPPORTER_BROKER_URL": url,
        "SUPPORTER_BROKER_PREFIX": prefix,
        "SUPPORTER_DB": str(tmp_path / "shared.db"),
        "SUPPORTER_QUEUE_SIZE": "64",
        # Redis hands a dead consumer's messages to another only after this idle time.
        "SUPPORTER_BROKER_CLAIM_IDLE": "3",
    }
    data, open_ids = sample_with_open_ids(tmp_path, 2800)
    assert len(open_ids) >= 1900
    out = tmp_path / "results.jsonl"
    db = tmp_path / "shared.db"

    def start(*command: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [*SUPPORTER, *command],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    victim = start("worker", "analyze", "--concurrency", "16")
    others = [start("worker", "respond"), start("worker", "sink", "--out", str(out))]
    ingest = start(
        "ingest",
        "--tickets",
        str(data / "tickets.csv"),
        "--transactions",
        str(data / "transactions.csv"),
        "--rejects",
        str(tmp_path / "rejects.jsonl"),
    )
    try:
        deadline = time.monotonic() + 120
        while stored(db) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored(db) < len(open_ids), "finished before the kill: nothing was tested"
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        others.append(start("worker", "analyze"))
        assert ingest.wait(timeout=180) == 0
        deadline = time.monotonic() + 180
        while stored(db) < len(open_ids) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # let a late duplicate, if any, reach the sink
    finally:
        for worker in others:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(timeout=60) for worker in others]
        asyncio.run(_clean(kind, url, prefix))
    assert codes == [0, 0, 0]
    assert stored(db) == len(open_ids)
    lines = [json.loads(line)["ticket_id"] for line in out.read_text().splitlines()]
    assert len(lines) == len(set(lines)), "a ticket got two output lines"
    assert set(lines) == open_ids
