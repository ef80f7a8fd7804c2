"""The Files and Batch APIs of the simulator, driven by the official openai SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from openai.types import Batch

from supporter.testing.fake_batches import FakeBatchConfig, FakeBatches
from supporter.testing.fake_llm import FakeLLM, FakeLLMConfig

SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"body": {"type": "string"}},
            "required": ["body"],
            "additionalProperties": False,
        },
    },
}


def request_line(custom_id: str, text: str = "Where is my refund?", **body: Any) -> str:
    payload = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": text}],
        "response_format": SCHEMA,
        **body,
    }
    line = {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions"}
    return json.dumps({**line, "body": payload}) + "\n"


class Served:
    def __init__(self, server: FakeLLM, batches: FakeBatches, client: openai.AsyncOpenAI) -> None:
        self.server = server
        self.batches = batches
        self.client = client

    async def submit(self, content: str, **create: Any) -> Batch:
        file = await self.client.files.create(
            file=("input.jsonl", content.encode()), purpose="batch"
        )
        return await self.client.batches.create(
            input_file_id=file.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            **create,
        )

    async def until_done(self, batch_id: str, timeout: float = 10.0) -> Batch:
        async with asyncio.timeout(timeout):
            while True:
                batch = await self.client.batches.retrieve(batch_id)
                if batch.status in ("completed", "failed", "expired", "cancelled"):
                    return batch
                await asyncio.sleep(0.02)

    async def lines(self, file_id: str | None) -> list[dict[str, Any]]:
        if file_id is None:
            return []
        content = await self.client.files.content(file_id)
        return [json.loads(line) for line in content.text.splitlines()]


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    server = FakeLLM(FakeLLMConfig(latency_ms=1, latency_jitter=0, seed=1))
    batches = FakeBatches(server, FakeBatchConfig(validating_seconds=0.05))
    async with server as base_url:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="test", max_retries=0)
        yield Served(server, batches, client)
        await client.close()


async def test_a_batch_goes_through_its_states_and_answers_like_the_real_time_endpoint(
    served: Served,
) -> None:
    content = "".join(request_line(f"r{i}", f"ticket {i}") for i in range(5))
    created = await served.submit(content, metadata={"run": "test"})
    assert created.status == "validating"
    assert created.metadata == {"run": "test"}
    assert created.expires_at is not None
    assert created.expires_at - created.created_at == 86400

    done = await served.until_done(created.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (5, 5)
    assert done.in_progress_at
    assert done.finalizing_at
    assert done.completed_at
    assert done.error_file_id is None
    output = await served.lines(done.output_file_id)
    assert sorted(line["custom_id"] for line in output) == [f"r{i}" for i in range(5)]
    first = output[0]
    assert first["error"] is None
    assert first["id"].startswith("batch_req_")
    assert first["response"]["status_code"] == 200
    assert first["response"]["request_id"].startswith("req_")
    completion = first["response"]["body"]
    assert completion["object"] == "chat.completion"
    assert json.loads(completion["choices"][0]["message"]["content"])["body"]
    assert completion["usage"]["prompt_tokens"] > 0
    # Each request was answered by the real-time endpoint, once.
    assert served.batches.executed == 5
    assert served.server.outcomes["ok"] == 5


async def test_failed_requests_go_to_the_error_file(served: Served) -> None:
    served.server.config.canned_answers = {}
    content = request_line("good") + request_line("bad", response_format={"type": "xml"})
    done = await served.until_done((await served.submit(content)).id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (1, 1)
    [output] = await served.lines(done.output_file_id)
    [error] = await served.lines(done.error_file_id)
    assert output["custom_id"] == "good"
    assert error["custom_id"] == "bad"
    assert error["response"]["status_code"] == 400
    assert error["response"]["body"]["error"]["param"] == "response_format.type"


async def test_an_invalid_input_file_fails_the_batch_naming_the_line(served: Served) -> None:
    content = request_line("a") + "{not json\n"
    done = await served.until_done((await served.submit(content)).id)
    assert done.status == "failed"
    assert done.failed_at is not None
    assert done.errors is not None
    assert done.errors.data
    error = done.errors.data[0]
    assert (error.line, error.code) == (2, "invalid_json_line")
    assert served.batches.executed == 0

    duplicate = request_line("a") + request_line("a")
    done = await served.until_done((await served.submit(duplicate)).id)
    assert done.errors is not None
    assert done.errors.data
    assert done.errors.data[0].code == "duplicate_custom_id"


async def test_too_many_requests_or_bytes_are_refused(served: Served) -> None:
    served.batches.config.max_requests_per_file = 2
    content = "".join(request_line(f"r{i}") for i in range(3))
    done = await served.until_done((await served.submit(content)).id)
    assert done.status == "failed"
    assert done.errors is not None
    assert done.errors.data
    assert done.errors.data[0].code == "too_many_requests"

    served.batches.config.max_file_bytes = 100
    with pytest.raises(openai.BadRequestError, match="too large"):
        await served.client.files.create(file=("big.jsonl", content.encode()), purpose="batch")


async def test_a_batch_expires_with_what_was_answered_and_the_rest_in_the_error_file(
    served: Served,
) -> None:
    served.batches.config.completion_window_seconds = 0.5
    served.batches.config.concurrency = 1
    served.server.config.latency_ms = 100
    content = "".join(request_line(f"r{i}") for i in range(20))
    done = await served.until_done((await served.submit(content)).id)
    assert done.status == "expired"
    assert done.expired_at is not None
    answered = await served.lines(done.output_file_id)
    expired = await served.lines(done.error_file_id)
    assert 0 < len(answered) < 20
    assert len(answered) + len(expired) == 20
    assert {line["error"]["code"] for line in expired} == {"batch_expired"}
    assert all(line["response"] is None for line in expired)
    assert served.batches.executed == len(answered)


async def test_a_cancelled_batch_stops_answering(served: Served) -> None:
    served.batches.config.paused = True
    created = await served.submit("".join(request_line(f"r{i}") for i in range(5)))
    cancelling = await served.client.batches.cancel(created.id)
    assert cancelling.status == "cancelling"
    done = await served.until_done(created.id)
    assert done.status == "cancelled"
    assert done.cancelled_at is not None
    assert served.batches.executed == 0
    with pytest.raises(openai.ConflictError):
        await served.client.batches.cancel(created.id)


async def test_batches_are_listed_newest_first_in_pages(served: Served) -> None:
    served.batches.config.paused = True
    created = [(await served.submit(request_line("r"))).id for _ in range(5)]
    page = await served.client.batches.list(limit=2)
    assert [batch.id for batch in page.data] == created[::-1][:2]
    assert page.has_more
    every = [batch.id async for batch in served.client.batches.list(limit=2)]
    assert every == created[::-1]
    files = await served.client.files.list(purpose="batch")
    assert len(files.data) == 5


async def test_bad_requests_get_openai_errors(served: Served) -> None:
    with pytest.raises(openai.NotFoundError):
        await served.client.batches.retrieve("batch_missing")
    with pytest.raises(openai.NotFoundError):
        await served.client.batches.create(
            input_file_id="file-missing", endpoint="/v1/chat/completions", completion_window="24h"
        )
    file = await served.client.files.create(file=("x.jsonl", b"{}\n"), purpose="user_data")
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        await served.client.batches.create(
            input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    with pytest.raises(openai.BadRequestError, match="24h"):
        await served.client.batches.create(
            input_file_id=file.id,
            endpoint="/v1/chat/completions",
            completion_window="1h",  # type: ignore[arg-type]
        )
    served.server.config.invalid_api_key = True
    with pytest.raises(openai.AuthenticationError):
        await served.client.files.create(file=("x.jsonl", b"{}\n"), purpose="batch")
