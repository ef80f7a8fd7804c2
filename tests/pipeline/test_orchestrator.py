"""The whole pipeline in one process: retries, dead letters, replay, reruns, shutdown."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from tests.pipeline.fakes import DroppingBroker, FlakyProvider

from supporter.analysis.taxonomy import DEFAULT_TAXONOMY
from supporter.brokers.memory import MemoryBroker
from supporter.domain.errors import FatalError, PermanentError, TransientError
from supporter.domain.models import Reply
from supporter.llm.base import ModelProvider, ModelResponse, ReplyRequest
from supporter.llm.offline import OfflineProvider
from supporter.pipeline.orchestrator import Pipeline, PipelineOptions, RunReport, stage_queues
from supporter.pipeline.retry import RetryPolicy
from supporter.sinks.base import ResultSink
from supporter.sinks.jsonl import JsonlResultSink
from supporter.sources.base import Reject
from supporter.sources.csv import CsvTicketSource
from supporter.store.base import Outcome, StoreError
from supporter.store.sql import SqlStore, sqlite_url
from supporter.transactions.sqlite import SqliteTransactionIndex

FAST_RETRIES = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)


def write_tickets(path: Path, count: int, *, closed: int = 0) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["ticket_id", "customer_id", "subject", "body", "status", "created_at"])
        for index in range(count):
            status = "closed" if index < closed else "open"
            writer.writerow(
                [
                    f"T{index:04d}",
                    f"C{index % 7}",
                    "Charged twice",
                    f"I was charged twice for my order {index}, please help",
                    status,
                    "2024-05-02T10:00:00Z",
                ]
            )
    return path


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    store = await SqlStore.open(sqlite_url(tmp_path / "run.db"))
    yield store
    await store.close()


async def run_once(
    tmp_path: Path,
    store: SqlStore,
    provider: ModelProvider,
    tickets: Path,
    *,
    out_name: str = "results.jsonl",
    force: bool = False,
    stop_after: int | None = None,
    broker: MemoryBroker | None = None,
) -> tuple[RunReport, list[dict[str, object]]]:
    out = tmp_path / out_name
    sink = JsonlResultSink(out)
    broker = broker or MemoryBroker(maxsize=16)
    options = PipelineOptions(policy=FAST_RETRIES, force=force, shutdown_timeout=5)
    pipeline = Pipeline(broker, store, provider, DEFAULT_TAXONOMY, [sink], options)
    rejects: list[Reject] = []

    async def stopper() -> None:
        assert stop_after is not None
        while pipeline.stats.finalized < stop_after:
            await asyncio.sleep(0.001)
        pipeline.request_stop()

    watcher = asyncio.create_task(stopper()) if stop_after is not None else None
    index = SqliteTransactionIndex()
    try:
        report = await pipeline.run(CsvTicketSource(tickets), index, rejects.append)
    finally:
        index.close()
        if watcher:
            watcher.cancel()
        sink.close()
        await broker.close()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return report, lines


async def test_every_open_ticket_gets_exactly_one_result(tmp_path: Path, store: SqlStore) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 40, closed=5)
    report, lines = await run_once(tmp_path, store, OfflineProvider(DEFAULT_TAXONOMY), tickets)
    assert report.exit_code == 0
    assert report.stats.skipped_status == 5
    assert sorted(line["ticket_id"] for line in lines) == [f"T{i:04d}" for i in range(5, 40)]
    assert {line["status"] for line in lines} == {"responded"}
    assert all(line["reply"]["body"] for line in lines)


async def test_dropped_consumers_and_lost_acks_lose_and_duplicate_nothing(
    tmp_path: Path, store: SqlStore
) -> None:
    # As when the broker's connection drops: every stage's first consumer fails at
    # once, and the first acknowledgements are lost (their messages come back).
    broker = DroppingBroker(lost_consumers=5, lost_acks=12)
    tickets = write_tickets(tmp_path / "t.csv", 60)
    report, lines = await run_once(
        tmp_path, store, OfflineProvider(DEFAULT_TAXONOMY), tickets, broker=broker
    )
    assert (broker.lost_consumers, broker.lost_acks) == (0, 0), "no failure was injected"
    assert broker.consumers > 5
    assert report.exit_code == 0
    assert sorted(line["ticket_id"] for line in lines) == [f"T{i:04d}" for i in range(60)]
    assert len(await store.results(f"T{i:04d}" for i in range(60))) == 60


async def test_rerun_processes_nothing_twice_and_outputs_every_ticket_once(
    tmp_path: Path, store: SqlStore
) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 30)
    provider = FlakyProvider({}, TransientError)
    await run_once(tmp_path, store, provider, tickets)
    assert sum(provider.calls.values()) == 30
    report, lines = await run_once(tmp_path, store, provider, tickets, out_name="again.jsonl")
    assert sum(provider.calls.values()) == 30, "a done ticket was sent to the model again"
    assert report.stats.already_done == 30
    assert sorted(line["ticket_id"] for line in lines) == [f"T{i:04d}" for i in range(30)]
    report, lines = await run_once(tmp_path, store, provider, tickets, force=True)
    assert sum(provider.calls.values()) == 60
    assert len(lines) == 30


async def test_transient_failure_is_retried_then_succeeds(tmp_path: Path, store: SqlStore) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 5)
    provider = FlakyProvider({"T0002": 2}, lambda tid: TransientError(f"timeout for {tid}"))
    report, lines = await run_once(tmp_path, store, provider, tickets)
    assert report.exit_code == 0
    by_id = {line["ticket_id"]: line for line in lines}
    assert by_id["T0002"]["status"] == "responded"
    assert by_id["T0002"]["attempts"] == 3
    assert by_id["T0001"]["attempts"] == 1
    assert report.stats.stage("analyze").retried == 2
    assert await store.dead_letters() == []


async def test_exhausted_retries_end_in_the_dead_letter_queue_and_replay_succeeds(
    tmp_path: Path, store: SqlStore
) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 4)
    provider = FlakyProvider({"T0001": 3}, lambda tid: TransientError("HTTP 503"), on_reply=True)
    report, lines = await run_once(tmp_path, store, provider, tickets)
    assert report.exit_code == 1
    failed = [line for line in lines if line["status"] == "failed"]
    assert [line["ticket_id"] for line in failed] == ["T0001"]
    assert failed[0]["reply"] is None
    assert "gave up after 3 tries" in failed[0]["error"]
    # The analysis survived: the ticket failed in the respond stage.
    assert failed[0]["analysis"]["category"]
    letters = await store.dead_letters()
    assert len(letters) == 1
    letter = letters[0]
    assert (letter.ticket_id, letter.stage, letter.attempts) == ("T0001", "respond", 3)
    assert [record.attempt for record in letter.history] == [1, 2, 3]

    # The provider has recovered: replaying resolves the dead letter.
    broker = MemoryBroker()
    sink = JsonlResultSink(tmp_path / "replayed.jsonl")
    options = PipelineOptions(policy=FAST_RETRIES)
    pipeline = Pipeline(broker, store, provider, DEFAULT_TAXONOMY, [sink], options)
    replayed = await pipeline.replay(letters)
    sink.close()
    assert replayed.exit_code == 0
    assert replayed.stats.responded == 1
    assert await store.dead_letters() == []
    assert len(await store.dead_letters(include_resolved=True)) == 1
    (result,) = await store.results(["T0001"])
    assert result.status == "responded"


async def test_permanent_failure_is_dead_lettered_at_once(tmp_path: Path, store: SqlStore) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 3)
    provider = FlakyProvider({"T0000": 99}, lambda tid: PermanentError("model refused"))
    report, lines = await run_once(tmp_path, store, provider, tickets)
    assert provider.calls["T0000"] == 1
    assert report.exit_code == 1
    (letter,) = await store.dead_letters()
    assert letter.reason == "model refused"
    assert [line["status"] for line in lines].count("failed") == 1


async def test_a_fatal_error_stops_intake_without_dead_letters(
    tmp_path: Path, store: SqlStore
) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 50)
    provider = FlakyProvider({"T0010": 99}, lambda tid: FatalError("insufficient_quota"))
    report, lines = await run_once(tmp_path, store, provider, tickets)
    assert report.fatal == "insufficient_quota"
    assert report.exit_code == 1
    assert await store.dead_letters() == []
    assert "T0010" not in {line["ticket_id"] for line in lines}
    # Once the quota is back, a rerun finishes the rest and redoes nothing.
    healthy = FlakyProvider({}, TransientError)
    report, lines = await run_once(tmp_path, store, healthy, tickets, out_name="rerun.jsonl")
    assert report.exit_code == 0
    assert len(lines) == 50
    assert sum(healthy.calls.values()) == 50 - report.stats.already_done


class Meltdown(BaseException):
    """Neither an `Exception` nor a cancellation."""


async def test_a_base_exception_in_a_stage_ends_the_run_and_keeps_the_ticket(
    tmp_path: Path, store: SqlStore
) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 20)
    provider = FlakyProvider({"T0005": 1}, lambda tid: Meltdown(tid))
    report, lines = await asyncio.wait_for(run_once(tmp_path, store, provider, tickets), 30)
    assert report.fatal == "stage analyze raised Meltdown"
    assert report.exit_code == 1
    assert await store.dead_letters() == []
    assert "T0005" not in {line["ticket_id"] for line in lines}
    report, lines = await run_once(tmp_path, store, provider, tickets, out_name="rerun.jsonl")
    assert report.exit_code == 0
    assert "T0005" in {line["ticket_id"] for line in lines}
    assert provider.calls["T0005"] == 2


async def test_graceful_stop_mid_run_then_rerun_resumes(tmp_path: Path, store: SqlStore) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 600)
    provider = FlakyProvider({}, TransientError)
    report, lines = await run_once(tmp_path, store, provider, tickets, stop_after=50)
    assert report.interrupted
    assert report.exit_code == 130
    first = {line["ticket_id"] for line in lines}
    assert 50 <= len(first) < 600
    # Every ticket that was published before the stop was finished, not dropped.
    assert report.stats.finalized == report.stats.published
    stored = {r.ticket_id for r in await store.results([f"T{i:04d}" for i in range(600)])}
    assert stored == first

    report, lines = await run_once(tmp_path, store, provider, tickets, out_name="rerun.jsonl")
    assert report.exit_code == 0
    ids = [line["ticket_id"] for line in lines]
    assert sorted(ids) == [f"T{i:04d}" for i in range(600)]
    assert sum(provider.calls.values()) == 600, "some ticket was analysed twice"


class BrokenSink:
    def write(self, results: object) -> None:
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        pass


class BrokenStore(SqlStore):
    """A store whose writes fail the way a read-only or full disk makes them fail."""

    def __init__(self, inner: SqlStore) -> None:
        super().__init__(inner._engine)
        self.tries = 0

    async def save(self, version: str, outcomes: Sequence[Outcome]) -> None:
        self.tries += 1
        raise StoreError("OperationalError: attempt to write a readonly database")


async def run_with(
    tmp_path: Path, store: SqlStore, sinks: list[ResultSink], count: int = 20
) -> tuple[RunReport, str]:
    tickets = write_tickets(tmp_path / "t.csv", count)
    options = PipelineOptions(
        policy=FAST_RETRIES,
        store_retries=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02),
        shutdown_timeout=5,
    )
    provider = OfflineProvider(DEFAULT_TAXONOMY)
    pipeline = Pipeline(MemoryBroker(), store, provider, DEFAULT_TAXONOMY, sinks, options)
    index = SqliteTransactionIndex()
    try:
        report = await asyncio.wait_for(
            pipeline.run(CsvTicketSource(tickets), index, lambda reject: None), 30
        )
        return report, pipeline.version
    finally:
        index.close()


async def test_a_results_file_that_cannot_be_written_stops_the_run(
    tmp_path: Path, store: SqlStore
) -> None:
    report, version = await run_with(tmp_path, store, [BrokenSink()])
    assert report.fatal is not None
    assert "No space left on device" in report.fatal
    assert report.exit_code == 1
    # What was stored stays stored: the next run writes it out again.
    assert len(await store.done_ticket_ids(version)) > 0


async def test_a_store_that_keeps_failing_stops_the_run_after_its_retries(
    tmp_path: Path, store: SqlStore
) -> None:
    broken = BrokenStore(store)
    report, _ = await run_with(tmp_path, broken, [])
    assert report.fatal is not None
    assert "readonly database" in report.fatal
    assert broken.tries == 3
    assert report.exit_code == 1


async def test_the_fallback_answers_what_the_provider_cannot(
    tmp_path: Path, store: SqlStore
) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 6)
    provider = FlakyProvider(
        {"T0001": 99, "T0002": 99},
        lambda tid: PermanentError("model refused") if tid == "T0001" else TransientError("503"),
    )
    options = PipelineOptions(policy=FAST_RETRIES)
    sink = JsonlResultSink(tmp_path / "out.jsonl")
    pipeline = Pipeline(
        MemoryBroker(),
        store,
        provider,
        DEFAULT_TAXONOMY,
        [sink],
        options,
        fallback=OfflineProvider(DEFAULT_TAXONOMY),
    )
    index = SqliteTransactionIndex()
    try:
        report = await pipeline.run(CsvTicketSource(tickets), index, lambda reject: None)
    finally:
        index.close()
        sink.close()
    assert report.exit_code == 0
    assert await store.dead_letters() == []
    lines = {
        line["ticket_id"]: line
        for line in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())
    }
    assert lines["T0001"]["provider"].startswith("offline (fallback)")
    assert lines["T0001"]["attempts"] == 2  # the refusal, then the fallback
    assert lines["T0002"]["provider"].startswith("offline (fallback)")
    assert lines["T0002"]["attempts"] == 4  # three tries, then the fallback
    assert lines["T0003"]["provider"] == "offline"
    assert report.stats.stage("analyze").fell_back == 2
    assert provider.calls["T0001"] == 1


class OverpromisingProvider(FlakyProvider):
    """Drafts what a careless model might: an invented amount and a refund promise."""

    def __init__(self) -> None:
        super().__init__({}, TransientError)

    async def draft_reply(self, request: ReplyRequest) -> ModelResponse[Reply]:
        body = "Sorry! We will refund the 999.00 USD charge right away."
        return ModelResponse[Reply](value=Reply(body=body), provider="careless")


async def test_a_draft_that_fails_the_grounding_check_is_kept_for_review(
    tmp_path: Path, store: SqlStore
) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 2)
    report, lines = await run_once(tmp_path, store, OverpromisingProvider(), tickets)
    assert report.exit_code == 0
    assert report.stats.grounding_failed == 2
    for line in lines:
        assert line["status"] == "responded"
        assert line["analysis"]["needs_human"] is True
        assert line["grounding"]["passed"] is False
        problems = " ".join(line["grounding"]["problems"])
        assert "999.00" in problems
        assert "refund" in problems.lower()


async def test_a_retry_after_beyond_reason_stops_the_run_instead_of_parking_tickets(
    tmp_path: Path, store: SqlStore
) -> None:
    tickets = write_tickets(tmp_path / "t.csv", 5)
    provider = FlakyProvider(
        {"T0002": 1}, lambda tid: TransientError("429 rate limited", retry_after=3600)
    )
    report, _ = await run_once(tmp_path, store, provider, tickets)
    assert report.fatal is not None
    assert "asked to wait 3600s" in report.fatal
    assert report.exit_code == 1
    assert await store.dead_letters() == []


def test_the_stage_queues_are_in_pipeline_order_with_the_write_back_last() -> None:
    assert stage_queues(write_back=False) == ("tickets", "analyzed", "responded")
    assert stage_queues(write_back=True) == ("tickets", "analyzed", "responded", "write-back")
