"""The whole pipeline on the real brokers: retries through delayed publishes, dead
letters through the stage's dead-letter queue, results stored once."""

from __future__ import annotations

from pathlib import Path

from tests.pipeline.fakes import FlakyProvider
from tests.pipeline.test_orchestrator import write_tickets

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.base import Broker
from supporter.domain.errors import PermanentError, TransientError
from supporter.pipeline.orchestrator import Pipeline, PipelineOptions
from supporter.pipeline.retry import RetryPolicy
from supporter.sources.csv import CsvTicketSource
from supporter.store.sql import SqlStore, sqlite_url
from supporter.transactions.sqlite import SqliteTransactionIndex


async def test_retries_and_dead_letters_work_the_same_on_a_real_broker(
    tmp_path: Path, real_broker: Broker
) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 30)
    provider = FlakyProvider(
        {"T0003": 2, "T0007": 99},
        lambda tid: PermanentError("model refused") if tid == "T0007" else TransientError("503"),
    )
    store = await SqlStore.open(sqlite_url(tmp_path / "run.db"))
    options = PipelineOptions(
        policy=RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1),
        analyze_concurrency=4,
        respond_concurrency=4,
        output_batch_size=16,
    )
    pipeline = Pipeline(real_broker, store, provider, DEFAULT_TAXONOMY, [], options)
    index = SqliteTransactionIndex()
    try:
        report = await pipeline.run(CsvTicketSource(tickets), index, lambda reject: None)
        results = {r.ticket_id: r for r in await store.results(f"T{i:04d}" for i in range(30))}
        letters = await store.dead_letters()
    finally:
        index.close()
        await store.close()
    assert report.exit_code == 1
    assert len(results) == 30
    assert results["T0003"].status == "responded"
    assert results["T0003"].attempts == 3
    assert results["T0007"].status == "failed"
    assert [letter.ticket_id for letter in letters] == ["T0007"]
    assert sum(r.status == "responded" for r in results.values()) == 29
    assert provider.calls["T0003"] == 3
    assert provider.calls["T0007"] == 1
