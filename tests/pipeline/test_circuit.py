from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from tests.pipeline.fakes import FlakyProvider
from tests.pipeline.test_orchestrator import write_tickets

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.memory import MemoryBroker
from supporter.domain.errors import TransientError
from supporter.domain.models import Analysis
from supporter.llm.base import AnalysisRequest, ModelResponse
from supporter.llm.openai import OpenAIProvider
from supporter.llm.ratelimit import RateLimiter
from supporter.observability.readings import CircuitState
from supporter.pipeline.circuit import CircuitBreaker
from supporter.pipeline.orchestrator import Pipeline, PipelineOptions
from supporter.pipeline.retry import RetryPolicy
from supporter.sources.csv import CsvTicketSource
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.fake_llm import FakeLLM, FakeLLMConfig
from supporter.transactions.sqlite import SqliteTransactionIndex


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_opens_after_the_threshold_and_closes_after_a_good_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker("analyze", threshold=3, reset_after=10, clock=clock)
    for _ in range(2):
        # A failure says whether it left the circuit open (a parking worker spends no
        # try on one that did).
        assert await breaker.failure() is False
    assert breaker.state is CircuitState.CLOSED
    assert await breaker.failure() is True
    assert breaker.state is CircuitState.OPEN
    waiting = asyncio.ensure_future(breaker.admit())
    await asyncio.sleep(0.1)
    assert not waiting.done(), "admitted while the circuit is open"
    clock.now = 10.5
    await asyncio.wait_for(waiting, 2)
    assert breaker.state is CircuitState.HALF_OPEN
    second = asyncio.ensure_future(breaker.admit())
    await asyncio.sleep(0.1)
    assert not second.done(), "two trials at once"
    await breaker.success()
    await asyncio.wait_for(second, 2)
    assert breaker.state is CircuitState.CLOSED


async def test_closing_names_the_stage_and_blames_no_dependency(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stage's circuit opens for whatever it depends on (with the store down, the
    analyze stage's opens too): closing must not say the model provider came back."""
    clock = Clock()
    breaker = CircuitBreaker("analyze", threshold=1, reset_after=1, clock=clock)
    await breaker.failure()
    clock.now = 2
    await breaker.admit()
    caplog.clear()
    with caplog.at_level("WARNING", logger="supporter.pipeline.circuit"):
        await breaker.success()
    closed = [record.getMessage() for record in caplog.records]
    assert closed == ["circuit analyze closed: a trial message went through"]


async def test_a_failed_trial_opens_it_again() -> None:
    clock = Clock()
    breaker = CircuitBreaker("respond", threshold=1, reset_after=5, clock=clock)
    await breaker.failure()
    clock.now = 6
    await breaker.admit()
    assert await breaker.failure() is True
    assert breaker.state is CircuitState.OPEN
    assert not await _admitted_within(breaker, 0.1)


async def _admitted_within(breaker: CircuitBreaker, seconds: float) -> bool:
    try:
        await asyncio.wait_for(breaker.admit(), seconds)
    except TimeoutError:
        return False
    return True


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        CircuitBreaker("x", threshold=0)


class OutageProvider(FlakyProvider):
    """Every analyze call fails until `until` (monotonic time), then all succeed."""

    def __init__(self, until: float) -> None:
        super().__init__({}, TransientError)
        self.until = until
        self.failed_calls = 0

    async def analyze(self, request: AnalysisRequest) -> ModelResponse[Analysis]:
        if time.monotonic() < self.until:
            self.failed_calls += 1
            raise TransientError("HTTP 503")
        return await super().analyze(request)


async def run_through_outage(tmp_path: Path, *, threshold: int) -> tuple[OutageProvider, int]:
    """Returns the provider and how many tickets ended in the dead-letter queue."""
    tickets = write_tickets(tmp_path / "t.csv", 40)
    store = await SqlStore.open(sqlite_url(tmp_path / f"s{threshold}.db"))
    provider = OutageProvider(until=time.monotonic() + 0.6)
    options = PipelineOptions(
        policy=RetryPolicy(max_attempts=20, base_delay=0.01, max_delay=0.02),
        circuit_threshold=threshold,
        circuit_reset_after=0.2,
    )
    pipeline = Pipeline(MemoryBroker(), store, provider, DEFAULT_TAXONOMY, [], options)
    index = SqliteTransactionIndex()
    try:
        report = await pipeline.run(CsvTicketSource(tickets), index, lambda reject: None)
    finally:
        index.close()
        await store.close()
    assert report.stats.finalized == 40
    return provider, report.stats.failed


async def test_an_open_circuit_stops_hammering_a_failing_provider(tmp_path: Path) -> None:
    guarded, guarded_failed = await run_through_outage(tmp_path, threshold=3)
    unguarded, _ = await run_through_outage(tmp_path, threshold=10_000)
    assert guarded_failed == 0, "an outage burnt tickets into the dead-letter queue"
    # Open: a trial every 0.2 s over 0.6 s, plus what was in flight when it opened.
    assert guarded.failed_calls <= 3 + 8 + 4
    assert unguarded.failed_calls > 3 * guarded.failed_calls


async def test_a_provider_answering_out_of_schema_is_not_down(tmp_path: Path) -> None:
    """Every answer is malformed: each ticket uses its tries at the normal pace and is
    dead-lettered; the circuit never opens (it would hold the run back for a minute)."""
    tickets = write_tickets(tmp_path / "t.csv", 9)
    store = await SqlStore.open(sqlite_url(tmp_path / "s.db"))
    server = FakeLLM(FakeLLMConfig(latency_ms=1, latency_jitter=0, malformed_rate=1.0, seed=3))
    options = PipelineOptions(
        policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02),
        circuit_threshold=2,
        circuit_reset_after=60,
    )
    index = SqliteTransactionIndex()
    try:
        async with server as base_url:
            provider = OpenAIProvider(
                "gpt-4o",
                api_key="sk-test",
                base_url=base_url,
                limiter=RateLimiter(rpm=None, tpm=None, concurrency=4),
            )
            pipeline = Pipeline(MemoryBroker(), store, provider, DEFAULT_TAXONOMY, [], options)
            try:
                run = pipeline.run(CsvTicketSource(tickets), index, lambda reject: None)
                report = await asyncio.wait_for(run, 20)
            finally:
                await provider.aclose()
    finally:
        index.close()
        await store.close()
    assert report.stats.failed == 9
    assert server.outcomes["malformed"] == 9 * 3
    assert pipeline.breakers["analyze"].state is CircuitState.CLOSED


async def test_a_bug_in_a_trial_lets_the_next_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker("analyze", threshold=1, reset_after=5, clock=clock)
    await breaker.failure()
    clock.now = 6
    await breaker.admit()
    assert not await _admitted_within(breaker, 0.1), "two trials at once"
    await breaker.inconclusive()
    assert breaker.state is CircuitState.HALF_OPEN
    assert await _admitted_within(breaker, 1)
