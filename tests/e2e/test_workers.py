"""`supporter ingest` and `supporter worker analyze|respond|sink` as separate processes
on a real broker: every open ticket ends with exactly one stored result."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.e2e.processes import (
    BROKERS,
    Processes,
    clean,
    connect,
    ingest_arguments,
    sample_with_open_ids,
    stored,
    stored_in,
)

from supporter.pipeline.stages import TICKETS


@pytest.fixture
def environment(kind: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    prefix = f"e2e-{uuid.uuid4().hex[:10]}"
    yield {
        **os.environ,
        "SUPPORTER_BROKER_URL": BROKERS[kind][0],
        "SUPPORTER_BROKER_PREFIX": prefix,
        "SUPPORTER_DB": str(tmp_path / "shared.db"),
    }
    clean(kind, prefix)


def wait_until(done: Callable[[], bool], seconds: float, step: float = 0.2) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(step)


def test_stages_as_separate_processes_store_every_ticket_once(
    tmp_path: Path, environment: dict[str, str], store_url: str
) -> None:
    """The issue's flow: transactions loaded into a PostgreSQL store, tickets ingested
    without them, the analyze workers look each window up; the answers are the ones a
    one-process `supporter run` gives."""
    data, open_ids = sample_with_open_ids(tmp_path, 300)
    processes = Processes(tmp_path, {**environment, "SUPPORTER_STORE_URL": store_url})
    out = tmp_path / "results.jsonl"
    try:
        load = processes.run("transactions", "load", str(data / "transactions.csv"))
        assert load.returncode == 0, load.stderr.decode()[-2000:]
        workers = [
            processes.start("worker", "analyze"),
            processes.start("worker", "analyze"),
            processes.start("worker", "respond"),
            processes.start("worker", "sink", "--out", str(out)),
        ]
        rejects = tmp_path / "rejects.jsonl"
        ingest = processes.run(*ingest_arguments(data, rejects, transactions=False))
        assert ingest.returncode == 0, ingest.stderr.decode()[-2000:]
        wait_until(lambda: stored_in(store_url) >= len(open_ids), 120)
        assert processes.stop(*workers) == [0, 0, 0, 0], processes.logs()
        assert stored_in(store_url) == len(open_ids)
        status = processes.run("status", "--json", timeout=60)
    finally:
        processes.kill_all()
    assert status.returncode == 0, status.stderr.decode()
    found = json.loads(status.stdout)
    assert found["store"]["responded"] == len(open_ids)
    assert found["store"]["dead_letters"] == 0
    assert [(q["stage"], q["waiting"], q["workers"]) for q in found["queues"]] == [
        ("analyze", 0, 0),  # stopped workers leave no heartbeat behind
        ("respond", 0, 0),
        ("sink", 0, 0),
    ]
    records = sorted(out.read_text().splitlines())
    assert [json.loads(line)["ticket_id"] for line in records] == sorted(open_ids)
    one_process = tmp_path / "one-process.jsonl"
    run = Processes(
        tmp_path, {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTER_")}
    ).run(
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
    )
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert records == sorted(one_process.read_text().splitlines())


def test_stages_on_a_shared_sqlite_file_with_windows_attached_at_ingest(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    data, open_ids = sample_with_open_ids(tmp_path, 300)
    processes = Processes(tmp_path, environment)
    out = tmp_path / "results.jsonl"
    db = Path(environment["SUPPORTER_DB"])
    rejects = tmp_path / "rejects.jsonl"
    try:
        processes.start("worker", "analyze")
        processes.start("worker", "respond")
        processes.start("worker", "sink", "--out", str(out))
        ingest = processes.run(*ingest_arguments(data, rejects))
        assert ingest.returncode == 0, ingest.stderr.decode()[-2000:]
        wait_until(lambda: stored(db) >= len(open_ids), 120)
    finally:
        codes = processes.stop()
    assert codes == [0, 0, 0], processes.logs()
    assert stored(db) == len(open_ids)
    lines = [json.loads(line)["ticket_id"] for line in out.read_text().splitlines()]
    assert sorted(lines) == sorted(open_ids)

    # Publishing the same input again publishes nothing: every ticket is done.
    again = processes.run(*ingest_arguments(data, rejects))
    assert again.returncode == 0
    assert re.search(r"published now\s*│\s*0\b", again.stderr.decode()), again.stderr.decode()


def test_a_killed_analyze_worker_loses_and_duplicates_nothing(tmp_path: Path, kind: str) -> None:
    prefix = f"e2e-kill-{uuid.uuid4().hex[:8]}"
    processes = Processes(
        tmp_path,
        {
            **os.environ,
            "SUPPORTER_BROKER_URL": BROKERS[kind][0],
            "SUPPORTER_BROKER_PREFIX": prefix,
            "SUPPORTER_DB": str(tmp_path / "shared.db"),
            "SUPPORTER_QUEUE_SIZE": "64",
            # Redis hands a dead consumer's messages to another only after this idle time.
            "SUPPORTER_BROKER_CLAIM_IDLE": "3",
        },
    )
    data, open_ids = sample_with_open_ids(tmp_path, 2800)
    assert len(open_ids) >= 1900
    out = tmp_path / "results.jsonl"
    db = tmp_path / "shared.db"
    victim = processes.start("worker", "analyze", "--concurrency", "16")
    others = [
        processes.start("worker", "respond"),
        processes.start("worker", "sink", "--out", str(out)),
    ]
    ingest = processes.start(*ingest_arguments(data, tmp_path / "rejects.jsonl"))
    try:
        wait_until(lambda: stored(db) >= 300, 120, step=0.05)
        assert stored(db) < len(open_ids), "finished before the kill: nothing was tested"
        victim.kill()
        victim.wait(timeout=30)
        others.append(processes.start("worker", "analyze"))
        assert ingest.wait(timeout=180) == 0
        wait_until(lambda: stored(db) >= len(open_ids), 180)
        time.sleep(1.0)  # let a late duplicate, if any, reach the sink
        codes = processes.stop(*others)
    finally:
        processes.kill_all()
        clean(kind, prefix)
    assert codes == [0, 0, 0], processes.logs()
    assert stored(db) == len(open_ids)
    lines = [json.loads(line)["ticket_id"] for line in out.read_text().splitlines()]
    assert len(lines) == len(set(lines)), "a ticket got two output lines"
    assert set(lines) == open_ids


def waiting(kind: str, prefix: str) -> int:
    """Messages waiting in the tickets queue under `prefix`."""

    async def depth() -> int:
        broker = connect(kind, BROKERS[kind][0], prefix)
        try:
            await broker.declare(TICKETS)  # as ingest does: it may not have yet
            return await broker.depth(TICKETS)
        finally:
            await broker.close()

    return asyncio.run(depth())


@pytest.mark.slow
def test_ingest_with_no_consumer_stops_on_the_first_sigterm(
    tmp_path: Path, kind: str, environment: dict[str, str]
) -> None:
    """The issue's case: the queue is full, nobody drains it, intake waits for room.
    One SIGTERM ends it within the shutdown timeout, as interrupted, with what was
    published counted."""
    data, _ = sample_with_open_ids(tmp_path, 200)
    processes = Processes(
        tmp_path,
        {**environment, "SUPPORTER_QUEUE_SIZE": "5", "SUPPORTER_SHUTDOWN_TIMEOUT": "1"},
    )
    prefix = environment["SUPPORTER_BROKER_PREFIX"]
    ingest = processes.start(*ingest_arguments(data, tmp_path / "rejects.jsonl"))
    try:
        wait_until(lambda: ingest.poll() is not None or waiting(kind, prefix) >= 5, 60)
        time.sleep(0.5)
        assert ingest.poll() is None, processes.logs()
        ingest.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        code = ingest.wait(timeout=60)
        took = time.monotonic() - stopped
    finally:
        processes.kill_all()
    assert code == 130, processes.logs()
    assert took < 1 + 5, processes.logs()
    assert re.search(r"published now\s*│\s*5\b", processes.logs()), processes.logs()
    assert waiting(kind, prefix) == 5
