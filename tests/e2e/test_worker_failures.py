"""Workers as separate processes on a real broker, meeting what goes wrong in
production: messages nobody can read, and connections to the broker and the database
cut in the middle of a run. Nothing is lost, nothing is done twice, no worker dies."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path

import asyncpg
from tests.conftest import start_tansu
from tests.e2e.processes import (
    BROKERS,
    Processes,
    clean,
    connect,
    ingest_arguments,
    sample_with_open_ids,
    stored_in,
)
from tests.proxy import TcpProxy

from supporter.domain.messages import TicketMessage, encode
from supporter.domain.models import Ticket
from supporter.testing.tansu import TansuServer, free_port


def results_in(store_url: str) -> dict[str, str]:
    async def query() -> dict[str, str]:
        connection = await asyncpg.connect(store_url)
        try:
            rows = await connection.fetch("SELECT ticket_id, status FROM results")
        finally:
            await connection.close()
        return {row["ticket_id"]: row["status"] for row in rows}

    return asyncio.run(query())


async def publish_poison_and_good(kind: str, url: str, prefix: str, good: int) -> None:
    broker = connect(kind, url, prefix)
    try:
        await broker.declare("tickets")
        await broker.publish("tickets", b"\x00not json at all", message_id="poison-bytes")
        wrong_version = {"kind": "ticket", "schema_version": 99, "ticket": {"ticket_id": "X"}}
        await broker.publish(
            "tickets", json.dumps(wrong_version).encode(), message_id="poison-version"
        )
        for number in range(good):
            ticket = Ticket(
                ticket_id=f"G{number}",
                customer_id="C1",
                subject="Refund",
                body="Please refund my last payment",
                status="open",
                created_at="2024-05-02T10:00:00Z",  # type: ignore[arg-type]
            )
            message = TicketMessage(ticket=ticket, transactions=[])
            await broker.publish("tickets", encode(message), message_id=message.message_id)
    finally:
        await broker.close()


def test_poison_messages_go_to_the_dead_letter_queue_and_the_workers_go_on(
    tmp_path: Path, kind: str, store_url: str
) -> None:
    url = BROKERS[kind][0]
    prefix = f"e2e-poison-{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ,
        "SUPPORTER_BROKER_URL": url,
        "SUPPORTER_BROKER_PREFIX": prefix,
        "SUPPORTER_STORE_URL": store_url,
    }
    processes = Processes(tmp_path, environment)
    workers = [
        processes.start("worker", "analyze"),
        processes.start("worker", "respond"),
        processes.start("worker", "sink"),
    ]
    try:
        asyncio.run(publish_poison_and_good(kind, url, prefix, good=20))
        deadline = time.monotonic() + 90
        while stored_in(store_url) < 22 and time.monotonic() < deadline:
            time.sleep(0.2)
        letters: list[dict[str, object]] = []
        while len(letters) < 2 and time.monotonic() < deadline:
            listed = processes.run("dlq", "list", "--json", timeout=60)
            assert listed.returncode == 0, listed.stderr.decode()
            letters = [json.loads(line) for line in listed.stdout.splitlines()]
            time.sleep(0.2)
        alive = [worker.poll() is None for worker in workers]
    finally:
        codes = processes.stop()
        clean(kind, prefix)
    assert alive == [True, True, True], processes.logs()
    assert codes == [0, 0, 0], processes.logs()
    # An unreadable message still gets its failed result, under a name of its own.
    results = results_in(store_url)
    assert {name: status for name, status in results.items() if name.startswith("G")} == {
        f"G{number}": "responded" for number in range(20)
    }
    unreadable = {name: status for name, status in results.items() if not name.startswith("G")}
    assert list(unreadable.values()) == ["failed", "failed"]
    assert all(name.startswith("unreadable:") for name in unreadable)
    assert len(letters) == 2
    for letter in letters:
        assert letter["stage"] == "analyze"
        assert letter["error_type"] == "InvalidMessage"
        assert str(letter["reason"]).startswith("invalid message")
        assert letter["ticket_id"] is None


def test_cut_connections_to_broker_and_database_lose_and_duplicate_nothing(
    tmp_path: Path, kind: str, store_url: str
) -> None:
    url, port = BROKERS[kind]
    kafka_server: TansuServer | None = None
    if kind == "kafka":
        # A Kafka client talks to the servers its bootstrap server advertises, so this
        # test's Tansu advertises the proxy: every process (ingest too) goes through it.
        port = free_port()
    prefix = f"e2e-cut-{uuid.uuid4().hex[:8]}"
    broker_proxy, database_proxy = TcpProxy("127.0.0.1", port), TcpProxy("127.0.0.1", 5432)
    broker_port, database_port = broker_proxy.start(), database_proxy.start()
    if kind == "kafka":
        kafka_server = TansuServer(port, advertised_port=broker_port)
        try:
            start_tansu(kafka_server)
        except BaseException:  # skipped (or failed): nothing else of the test ran
            broker_proxy.close()
            database_proxy.close()
            raise
        url = proxied_broker = kafka_server.url
    else:
        proxied_broker = (
            f"amqp://guest:guest@127.0.0.1:{broker_port}/?reconnect_interval=0.5"
            if kind == "rabbitmq"
            else f"redis://127.0.0.1:{broker_port}/0"
        )
    proxied_store = store_url.replace("127.0.0.1:5432", f"127.0.0.1:{database_port}")
    direct = {
        **os.environ,
        "SUPPORTER_BROKER_URL": url,
        "SUPPORTER_BROKER_PREFIX": prefix,
        "SUPPORTER_STORE_URL": store_url,
        "SUPPORTER_QUEUE_SIZE": "64",
    }
    through_proxies = {
        **direct,
        "SUPPORTER_BROKER_URL": proxied_broker,
        "SUPPORTER_STORE_URL": proxied_store,
        "SUPPORTER_BROKER_CLAIM_IDLE": "3",
    }
    data, open_ids = sample_with_open_ids(tmp_path, 1400)
    out = tmp_path / "results.jsonl"
    processes = Processes(tmp_path, through_proxies)
    workers = [
        processes.start("worker", "analyze"),
        processes.start("worker", "respond"),
        processes.start("worker", "sink", "--out", str(out)),
    ]
    cuts: list[tuple[int, int]] = []
    try:
        ingest = processes.start(
            *ingest_arguments(data, tmp_path / "rejects.jsonl"), environment=direct
        )
        deadline = time.monotonic() + 240
        for share in (0.2, 0.5):
            while stored_in(store_url) < share * len(open_ids) and time.monotonic() < deadline:
                time.sleep(0.05)
            cuts.append((broker_proxy.sever(), database_proxy.sever()))
        assert stored_in(store_url) < len(open_ids), "finished before the cuts: nothing tested"
        assert ingest.wait(timeout=240) == 0
        while stored_in(store_url) < len(open_ids) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # let a late duplicate, if any, reach the sink
        alive = [worker.poll() is None for worker in workers]
        codes = processes.stop(*workers)
    finally:
        processes.kill_all()  # ingest, when the test failed: it waits for room forever
        broker_proxy.close()
        database_proxy.close()
        if kafka_server is not None:
            kafka_server.stop()
        else:
            clean(kind, prefix)
    assert all(broker > 0 for broker, _ in cuts), cuts
    assert all(database > 0 for _, database in cuts), cuts
    assert alive == [True, True, True], processes.logs()
    assert codes == [0, 0, 0], processes.logs()
    assert stored_in(store_url) == len(open_ids)
    lines = [json.loads(line)["ticket_id"] for line in out.read_text().splitlines()]
    assert len(lines) == len(set(lines)), "a ticket got two output lines"
    assert set(lines) == open_ids


def test_workers_outlast_a_database_that_is_down_for_a_while(
    tmp_path: Path, store_url: str
) -> None:
    """A restart or failover of PostgreSQL refuses connections for seconds to minutes;
    the workers wait for it (a batch run gives up after about seven seconds)."""
    url, _ = BROKERS["redis"]
    prefix = f"e2e-down-{uuid.uuid4().hex[:8]}"
    database = TcpProxy("127.0.0.1", 5432)
    proxied_store = store_url.replace("127.0.0.1:5432", f"127.0.0.1:{database.start()}")
    direct = {
        **os.environ,
        "SUPPORTER_BROKER_URL": url,
        "SUPPORTER_BROKER_PREFIX": prefix,
        "SUPPORTER_STORE_URL": store_url,
    }
    data, open_ids = sample_with_open_ids(tmp_path, 600)
    processes = Processes(tmp_path, {**direct, "SUPPORTER_STORE_URL": proxied_store})
    workers = [processes.start("worker", stage) for stage in ("analyze", "respond", "sink")]
    try:
        ingest = processes.start(
            *ingest_arguments(data, tmp_path / "rejects.jsonl"), environment=direct
        )
        deadline = time.monotonic() + 240
        while stored_in(store_url) < 0.2 * len(open_ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        cut = database.go_down()
        time.sleep(15)  # twice what `supporter run` waits for its store
        database.come_up()
        assert stored_in(store_url) < len(open_ids), "finished before the outage: nothing tested"
        assert ingest.wait(timeout=240) == 0
        while stored_in(store_url) < len(open_ids) and time.monotonic() < deadline:
            time.sleep(0.2)
        alive = [worker.poll() is None for worker in workers]
        codes = processes.stop(*workers)
    finally:
        processes.kill_all()
        database.close()
        clean("redis", prefix)
    assert cut > 0
    assert alive == [True, True, True], processes.logs()
    assert codes == [0, 0, 0], processes.logs()
    assert stored_in(store_url) == len(open_ids)
