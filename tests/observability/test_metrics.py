"""The metrics port against a real pipeline in one process, scraped over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.pipeline.fakes import FlakyProvider
from tests.pipeline.test_orchestrator import FAST_RETRIES, run_once, write_tickets

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.base import BrokerError, dead_letter_queue
from supporter.brokers.memory import MemoryBroker
from supporter.domain.errors import PermanentError, TransientError
from supporter.observability.metrics import Metrics
from supporter.observability.server import MetricsServer
from supporter.pipeline.orchestrator import QUEUES, Pipeline, PipelineOptions
from supporter.pipeline.stages import TICKETS
from supporter.pipeline.stats import RunStats
from supporter.sinks.jsonl import JsonlResultSink
from supporter.sources.csv import CsvTicketSource
from supporter.store.sql import SqlStore, sqlite_url
from supporter.transactions.sqlite import SqliteTransactionIndex

STAGES = ("analyze", "respond", "sink")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    store = await SqlStore.open(sqlite_url(tmp_path / "run.db"))
    yield store
    await store.close()


def server_for(
    metrics: Metrics, broker: MemoryBroker, store: SqlStore, *, timeout: float = 2.0
) -> MetricsServer:
    async def broker_answers() -> None:
        await broker.depth(TICKETS)

    return MetricsServer(
        metrics,
        broker,
        [*QUEUES, *(dead_letter_queue(queue) for queue in QUEUES)],
        {"broker": broker_answers, "store": store.ping},
        port=0,
        host="127.0.0.1",
        timeout=timeout,
    )


async def get(server: MetricsServer, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}{path}") as response,
    ):
        return response.status, await response.text()


async def scrape(server: MetricsServer) -> Samples:
    status, text = await get(server, "/metrics")
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_counters_match_what_the_run_did(tmp_path: Path, store: SqlStore) -> None:
    # T0001 is refused (permanent: dead-lettered at once), T0002 times out once.
    def error(ticket_id: str) -> Exception:
        if ticket_id == "T0001":
            return PermanentError("model refused")
        return TransientError("timeout")

    provider = FlakyProvider({"T0001": 1, "T0002": 1}, error)
    tickets = write_tickets(tmp_path / "t.csv", 10)
    broker = MemoryBroker(maxsize=16)
    stats = RunStats()
    options = PipelineOptions(policy=FAST_RETRIES, shutdown_timeout=5)
    sink = JsonlResultSink(tmp_path / "results.jsonl")
    pipeline = Pipeline(broker, store, provider, DEFAULT_TAXONOMY, [sink], options, stats)
    metrics = Metrics(stats, STAGES, breakers=pipeline.breakers)
    index = SqliteTransactionIndex()
    scrapes_during_run = 0

    async def scrape_while_running() -> None:
        nonlocal scrapes_during_run
        while True:
            await scrape(server)
            scrapes_during_run += 1
            await asyncio.sleep(0.01)

    async with server_for(metrics, broker, store) as server:
        scraper = asyncio.create_task(scrape_while_running())
        try:
            report = await pipeline.run(CsvTicketSource(tickets), index, lambda reject: None)
        finally:
            scraper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scraper
            index.close()
            sink.close()
        samples = await scrape(server)
    await broker.close()

    assert report.stats.responded == 9
    assert scrapes_during_run > 0
    consumed = "supporter_stage_messages_consumed_total"
    assert value(samples, consumed, stage="analyze") == 11  # 10 tickets and one retry
    assert value(samples, consumed, stage="respond") == 9
    assert value(samples, consumed, stage="sink") == 10  # 9 replies and one dead letter
    assert value(samples, "supporter_stage_messages_succeeded_total", stage="analyze") == 9
    assert value(samples, "supporter_stage_messages_succeeded_total", stage="sink") == 10
    assert value(samples, "supporter_stage_messages_retried_total", stage="analyze") == 1
    assert value(samples, "supporter_stage_messages_retried_total", stage="respond") == 0
    dead = "supporter_stage_messages_dead_lettered_total"
    assert value(samples, dead, stage="analyze", reason="permanent") == 1
    assert sum(v for (name, _), v in samples.items() if name == dead) == 1
    for stage in STAGES:
        assert value(samples, "supporter_stage_in_flight", stage=stage) == 0
    assert value(samples, "supporter_stage_processing_seconds_count", stage="analyze") == 11
    assert value(samples, "supporter_stage_processing_seconds_count", stage="sink") == 10
    assert value(samples, "supporter_stage_processing_seconds_sum", stage="respond") > 0

    tickets_by_status: dict[str, float] = {}
    for (name, labels), count in samples.items():
        if name == "supporter_tickets_total":
            status = dict(labels)["status"]
            tickets_by_status[status] = tickets_by_status.get(status, 0) + count
    assert tickets_by_status == {"responded": 9, "failed": 1}
    failed = value(
        samples, "supporter_tickets_total", status="failed", category="none", priority="none"
    )
    assert failed == 1
    label_values = {label for _, labels in samples for _, label in labels}
    assert not any(re.fullmatch(r"T\d{4}|C\d", label) for label in label_values)
    assert value(samples, "supporter_tickets_needs_human_total") == stats.needs_human
    assert value(samples, "supporter_tickets_grounding_failed_total") == stats.grounding_failed
    assert value(samples, "supporter_queue_depth", queue=TICKETS) == 0
    assert value(samples, "supporter_circuit_state", stage="analyze", state="closed") == 1
    assert value(samples, "supporter_circuit_state", stage="analyze", state="open") == 0


async def test_a_ticket_that_keeps_failing_is_counted_as_retries_exhausted(
    tmp_path: Path, store: SqlStore
) -> None:
    provider = FlakyProvider({"T0000": 99}, lambda ticket_id: TransientError("HTTP 503"))
    report, _ = await run_once(tmp_path, store, provider, write_tickets(tmp_path / "t.csv", 3))
    metrics = Metrics(report.stats, STAGES)
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
    }
    dead = "supporter_stage_messages_dead_lettered_total"
    assert value(samples, dead, stage="analyze", reason="retries_exhausted") == 1
    assert value(samples, "supporter_stage_messages_retried_total", stage="analyze") == 2
    assert (
        value(samples, "supporter_tickets_total", status="failed", category="none", priority="none")
        == 1
    )


async def test_two_pipelines_in_one_process_keep_their_own_metrics(store: SqlStore) -> None:
    first, second = RunStats(), RunStats()
    Metrics(first, STAGES).registry  # noqa: B018  (registering twice must not clash)
    metrics = Metrics(second, STAGES)
    first.stage("analyze").begin()
    text = metrics.render().decode()
    assert 'supporter_stage_messages_consumed_total{stage="analyze"} 0.0' in text


async def test_health_and_readiness(store: SqlStore) -> None:
    broker = MemoryBroker()
    await broker.declare(TICKETS)
    async with server_for(Metrics(RunStats(), STAGES), broker, store) as server:
        assert await get(server, "/healthz") == (200, "ok\n")
        assert await get(server, "/readyz") == (200, "ready\n")
        await store.close()
        status, text = await get(server, "/readyz")
        assert status == 503
        assert "store" in text
        assert await get(server, "/healthz") == (200, "ok\n")


class UnreachableBroker(MemoryBroker):
    def __init__(self, *, hang: bool = False) -> None:
        super().__init__()
        self._hang = hang

    async def depth(self, queue: str) -> int:
        if self._hang:
            await asyncio.sleep(10)
        raise BrokerError("connection refused")


@pytest.mark.parametrize(
    ("hang", "reason"), [(False, "broker: connection refused"), (True, "broker: no answer")]
)
async def test_not_ready_without_the_broker(store: SqlStore, hang: bool, reason: str) -> None:
    broker = UnreachableBroker(hang=hang)
    server = server_for(Metrics(RunStats(), STAGES), broker, store, timeout=0.2)
    async with server:
        status, text = await get(server, "/readyz")
        assert status == 503
        assert reason in text
        # The metrics still answer, without the depths the broker cannot tell.
        samples = await scrape(server)
        assert not any(name == "supporter_queue_depth" for name, _ in samples)
