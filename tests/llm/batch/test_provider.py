"""The batch provider through the official SDK against the simulator's Batch API, with
its ledger in a real (SQLite) store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types import FileObject
from tests.llm.test_openai import analysis_request, reply_request

from supporter.domain.errors import FatalError, TransientError
from supporter.llm.batch import BatchProgress, BatchProvider, BatchRequestError, BatchSettings
from supporter.llm.batch.batcher import custom_id_of
from supporter.llm.openai import OpenAIProvider
from supporter.llm.pricing import PriceTable
from supporter.llm.ratelimit import RateLimiter
from supporter.store.batches import SqlBatchLedger
from supporter.store.sql import SqlStore, sqlite_url
from supporter.testing.fake_batches import FakeBatchConfig, FakeBatches
from supporter.testing.fake_llm import FakeLLM, FakeLLMConfig

# Long enough a wait that requests made together land in one batch on a busy machine.
FAST = BatchSettings(gather_seconds=0.3, poll_interval=0.02)


class World:
    def __init__(
        self, server: FakeLLM, batches: FakeBatches, base_url: str, ledger: SqlBatchLedger
    ) -> None:
        self.server = server
        self.batches = batches
        self.base_url = base_url
        self.ledger = ledger
        self.progress: list[BatchProgress] = []
        self.providers: list[BatchProvider] = []

    def provider(self, settings: BatchSettings = FAST, **options: Any) -> BatchProvider:
        provider = BatchProvider(
            "gpt-4o",
            self.ledger,
            settings,
            api_key="sk-test",
            base_url=self.base_url,
            on_progress=self.progress.append,
            **options,
        )
        self.providers.append(provider)
        return provider

    def realtime(self) -> OpenAIProvider:
        return OpenAIProvider(
            "gpt-4o",
            api_key="sk-test",
            base_url=self.base_url,
            limiter=RateLimiter(None, None, 8),
        )

    async def line_of(self, request: Any) -> bytes:
        """The batch line a provider writes for `request` (answered once, then forgotten
        by the simulator so a test starts from an empty service)."""
        await self.provider().analyze(request)
        [stored] = await self.ledger.batches()
        line = self.batches.files[stored.input_file_id].content
        self.batches.batches.clear()
        self.batches.executed = 0
        return line

    async def uploaded_and_recorded(self, line: bytes) -> FileObject:
        """What a run does before it creates a batch: upload the line and record it."""
        async with openai.AsyncOpenAI(base_url=self.base_url, api_key="sk-test") as client:
            file = await client.files.create(file=("crash.jsonl", line), purpose="batch")
        custom_id = json.loads(line)["custom_id"]
        await self.ledger.uploaded(file.id, "/v1/chat/completions", [custom_id])
        return file

    async def until_a_batch_exists(self) -> str:
        async with asyncio.timeout(5):
            while not self.batches.batches:
                await asyncio.sleep(0.01)
        return next(iter(self.batches.batches))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    server = FakeLLM(FakeLLMConfig(latency_ms=1, latency_jitter=0, seed=3))
    batches = FakeBatches(server, FakeBatchConfig())
    store = await SqlStore.open(sqlite_url(tmp_path / "store.db"))
    async with server as base_url:
        world = World(server, batches, base_url, SqlBatchLedger(store.engine))
        yield world
        for provider in world.providers:
            await provider.aclose()
    await store.close()


def requests(count: int) -> list[Any]:
    return [analysis_request(f"I was charged twice, order {number}.") for number in range(count)]


async def test_requests_gathered_into_one_batch_are_answered_at_half_price(world: World) -> None:
    provider = world.provider()
    answers = await asyncio.gather(*(provider.analyze(request) for request in requests(5)))
    reply = await provider.draft_reply(reply_request("I was charged twice."))

    assert len(world.batches.batches) == 2  # the analyses in one, then the reply
    assert world.batches.executed == 6
    assert {answer.provider for answer in answers} == {"openai-batch:gpt-4o"}
    assert reply.value.body
    list_price = PriceTable()
    for answer in answers:
        full = list_price.cost("gpt-4o", answer.usage)
        assert full is not None
        assert answer.usage.cost_usd == full / 2
        assert answer.usage.cost_usd > 0
    assert provider.version == world.realtime().version
    stored = await world.ledger.batches()
    assert {batch.status for batch in stored} == {"completed"}
    assert all(batch.collected for batch in stored)
    assert world.progress[-1].status == "completed"
    # The request on the wire is the real-time request, in a batch line.
    lines = world.batches.files[stored[-1].input_file_id].content.decode().splitlines()
    line = json.loads(lines[0])
    assert (line["method"], line["url"]) == ("POST", "/v1/chat/completions")
    assert line["body"]["response_format"]["json_schema"]["strict"] is True
    assert line["custom_id"] == custom_id_of(line["url"], line["body"])


async def test_an_answered_request_is_never_paid_for_twice(world: World) -> None:
    batch = requests(3)
    first, rerun = world.provider(), world.provider()
    await asyncio.gather(*(first.analyze(request) for request in batch))
    again = await asyncio.gather(*(rerun.analyze(request) for request in batch))
    assert len(world.batches.batches) == 1
    assert world.batches.executed == 3
    assert all(answer.value.category for answer in again)


async def test_requests_failed_in_the_error_file_go_into_a_later_batch(world: World) -> None:
    world.server.config.error_rates = {500: 0.5}
    provider = world.provider()
    batch = requests(12)
    first = await asyncio.gather(
        *(provider.analyze(request) for request in batch), return_exceptions=True
    )
    failed = [
        request
        for request, answer in zip(batch, first, strict=True)
        if isinstance(answer, Exception)
    ]
    assert 0 < len(failed) < 12
    assert all(
        isinstance(answer, TransientError) for answer in first if isinstance(answer, Exception)
    )
    [done] = [b for b in world.batches.batches.values()]
    assert done.failed == len(failed)

    world.server.config.error_rates = {}
    second = await asyncio.gather(*(provider.analyze(request) for request in failed))
    assert all(answer.value.category for answer in second)
    assert len(world.batches.batches) == 2
    assert world.batches.executed == 12 + len(failed)


async def test_an_expired_batch_fails_its_unanswered_requests_with_the_reason(
    world: World,
) -> None:
    world.batches.config.completion_window_seconds = 0.3
    world.batches.config.paused = True
    provider = world.provider()
    outcomes = await asyncio.gather(
        *(provider.analyze(request) for request in requests(3)), return_exceptions=True
    )
    assert all(isinstance(outcome, BatchRequestError) for outcome in outcomes)
    assert "batch_expired" in str(outcomes[0])
    [stored] = await world.ledger.batches()
    assert (stored.status, stored.collected) == ("expired", True)


async def test_with_the_realtime_fallback_an_expired_request_is_asked_at_once(
    world: World,
) -> None:
    world.batches.config.completion_window_seconds = 0.3
    world.batches.config.paused = True
    provider = world.provider(realtime=world.realtime())
    answer = await provider.analyze(requests(1)[0])
    assert answer.provider == "openai:gpt-4o"
    assert world.batches.executed == 0
    assert world.server.outcomes["ok"] == 1


async def test_a_cancelled_batch_fails_its_requests(world: World) -> None:
    world.batches.config.paused = True
    provider = world.provider()
    waiting = asyncio.gather(
        *(provider.analyze(request) for request in requests(2)), return_exceptions=True
    )
    batch_id = await world.until_a_batch_exists()
    async with openai.AsyncOpenAI(base_url=world.base_url, api_key="sk-test") as client:
        await client.batches.cancel(batch_id)
    outcomes = await waiting
    assert all(isinstance(outcome, BatchRequestError) for outcome in outcomes)
    assert f"batch {batch_id} cancelled" in str(outcomes[0])


async def test_a_new_provider_resumes_a_batch_created_before_a_crash(world: World) -> None:
    world.batches.config.paused = True
    crashed = world.provider()
    batch = requests(4)
    waiting = [asyncio.create_task(crashed.analyze(request)) for request in batch]
    batch_id = await world.until_a_batch_exists()
    async with asyncio.timeout(5):
        while not (await world.ledger.batches())[0].batch_id:
            await asyncio.sleep(0.01)
    for task in waiting:  # the process dies: its calls never return
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)

    world.batches.config.paused = False
    rerun = world.provider()
    answers = await asyncio.gather(*(rerun.analyze(request) for request in batch))
    assert all(answer.value.category for answer in answers)
    assert list(world.batches.batches) == [batch_id]
    assert world.batches.executed == 4


async def test_a_batch_created_but_not_recorded_is_found_by_its_input_file(
    world: World,
) -> None:
    request = requests(1)[0]
    line = await world.line_of(request)

    # A run uploaded this line and created its batch, then died before recording the batch.
    async with openai.AsyncOpenAI(base_url=world.base_url, api_key="sk-test") as client:
        file = await world.uploaded_and_recorded(line)
        created = await client.batches.create(
            input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    answer = await world.provider().analyze(request)
    assert answer.value.category
    assert list(world.batches.batches) == [created.id]
    assert world.batches.executed == 1


async def test_large_inputs_are_split_by_requests_and_by_bytes(world: World) -> None:
    by_count = world.provider(BatchSettings(max_requests=3, gather_seconds=0.5, poll_interval=0.02))
    await asyncio.gather(*(by_count.analyze(request) for request in requests(7)))
    sizes = [batch.total for batch in world.batches.batches.values()]
    # Gathered together they split 3 + 3 + 1; a slow machine may gather them in more groups.
    assert sum(sizes) == 7
    assert max(sizes) == 3
    assert len(sizes) >= 3

    world.batches.batches.clear()
    line_bytes = 9_000  # one analysis request is a few kilobytes
    by_size = world.provider(
        BatchSettings(max_bytes=2 * line_bytes, gather_seconds=0.5, poll_interval=0.02)
    )
    batch = [analysis_request(f"Order {number} was charged twice.") for number in range(20, 25)]
    await asyncio.gather(*(by_size.analyze(request) for request in batch))
    files = [world.batches.files[b.input_file_id] for b in world.batches.batches.values()]
    assert len(files) >= 3
    assert all(len(file.content) <= 2 * line_bytes for file in files)
    assert sum(b.total for b in world.batches.batches.values()) == 5


async def test_a_batch_the_service_rejects_fails_its_requests_naming_the_line(
    world: World,
) -> None:
    world.batches.config.max_requests_per_file = 1
    provider = world.provider()
    outcomes = await asyncio.gather(
        *(provider.analyze(request) for request in requests(2)), return_exceptions=True
    )
    assert all(isinstance(outcome, BatchRequestError) for outcome in outcomes)
    assert "failed: too_many_requests at line 2" in str(outcomes[0])


async def test_a_bad_key_stops_the_run(world: World) -> None:
    world.server.config.invalid_api_key = True
    with pytest.raises(FatalError, match="credentials"):
        await world.provider().analyze(requests(1)[0])


async def test_an_unreachable_batch_api_is_transient(world: World) -> None:
    provider = BatchProvider(
        "gpt-4o", world.ledger, FAST, api_key="sk-test", base_url="http://127.0.0.1:9/v1"
    )
    world.providers.append(provider)
    with pytest.raises(TransientError, match="Batch API unavailable") as raised:
        await provider.analyze(requests(1)[0])
    assert not isinstance(raised.value, BatchRequestError)


async def test_responses_api_requests_go_in_a_responses_batch(world: World) -> None:
    provider = world.provider(api="responses")
    answer = await provider.analyze(requests(1)[0])
    assert answer.value.category
    [batch] = world.batches.batches.values()
    assert batch.endpoint == "/v1/responses"
    line = json.loads(world.batches.files[batch.input_file_id].content)
    assert line["url"] == "/v1/responses"
    assert answer.usage.cost_usd > 0


async def test_a_file_uploaded_before_a_crash_gets_its_batch_created(world: World) -> None:
    request = requests(1)[0]
    line = await world.line_of(request)

    # A run uploaded this line, recorded it, and died before creating the batch.
    file = await world.uploaded_and_recorded(line)
    answer = await world.provider().analyze(request)
    assert answer.value.category
    [batch] = world.batches.batches.values()
    assert batch.input_file_id == file.id
    assert world.batches.executed == 1


async def test_a_recorded_batch_the_service_does_not_know_stops_the_run(world: World) -> None:
    request = requests(1)[0]
    line = await world.line_of(request)
    file = await world.uploaded_and_recorded(line)
    await world.ledger.created(file.id, "batch_of_another_account", "in_progress")
    with pytest.raises(FatalError, match="not found"):
        await world.provider().analyze(request)
    assert world.batches.executed == 0
