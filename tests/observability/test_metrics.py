"""The metrics port against a real pipeline in one process, scraped over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.llm.test_openai import analysis_request, reply_request
from tests.pipeline.fakes import FlakyProvider
from tests.pipeline.test_orchestrator import FAST_RETRIES, run_once, write_tickets

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.base import BrokerError, dead_letter_queue
from supporter.brokers.memory import MemoryBroker
from supporter.domain.errors import PermanentError, TransientError
from supporter.domain.models import Usage
from supporter.llm.openai import OpenAIProvider
from supporter.llm.ratelimit import RateLimiter
from supporter.observability.metrics import Metrics
from supporter.observability.server import MetricsServer
from supporter.pipeline.orchestrator import QUEUES, Pipeline, PipelineOptions
from supporter.pipeline.stages import TICKETS
from supporter.pipeline.stats import RunStats
from supporter.sinks.jsonl import JsonlResultSink
from supporter.sources.csv import CsvTicketSource
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.fake_llm import FakeLLM
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
    assert value(samples, "supporter_stage_messages_parked_total", stage="analyze") == 0
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
        assert not any(name == "supporter_queue_oldest_age_seconds" for name, _ in samples)


async def test_the_oldest_waiting_message_age_is_asked_of_the_broker(store: SqlStore) -> None:
    broker = MemoryBroker()
    for queue in QUEUES:
        await broker.declare(queue)
    async with server_for(Metrics(RunStats(), STAGES), broker, store) as server:
        samples = await scrape(server)
        oldest = "supporter_queue_oldest_age_seconds"
        assert (oldest, frozenset({("queue", TICKETS)})) in samples
        assert value(samples, oldest, queue=TICKETS) == 0  # nothing waits: 0, not absent
        published = asyncio.get_running_loop().time()
        await broker.publish(TICKETS, b"{}", message_id="m1")
        await asyncio.sleep(0.3)
        await broker.publish(TICKETS, b"{}", message_id="m2")
        samples = await scrape(server)
        waited = asyncio.get_running_loop().time() - published
        assert 0.3 <= value(samples, oldest, queue=TICKETS) <= waited
        assert value(samples, oldest, queue=dead_letter_queue(TICKETS)) == 0
        assert value(samples, "supporter_queue_depth", queue=TICKETS) == 2
        async with broker.consume(TICKETS, prefetch=2) as deliveries:
            for _ in range(2):
                await (await anext(deliveries)).ack()
        samples = await scrape(server)
        assert value(samples, oldest, queue=TICKETS) == 0
    await broker.close()


# --------------------------------------------------------------------------- model calls


def observed_provider(base_url: str, metrics: Metrics, **overrides: Any) -> OpenAIProvider:
    arguments: dict[str, Any] = {
        "api_key": "sk-test",
        "base_url": base_url,
        "limiter": RateLimiter(rpm=None, tpm=None, concurrency=16),
        # Long enough that a busy machine never turns an answered call into a timeout
        # (the server would count its 503, the client a timeout); the timeout tests
        # pass their own.
        "request_timeout": 60.0,
        "observer": metrics,
        **overrides,
    }
    return OpenAIProvider("gpt-4o", **arguments)


def rendered(metrics: Metrics) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
    }


MODEL = {"provider": "openai", "model": "gpt-4o"}


async def test_model_calls_are_counted_by_outcome_with_tokens_and_cost(
    llm: tuple[FakeLLM, str],
) -> None:
    fake, base_url = llm
    fake.config.error_rates = {429: 0.3, 503: 0.2}
    fake.config.rpm = 100_000  # only for the x-ratelimit-* headers: never reached
    metrics = Metrics(RunStats(), STAGES)
    provider = observed_provider(base_url, metrics)
    requests = [analysis_request(f"Charged twice, order {n}.") for n in range(16)]
    # At once, so that no 429's Retry-After holds the rest back.
    answers = await asyncio.gather(
        *(provider.analyze(request) for request in requests), return_exceptions=True
    )
    await provider.aclose()
    samples = rendered(metrics)

    answered = [answer for answer in answers if not isinstance(answer, BaseException)]
    requests_total = "supporter_model_requests_total"
    assert value(samples, requests_total, **MODEL, outcome="ok") == len(answered)
    assert value(samples, requests_total, **MODEL, outcome="rate_limited") == fake.outcomes["429"]
    assert value(samples, requests_total, **MODEL, outcome="server_error") == fake.outcomes["503"]
    assert fake.outcomes["429"] > 0
    assert fake.outcomes["503"] > 0
    assert len(answered) == fake.outcomes["ok"] > 0
    assert sum(v for (name, _), v in samples.items() if name == requests_total) == 16
    assert value(samples, "supporter_model_request_seconds_count", **MODEL) == 16
    assert value(samples, "supporter_model_request_seconds_sum", **MODEL) > 0

    spent = sum((answer.usage for answer in answered), Usage())
    assert spent == provider.spent
    tokens = "supporter_model_tokens_total"
    assert value(samples, tokens, **MODEL, kind="prompt") == spent.prompt_tokens > 0
    assert value(samples, tokens, **MODEL, kind="cached") == spent.cached_tokens
    assert value(samples, tokens, **MODEL, kind="completion") == spent.completion_tokens > 0
    assert value(samples, tokens, **MODEL, kind="reasoning") == spent.reasoning_tokens
    assert value(samples, tokens, **MODEL, kind="cache_write") == spent.cache_write_tokens
    cost = value(samples, "supporter_model_cost_usd_total", **MODEL)
    assert cost == pytest.approx(float(spent.cost_usd))
    assert cost > 0
    left = value(samples, "supporter_model_ratelimit_remaining", **MODEL, kind="requests")
    assert 0 < left <= 100_000
    label_values = {label for _, labels in samples for _, label in labels}
    assert "T-1" not in label_values
    assert "C-1" not in label_values


@pytest.mark.parametrize(
    ("setting", "outcome", "billed"),
    [
        ("malformed_rate", "invalid", True),
        ("refusal_rate", "refused", True),
        ("timeout_rate", "timeout", False),
    ],
)
async def test_an_unusable_answer_or_a_hang_is_counted_by_its_kind(
    llm: tuple[FakeLLM, str], setting: str, outcome: str, billed: bool
) -> None:
    fake, base_url = llm
    setattr(fake.config, setting, 1.0)
    metrics = Metrics(RunStats(), STAGES)
    provider = observed_provider(base_url, metrics, request_timeout=0.3)
    with pytest.raises((TransientError, PermanentError)):
        await provider.draft_reply(reply_request("Charged twice."))
    await provider.aclose()
    samples = rendered(metrics)

    requests_total = "supporter_model_requests_total"
    assert value(samples, requests_total, **MODEL, outcome=outcome) == 1
    assert sum(v for (name, _), v in samples.items() if name == requests_total) == 1
    prompt = value(samples, "supporter_model_tokens_total", **MODEL, kind="prompt")
    assert prompt == provider.spent.prompt_tokens
    assert (prompt > 0) is billed
    cost = value(samples, "supporter_model_cost_usd_total", **MODEL)
    assert cost == pytest.approx(float(provider.spent.cost_usd))
    if outcome == "timeout":
        assert value(samples, "supporter_model_request_seconds_sum", **MODEL) >= 0.3


async def test_no_call_is_counted_when_the_deadline_ends_the_wait_for_a_slot(
    llm: tuple[FakeLLM, str],
) -> None:
    _, base_url = llm
    limiter = RateLimiter(rpm=None, tpm=None, concurrency=1)
    limiter.pause_for(10)
    metrics = Metrics(RunStats(), STAGES)
    provider = observed_provider(base_url, metrics, limiter=limiter, deadline=0.2)
    with pytest.raises(TransientError, match="deadline exceeded"):
        await provider.analyze(analysis_request("Charged twice."))
    await provider.aclose()
    samples = rendered(metrics)
    assert not any(name == "supporter_model_requests_total" for name, _ in samples)


async def test_a_call_cut_off_by_the_deadline_is_counted_as_a_timeout(
    llm: tuple[FakeLLM, str],
) -> None:
    fake, base_url = llm
    fake.config.timeout_rate = 1.0
    metrics = Metrics(RunStats(), STAGES)
    provider = observed_provider(base_url, metrics, request_timeout=10.0, deadline=0.3)
    with pytest.raises(TransientError, match="deadline exceeded"):
        await provider.analyze(analysis_request("Charged twice."))
    await provider.aclose()
    samples = rendered(metrics)
    assert value(samples, "supporter_model_requests_total", **MODEL, outcome="timeout") == 1
    assert value(samples, "supporter_model_request_seconds_count", **MODEL) == 1


def test_dead_letter_series_exist_at_zero_before_the_first_dead_letter() -> None:
    # A series born at 1 would hide its first dead letter from increase() and the alert.
    stats = RunStats()
    metrics = Metrics(stats, STAGES)
    samples = rendered(metrics)
    name = "supporter_stage_messages_dead_lettered_total"
    for stage in STAGES:
        for reason in ("invalid", "permanent", "retries_exhausted"):
            assert (name, frozenset({"stage": stage, "reason": reason}.items())) in samples
            assert value(samples, name, stage=stage, reason=reason) == 0
    stats.stage("analyze").dead_letter_causes["permanent"] += 1
    assert value(rendered(metrics), name, stage="analyze", reason="permanent") == 1


def test_messages_parked_during_an_outage_are_counted_by_stage() -> None:
    stats = RunStats()
    stats.stage("write-back").parked = 3
    samples = rendered(Metrics(stats, (*STAGES, "write-back")))
    assert value(samples, "supporter_stage_messages_parked_total", stage="write-back") == 3
    assert value(samples, "supporter_stage_messages_parked_total", stage="analyze") == 0
